#!/usr/bin/env bash
# Benchmark: `stepkit dashboard` on a history of 1,000 runs (250 versions × tests, deploy, load on two
# targets; 50 tests per report), recorded through `stepkit history record`. Prints the median wall time
# of rendering the page from all 1,000 runs and the page's size, and the ratio against a peer doing the
# same read without drawing: `stepkit history query --last 250` on the same store (the query layer the
# dashboard is built on), so the ratio is the price of the model, the charts and the page.
#
# Budget (issue 16): 1,000 runs render in under 1 s into under 2 MiB. The script reports whether they are
# met; it does not fail on them (a benchmark measures, CI tests assert behaviour).
#
# Usage: bench/dashboard/run.sh                       (from any directory; builds stepkit in release mode)
# Knobs: BENCH_PROFILE=release|debug (debug skips the release build: numbers are then labelled debug)
#        BENCH_VERSIONS=250 BENCH_TESTS=50 BENCH_REPEAT=5 BENCH_KEEP=1 (keep the temp dir)
#        CARGO_TARGET_DIR (where the build is; default <repo>/target)
set -euo pipefail

here="$(cd "$(dirname "$0")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
profile="${BENCH_PROFILE:-release}"
versions="${BENCH_VERSIONS:-250}"
tests="${BENCH_TESTS:-50}"
repeat="${BENCH_REPEAT:-5}"

log() { printf '==> %s\n' "$*" >&2; }

work="$(mktemp -d "${TMPDIR:-/tmp}/stepkit-bench-dashboard.XXXXXX")"
if [ -n "${BENCH_KEEP:-}" ]; then
    log "keeping $work"
else
    trap 'rm -rf "$work"' EXIT
fi

case "$profile" in
release) log "building stepkit (release)"; (cd "$repo" && cargo build --release --bin stepkit) ;;
debug) log "building stepkit (debug: the numbers below are NOT the release numbers)"; (cd "$repo" && cargo build --bin stepkit) ;;
*) echo "BENCH_PROFILE must be release or debug" >&2; exit 2 ;;
esac
stepkit="${CARGO_TARGET_DIR:-$repo/target}/$profile/stepkit"
case "$stepkit" in /*) ;; *) stepkit="$repo/$stepkit" ;; esac

log "writing the inputs of $versions versions ($tests tests each)"
python3 "$here/generate.py" "$work/in" "$versions" "$tests"
store="$work/history.sqlite"
log "recording $((versions * 4)) runs through stepkit history record"
for ((v = 0; v < versions; v++)); do
    "$stepkit" --quiet --history "$store" history record "$work/in/v$v"/* \
        --version "1.0.$v" --repository octo/app --branch main >/dev/null 2>&1
done
runs="$(python3 -c 'import sqlite3,sys; print(sqlite3.connect(sys.argv[1]).execute("select count(*) from runs").fetchone()[0])' "$store")"
log "the store holds $runs runs"

# Median wall time of REPEAT runs of a command, in milliseconds (after one warm-up run).
median_ms() {
    "$@" >/dev/null 2>&1 || true
    for ((i = 0; i < repeat; i++)); do
        local start end
        start="$(date +%s%N)"
        "$@" >/dev/null 2>&1
        end="$(date +%s%N)"
        echo $(((end - start) / 1000000))
    done | sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'
}

page="$work/site/index.html"
dashboard_ms="$(median_ms "$stepkit" --history "$store" dashboard -o "$page" --last "$versions")"
query_ms="$(median_ms "$stepkit" --history "$store" history query --last "$versions")"
bytes="$(stat -c %s "$page")"
drawn="$("$stepkit" --history "$store" --format json dashboard -o "$page" --last "$versions" 2>/dev/null |
    python3 -c 'import json,sys; print(json.load(sys.stdin)["data"]["runs"])')"

echo
echo "stepkit dashboard ($profile build), $drawn of $runs runs drawn, median of $repeat:"
printf '  dashboard          %6d ms   page %d KiB\n' "$dashboard_ms" "$((bytes / 1024))"
printf '  history query      %6d ms   (peer: the same read, no drawing)\n' "$query_ms"
python3 -c 'import sys; d,q=int(sys.argv[1]),int(sys.argv[2]); print(f"  ratio dashboard / query: {d/max(q,1):.2f}x")' "$dashboard_ms" "$query_ms"
[ "$dashboard_ms" -lt 1000 ] && echo "  under 1 s: yes" || echo "  under 1 s: NO"
[ "$bytes" -lt $((2 * 1024 * 1024)) ] && echo "  under 2 MiB: yes" || echo "  under 2 MiB: NO"
