# flake.nix of the stand-in home-manager that tests/nix_flake.rs assembles (with a copy of
# nix/ beside it): homeManagerConfiguration is the stand-in module system of
# ../support/modules.nix with the home-manager options of ../support/home-manager.nix (their
# real types: WantedBy mapped as a list, ExecStart read back as a list). Not home-manager.
{
  description = "stand-in home-manager for offline flake checks";

  outputs = { self }:
    let
      modules = import "${self}/nix/tests/support/modules.nix";
    in
    {
      lib.homeManagerConfiguration = args: modules.evalHome { inherit (args) modules pkgs; };
    };
}
