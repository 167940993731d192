# nix/lib/systemd.nix: the agent's unit and desktop entry. tests/nix_profile.rs also
# compares them with the Rust that `ballast autostart enable` runs.
let
  s = import ../lib/systemd.nix;
  exe = "/nix/store/x-ballast/bin/ballast";
in
{
  unitText = {
    expr = s.agentUnitText exe;
    expected = ''
      [Unit]
      Description=ballast memory budget agent
      PartOf=graphical-session.target
      After=plasma-plasmashell.service

      [Service]
      Type=dbus
      BusName=io.ballast.Agent
      ExecStart=/nix/store/x-ballast/bin/ballast agent
      Restart=on-failure
      RestartSec=5
      Slice=background.slice
      MemoryHigh=24M
      MemoryMax=48M
      CPUWeight=20

      [Install]
      WantedBy=graphical-session.target
    '';
  };
  unitForHomeManager = {
    expr = s.agentUnit exe;
    expected = {
      Unit = { Description = "ballast memory budget agent"; PartOf = "graphical-session.target"; After = "plasma-plasmashell.service"; };
      Service = {
        Type = "dbus";
        BusName = "io.ballast.Agent";
        ExecStart = "${exe} agent";
        Restart = "on-failure";
        RestartSec = "5";
        Slice = "background.slice";
        MemoryHigh = "24M";
        MemoryMax = "48M";
        CPUWeight = "20";
      };
      # A list: home-manager maps over it (FACTS.md, "home-manager, as it really evaluates").
      Install.WantedBy = [ "graphical-session.target" ];
    };
  };
  # OOMScoreAdjust= is refused on scopes and an unprivileged user manager cannot lower it.
  noOomScoreAdjust = { expr = (s.agentUnit exe).Service ? OOMScoreAdjust; expected = false; };
  desktopEntry = {
    expr = s.desktopEntryText exe;
    expected = ''
      [Desktop Entry]
      Type=Application
      Name=ballast
      GenericName=Memory budget
      Comment=Keeps the desktop inside its memory budget
      Exec=/nix/store/x-ballast/bin/ballast dashboard
      Icon=ballast
      Terminal=false
      Categories=System;Monitor;
    '';
  };
  autostartEntry = {
    expr = s.autostartEntryText exe;
    expected = builtins.replaceStrings [ "Exec=${exe} dashboard\n" ] [ "Exec=${exe} agent --defer-to-unit\n" ] (s.desktopEntryText exe)
      + "X-KDE-autostart-phase=2\nNoDisplay=true\n";
  };
  iniListKeys = {
    expr = s.toAttrs [ "[Install]" "WantedBy=a.target  b.target" "Also=c.service" "[Unit]" "After=x y" ];
    expected = { Install = { WantedBy = [ "a.target" "b.target" ]; Also = [ "c.service" ]; }; Unit.After = "x y"; };
  };
  names = { expr = [ s.appId s.unitName s.busName ]; expected = [ "io.ballast.Ballast" "ballast.service" "io.ballast.Agent" ]; };
}
