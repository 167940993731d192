# Options every ballast home-manager module shares, and the config file they feed:
# $XDG_CONFIG_HOME/ballast/config.toml, an overlay on ballast's embedded default profile.
{ config, lib, pkgs, ... }:

let
  ballastLib = import ../../lib;
  cfg = config.programs.ballast;

  text = ballastLib.config.text {
    profile = cfg.profile.ballast;
    reference = ballastLib.reference.ballast;
    inherit (cfg) settings;
    execs = cfg.appExecs;
  };
  raw = pkgs.writeText "ballast-config.toml" text;
  # ballast itself reads the file at build time: a bad setting fails `home-manager switch`
  # with ballast's own message (file, line, column, what was expected).
  checked = pkgs.runCommand "ballast-config.toml" { } ''
    ${lib.getExe cfg.package} --profile ${raw} profile > /dev/null
    cp ${raw} $out
  '';
in
{
  options.programs.ballast = {
    enable = lib.mkEnableOption "ballast, the memory budget agent for KDE Plasma";

    package = lib.mkOption {
      type = lib.types.package;
      default = pkgs.ballast or (pkgs.callPackage ../../package.nix { });
      defaultText = lib.literalExpression "pkgs.ballast (the flake's overlay), else built from this flake";
      description = "The ballast package.";
    };

    profile = lib.mkOption {
      type = lib.types.attrs;
      default = ballastLib.reference;
      defaultText = lib.literalExpression "ballast.lib.profiles.shoshin";
      apply = ballastLib.checkProfile;
      description = ''
        The hardware profile. Its `ballast` part is written to the config file when it
        differs from the reference machine's (ballast's embedded default); the modules take
        their other defaults (GPU, CPU flags) from it.
      '';
    };

    settings = lib.mkOption {
      type = (pkgs.formats.toml { }).type;
      default = { };
      example = lib.literalExpression ''
        {
          budget.idle_total = "3G";
          app.discord.memory_max = "2.5G";   # [[app]] entries: an attribute set keyed by id
          app.element = {
            name = "Element"; exec = "element-desktop"; toolkit = "electron";
            category = "electron"; v8_heap_mb = 512;
            memory_high = "1G"; memory_max = "1.5G"; cpu_quota = "100%";
          };
        }'';
      description = ''
        ballast's config file as Nix: an overlay on the embedded default profile, keys as in
        `ballast profile` (README, Configuration). `app` and `category` entries may be given
        as attribute sets keyed by id or as lists with `id`.
      '';
    };

    checkConfig = lib.mkOption {
      type = lib.types.bool;
      default = true;
      description = "Run `ballast --profile FILE profile` on the generated file at build time.";
    };

    configFile = lib.mkOption {
      type = lib.types.nullOr lib.types.package;
      readOnly = true;
      internal = true;
      description = "The generated config file (null when there is nothing to write).";
    };

    appExecs = lib.mkOption {
      type = lib.types.attrsOf lib.types.str;
      default = { };
      internal = true;
      description = "Catalog app id -> absolute binary, pinned by the electronApps wrappers.";
    };
  };

  config = lib.mkMerge [
    { programs.ballast.configFile = if text == "" then null else if cfg.checkConfig then checked else raw; }
    (lib.mkIf (cfg.enable && cfg.configFile != null) {
      xdg.configFile."ballast/config.toml".source = cfg.configFile;
    })
  ];
}
