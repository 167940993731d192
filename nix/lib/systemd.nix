# The agent's systemd user unit and desktop entry, read from the templates in data/ that
# `ballast autostart enable` also installs (src/agent/autostart.rs includes the same files):
# as text (the package installs it) and as attribute sets (home-manager's
# systemd.user.services). `@exe@` in a template stands for the binary's absolute path; full-line
# `#` comments are left out. tests/nix_profile.rs compares both forms with the Rust.
let
  inherit (builtins) any concatStringsSep elem elemAt filter foldl' genList head isString length listToAttrs match readFile replaceStrings split substring;

  # The lines of a file as Rust's str::lines gives them (no empty last line).
  lines = text:
    let
      all = filter isString (split "\n" text);
      n = length all;
    in
    if n > 0 && elemAt all (n - 1) == "" then genList (elemAt all) (n - 1) else all;
  base = import ./base.nix;

  # A template's lines as installed for `exe`.
  installedLines = file: exe:
    map (replaceStrings [ "@exe@" ] [ exe ])
      (filter (line: substring 0 1 line != "#") (lines (readFile file)));

  text = lines': concatStringsSep "" (map (line: line + "\n") lines');

  unitTemplate = ../../data/ballast.service;
  desktopTemplate = ../../data/io.ballast.Ballast.desktop;
  autostartKeys = ../../data/io.ballast.Ballast-autostart.desktop;

  key = line: let m = match "([^=]*)=.*" line; in if m == null then null else head m;

  # [Install] keys hold lists of unit names: home-manager maps over them (a string fails
  # every switch: FACTS.md), and so does NixOS's wantedBy.
  listKeys = [ "WantedBy" "RequiredBy" "UpheldBy" "Also" ];

  # INI text -> { Section = { Key = value; }; }, list keys split on whitespace.
  toAttrs = lines':
    let
      step = state: line:
        let
          header = match "[[](.*)[]]" line;
          entry = match "([^=]+)=(.*)" line;
        in
        if header != null then state // { section = head header; }
        else if entry == null then state
        else state // { entries = state.entries ++ [{ inherit (state) section; key = head entry; value = elemAt entry 1; }]; };
      parsed = foldl' step { section = null; entries = [ ]; } lines';
      sections = base.unique (map (e: e.section) parsed.entries);
      value = e: if elem e.key listKeys then filter (w: isString w && w != "") (split "[[:space:]]+" e.value) else e.value;
    in
    listToAttrs (map
      (section: {
        name = section;
        value = listToAttrs (map (e: { name = e.key; value = value e; }) (filter (e: e.section == section) parsed.entries));
      })
      sections);

  # INI text from an ordered list of sections { name; entries = [ [ key value ] ]; }: sections
  # separated by a blank line (the electronApps menu entries).
  render = sections:
    concatStringsSep "\n" (map
      (s: "[${s.name}]\n" + concatStringsSep "" (map (e: "${elemAt e 0}=${elemAt e 1}\n") s.entries))
      sections);

  # The XDG autostart entry: the desktop entry with the autostart keys replacing those of the
  # same name, the others added at the end.
  autostartLines = exe:
    let
      entry = installedLines desktopTemplate exe;
      overrides = installedLines autostartKeys exe;
      replacement = line:
        let found = filter (o: key line != null && key o == key line) overrides;
        in if found == [ ] then line else head found;
      added = filter (o: !(any (line: key line != null && key line == key o) entry)) overrides;
    in
    map replacement entry ++ added;
in
{
  inherit render toAttrs;

  appId = "io.ballast.Ballast";
  unitName = "ballast.service";
  busName = "io.ballast.Agent";

  agentUnitText = exe: text (installedLines unitTemplate exe);
  # home-manager: systemd.user.services.ballast = agentUnit "${pkg}/bin/ballast";
  agentUnit = exe: toAttrs (installedLines unitTemplate exe);

  desktopEntryText = exe: text (installedLines desktopTemplate exe);
  autostartEntryText = exe: text (autostartLines exe);
}
