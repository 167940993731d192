# The home-manager options ballast's home modules touch, declared with home-manager's own
# types and behaviour (home-manager's modules/systemd.nix, modules/files.nix,
# modules/home-environment.nix and modules/misc/nixpkgs.nix, release-26.05 and master), for the
# stand-in module system of modules.nix. Not home-manager: it keeps what makes a module pass or
# fail there.
#
# - systemd.user.services.<name>: free-form sections; Unit.Documentation and Service.Environment
#   coerce a string to a list; Service.ExecStart accepts a string or a list and reads back as a
#   list (`apply = lib.toList`). Each service becomes xdg.configFile "systemd/user/<name>.service"
#   (INI: sections and keys sorted, lists as repeated keys, null and [ ] left out) plus one
#   "systemd/user/<target>.wants/<name>.service" link per Install.WantedBy entry and one
#   ".requires" link per Install.RequiredBy entry: home-manager maps over both, so a string
#   there fails with "value is a string while a list was expected".
# - xdg.configFile.<path>: { text; source; executable; force }.
# - home.packages (list of packages), home.sessionVariables, home.activation (a DAG of entries),
#   nixpkgs.overlays (a list of functions), assertions.
{ config, lib, pkgs, ... }:

let
  inherit (lib) mkOption types;
  inherit (builtins) attrNames concatLists concatStringsSep isBool listToAttrs map;

  listOfStr = types.coercedTo types.str lib.toList (types.listOf types.str);

  service = types.submodule {
    options = {
      Unit = {
        Description = mkOption { type = types.nullOr types.str; default = null; };
        Documentation = mkOption { type = listOfStr; default = [ ]; };
        X-Reload-Triggers = mkOption { type = types.listOf (types.either types.package types.str); default = [ ]; };
        X-Restart-Triggers = mkOption { type = types.listOf (types.either types.package types.str); default = [ ]; };
        X-SwitchMethod = mkOption { type = types.enum [ null "reload" "restart" "stop-start" "keep-old" ]; default = null; };
      };
      Service = {
        Environment = mkOption { type = listOfStr; default = [ ]; };
        ExecStart = mkOption {
          type = types.either (types.either types.package types.str) (types.listOf (types.either types.package types.str));
          apply = lib.toList;
          default = [ ];
        };
      };
    };
  };

  file = types.submodule {
    options = {
      text = mkOption { type = types.nullOr types.lines; default = null; };
      source = mkOption { type = types.nullOr types.path; default = null; };
      executable = mkOption { type = types.nullOr types.bool; default = null; };
      force = mkOption { type = types.bool; default = false; };
    };
  };

  # lib.generators.toINI { listsAsDuplicateKeys = true; } as home-manager's toSystemdIni calls it.
  toSystemdIni = sections:
    concatStringsSep "\n" (map
      (section:
        "[${section}]\n" + concatStringsSep "" (concatLists (map
          (key:
            map (value: "${key}=${if isBool value then (if value then "true" else "false") else toString value}\n")
              (lib.toList sections.${section}.${key}))
          (attrNames sections.${section}))))
      (attrNames sections));

  # Fields that are null or [ ] and then empty sections are left out, as home-manager does.
  finalUnit = unit:
    let
      kept = builtins.mapAttrs (_: section: lib.filterAttrs (_: value: value != null && value != [ ]) section) unit;
    in
    lib.filterAttrs (_: section: section != { }) kept;

  buildService = name: unit:
    let
      filename = "${name}.service";
      source = pkgs.writeText filename (toSystemdIni (finalUnit unit));
      link = kind: target: { name = "systemd/user/${target}.${kind}/${filename}"; value.source = source; };
    in
    [{ name = "systemd/user/${filename}"; value.source = source; }]
    ++ map (link "wants") (unit.Install.WantedBy or [ ])
    ++ map (link "requires") (unit.Install.RequiredBy or [ ]);
in
{
  options = {
    systemd.user.services = mkOption { type = types.attrsOf service; default = { }; };
    xdg.configFile = mkOption { type = types.attrsOf file; default = { }; };
    home = {
      packages = mkOption { type = types.listOf types.package; default = [ ]; };
      sessionVariables = mkOption { type = types.attrsOf (types.either types.int (types.either types.str types.path)); default = { }; };
      activation = mkOption { type = types.attrsOf types.anything; default = { }; };
    };
    nixpkgs.overlays = mkOption { type = types.listOf (lib.mkOptionType { name = "nixpkgs overlay"; check = builtins.isFunction; }); default = [ ]; };
    assertions = mkOption { type = types.listOf types.attrs; default = [ ]; };
  };

  config.xdg.configFile = listToAttrs (concatLists (lib.mapAttrsToList buildService config.systemd.user.services));
}
