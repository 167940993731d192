# The electronApps wrappers: one per catalog app, named as the catalog maps the app to its
# binary (discord -> Discord, signal -> signal-desktop, teams -> teams-for-linux, ...), each
# running `ballast launch ID --foreground -- "$@"`, so the app menu, a terminal and the
# tray's Launch menu all start the app in the same limited scope.
let
  inherit (builtins) attrNames concatStringsSep filter head listToAttrs;
  base = import ./base.nix;
  systemd = import ./systemd.nix;

  # nixpkgs attribute of each catalog app's package (null: not packaged in nixpkgs), the
  # name of the package's own desktop file (ours takes the same name so it replaces it in
  # the menu), its icon and menu categories, and its window class.
  known = {
    teams = { package = "teams-for-linux"; desktopId = "teams-for-linux"; icon = "teams-for-linux"; categories = [ "Network" "InstantMessaging" "Chat" ]; wmClass = "teams-for-linux"; };
    discord = { package = "discord"; desktopId = "discord"; icon = "discord"; categories = [ "Network" "InstantMessaging" "Chat" ]; wmClass = "discord"; };
    spotify = { package = "spotify"; desktopId = "spotify"; icon = "spotify-client"; categories = [ "AudioVideo" "Audio" "Music" "Player" ]; wmClass = "spotify"; };
    codium = { package = "vscodium"; desktopId = "codium"; icon = "vscodium"; categories = [ "Development" "IDE" "Utility" "TextEditor" ]; wmClass = "VSCodium"; };
    claude-desktop = { package = null; desktopId = "claude-desktop"; icon = "claude-desktop"; categories = [ "Office" "Utility" ]; wmClass = "Claude"; };
    signal = { package = "signal-desktop"; desktopId = "signal"; icon = "signal-desktop"; categories = [ "Network" "InstantMessaging" "Chat" ]; wmClass = "signal"; };
    zoom = { package = "zoom-us"; desktopId = "Zoom"; icon = "Zoom"; categories = [ "Network" "VideoConference" ]; wmClass = "zoom"; };
    obsidian = { package = "obsidian"; desktopId = "obsidian"; icon = "obsidian"; categories = [ "Office" ]; wmClass = "obsidian"; };
  };

  fallback = app: { package = null; desktopId = "ballast-${app.id}"; icon = app.id; categories = [ "Utility" ]; wmClass = null; };

  findApp = catalog: id:
    let found = filter (a: a.id == id) catalog;
    in
    if found == [ ] then throw "programs.ballast.electronApps: \"${id}\" is not in the app catalog (${concatStringsSep ", " (map (a: a.id) catalog)}); add it with programs.ballast.settings.app.${id}"
    else head found;

  argv = ballast: id: [ ballast "launch" id "--foreground" "--" ];

  # What each wrapper is called. With the real binary pinned (its package given), the
  # wrapper takes the binary's own name, so anything that runs `Discord` goes through
  # ballast; ballast then runs the pinned absolute path and never finds the wrapper. Without
  # a pin ballast looks the binary up on PATH, so the wrapper must not shadow it.
  wrapperName = { app, pinned }: if pinned then base.baseName app.exec else "ballast-${app.id}";

  # The wrapper's shell code (writeShellScriptBin adds the #! line).
  wrapperBody = { ballast, id }: "exec ${base.shellWords (argv ballast id)} \"$@\"\n";
in
{
  inherit known argv wrapperName wrapperBody;

  # The nixpkgs attribute name for a catalog id, or null.
  packageAttr = id: (known.${id} or { package = null; }).package;

  # One plan per chosen app: choices.<id> = { package = "/nix/store/...-discord" or null;
  # desktop = { icon = ...; } overrides }. The real binary is the package's bin/ entry named
  # as the catalog's `exec`. `wrapperDir` is where the wrapper lands (the module passes
  # its derivation's `placeholder "out"`/bin).
  plan = { catalog, ballast, choices, wrapperDir }:
    listToAttrs (map
      (id:
        let
          app = findApp catalog id;
          choice = choices.${id};
          pinned = (choice.package or null) != null;
          meta = (known.${id} or (fallback app)) // (choice.desktop or { });
          name = wrapperName { inherit app pinned; };
          wrapper = "${wrapperDir}/${name}";
        in
        {
          name = id;
          value = {
            inherit name wrapper;
            pinned = if pinned then { inherit id; exec = "${choice.package}/bin/${base.baseName app.exec}"; } else null;
            body = wrapperBody { inherit ballast id; };
            desktopFile = "${meta.desktopId}.desktop";
            desktopText = systemd.render [{
              name = "Desktop Entry";
              entries = [
                [ "Type" "Application" ]
                [ "Name" app.name ]
                [ "GenericName" app.name ]
                [ "Comment" "${app.name}, held to MemoryHigh ${app.memory_high}, MemoryMax ${app.memory_max}, CPUQuota ${app.cpu_quota} by ballast" ]
                [ "Exec" "${wrapper} %U" ]
                [ "Icon" meta.icon ]
                [ "Terminal" "false" ]
                [ "Categories" "${concatStringsSep ";" meta.categories};" ]
              ] ++ base.optional (meta.wmClass != null) [ "StartupWMClass" meta.wmClass ];
            }];
          };
        })
      (attrNames choices));

  # The config.toml pins for the plan: id -> absolute binary.
  execs = plan: listToAttrs (map (id: { name = id; value = plan.${id}.pinned.exec; })
    (filter (id: plan.${id}.pinned != null) (attrNames plan)));

  # Wrapper names must be distinct, and a wrapper named like a binary must have it pinned.
  problems = plan:
    let
      names = map (id: plan.${id}.name) (attrNames plan);
    in
    filter (x: x != null)
      (map
        (id: if base.count (n: n == plan.${id}.name) names > 1 then "two wrappers are called ${plan.${id}.name}" else null)
        (attrNames plan))
    ++ filter (x: x != null) (map
      (id: if plan.${id}.pinned == null && !(base.hasPrefix "ballast-" plan.${id}.name) then "${id}: its wrapper would shadow its own binary" else null)
      (attrNames plan));

}
