# nix/lib/apps.nix: the electronApps wrappers and menu entries.
let
  a = import ../lib/apps.nix;
  catalog = (import ../profiles/shoshin.nix).ballast.app;
  ids = map (app: app.id) catalog;
  ballast = "/nix/store/b-ballast/bin/ballast";
  pinnedAll = a.plan {
    inherit catalog ballast;
    wrapperDir = "/out/bin";
    # Packages whose binary (meta.mainProgram) is the catalog's exec.
    choices = builtins.listToAttrs (map (app: { name = app.id; value = { exe = "/nix/store/p-${app.id}/bin/${app.exec}"; }; }) catalog);
  };
  withApp = id: changes: map (app: if app.id == id then app // changes else app) catalog;
  unpinned = a.plan { inherit catalog ballast; wrapperDir = "/out/bin"; choices.discord = { }; };
in
{
  # named as the catalog maps them: discord -> Discord, signal -> signal-desktop, ...
  wrapperNames = {
    expr = builtins.mapAttrs (_: p: p.name) pinnedAll;
    expected = {
      teams = "teams-for-linux";
      discord = "Discord";
      spotify = "spotify";
      codium = "codium";
      claude-desktop = "claude-desktop";
      signal = "signal-desktop";
      zoom = "zoom";
      obsidian = "obsidian";
      firefox = "firefox";
      chromium = "chromium";
      brave = "brave";
    };
  };
  wrapperBody = {
    expr = pinnedAll.discord.body;
    expected = "exec '/nix/store/b-ballast/bin/ballast' 'launch' 'discord' '--foreground' '--' \"$@\"\n";
  };
  argv = { expr = a.argv ballast "signal"; expected = [ ballast "launch" "signal" "--foreground" "--" ]; };
  pinsTheRealBinary = {
    expr = a.execs pinnedAll;
    expected = builtins.listToAttrs (map (app: { name = app.id; value = "/nix/store/p-${app.id}/bin/${app.exec}"; }) catalog);
  };
  # nixpkgs' discord-ptb: meta.mainProgram = "DiscordPTB" (FACTS.md).
  pinnedPackagesOwnBinary = {
    expr =
      let p = (a.plan { inherit catalog ballast; wrapperDir = "/o"; choices.discord.exe = "/nix/store/p-discord-ptb/bin/DiscordPTB"; }).discord;
      in [ p.name p.pinned.exec p.wrapper ];
    expected = [ "DiscordPTB" "/nix/store/p-discord-ptb/bin/DiscordPTB" "/o/DiscordPTB" ];
  };
  # Whole numbers are bytes, as in ballast's TOML.
  sizesAsBytes = {
    expr = builtins.match ".*MemoryHigh 1M, MemoryMax 1.5G,.*" (a.plan { catalog = withApp "discord" { memory_high = 1048576; memory_max = 1610612736; }; inherit ballast; wrapperDir = "/o"; choices.discord = { }; }).discord.desktopText != null;
    expected = true;
  };
  badSize = { throws = (a.plan { catalog = withApp "discord" { memory_max = "5 gigs"; }; inherit ballast; wrapperDir = "/o"; choices.discord = { }; }).discord.desktopText; };
  quotaAsNumber = { throws = (a.plan { catalog = withApp "discord" { cpu_quota = 150; }; inherit ballast; wrapperDir = "/o"; choices.discord = { }; }).discord.desktopText; };
  unpinnedDoesNotShadow = { expr = unpinned.discord.name; expected = "ballast-discord"; };
  unpinnedLeavesExecAlone = { expr = a.execs unpinned; expected = { }; };
  noProblems = { expr = a.problems pinnedAll ++ a.problems unpinned; expected = [ ]; };
  desktopEntry = {
    expr = pinnedAll.signal.desktopText;
    expected = ''
      [Desktop Entry]
      Type=Application
      Name=Signal
      GenericName=Signal
      Comment=Signal, held to MemoryHigh 1.5G, MemoryMax 2G, CPUQuota 100% by ballast
      Exec=/out/bin/signal-desktop %U
      Icon=signal-desktop
      Terminal=false
      Categories=Network;InstantMessaging;Chat;
      StartupWMClass=signal
    '';
  };
  desktopFileReplacesThePackagesOwn = { expr = pinnedAll.codium.desktopFile; expected = "codium.desktop"; };
  desktopOverrides = {
    expr = (a.plan { inherit catalog ballast; wrapperDir = "/o"; choices.zoom = { desktop.icon = "zoom"; }; }).zoom.desktopText;
    expected = "[Desktop Entry]\nType=Application\nName=Zoom\nGenericName=Zoom\nComment=Zoom, held to MemoryHigh 2.5G, MemoryMax 4G, CPUQuota 250% by ballast\nExec=/o/ballast-zoom %U\nIcon=zoom\nTerminal=false\nCategories=Network;VideoConference;\nStartupWMClass=zoom\n";
  };
  unknownApp = { throws = a.plan { inherit catalog ballast; wrapperDir = "/o"; choices.winamp = { }; }; };
  everyCatalogAppIsKnown = { expr = builtins.filter (id: !(a.known ? ${id})) ids; expected = [ ]; };
  nixpkgsNames = {
    expr = map a.packageAttr [ "discord" "signal" "teams" "codium" "zoom" "claude-desktop" "element" ];
    expected = [ "discord" "signal-desktop" "teams-for-linux" "vscodium" "zoom-us" null null ];
  };
}
