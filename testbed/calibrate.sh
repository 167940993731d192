#!/bin/bash
# How much slower the agent's own idle tick runs in the guest (TCG) than on the host: run this
# same script in both places and divide the CPU times it prints.
#
# Usage: testbed/calibrate.sh BALLAST FIXTURE_TREE [SECONDS [WARM_SECONDS]]
#   e.g. on the host:  testbed/calibrate.sh target/release/ballast tests/fixtures/plasma-v2-idle 300
#   in the guest (with both copied to target/testbed/run/share first):
#        target/checked/testbed user 'bash /mnt/host/calibrate.sh /mnt/host/ballast /mnt/host/plasma-v2-idle 300'
#
# The agent reads the fixture tree (--root) at 30 s ticks on a bus of its own (no tray host,
# no notification server, no user manager), and its meminfo is rewritten in place every second
# with MemAvailable down by 0-600 MB in seven steps, so that every tick has new figures. Prints
# the agent's user and system clock ticks over SECONDS (proc(5) stat fields 14 and 15) once it
# ran WARM_SECONDS (default 300: under TCG a code path's first runs cost most, as QEMU
# translates it, and the agent being measured has run for minutes), and
# perf stat's task-clock (ms) where perf runs: the host's time is a few ms, under one clock tick
# a tick.
set -eu
ballast=$(realpath "$1")
tree=$2
span=${3:-300}
warm=${4:-300}
work=$(mktemp -d)
trap 'kill $writer $agent $bus 2>/dev/null; rm -rf "$work"' EXIT
cp -a "$tree" "$work/tree"
printf '[sample]\ntick_seconds = 30\nidle_tick_seconds = 30\n' > "$work/profile.toml"
meminfo=$work/tree/proc/meminfo
for step in 0 1 2 3 4 5 6; do
  # The value keeps its own width, so each version has the original's length.
  awk -v kb=$((step * 100000)) '/^(MemFree|MemAvailable):/ {
      width = length($0) - length($1) - 3; printf "%s%" width "d kB\n", $1, $2 - kb; next } { print }' \
    "$meminfo" > "$work/v$step"
done
read -r address bus < <(dbus-daemon --session --fork --print-address=1 --print-pid=1 | paste -sd ' ')
WAYLAND_DISPLAY=${WAYLAND_DISPLAY:-calibrate} DBUS_SESSION_BUS_ADDRESS=$address \
  "$ballast" --profile "$work/profile.toml" --root "$work/tree" agent > "$work/agent.log" 2>&1 &
agent=$!
( i=0; while true; do dd if="$work/v$((i % 7))" of="$meminfo" conv=notrunc status=none; i=$((i + 1)); sleep 1; done ) &
writer=$!
sleep "$warm"
read -ra before < /proc/$agent/stat
if perf stat -e task-clock -p $agent -- sleep "$span" 2> "$work/perf" && grep -q task-clock "$work/perf"; then
  echo "task_clock_ms $(awk '/task-clock/ {gsub(",", "", $1); print $1}' "$work/perf")"
else
  sleep "$span"
fi
read -ra after < /proc/$agent/stat
echo "seconds $span clk_tck $(getconf CLK_TCK)"
echo "user_ticks $((after[13] - before[13])) system_ticks $((after[14] - before[14]))"
