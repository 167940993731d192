# programs.ballast.electronApps: for each chosen catalog app a wrapper named like its binary
# (discord -> Discord, signal -> signal-desktop, teams -> teams-for-linux, ...) and a menu
# entry, both running `ballast launch ID --foreground -- "$@"`: the menu, a terminal and the
# tray all start the app in the same limited systemd scope. nix/lib/apps.nix decides.
{ config, lib, pkgs, ... }:

let
  ballastLib = import ../../lib;
  top = config.programs.ballast;
  cfg = top.electronApps;

  catalog = (ballastLib.config.merge
    (ballastLib.config.normalize top.profile.ballast)
    (ballastLib.config.normalize top.settings)).app;

  packageFor = id:
    let attr = ballastLib.apps.packageAttr id;
    in cfg.packages.${id} or (if attr == null then null else pkgs.${attr} or null);

  # The wrapper's own path is only known inside its derivation: a placeholder stands in.
  plan = ballastLib.apps.plan {
    inherit catalog;
    ballast = lib.getExe top.package;
    wrapperDir = "${builtins.placeholder "out"}/bin";
    choices = lib.genAttrs cfg.apps (id: {
      # The package's own binary (meta.mainProgram): discord-ptb's is DiscordPTB.
      exe = let p = packageFor id; in if p == null then null else lib.getExe p;
      desktop = cfg.desktop.${id} or { };
    });
  };

  wrapper = id: p:
    let real = packageFor id;
    in
    pkgs.runCommand "ballast-launch-${id}"
      {
        script = "#!${pkgs.runtimeShell}\n${p.body}";
        desktopText = p.desktopText;
        passAsFile = [ "script" "desktopText" ];
        icons = if real == null then "" else "${real}";
      } ''
      install -Dm755 "$scriptPath" "$out/bin/${p.name}"
      install -Dm644 "$desktopTextPath" "$out/share/applications/${p.desktopFile}"
      # The app's icons, so the menu entry has one without the app's own entry.
      for dir in share/icons share/pixmaps; do
        if [ -n "$icons" ] && [ -d "$icons/$dir" ]; then
          mkdir -p "$out/$(dirname "$dir")"
          cp -rs "$icons/$dir" "$out/$dir"
        fi
      done
    '';
in
{
  imports = [ ./common.nix ];

  options.programs.ballast.electronApps = {
    enable = lib.mkEnableOption "wrappers and menu entries that start catalog apps through `ballast launch`";

    apps = lib.mkOption {
      type = lib.types.listOf lib.types.str;
      default = [ ];
      example = [ "discord" "signal" "codium" ];
      description = ''
        Catalog ids to wrap (`ballast apps` lists them; add your own with
        programs.ballast.settings.app.<id>). The app's package comes from `packages`, or
        from nixpkgs (discord, signal-desktop, teams-for-linux, vscodium, spotify, zoom-us,
        obsidian); with none, the wrapper is called ballast-<id> and runs the binary found
        on PATH.
      '';
    };

    packages = lib.mkOption {
      type = lib.types.attrsOf lib.types.package;
      default = { };
      example = lib.literalExpression "{ discord = pkgs.discord-ptb; }";
      description = "Packages for catalog ids, instead of the nixpkgs default. The wrapper and the pin take the package's own binary (`lib.getExe`: discord-ptb's is DiscordPTB).";
    };

    desktop = lib.mkOption {
      type = lib.types.attrsOf (lib.types.attrsOf lib.types.anything);
      default = { };
      example = lib.literalExpression ''{ zoom = { icon = "zoom"; desktopId = "zoom-us"; }; }'';
      description = "Menu entry overrides per id: icon, desktopId (the file name it replaces), categories, wmClass.";
    };
  };

  config = lib.mkIf cfg.enable {
    assertions = [{
      assertion = top.enable;
      message = "programs.ballast.electronApps needs programs.ballast.enable: the config file pins each wrapped app's binary.";
    }] ++ map (problem: { assertion = false; message = "programs.ballast.electronApps: ${problem}"; })
      (ballastLib.apps.problems plan);

    # Above the apps' own packages, so the wrapper wins where both are installed.
    home.packages = lib.mapAttrsToList (id: p: lib.hiPrio (wrapper id p)) plan;

    programs.ballast.appExecs = ballastLib.apps.execs plan;
  };
}
