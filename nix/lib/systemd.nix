# The agent's systemd user unit and desktop entry, exactly as `ballast autostart enable`
# writes them (src/agent/autostart.rs: unit_text, desktop_entry). Each is one ordered list
# of sections, rendered two ways: as text (the package installs it) and as attribute sets
# (home-manager's systemd.user.services). tests/nix_profile.rs compares both with the Rust.
let
  inherit (builtins) concatStringsSep elemAt listToAttrs map;

  section = name: entries: { inherit name entries; };

  agentSections = exe: [
    (section "Unit" [
      [ "Description" "ballast memory budget agent" ]
      [ "PartOf" "graphical-session.target" ]
      [ "After" "graphical-session.target plasma-plasmashell.service" ]
    ])
    (section "Service" [
      [ "Type" "dbus" ]
      [ "BusName" "io.ballast.Agent" ]
      [ "ExecStart" "${exe} agent" ]
      [ "Restart" "on-failure" ]
      [ "RestartSec" "5" ]
      [ "Slice" "background.slice" ]
      [ "MemoryHigh" "24M" ]
      [ "MemoryMax" "48M" ]
      [ "CPUWeight" "20" ]
    ])
    (section "Install" [
      [ "WantedBy" "plasma-workspace.target" ]
    ])
  ];

  desktopSections = exe: autostart: [
    (section "Desktop Entry" ([
      [ "Type" "Application" ]
      [ "Name" "ballast" ]
      [ "GenericName" "Memory budget" ]
      [ "Comment" "Keeps the desktop inside its memory budget" ]
      [ "Exec" "${exe} agent" ]
      [ "Icon" "ballast" ]
      [ "Terminal" "false" ]
      [ "Categories" "System;Monitor;" ]
    ] ++ (if autostart then [
      [ "X-KDE-autostart-phase" "2" ]
      [ "NoDisplay" "true" ]
    ] else [ ])))
  ];

  # INI text: sections separated by a blank line, `key=value` lines, a final newline.
  render = sections:
    concatStringsSep "\n" (map
      (s: "[${s.name}]\n" + concatStringsSep "" (map (e: "${elemAt e 0}=${elemAt e 1}\n") s.entries))
      sections);

  toAttrs = sections:
    listToAttrs (map
      (s: {
        inherit (s) name;
        value = listToAttrs (map (e: { name = elemAt e 0; value = elemAt e 1; }) s.entries);
      })
      sections);
in
{
  inherit render toAttrs;

  appId = "io.ballast.Ballast";
  unitName = "ballast.service";
  busName = "io.ballast.Agent";

  agentUnitText = exe: render (agentSections exe);
  # home-manager: systemd.user.services.ballast = agentUnit "${pkg}/bin/ballast";
  agentUnit = exe: toAttrs (agentSections exe);

  desktopEntryText = exe: render (desktopSections exe false);
  autostartEntryText = exe: render (desktopSections exe true);
}
