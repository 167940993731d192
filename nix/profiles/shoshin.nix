# shoshin, the reference machine: i7-6700K (Skylake, 4 cores / 8 threads), GTX 960 4 GB
# (Maxwell), 16 GB RAM + 75 % zram, NVMe. NixOS with KDE Plasma.
#
# `ballast` is ballast's own profile in Nix form: it equals the embedded default profile
# (src/profile/default.toml) key for key, except the categories' match rules (`units`,
# `exes`), which only the agent reads. tests/nix_profile.rs compares the two. The other
# attributes are hardware facts the Nix modules derive their defaults from (nix/lib).
let
  ballast = {
    machine = {
      name = "shoshin";
      ram = "16G";
      os_cores = 2;
      workload_cores = 2;
      threads_per_core = 2;
    };
    sample = {
      tick_seconds = 2;
      idle_tick_seconds = 30;
    };
    budget = {
      idle_total = "3.5G";
      workload_total = "10G";
      workload_threshold = "256M";
      near_fraction = 0.9;
      leave_margin = 0.05;
      leave_ticks = 3;
    };
    zram = {
      fraction = 0.75;
      algorithm = "zstd";
      priority = 100;
    };
    sysctl = {
      swappiness = 10;
      vfs_cache_pressure = 50;
      dirty_ratio = 10;
      dirty_background_ratio = 5;
    };
    category = [
      { id = "kernel"; name = "Kernel + drivers"; source = "kernel"; idle = "400M"; workload = "600M"; cpu = "os"; }
      { id = "services"; name = "systemd + services"; source = "match"; idle = "100M"; workload = "150M"; cpu = "os"; }
      { id = "plasma"; name = "Plasma desktop"; source = "match"; idle = "500M"; workload = "800M"; cpu = "os"; }
      { id = "audio"; name = "PipeWire / audio"; source = "match"; idle = "50M"; workload = "100M"; cpu = "os"; }
      { id = "electron"; name = "Electron apps"; source = "match"; idle = "0"; workload = "4G"; cpu = "workload"; }
      { id = "browser"; name = "Browser"; source = "match"; idle = "0"; workload = "4G"; cpu = "workload"; }
      { id = "devtools"; name = "Dev tools"; source = "match"; idle = "0"; workload = "4G"; cpu = "workload"; }
      { id = "cache"; name = "Buffer / cache"; source = "cache"; idle = "2G"; workload = "1G"; cpu = "os"; }
    ];
    gpu = {
      vram_budget = "4G";
      sample_every_ticks = 5;
    };
    launch = {
      slice = "app.slice";
      govern = "all";
      gpu_flags_x11 = [
        "--ignore-gpu-blocklist"
        "--enable-gpu-rasterization"
        "--enable-zero-copy"
        "--use-gl=angle"
        "--use-angle=gl"
        "--enable-features=VaapiVideoDecodeLinuxGL,VaapiVideoDecoder"
        "--disable-features=UseChromeOSDirectVideoDecoder"
      ];
      gpu_flags_wayland = [
        "--ozone-platform=wayland"
        "--enable-wayland-ime"
        "--ignore-gpu-blocklist"
        "--enable-gpu-rasterization"
        "--enable-zero-copy"
        "--enable-features=WaylandWindowDecorations,VaapiVideoDecodeLinuxGL"
      ];
    };
    notify = {
      pressure_some_avg10 = 10.0;
      zram_full = 0.9;
      cooldown_seconds = 300;
    };
    app = [
      { id = "teams"; name = "Microsoft Teams"; desktop_ids = [ "teams-for-linux" ]; exec = "teams-for-linux"; toolkit = "electron"; category = "electron"; v8_heap_mb = 1536; memory_high = "2.5G"; memory_max = "4G"; cpu_quota = "200%"; }
      { id = "discord"; name = "Discord"; desktop_ids = [ "discord" "com.discordapp.Discord" ]; exec = "Discord"; toolkit = "electron"; category = "electron"; v8_heap_mb = 1024; memory_high = "2G"; memory_max = "3G"; cpu_quota = "150%"; }
      { id = "spotify"; name = "Spotify"; desktop_ids = [ "spotify" "com.spotify.Client" ]; exec = "spotify"; toolkit = "cef"; category = "electron"; memory_high = "2G"; memory_max = "3G"; cpu_quota = "100%"; oom_score_adj = 500; }
      { id = "codium"; name = "VSCodium"; desktop_ids = [ "codium" "com.vscodium.codium" ]; exec = "codium"; toolkit = "electron"; category = "devtools"; v8_heap_mb = 2048; memory_high = "4G"; memory_max = "5G"; cpu_quota = "200%"; }
      { id = "claude-desktop"; name = "Claude Desktop"; desktop_ids = [ "claude-desktop" ]; exec = "claude-desktop"; toolkit = "electron"; category = "electron"; v8_heap_mb = 2048; memory_high = "4G"; memory_max = "6G"; cpu_quota = "200%"; }
      { id = "signal"; name = "Signal"; desktop_ids = [ "signal" "signal-desktop" "org.signal.Signal" ]; exec = "signal-desktop"; toolkit = "electron"; category = "electron"; v8_heap_mb = 768; memory_high = "1.5G"; memory_max = "2G"; cpu_quota = "100%"; }
      { id = "zoom"; name = "Zoom"; desktop_ids = [ "Zoom" "us.zoom.Zoom" ]; exec = "zoom"; toolkit = "qt"; category = "electron"; memory_high = "2.5G"; memory_max = "4G"; cpu_quota = "250%"; }
      { id = "obsidian"; name = "Obsidian"; desktop_ids = [ "obsidian" "md.obsidian.Obsidian" ]; exec = "obsidian"; toolkit = "electron"; category = "electron"; v8_heap_mb = 1024; memory_high = "1.5G"; memory_max = "2.5G"; cpu_quota = "150%"; }
      { id = "firefox"; name = "Firefox"; desktop_ids = [ "firefox" "firefox-esr" "org.mozilla.firefox" ]; exec = "firefox"; toolkit = "native"; category = "browser"; memory_high = "3G"; memory_max = "4G"; cpu_quota = "300%"; exes = [ "firefox-esr" "firefox-bin" ".firefox-wrapped" "Web Content" "Isolated Web Co" "WebExtensions" "RDD Process" "Socket Process" "Privileged Cont" "Utility Process" ]; }
      { id = "chromium"; name = "Chromium"; desktop_ids = [ "chromium-browser" "chromium" "org.chromium.Chromium" ]; exec = "chromium"; toolkit = "chromium"; category = "browser"; memory_high = "3G"; memory_max = "4G"; cpu_quota = "300%"; exes = [ "chromium-browser" ".chromium-wrapped" ]; }
      { id = "brave"; name = "Brave"; desktop_ids = [ "brave-browser" "com.brave.Browser" ]; exec = "brave"; toolkit = "chromium"; category = "browser"; memory_high = "3G"; memory_max = "4G"; cpu_quota = "300%"; exes = [ "brave-browser*" ]; }
    ];
    protect = {
      session_memory_low = "250M";
      app_slice_oomd = true;
    };
    tune = {
      kwin = {
        backend = "OpenGL";
        gl_prefer_buffer_swap = "a";
        gl_texture_filter = 1;
        windows_block_compositing = true;
        animation_duration_factor = 0.5;
        effects_on = [ "blur" ];
        effects_off = [ "contrast" "wobblywindows" "magiclamp" ];
      };
      baloo = {
        only_basic_indexing = true;
        index_hidden_folders = false;
        exclude_folders = [
          "$HOME/.cache/"
          "$HOME/.local/share/Trash/"
          "$HOME/.nix-profile/"
          "$HOME/.nix-defexpr/"
          "/nix/store/"
          "$HOME/node_modules/"
          "$HOME/.cargo/"
          "$HOME/.rustup/"
        ];
      };
    };
  };
in
{
  name = "shoshin";

  cpu = {
    model = "Intel Core i7-6700K";
    # gcc's names: -march=skylake -mtune=skylake; the optimisation level for the overlays.
    march = "skylake";
    mtune = "skylake";
    optimize = "-O3";
    cores = ballast.machine.os_cores + ballast.machine.workload_cores;
    threadsPerCore = ballast.machine.threads_per_core;
  };

  gpu = {
    vendor = "nvidia";
    model = "GeForce GTX 960";
    architecture = "maxwell";
    cudaCapability = "5.2";
    memory = "4G";
  };

  memory = {
    inherit (ballast.machine) ram;
    inherit (ballast) zram;
  };

  storage = {
    # The system disk: nvme | ssd | hdd. NVMe queues need no I/O scheduler.
    kind = "nvme";
    scheduler = "none";
  };

  inherit ballast;
}
