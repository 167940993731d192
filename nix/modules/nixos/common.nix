# The hardware profile every ballast NixOS module derives its defaults from.
{ lib, ... }:

let
  ballastLib = import ../../lib;
in
{
  options.ballast.profile = lib.mkOption {
    type = lib.types.attrs;
    default = ballastLib.reference;
    defaultText = lib.literalExpression "ballast.lib.profiles.shoshin";
    example = lib.literalExpression ''ballast.lib.extendProfile ballast.lib.profiles.shoshin { cpu.march = "znver3"; ballast.machine.ram = "32G"; }'';
    apply = ballastLib.checkProfile;
    description = ''
      The hardware profile (CPU, GPU, memory, storage, and ballast's own profile numbers)
      that the ballast modules take their defaults from. The default is the reference
      machine, whose numbers equal ballast's embedded default profile.
    '';
  };
}
