# nix/lib/gpu.nix: VA-API, kernel parameters, KWin variables, CUDA.
let
  g = import ../lib/gpu.nix;
  gpu = (import ../profiles/shoshin.nix).gpu;
  amd = { vendor = "amd"; architecture = "rdna2"; };
in
{
  vaapiEnvironment = {
    expr = g.vaapiEnvironment gpu;
    expected = { LIBVA_DRIVER_NAME = "nvidia"; NVD_BACKEND = "direct"; VDPAU_DRIVER = "nvidia"; MOZ_DISABLE_RDD_SANDBOX = "1"; };
  };
  driversWithBridges = {
    expr = g.vaapiPackages { inherit gpu; };
    expected = { primary = "nvidia-vaapi-driver"; bridges = [ "libvdpau-va-gl" "libva-vdpau-driver" ]; };
  };
  driversWithoutBridges = { expr = (g.vaapiPackages { inherit gpu; bridges = false; }).bridges; expected = [ ]; };
  vaapiIsForNvidia = { throws = g.vaapiEnvironment amd; };
  driversAreForNvidia = { throws = g.vaapiPackages { gpu = amd; }; };
  modeset = { expr = g.kernelParams gpu; expected = [ "nvidia-drm.modeset=1" ]; };
  noModesetElsewhere = { expr = g.kernelParams amd; expected = [ ]; };
  maxwellNeedsClosedModules = { expr = g.openKernelModule gpu; expected = false; };
  ampereCanUseOpenModules = { expr = g.openKernelModule (gpu // { architecture = "ampere"; }); expected = true; };
  cuda = { expr = g.nixpkgsConfig gpu; expected = { cudaCapabilities = [ "5.2" ]; cudaForwardCompat = false; }; };
  kwinVariables = {
    expr = g.kwinSessionVariables gpu;
    expected = { KWIN_OPENGL_INTERFACE = "glx"; __GL_YIELD = "USLEEP"; __GL_MaxFramesAllowed = "1"; };
  };
  envScriptQuotes = {
    expr = g.envScript { A = "x y"; B = "it's"; };
    expected = "# Written by home-manager (programs.ballast.kwin.sessionVariables).\nexport A='x y'\nexport B='it'\\''s'\n";
  };
}
