# meta.mainProgram of the nixpkgs packages the stand-ins carry, where it differs from the
# package's name: lib.getExe reads it, and the electronApps pins must follow it (nixpkgs'
# discord/default.nix sets it to the binary, Discord or DiscordPTB; vscodium's is codium,
# zoom-us's is zoom). Every other stand-in package's binary is its own name.
{
  discord = "Discord";
  discord-ptb = "DiscordPTB";
  vscodium = "codium";
  zoom-us = "zoom";
}
