# GPU decisions from a hardware profile's GPU (profile.gpu: vendor, architecture,
# cudaCapability): VA-API/VDPAU drivers and environment, kernel parameters, the KWin
# session variables, CUDA capabilities.
let
  inherit (builtins) attrNames concatStringsSep elem;
  base = import ./base.nix;

  nvidiaOnly = what: gpu:
    if gpu.vendor == "nvidia" then true
    else throw "${what} is for NVIDIA GPUs (nvidia-vaapi-driver); the profile's GPU is \"${gpu.vendor}\"";

  # NVIDIA's open kernel modules drive Turing and newer only.
  openArchitectures = [ "turing" "ampere" "ada" "hopper" "blackwell" ];
in
{
  # Package attribute names (nixpkgs) for hardware.graphics.extraPackages. `primary`
  # provides lib/dri/nvidia_drv_video.so; libva-vdpau-driver ships a file of the same name
  # (VA-API over VDPAU, the older bridge), so the module gives `primary` the higher priority.
  vaapiPackages = { gpu, bridges ? true }:
    assert nvidiaOnly "ballast.vaapi" gpu;
    {
      primary = "nvidia-vaapi-driver";
      # VDPAU -> VA-API/GL (libvdpau-va-gl) and VA-API -> VDPAU (libva-vdpau-driver).
      bridges = if bridges then [ "libvdpau-va-gl" "libva-vdpau-driver" ] else [ ];
    };

  # Session environment for hardware video decoding through NVDEC.
  vaapiEnvironment = gpu:
    assert nvidiaOnly "ballast.vaapi" gpu;
    {
      LIBVA_DRIVER_NAME = "nvidia";
      # The EGL backend is broken on current drivers; direct talks to the kernel module.
      NVD_BACKEND = "direct";
      # VDPAU stays on NVIDIA's own implementation.
      VDPAU_DRIVER = "nvidia";
      # Firefox decodes in its RDD process, whose sandbox blocks the driver.
      MOZ_DISABLE_RDD_SANDBOX = "1";
    };

  kernelParams = gpu: if gpu.vendor == "nvidia" then [ "nvidia-drm.modeset=1" ] else [ ];

  # hardware.nvidia.open: the open kernel modules only where the GPU supports them.
  openKernelModule = gpu: gpu.vendor == "nvidia" && elem gpu.architecture openArchitectures;

  # nixpkgs.config for CUDA builds: only this GPU's compute capability.
  nixpkgsConfig = gpu:
    if gpu.vendor == "nvidia" then { cudaCapabilities = [ gpu.cudaCapability ]; cudaForwardCompat = false; }
    else { };

  # KWin on the NVIDIA X11 driver: GLX, a sleeping (not spinning) buffer swap wait, and one
  # frame in flight (less input lag, no stutter under load).
  kwinSessionVariables = gpu:
    if gpu.vendor == "nvidia" then {
      KWIN_OPENGL_INTERFACE = "glx";
      __GL_YIELD = "USLEEP";
      __GL_MaxFramesAllowed = "1";
    } else { };

  # A script for ~/.config/plasma-workspace/env/, which startplasma sources before KWin
  # starts (login shells' variables come too late for KWin).
  envScript = variables:
    "# Written by home-manager (programs.ballast.kwin.sessionVariables).\n"
    + concatStringsSep "" (map (name: "export ${name}=${base.shellQuote variables.${name}}\n") (attrNames variables));
}
