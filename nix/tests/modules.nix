# The NixOS and home-manager modules, evaluated by the stand-in module system
# (support/modules.nix): each option lands where it should, with the lib's numbers.
let
  m = import ./support/modules.nix;
  ballastLib = import ../lib;
  nixos = modules: m.prune (m.evalModules { modules = [ ../modules/nixos/default.nix ] ++ modules; }).config;
  home = modules: m.evalHome { modules = [ ../modules/home/ballast.nix ] ++ modules; };
  hm = settings: m.prune (home [{ programs.ballast = { enable = true; } // settings; }]).config;
  exe = "${m.store "ballast"}/bin/ballast";
  names = packages: map (p: p.name) packages;

  memory = nixos [{ ballast.memory.enable = true; }];
  cgroups = nixos [{ ballast.cgroups.enable = true; }];
  vaapi = nixos [{ ballast.vaapi.enable = true; }];
  apps = home [{ programs.ballast = { enable = true; electronApps = { enable = true; apps = [ "discord" "signal" "claude-desktop" ]; }; }; }];
in
{
  nixosAllOffByDefault = {
    expr = builtins.attrNames (nixos [ ]);
    expected = [ "ballast" ];
  };
  zram = { expr = memory.zramSwap; expected = { enable = true; algorithm = "zstd"; memoryPercent = 75; priority = 100; }; };
  sysctl = { expr = memory.boot.kernel.sysctl; expected = ballastLib.memory.sysctl ballastLib.reference; };
  ioScheduler = { expr = memory.services.udev.extraRules; expected = ballastLib.memory.schedulerRule ballastLib.reference.storage; };
  nixosSettingWins = {
    expr = (nixos [{ ballast.memory.enable = true; zramSwap.priority = 5; }]).zramSwap.priority;
    expected = 5;
  };
  optionOverride = {
    expr = (nixos [{ ballast.memory = { enable = true; zram.memoryPercent = 50; }; }]).zramSwap.memoryPercent;
    expected = 50;
  };
  moduleAlone = {
    expr = (m.evalModules { modules = [ ../modules/nixos/memory.nix { ballast.memory.enable = true; } ]; }).config.zramSwap.memoryPercent;
    expected = 75;
  };
  userSlice = {
    expr = cgroups.systemd.slices.user;
    expected = { overrideStrategy = "asDropin"; sliceConfig = { MemoryHigh = "12G"; MemoryMax = "14G"; CPUQuota = "600%"; MemoryLow = "250M"; }; };
  };
  protectSession = {
    expr = [
      cgroups.systemd.slices."user-"
      cgroups.systemd.services."user@".serviceConfig.MemoryLow
      cgroups.systemd.user.slices.session
      cgroups.systemd.user.slices.app.sliceConfig.ManagedOOMMemoryPressure
      cgroups.systemd.oomd.enable
    ];
    expected = [
      { overrideStrategy = "asDropin"; sliceConfig.MemoryLow = "250M"; }
      "250M"
      { overrideStrategy = "asDropin"; sliceConfig.MemoryLow = "250M"; }
      "kill"
      true
    ];
  };
  protectSessionOff = {
    expr = (nixos [{ ballast.cgroups = { enable = true; protectSession.enable = false; }; }]).systemd ? oomd;
    expected = false;
  };
  protectSessionNixosOomdWins = {
    expr = (nixos [{ ballast.cgroups.enable = true; systemd.oomd.enable = false; }]).systemd.oomd.enable;
    expected = false;
  };
  coreSplit = {
    expr = [ cgroups.systemd.slices.system.sliceConfig.AllowedCPUs cgroups.systemd.user.slices.app.sliceConfig.AllowedCPUs cgroups.systemd.services."user@".serviceConfig.Delegate ];
    expected = [ "0-1,4-5" "2-3,6-7" "cpu cpuset io memory pids" ];
  };
  coreSplitOff = {
    expr = (nixos [{ ballast.cgroups = { enable = true; cpuSplit.enable = false; }; }]).systemd.slices ? system;
    expected = false;
  };
  displayManager = { expr = cgroups.systemd.services.display-manager.serviceConfig; expected = ballastLib.cgroups.displayManager; };
  profileDrivesDefaults = {
    expr = (nixos [{
      ballast.profile = ballastLib.extendProfile ballastLib.reference { ballast.machine.ram = "32G"; };
      ballast.cgroups.enable = true;
    }]).systemd.slices.user.sliceConfig;
    expected = { MemoryHigh = "24G"; MemoryMax = "28G"; CPUQuota = "600%"; MemoryLow = "250M"; };
  };
  homeProtectsSession = {
    expr = let files = (hm { }).xdg.configFile; in [
      files."systemd/user/session.slice.d/ballast-protect.conf".text
      files."systemd/user/app.slice.d/ballast-protect.conf".text
    ];
    expected = [ "[Slice]\nMemoryLow=250M\n" "[Slice]\nManagedOOMMemoryPressure=kill\n" ];
  };
  homeProtectionFollowsSettings = {
    expr =
      let files = (hm { checkConfig = false; settings.protect = { session_memory_low = "1G"; app_slice_oomd = false; }; }).xdg.configFile;
      in [ files."systemd/user/session.slice.d/ballast-protect.conf".text (files ? "systemd/user/app.slice.d/ballast-protect.conf") ];
    expected = [ "[Slice]\nMemoryLow=1G\n" false ];
  };
  homeProtectionOff = {
    expr = builtins.filter ((import ../lib/base.nix).hasPrefix "systemd/") (builtins.attrNames (hm { protectSession = false; }).xdg.configFile);
    expected = [ "systemd/user/ballast.service" "systemd/user/graphical-session.target.wants/ballast.service" ];
  };
  systemLibsOffByDefault = { expr = memory ? nixpkgs; expected = false; };
  systemLibsOverlay = {
    expr =
      let
        overlays = (nixos [{ ballast.systemLibs.enable = true; }]).nixpkgs.overlays;
        stub = attrs: { overrideAttrs = f: stub (attrs // f attrs); inherit attrs; };
      in
      [ (builtins.length overlays) ((builtins.head overlays) { } { glibc = stub { }; zlib = stub { }; }).zlib.attrs.env.NIX_CFLAGS_COMPILE ];
    expected = [ 1 "-march=skylake -mtune=skylake -O3" ];
  };
  vaapiDrivers = {
    expr = with vaapi.hardware.graphics; [ enable (names extraPackages) (builtins.head extraPackages).meta.priority ];
    expected = [ true [ "nvidia-vaapi-driver" "libvdpau-va-gl" "libva-vdpau-driver" ] (-10) ];
  };
  vaapiEnvironment = { expr = vaapi.environment.sessionVariables; expected = ballastLib.gpu.vaapiEnvironment ballastLib.reference.gpu; };
  vaapiKernel = { expr = [ vaapi.boot.kernelParams vaapi.hardware.nvidia.open vaapi.hardware.nvidia.modesetting.enable ]; expected = [ [ "nvidia-drm.modeset=1" ] false true ]; };
  vaapiNeedsNvidia = {
    throws = (nixos [{
      ballast.profile = ballastLib.extendProfile ballastLib.reference { gpu = { vendor = "amd"; architecture = "rdna2"; }; };
      ballast.vaapi.enable = true;
    }]).environment.sessionVariables;
  };
  badProfileIsRefused = { throws = (nixos [{ ballast.profile = { name = "x"; }; ballast.memory.enable = true; }]).zramSwap; };

  # As home-manager returns it: the declared options' defaults, ExecStart as a list.
  homeAgent = {
    expr = (hm { }).systemd.user.services.ballast;
    expected = (import ../lib/base.nix).recursiveUpdate (ballastLib.systemd.agentUnit exe) {
      Unit = { Documentation = [ ]; X-Reload-Triggers = [ ]; X-Restart-Triggers = [ ]; X-SwitchMethod = null; };
      Service = { Environment = [ ]; ExecStart = [ "${exe} agent" ]; };
    };
  };
  # What home-manager links into ~/.config/systemd/user: the unit and its enablement.
  homeAgentFiles = {
    expr = builtins.filter ((import ../lib/base.nix).hasPrefix "systemd/") (builtins.attrNames (hm { }).xdg.configFile);
    expected = [
      "systemd/user/app.slice.d/ballast-protect.conf"
      "systemd/user/ballast.service"
      "systemd/user/graphical-session.target.wants/ballast.service"
      "systemd/user/session.slice.d/ballast-protect.conf"
    ];
  };
  # The unit home-manager writes holds every line of ballast's own (its INI sorts them).
  homeAgentText = {
    expr =
      let
        lines = text: builtins.sort builtins.lessThan (builtins.filter (l: builtins.isString l && l != "") (builtins.split "\n" text));
      in
      lines (hm { }).xdg.configFile."systemd/user/ballast.service".source.text == lines (ballastLib.systemd.agentUnitText exe);
    expected = true;
  };
  homePackage = { expr = names (hm { }).home.packages; expected = [ "ballast" ]; };
  homeNothingToWrite = { expr = (hm { }).xdg.configFile ? "ballast/config.toml"; expected = false; };
  homeAutostartOff = {
    expr = let c = hm { autostart = false; protectSession = false; }; in [ (c ? systemd) (c ? xdg) ];
    expected = [ false false ];
  };
  homeDisabled = {
    expr = let c = (home [ ]).config; in [ c.home.packages c.xdg.configFile c.systemd.user.services c.home.activation c.nixpkgs.overlays ];
    expected = [ [ ] { } { } { } [ ] ];
  };
  homeConfigFile = {
    expr = (hm { checkConfig = false; settings = { budget.idle_total = "3G"; app.discord.memory_max = "2.5G"; }; }).xdg.configFile."ballast/config.toml".source.text;
    expected = "[budget]\nidle_total = \"3G\"\n\n[[app]]\nid = \"discord\"\nmemory_max = \"2.5G\"\n";
  };
  homeConfigChecked = {
    expr = builtins.substring 0 (builtins.stringLength "${exe} --profile") (hm { settings.budget.idle_total = "3G"; }).xdg.configFile."ballast/config.toml".source.script;
    expected = "${exe} --profile";
  };
  homeTuneOff = { expr = (hm { }).home ? activation; expected = false; };
  homeTune = {
    expr = (hm { tune.kwin = true; }).home.activation.ballastTune;
    expected = {
      after = [ "linkGeneration" ];
      data = "if ! run '${exe}' 'tune' 'kwin' '--apply'; then\n  echo \"ballast: tuning failed (see above); the rest of the activation goes on\" >&2\nfi\n";
    };
  };
  homeKwinVariables = {
    expr = (hm { kwin.sessionVariables.enable = true; }).xdg.configFile."plasma-workspace/env/ballast-kwin.sh".text;
    expected = ballastLib.gpu.envScript (ballastLib.gpu.kwinSessionVariables ballastLib.reference.gpu);
  };
  electronWrappers = {
    expr = names apps.config.home.packages;
    expected = [ "ballast" "ballast-launch-claude-desktop" "ballast-launch-discord" "ballast-launch-signal" ];
  };
  electronWrappersWin = { expr = (builtins.elemAt apps.config.home.packages 1).meta.priority; expected = -10; };
  electronWrapperScript = {
    expr = (builtins.elemAt apps.config.home.packages 2).env.script;
    expected = "#!${m.pkgs.runtimeShell}\nexec '${exe}' 'launch' 'discord' '--foreground' '--' \"$@\"\n";
  };
  electronWrapperFiles = {
    expr = builtins.match ".*install -Dm755 \"\\$scriptPath\" \"\\$out/bin/Discord\".*share/applications/discord.desktop.*" (builtins.elemAt apps.config.home.packages 2).script != null;
    expected = true;
  };
  electronPins = {
    expr = apps.config.programs.ballast.appExecs;
    expected = { discord = "${m.store "discord"}/bin/Discord"; signal = "${m.store "signal-desktop"}/bin/signal-desktop"; };
  };
  electronPinsInConfig = {
    expr = builtins.match ".*id = \"discord\"\nexec = \"${m.store "discord"}/bin/Discord\".*"
      (ballastLib.config.text { execs = apps.config.programs.ballast.appExecs; }) != null;
    expected = true;
  };
  electronNoAssertions = { expr = apps.failedAssertions; expected = [ ]; };
  electronNeedsBallast = {
    expr = builtins.length (home [{ programs.ballast.electronApps = { enable = true; apps = [ "discord" ]; }; }]).failedAssertions;
    expected = 1;
  };
  electronPackageOverride = {
    expr = (home [{ programs.ballast = { enable = true; electronApps = { enable = true; apps = [ "discord" ]; packages.discord = m.pkgs.discord-ptb; }; }; }]).config.programs.ballast.appExecs;
    # nixpkgs' discord-ptb: meta.mainProgram = "DiscordPTB" (the README's example).
    expected = { discord = "${m.store "discord-ptb"}/bin/DiscordPTB"; };
  };
  electronOwnApp = {
    expr = names (home [{
      programs.ballast = {
        enable = true;
        settings.app.element = { name = "Element"; exec = "element-desktop"; toolkit = "electron"; category = "electron"; memory_high = "1G"; memory_max = "1.5G"; cpu_quota = "100%"; };
        electronApps = { enable = true; apps = [ "element" ]; packages.element = m.package "element-desktop"; };
      };
    }]).config.home.packages;
    expected = [ "ballast" "ballast-launch-element" ];
  };
  electronUnknownApp = {
    throws = (home [{ programs.ballast = { enable = true; electronApps = { enable = true; apps = [ "winamp" ]; }; }; }]).config.home.packages;
  };
  misspeltOptionIsReported = {
    expr = (m.evalModules { modules = [ ../modules/nixos/default.nix { ballast.memory.enabel = true; } ]; }).undeclared;
    expected = [ "ballast.memory.enabel" ];
  };
  modulesDefineOnlyDeclaredOptions = {
    expr = [
      (m.evalModules { modules = [ ../modules/nixos/default.nix { ballast = { memory.enable = true; cgroups.enable = true; systemLibs.enable = true; vaapi.enable = true; }; } ]; }).undeclared
      (home [{ programs.ballast = { enable = true; tune.kwin = true; kwin.sessionVariables.enable = true; systemLibs.enable = true; electronApps = { enable = true; apps = [ "discord" ]; }; }; }]).undeclared
    ];
    expected = [ [ ] [ ] ];
  };
  homeSystemLibs = {
    expr = builtins.length (hm { systemLibs.enable = true; }).nixpkgs.overlays;
    expected = 1;
  };
  homeSystemLibsChosen = {
    expr =
      let
        overlay = builtins.head (hm { systemLibs = { enable = true; libraries = [ "zstd" "libpng" ]; }; }).nixpkgs.overlays;
        stub = { overrideAttrs = _: "tuned"; };
      in
      overlay { } { zstd = stub; libpng = stub; xz = stub; };
    expected = { zstd = "tuned"; libpng = "tuned"; };
  };
}
