#!/usr/bin/env bash
# Benchmark of `stepkit check`: whole-process time of a Rust and a Python plugin, cold (compiling, empty
# cache) and warm (compiled component loaded from the cache), each next to a peer doing the same check
# without a sandbox in the same run (grep for the Rust scan, a python3 script for the Python one), plus the
# per-call costs stepkit reports in its JSON (cache load, instantiate, run). Prints a table and the ratios.
#
#   bench/check/run.sh                    # about 2 minutes on 2 cores; RUNS=N for more warm runs
#   STEPKIT_BIN=path/to/stepkit bench/check/run.sh
set -euo pipefail
cd "$(dirname "$0")/../.."
root="$PWD"
runs="${RUNS:-30}"
cold_runs="${COLD_RUNS:-5}"
python_cold_runs="${PYTHON_COLD_RUNS:-3}"

command -v hyperfine >/dev/null || { echo "hyperfine is required (apt-get install hyperfine)" >&2; exit 1; }
bin="${STEPKIT_BIN:-$root/target/release/stepkit}"
if [ -z "${STEPKIT_BIN:-}" ]; then
    echo "==> cargo build --release --bin stepkit" >&2
    cargo build --quiet --release --bin stepkit
fi
echo "==> plugins/build.sh" >&2
plugins/build.sh >/dev/null

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
cache="$work/cache"
results="$work/results"
mkdir -p "$results"

# --- the workload: 300 source files (3 MB) with a few TODO/FIXME, changed 30 or all; migrations ---
python3 - "$work/repo" <<'PY'
import os, sys
repo = sys.argv[1]
os.makedirs(f"{repo}/src", exist_ok=True)
changed = []
for i in range(300):
    lines = [f"fn f{i}_{n}(x: u32) -> u32 {{ x.wrapping_mul({n}) + {i} }} // plain code line" for n in range(120)]
    if i % 25 == 0:
        lines[40] += " TODO: tighten this bound"
    if i % 60 == 0:
        lines[80] = "// FIXME " + lines[80]
    path = f"src/m{i:03}.rs"
    with open(f"{repo}/{path}", "w") as f:
        f.write("\n".join(lines) + "\n")
    changed.append(path)
with open(f"{repo}/changed.txt", "w") as f:
    f.write("\n".join(changed) + "\n")
# A typical pull request touches tens of files, not hundreds.
with open(f"{repo}/changed-30.txt", "w") as f:
    f.write("\n".join(changed[:30]) + "\n")
os.makedirs(f"{repo}/migrations", exist_ok=True)
for i in range(200):
    open(f"{repo}/migrations/{i:04}_step.up.sql", "w").write("create table t(x int);\n")
    if i != 117:
        open(f"{repo}/migrations/{i:04}_step.down.sql", "w").write("drop table t;\n")
PY
cd "$work/repo"

rust_check="$bin check --quiet --plugin $root/plugins/dist/forbidden-patterns.wasm --allow-read . --changed-files changed-30.txt"
rust_check_300="${rust_check/changed-30.txt/changed.txt}"
python_check="$bin check --quiet --plugin $root/plugins/dist/migrations.wasm --allow-read . --set path=migrations"
# The peers: the same checks as a shell one-liner and a plain Python script (exit status ignored: both find issues).
grep_peer="grep -nwE 'TODO|FIXME' \$(cat changed-30.txt)"
grep_peer_300="grep -nwE 'TODO|FIXME' \$(cat changed.txt)"
cat > "$work/migrations.py" <<'PY'
import os, sys
files = set(os.listdir(sys.argv[1]))
missing = [f for f in sorted(files) if ".up." in f and f.replace(".up.", ".down.", 1) not in files]
print(f"{len(missing)} up migrations without down: {missing}")
PY
# The interpreter itself, not a version-manager shim (pyenv's is a shell script costing tens of ms).
python="$(python3 -c 'import sys; print(sys.executable)')"
python_peer="$python $work/migrations.py migrations"

bench() { # name, runs, prepare-or-empty, command
    local name="$1" n="$2" prepare="$3" cmd="$4"
    local args=(--style none --shell=bash -i --runs "$n" --export-json "$results/$name.json")
    if [ -n "$prepare" ]; then args+=(--prepare "$prepare"); else args+=(--warmup 3); fi
    # hyperfine's calibration warnings would bury the table; its log is shown only when it fails.
    hyperfine "${args[@]}" "$cmd" >/dev/null 2>"$results/$name.log" || { cat "$results/$name.log" >&2; exit 1; }
}

echo "==> cold runs (empty STEPKIT_CACHE_DIR before each)" >&2
export STEPKIT_CACHE_DIR="$cache"
bench rust-cold "$cold_runs" "rm -rf $cache" "$rust_check"
bench python-cold "$python_cold_runs" "rm -rf $cache" "$python_check"
echo "==> warm runs (cache filled)" >&2
$rust_check >/dev/null 2>&1 || true
$python_check >/dev/null 2>&1 || true
bench rust-warm "$runs" "" "$rust_check"
bench python-warm "$runs" "" "$python_check"
bench grep-peer "$runs" "" "$grep_peer"
bench rust-warm-300 "$runs" "" "$rust_check_300"
bench grep-peer-300 "$runs" "" "$grep_peer_300"
bench python-peer "$runs" "" "$python_peer"

echo "==> per-call timings from --format json (warm)" >&2
for i in $(seq 1 "$runs"); do
    $rust_check --format json 2>/dev/null >"$results/rust-timings-$i.json" || true
    $python_check --format json 2>/dev/null >"$results/python-timings-$i.json" || true
done

python3 - "$results" "$runs" <<'PY'
import glob, json, statistics, sys
results, runs = sys.argv[1], int(sys.argv[2])

def wall(name):
    data = json.load(open(f"{results}/{name}.json"))["results"][0]
    return statistics.median(data["times"]) * 1000

def timings(lang):
    per_run = []
    for path in glob.glob(f"{results}/{lang}-timings-*.json"):
        plugin = json.load(open(path))["data"]["plugins"][0]
        if plugin.get("cache") == "hit" and plugin.get("timings"):
            per_run.append(plugin["timings"])
    return {k: statistics.median(t[k] for t in per_run) for k in ("load_ms", "instantiate_ms", "run_ms")} if per_run else {}

rows = [
    ("stepkit + forbidden-patterns.wasm (Rust), cold, 30 changed files", wall("rust-cold")),
    ("stepkit + forbidden-patterns.wasm (Rust), warm, 30 changed files", wall("rust-warm")),
    ("peer: grep -nwE over the same 30 files", wall("grep-peer")),
    ("stepkit + forbidden-patterns.wasm (Rust), warm, 300 files", wall("rust-warm-300")),
    ("peer: grep -nwE over the same 300 files", wall("grep-peer-300")),
    ("stepkit + migrations.wasm (Python), cold", wall("python-cold")),
    ("stepkit + migrations.wasm (Python), warm", wall("python-warm")),
    ("peer: python3 script doing the same check", wall("python-peer")),
]
print("\n| run (whole process, median) | wall |\n|---|---:|")
for name, ms in rows:
    print(f"| {name} | {ms:.1f} ms |")
for lang in ("rust", "python"):
    t = timings(lang)
    if t:
        print(f"\n{lang} plugin, warm, per call (median of {runs}, stepkit's own timings): "
              f"cache load {t['load_ms']:.2f} ms, instantiate {t['instantiate_ms']:.2f} ms, run {t['run_ms']:.2f} ms")
rust_warm, grep_ms = wall("rust-warm"), wall("grep-peer")
py_warm, py_peer = wall("python-warm"), wall("python-peer")
print(f"\nRust plugin warm / grep: {rust_warm / grep_ms:.1f}x   (target: warm Rust check <= 30 ms: "
      f"{'met' if rust_warm <= 30 else 'NOT met'})")
print(f"Rust plugin warm, 300 files / grep: {wall('rust-warm-300') / wall('grep-peer-300'):.1f}x")
print(f"Python plugin warm / python3 script: {py_warm / py_peer:.2f}x")
print(f"cold / warm: Rust {wall('rust-cold') / rust_warm:.1f}x, Python {wall('python-cold') / py_warm:.1f}x")
t = timings("rust")
if t:
    print(f"cache load (Rust): {t['load_ms']:.2f} ms (target <= 5 ms: {'met' if t['load_ms'] <= 5 else 'NOT met'})")
PY
