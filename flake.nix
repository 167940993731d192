{
  description = "ballast: keeps a KDE Plasma desktop inside a memory budget";

  inputs.nixpkgs.url = "github:NixOS/nixpkgs/nixos-26.05";

  outputs = { self, nixpkgs }:
    let
      system = "x86_64-linux";
      pkgs = nixpkgs.legacyPackages.${system};
    in
    {
      packages.${system} = {
        ballast = pkgs.callPackage ./nix/package.nix { };
        default = self.packages.${system}.ballast;
      };
      apps.${system}.default = {
        type = "app";
        program = "${self.packages.${system}.ballast}/bin/ballast";
      };
    };
}
