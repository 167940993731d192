# programs.ballast: the package, the config file (common.nix), the agent as a systemd user
# service started with the graphical session, optional KWin/Baloo tuning, and the KWin session variables.
# Also brings the electronApps and systemLibs options (both off until enabled).
{ config, lib, ... }:

let
  ballastLib = import ../../lib;
  cfg = config.programs.ballast;
  exe = lib.getExe cfg.package;
  tune = ballastLib.tune.argv {
    ballast = exe;
    inherit (cfg.tune) kwin baloo;
    profileFile = if cfg.configFile == null then null else "${cfg.configFile}";
  };
in
{
  imports = [ ./common.nix ./electron-apps.nix ./system-libs.nix ];

  options.programs.ballast = {
    autostart = lib.mkOption {
      type = lib.types.bool;
      default = true;
      description = ''
        Run the agent as the systemd user service ballast.service, started with the
        graphical session right after plasmashell (WantedBy=graphical-session.target,
        After=plasma-plasmashell.service): the unit `ballast autostart enable` writes, from
        the same template. Run `ballast autostart disable` first if you used that before.
      '';
    };

    protectSession = lib.mkOption {
      type = lib.types.bool;
      default = true;
      description = ''
        Drop-ins for the user manager, from the profile's [protect]: MemoryLow= of
        session.slice (where Plasma's units run), and ManagedOOMMemoryPressure=kill on the
        launch slice (app.slice) when `app_slice_oomd` is on. They hold from login, before the
        agent starts (which sets the same at runtime). The levels above the user manager
        need root: the NixOS module's ballast.cgroups sets them; `ballast doctor` says what
        is missing.
      '';
    };

    tune = {
      kwin = lib.mkEnableOption "`ballast tune kwin --apply` at activation (the profile's [tune.kwin])";
      baloo = lib.mkEnableOption "`ballast tune baloo --apply` at activation (the profile's [tune.baloo])";
    };

    kwin.sessionVariables = {
      enable = lib.mkEnableOption "the KWin session variables for the profile's GPU (NVIDIA on X11)";
      variables = lib.mkOption {
        type = lib.types.attrsOf lib.types.str;
        default = ballastLib.gpu.kwinSessionVariables cfg.profile.gpu;
        defaultText = lib.literalExpression ''{ KWIN_OPENGL_INTERFACE = "glx"; __GL_YIELD = "USLEEP"; __GL_MaxFramesAllowed = "1"; }'';
        description = "Written to ~/.config/plasma-workspace/env/ballast-kwin.sh, which Plasma sources before KWin starts.";
      };
    };
  };

  config = lib.mkIf cfg.enable (lib.mkMerge [
    { home.packages = [ cfg.package ]; }

    (lib.mkIf cfg.autostart {
      systemd.user.services.ballast = ballastLib.systemd.agentUnit exe;
    })

    (lib.mkIf cfg.protectSession {
      xdg.configFile = ballastLib.cgroups.sessionDropIns (ballastLib.config.merge cfg.profile.ballast (ballastLib.config.normalize cfg.settings));
    })

    (lib.mkIf (tune != null) {
      # Idempotent: a second run changes nothing. ballast keeps a backup of each file it
      # changes; `ballast tune all --rollback` restores it (home-manager generations do not
      # cover files that KDE itself owns).
      home.activation.ballastTune = lib.hm.dag.entryAfter [ "linkGeneration" ] ''
        if ! run ${lib.escapeShellArgs tune}; then
          echo "ballast: tuning failed (see above); the rest of the activation goes on" >&2
        fi
      '';
    })

    (lib.mkIf cfg.kwin.sessionVariables.enable {
      xdg.configFile."plasma-workspace/env/ballast-kwin.sh".text =
        ballastLib.gpu.envScript cfg.kwin.sessionVariables.variables;
    })
  ]);
}
