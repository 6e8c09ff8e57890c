#!/usr/bin/env bash
# Benchmark: peak memory of `stepkit junit summary` and `junit merge` reading one large JUnit report
# of small test cases with many small attributes (the worst case per input byte), against the
# input size and against Python's ElementTree parsing the same file.
#
# Target (issue 13): stepkit's peak RSS near 2x the input size (it was 9x: 926 MB for 100 MB).
# The script prints the ratios; it does not fail on them (a benchmark measures, tests assert).
#
# Usage: bench/junit-memory/run.sh                 (from any directory)
# Knobs: BENCH_MEGABYTES=100 BENCH_RUNS=3 BENCH_KEEP=1 (keep the temp dir)
#        STEPKIT=path/to/stepkit (default: build release into CARGO_TARGET_DIR or <repo>/target)
set -euo pipefail

here="$(cd "$(dirname "$0")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
megabytes="${BENCH_MEGABYTES:-100}"
runs="${BENCH_RUNS:-3}"

log() { printf '==> %s\n' "$*" >&2; }

# GNU time reports peak RSS (%M); the shell's `time` keyword cannot. junit-merge/run.sh installs it.
[ -x /usr/bin/time ] || { log "needs GNU time: apt-get install time"; exit 2; }
work="$(mktemp -d "${TMPDIR:-/tmp}/stepkit-bench-junit-memory.XXXXXX")"
[ -n "${BENCH_KEEP:-}" ] && log "keeping $work" || trap 'rm -rf "$work"' EXIT

if [ -n "${STEPKIT:-}" ]; then
    stepkit="$STEPKIT"
else
    log "building stepkit (release)"
    (cd "$repo" && timeout 1800 cargo build --release --bin stepkit)
    stepkit="${CARGO_TARGET_DIR:-$repo/target}/release/stepkit"
fi

log "generating a ${megabytes} MB report"
python3 "$here/generate.py" "$work/big.xml" --megabytes "$megabytes" >&2
size_kib=$(( $(stat -c %s "$work/big.xml") / 1024 ))

# Prints "wall_seconds peak_kib" for one run of the command.
measure() {
    /usr/bin/time -f '%e %M' -o "$work/time.out" "$@" >/dev/null 2>"$work/stderr.out" || true
    tail -n 1 "$work/time.out"
}

median_of() { sort -g | awk '{v[NR] = $1} END {print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2}'; }

report() {
    local label="$1"; shift
    : >"$work/runs"
    for _ in $(seq "$runs"); do measure "$@" >>"$work/runs"; done
    local wall peak
    wall=$(awk '{print $1}' "$work/runs" | median_of)
    peak=$(awk '{print $2}' "$work/runs" | median_of)
    printf '%-34s wall %7.2f s   peak RSS %8.1f MiB   %5.2fx input\n' "$label" "$wall" "$(echo "$peak / 1024" | bc -l)" "$(echo "$peak / $size_kib" | bc -l)"
}

printf 'input: %s (%.1f MiB), median of %s runs\n' "$(basename "$work/big.xml")" "$(echo "$size_kib / 1024" | bc -l)" "$runs"
report "stepkit junit summary" "$stepkit" --format json junit summary --no-fail "$work/big.xml"
report "stepkit junit merge" "$stepkit" junit merge "$work/big.xml" -o "$work/merged.xml"
report "python3 ElementTree parse (peer)" python3 -c 'import sys, xml.etree.ElementTree as ET; ET.parse(sys.argv[1])' "$work/big.xml"
