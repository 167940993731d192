# flake.nix of the stand-in nixpkgs that tests/nix_flake.rs assembles (with a copy of nix/
# beside it) to run `nix flake show` and `nix flake check --no-build` offline; the tests also
# call `outputs { self = { outPath = <checkout>; }; }` directly. nixosSystem is the stand-in
# module system of ../support/modules.nix. Not nixpkgs.
{
  description = "stand-in nixpkgs for offline flake checks";

  outputs = { self }:
    let
      pkgs = import "${self}/nix/tests/stubs/pkgs.nix" { };
      modules = import "${self}/nix/tests/support/modules.nix";
    in
    {
      lib = pkgs.lib // {
        nixosSystem = args: modules.evalModules { inherit (args) modules; inherit pkgs; };
      };
      legacyPackages.x86_64-linux = pkgs;
    };
}
