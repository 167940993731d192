# Every ballast NixOS module; each is off until its `ballast.<name>.enable`.
{
  imports = [
    ./common.nix
    ./memory.nix
    ./cgroups.nix
    ./system-libs.nix
    ./vaapi.nix
  ];
}
