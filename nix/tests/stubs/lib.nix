# The nixpkgs lib functions flake.nix, nix/checks.nix and nix/package.nix use, for the
# stand-in nixpkgs (pkgs.nix); the module functions come from ../support/modules.nix.
let
  inherit (builtins) concatLists filter;
in
{
  inherit (builtins) attrNames concatStringsSep elem lessThan sort;
  inherit concatLists filter;
  optionals = condition: list: if condition then list else [ ];
  optionalString = condition: text: if condition then text else "";
  hasPrefix = prefix: text: builtins.substring 0 (builtins.stringLength prefix) text == prefix;
  licenses = { mit = "MIT"; asl20 = "Apache-2.0"; };
  platforms.linux = [ "x86_64-linux" ];
  # File sets: the source is the root itself (nothing here reads it).
  fileset = {
    toSource = { root, ... }: root;
    unions = paths: paths;
    maybeMissing = path: path;
    fileFilter = _: root: root;
  };
}
