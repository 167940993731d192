#!/usr/bin/env bash
# Checks ballast's NVML figures against nvidia-smi's, on a machine with an NVIDIA GPU:
# memory used/total, GPU/memory/encoder/decoder utilization, temperature, power, and
# per-process memory of compute apps. Prints PASS / FAIL / SKIP lines; exits 1 on any
# FAIL, 2 when it cannot run here (no nvidia-smi, no python3, build failure).
#
#   tests/gpu-nvidia.sh [OUTDIR]
#
# OUTDIR (default: a temp dir) keeps the two reports, nvidia-smi's CSVs and readings.json,
# the raw NVML answers: copy that into tests/fixtures/gpu/nvml/ as a captured fixture.
set -uo pipefail
cd "$(dirname "$0")/.." || exit 2
out=${1:-$(mktemp -d)}
mkdir -p "$out" || exit 2

command -v nvidia-smi >/dev/null || { echo "SKIP nvidia-smi not found: not an NVIDIA machine"; exit 2; }
command -v python3 >/dev/null || { echo "SKIP python3 not found: needed to compare"; exit 2; }
# BALLAST_GPU_REPORT replaces the example binary (to test this script without a GPU).
bin=${BALLAST_GPU_REPORT:-target/release/examples/gpu_report}
if [ -z "${BALLAST_GPU_REPORT:-}" ]; then
    cargo build --release --quiet --example gpu_report || { echo "FAIL build"; exit 2; }
    if command -v readelf >/dev/null && readelf -d "$bin" | grep -q libnvidia-ml; then
        echo "FAIL gpu_report links libnvidia-ml at build time (it must dlopen it)"
        exit 1
    fi
fi

# Ours before and after nvidia-smi: a moving figure must lie within what we saw around it.
"$bin" >"$out/report1.json" || { echo "FAIL gpu_report"; exit 1; }
nvidia-smi --query-gpu=index,pci.bus_id,name,driver_version,memory.used,memory.total,utilization.gpu,utilization.memory,temperature.gpu,power.draw \
    --format=csv,noheader,nounits >"$out/gpu.csv" || { echo "FAIL nvidia-smi --query-gpu"; exit 1; }
# Older nvidia-smi lacks the codec fields: an empty file makes those checks SKIP.
nvidia-smi --query-gpu=pci.bus_id,utilization.encoder,utilization.decoder \
    --format=csv,noheader,nounits >"$out/codec.csv" 2>/dev/null || : >"$out/codec.csv"
nvidia-smi --query-compute-apps=gpu_bus_id,pid,used_memory \
    --format=csv,noheader,nounits >"$out/apps.csv" || { echo "FAIL nvidia-smi --query-compute-apps"; exit 1; }
"$bin" >"$out/report2.json" || { echo "FAIL gpu_report"; exit 1; }
"$bin" --nvml-readings >"$out/readings.json" || echo "FAIL gpu_report --nvml-readings"
echo "outputs in $out"

python3 - "$out" <<'PY'
import csv, json, sys

out = sys.argv[1]
MIB = 1 << 20
fails = 0

def line(status, name, detail):
    global fails
    fails += status == "FAIL"
    print(f"{status} {name}: {detail}")

def bus(text):
    """nvidia-smi's 00000000:01:00.0 as the kernel (and our report) writes it."""
    domain, _, rest = text.strip().lower().partition(":")
    try:
        return f"{int(domain, 16):04x}:{rest}"
    except ValueError:
        return text.strip().lower()

def smi_number(text):
    text = text.strip()
    try:
        return float(text)
    except ValueError:
        return None  # [N/A], [Not Supported], ...

def compare(name, ours, theirs, tolerance):
    """ours: our values around nvidia-smi's reading (None = unknown)."""
    known = [v for v in ours if v is not None]
    if theirs is None and not known:
        line("PASS", name, "unknown on both sides")
    elif theirs is None or len(known) < len(ours):
        line("FAIL", name, f"ours {ours} vs nvidia-smi {theirs}: one side unknown")
    else:
        low, high = min(known) - tolerance, max(known) + tolerance
        status = "PASS" if low <= theirs <= high else "FAIL"
        line(status, name, f"ours {[round(v, 1) for v in known]} vs nvidia-smi {theirs} (±{round(tolerance, 1)})")

reports = [json.load(open(f"{out}/report{i}.json")) for i in (1, 2)]
for i, report in enumerate(reports, 1):
    if report["source"] != "nvml":
        line("FAIL", f"source (report {i})", f"{report['source']}: {report['reason']}")
        sys.exit(1)
    for note in report["notes"]:
        print(f"NOTE {note}")
devices = [{d["pci_bus_id"]: d for d in r["devices"]} for r in reports]

def ours(bus_id, get):
    return [get(d[bus_id]) if bus_id in d else None for d in devices]

for row in csv.reader(open(f"{out}/gpu.csv"), skipinitialspace=True):
    index, bus_id, name, driver, used, total, util_gpu, util_mem, temp, power = row
    b = bus(bus_id)
    gpu = f"GPU {index} ({b})"
    if b not in devices[0]:
        line("FAIL", gpu, "not in our report")
        continue
    d = devices[0][b]
    line("PASS" if d["name"] == name.strip() else "FAIL", f"{gpu} name", f"ours {d['name']!r} vs {name.strip()!r}")
    line("PASS" if d["driver_version"] == driver.strip() else "FAIL", f"{gpu} driver", f"ours {d['driver_version']} vs {driver.strip()}")
    mib = lambda key: (lambda d: None if d[key] is None else d[key] / MIB)
    used_mib = smi_number(used)
    compare(f"{gpu} memory.used MiB", ours(b, mib("memory_used")), used_mib, max(32, (used_mib or 0) * 0.02))
    compare(f"{gpu} memory.total MiB", ours(b, mib("memory_total")), smi_number(total), 1)
    compare(f"{gpu} utilization.gpu %", ours(b, lambda d: d["utilization"]["gpu"]), smi_number(util_gpu), 10)
    compare(f"{gpu} utilization.memory %", ours(b, lambda d: d["utilization"]["memory"]), smi_number(util_mem), 10)
    compare(f"{gpu} temperature °C", ours(b, lambda d: d["temperature_c"]), smi_number(temp), 2)
    watts = smi_number(power)
    compare(f"{gpu} power W", ours(b, lambda d: d["power_w"]), watts, max(10, (watts or 0) * 0.15))

codec = list(csv.reader(open(f"{out}/codec.csv"), skipinitialspace=True))
if not codec:
    line("SKIP", "utilization.encoder/decoder", "this nvidia-smi has no such query fields")
for bus_id, encoder, decoder in codec:
    b = bus(bus_id)
    compare(f"{b} utilization.encoder %", ours(b, lambda d: d["utilization"]["encoder"]), smi_number(encoder), 10)
    compare(f"{b} utilization.decoder %", ours(b, lambda d: d["utilization"]["decoder"]), smi_number(decoder), 10)

index_of = {b: d["index"] for b, d in devices[0].items()}
apps = list(csv.reader(open(f"{out}/apps.csv"), skipinitialspace=True))
if not apps:
    line("SKIP", "per-process memory", "no compute processes running (start one, e.g. a CUDA sample, and rerun)")
for bus_id, pid, used in apps:
    b, pid = bus(bus_id), int(pid)
    name = f"pid {pid} on {b} compute memory MiB"
    found = [next((p for p in r["processes"] if p["pid"] == pid and p["device_index"] == index_of.get(b)), None) for r in reports]
    if not any(found):
        line("FAIL", name, "not in our report")
        continue
    values = [None if p is None or p["compute_memory"] is None else p["compute_memory"] / MIB for p in found if p is not None]
    compare(name, values, smi_number(used), 1)

print("FAIL" if fails else "PASS", f"{fails} failure(s)")
sys.exit(1 if fails else 0)
PY
