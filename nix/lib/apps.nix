# The electronApps wrappers: one per catalog app, named as the catalog maps the app to its
# binary (discord -> Discord, signal -> signal-desktop, teams -> teams-for-linux, ...), each
# running `ballast launch ID --foreground -- "$@"`, so the app menu, a terminal and the
# tray's Launch menu all start the app in the same limited scope.
let
  inherit (builtins) attrNames concatStringsSep filter head isString listToAttrs toJSON tryEval;
  base = import ./base.nix;
  systemd = import ./systemd.nix;
  units = import ./units.nix;

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
    firefox = { package = "firefox"; desktopId = "firefox"; icon = "firefox"; categories = [ "Network" "WebBrowser" ]; wmClass = "firefox"; };
    chromium = { package = "chromium"; desktopId = "chromium-browser"; icon = "chromium"; categories = [ "Network" "WebBrowser" ]; wmClass = "chromium-browser"; };
    brave = { package = "brave"; desktopId = "brave-browser"; icon = "brave-browser"; categories = [ "Network" "WebBrowser" ]; wmClass = "brave-browser"; };
  };

  # An app's limit as its menu entry shows it, or an error naming the option and what a valid
  # value looks like. Sizes are strings ("2.5G") or whole numbers of bytes, as in the TOML.
  limit = app: key:
    let
      value = app.${key};
      shown = tryEval (if key == "cpu_quota" then (if isString value then units.formatQuota (units.parseQuota value) else throw "") else units.formatSize (units.parseSize value));
      valid = if key == "cpu_quota" then "a CPU quota like \"150%\" (a string: percent of one CPU)" else "a size like \"512M\" or \"2.5G\", or a whole number of bytes";
    in
    if shown.success then shown.value
    else throw "programs.ballast.settings.app.${app.id}.${key} = ${toJSON value}: expected ${valid}";

  fallback = app: { package = null; desktopId = "ballast-${app.id}"; icon = app.id; categories = [ "Utility" ]; wmClass = null; };

  findApp = catalog: id:
    let found = filter (a: a.id == id) catalog;
    in
    if found == [ ] then throw "programs.ballast.electronApps: \"${id}\" is not in the app catalog (${concatStringsSep ", " (map (a: a.id) catalog)}); add it with programs.ballast.settings.app.${id}"
    else head found;

  argv = ballast: id: [ ballast "launch" id "--foreground" "--" ];

  # What each wrapper is called. With the real binary pinned (`exe`, from its package), the
  # wrapper takes the binary's own name, so anything that runs `DiscordPTB` goes through
  # ballast; ballast then runs the pinned absolute path and never finds the wrapper. Without
  # a pin ballast looks the binary up on PATH, so the wrapper must not shadow it.
  wrapperName = { app, exe }: if exe != null then base.baseName exe else "ballast-${app.id}";

  # The wrapper's shell code (writeShellScriptBin adds the #! line).
  wrapperBody = { ballast, id }: "exec ${base.shellWords (argv ballast id)} \"$@\"\n";
in
{
  inherit known argv wrapperName wrapperBody;

  # The nixpkgs attribute name for a catalog id, or null.
  packageAttr = id: (known.${id} or { package = null; }).package;

  # One plan per chosen app: choices.<id> = { exe = "/nix/store/...-discord-ptb/bin/DiscordPTB"
  # or null; desktop = { icon = ...; } overrides }. `exe` is the package's own binary
  # (lib.getExe: meta.mainProgram), never a name guessed from the catalog: discord-ptb's is
  # DiscordPTB. `wrapperDir` is where the wrapper lands (the module passes its derivation's
  # `placeholder "out"`/bin).
  plan = { catalog, ballast, choices, wrapperDir }:
    listToAttrs (map
      (id:
        let
          app = findApp catalog id;
          choice = choices.${id};
          pinned = (choice.exe or null) != null;
          meta = (known.${id} or (fallback app)) // (choice.desktop or { });
          name = wrapperName { inherit app; exe = choice.exe or null; };
          wrapper = "${wrapperDir}/${name}";
        in
        {
          name = id;
          value = {
            inherit name wrapper;
            pinned = if pinned then { inherit id; exec = choice.exe; } else null;
            body = wrapperBody { inherit ballast id; };
            desktopFile = "${meta.desktopId}.desktop";
            desktopText = systemd.render [{
              name = "Desktop Entry";
              entries = [
                [ "Type" "Application" ]
                [ "Name" app.name ]
                [ "GenericName" app.name ]
                [ "Comment" "${app.name}, held to MemoryHigh ${limit app "memory_high"}, MemoryMax ${limit app "memory_max"}, CPUQuota ${limit app "cpu_quota"} by ballast" ]
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
