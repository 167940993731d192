# nix/lib/config.nix: the config file home-manager writes (an overlay on the embedded
# default). tests/nix_profile.rs feeds such a file to `ballast --profile`.
let
  c = import ../lib/config.nix;
  p = import ../lib/profiles.nix;
  reference = p.shoshin.ballast;
in
{
  referenceProfileWritesNothing = { expr = c.overlay { profile = reference; inherit reference; }; expected = { }; };
  emptyIsEmpty = { expr = c.text { profile = reference; inherit reference; }; expected = ""; };
  otherProfileIsWritten = {
    expr = (c.overlay { profile = (p.extend p.shoshin { ballast.machine.ram = "32G"; }).ballast; inherit reference; }).machine.ram;
    expected = "32G";
  };
  appsByIdOrList = {
    expr = c.normalize { app.discord.memory_max = "2.5G"; category = [{ id = "browser"; workload = "5G"; }]; };
    expected = { app = [{ id = "discord"; memory_max = "2.5G"; }]; category = [{ id = "browser"; workload = "5G"; }]; };
  };
  mergesEntriesById = {
    expr = c.merge { app = [{ id = "a"; x = 1; y = 1; }]; } { app = [{ id = "a"; y = 2; } { id = "b"; }]; };
    expected = { app = [{ id = "a"; x = 1; y = 2; } { id = "b"; }]; };
  };
  otherArraysReplace = {
    expr = c.merge { launch.gpu_flags_x11 = [ "a" "b" ]; } { launch.gpu_flags_x11 = [ "c" ]; };
    expected = { launch.gpu_flags_x11 = [ "c" ]; };
  };
  pinsAppBinaries = {
    expr = c.overlay { settings.app.discord.memory_max = "2.5G"; execs.discord = "/nix/store/d/bin/Discord"; };
    expected = { app = [{ id = "discord"; memory_max = "2.5G"; exec = "/nix/store/d/bin/Discord"; }]; };
  };
  sample = {
    expr = c.text { settings = { budget.idle_total = "3G"; app.discord.memory_max = "2.5G"; }; };
    expected = "[budget]\nidle_total = \"3G\"\n\n[[app]]\nid = \"discord\"\nmemory_max = \"2.5G\"\n";
  };
}
