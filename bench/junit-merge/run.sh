#!/usr/bin/env bash
# Benchmark: `stepkit junit merge` against Python's junitparser merging the same JUnit reports
# (by default 200,000 test cases in 20 shard files). Measures wall time and peak RSS of each,
# prints the medians, the speed ratio and stepkit's peak memory relative to the input size, and
# checks that both merged outputs hold the same tests.
#
# Targets (issue): stepkit at least 10x faster than junitparser; stepkit's peak memory at most
# twice the input size. The script reports whether they are met; it does not fail on them (a
# benchmark measures, CI tests assert behaviour).
#
# Usage: bench/junit-merge/run.sh            (from any directory)
# Knobs: BENCH_RUNS=3 BENCH_FILES=20 BENCH_CASES=200000 BENCH_DUPLICATES=200 BENCH_SEED=1
#        BENCH_TIMEOUT=600 (seconds per measured run) BENCH_KEEP=1 (keep the temp dir)
#        CARGO_TARGET_DIR (where the release build goes; default <repo>/target)
#        BENCH_CACHE_DIR (where the junitparser venv is kept; default ~/.cache/stepkit-bench)
set -euo pipefail

here="$(cd "$(dirname "$0")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
runs="${BENCH_RUNS:-3}"
files="${BENCH_FILES:-20}"
cases="${BENCH_CASES:-200000}"
duplicates="${BENCH_DUPLICATES:-200}"
seed="${BENCH_SEED:-1}"
run_timeout="${BENCH_TIMEOUT:-600}"
# Pinned so that numbers recorded in docs/performance.md can be reproduced.
junitparser_pin="junitparser==5.0.3"
lxml_pin="lxml==6.1.3"

log() { printf '==> %s\n' "$*" >&2; }

work="$(mktemp -d "${TMPDIR:-/tmp}/stepkit-bench-junit-merge.XXXXXX")"
if [ -n "${BENCH_KEEP:-}" ]; then
    log "keeping $work"
else
    trap 'rm -rf "$work"' EXIT
fi

# --- tools ---------------------------------------------------------------------------------------
# GNU time reports peak RSS (%M); the shell's `time` keyword cannot.
if [ ! -x /usr/bin/time ]; then
    log "installing GNU time (Debian package 'time')"
    export DEBIAN_FRONTEND=noninteractive
    timeout 600 apt-get update -qq
    timeout 600 apt-get install -y -qq --no-install-recommends time
fi

log "building stepkit (release)"
(cd "$repo" && timeout 1800 cargo build --release --bin stepkit)
stepkit="${CARGO_TARGET_DIR:-$repo/target}/release/stepkit"
# CARGO_TARGET_DIR may be relative to the repo, where cargo ran.
case "$stepkit" in /*) ;; *) stepkit="$repo/$stepkit" ;; esac
measure_stepkit=1
if ! "$stepkit" junit merge --help >/dev/null 2>&1; then
    log "WARNING: $stepkit has no 'junit merge' command yet: measuring junitparser only"
    measure_stepkit=
fi

# The peer runs from a venv of its own (kept between runs) unless junitparser is already importable.
if python3 -c 'import junitparser' 2>/dev/null; then
    py=python3
else
    venv="${BENCH_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/stepkit-bench}/${junitparser_pin/==/-}"
    if ! "$venv/bin/python" -c 'import junitparser' 2>/dev/null; then
        log "creating $venv with $junitparser_pin"
        python3 -m venv "$venv" || { echo "run.sh: python3 -m venv failed (on Debian: apt-get install python3-venv)" >&2; exit 3; }
        timeout 600 "$venv/bin/pip" install -q --disable-pip-version-check "$junitparser_pin"
        # lxml is optional for junitparser ("use lxml to speed things up"): measured when it installs.
        timeout 600 "$venv/bin/pip" install -q --disable-pip-version-check "$lxml_pin" ||
            log "lxml did not install; junitparser is measured with ElementTree only"
    fi
    py="$venv/bin/python"
fi
# junitparser parses with lxml when it can import it, else with ElementTree: measure each available.
parsers=(etree)
if "$py" -c 'import lxml.etree' 2>/dev/null; then parsers+=(lxml); fi

# --- data ----------------------------------------------------------------------------------------
data="$work/data"
timeout 600 "$py" "$here/generate.py" "$data" --files "$files" --cases "$cases" \
    --duplicates "$duplicates" --seed "$seed" >&2
inputs=("$data"/*.xml)
manifest() { "$py" -c 'import json, sys; print(json.load(open(sys.argv[1]))[sys.argv[2]])' "$data/manifest.json" "$1"; }
input_bytes="$(manifest input_bytes)"

# --- measurement ---------------------------------------------------------------------------------
# measure NAME OUTPUT COMMAND...: runs COMMAND $runs times; appends "wall_s peak_kib" lines to
# $work/NAME.times. Each run is bounded by $run_timeout (timeout kills the whole process group).
measure() {
    local name="$1" output="$2"
    shift 2
    local i
    for ((i = 1; i <= runs; i++)); do
        rm -f "$output"
        if ! timeout "$run_timeout" /usr/bin/time -f '%e %M' -o "$work/time.txt" "$@" >"$work/$name.log" 2>&1; then
            echo "run.sh: $name failed or timed out (run $i); its output:" >&2
            tail -n 30 "$work/$name.log" >&2
            exit 1
        fi
        tail -n 1 "$work/time.txt" >>"$work/$name.times"
        log "$name run $i: $(tail -n 1 "$work/time.txt" | awk '{printf "%.2f s, %.1f MiB", $1, $2 / 1024}')"
    done
}
# median COLUMN NAME: the median of a column of NAME's measurements (runs is small and odd by default).
median() { awk -v c="$1" '{print $c}' "$work/$2.times" | sort -g | awk '{v[NR] = $1} END {print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2}'; }

tools=()
if [ -n "$measure_stepkit" ]; then
    # The generator writes some tests again in the next shard as retries: one run, so fold them.
    measure stepkit "$work/out-stepkit.xml" "$stepkit" junit merge --fold-across-files "${inputs[@]}" -o "$work/out-stepkit.xml"
    tools+=(stepkit)
fi
for parser in "${parsers[@]}"; do
    measure "junitparser-$parser" "$work/out-junitparser-$parser.xml" \
        "$py" "$here/merge_junitparser.py" --parser "$parser" -o "$work/out-junitparser-$parser.xml" "${inputs[@]}"
    tools+=("junitparser-$parser")
done

# --- correctness ---------------------------------------------------------------------------------
# Both tools must keep every test. stepkit folds a test seen twice (same suite path, classname,
# name, file) into one case; junitparser does not deduplicate, so its output has one <testcase>
# per input case. Hence: stepkit's element count, and the distinct identities in every output,
# equal the generator's unique cases; junitparser's element count equals all input cases.
expected_unique="$(manifest unique_cases)"
expected_elements="$(manifest testcase_elements)"
ok=1
echo
printf '%-22s %12s %12s %10s\n' "output" "<testcase>s" "identities" "expected"
for tool in "${tools[@]}"; do
    read -r elements identities < <("$py" "$here/count_cases.py" "$work/out-$tool.xml")
    if [ "$tool" = stepkit ]; then want_elements="$expected_unique"; else want_elements="$expected_elements"; fi
    printf '%-22s %12s %12s %10s\n' "$tool" "$elements" "$identities" "$want_elements/$expected_unique"
    if [ "$elements" != "$want_elements" ] || [ "$identities" != "$expected_unique" ]; then ok=; fi
done

# --- report --------------------------------------------------------------------------------------
echo
echo "input: ${#inputs[@]} files, $expected_elements test cases ($expected_unique unique), $input_bytes bytes" \
    "($(awk -v b="$input_bytes" 'BEGIN {printf "%.1f", b / 1048576}') MiB); median of $runs runs"
# What was measured, for docs/performance.md: a "+dirty" commit means uncommitted changes were built.
revision="$(git -C "$repo" rev-parse --short HEAD 2>/dev/null || echo unknown)"
git -C "$repo" diff --quiet HEAD 2>/dev/null || revision="$revision+dirty"
if [ -n "$measure_stepkit" ]; then
    printf 'stepkit %s (%s), ' "$("$stepkit" --version | head -n 1 | awk '{print $NF}')" "$revision"
fi
echo "$("$py" -c 'import importlib.metadata as m, platform; print("junitparser", m.version("junitparser"), "on Python", platform.python_version())'), $(nproc) cores"
echo
printf '%-22s %10s %15s\n' "tool" "wall s" "peak RSS MiB"
for tool in "${tools[@]}"; do
    printf '%-22s %10.2f %15.1f\n' "$tool" "$(median 1 "$tool")" "$(awk -v k="$(median 2 "$tool")" 'BEGIN {print k / 1024}')"
done
echo

if [ -n "$measure_stepkit" ]; then
    # The ratio is taken against the fastest junitparser configuration, so the claim holds
    # whichever parser a user would pick.
    best=""
    for parser in "${parsers[@]}"; do
        t="$(median 1 "junitparser-$parser")"
        if [ -z "$best" ] || awk -v a="$t" -v b="$best_t" 'BEGIN {exit !(a < b)}'; then best="$parser" best_t="$t"; fi
    done
    sk_t="$(median 1 stepkit)"
    sk_kib="$(median 2 stepkit)"
    # %e has 10 ms resolution; never divide by zero on a very fast run.
    speed="$(awk -v p="$best_t" -v s="$sk_t" 'BEGIN {if (s < 0.01) s = 0.01; printf "%.1f", p / s}')"
    memory="$(awk -v k="$sk_kib" -v b="$input_bytes" 'BEGIN {printf "%.2f", k * 1024 / b}')"
    echo "speed ratio (junitparser/stepkit): ${speed}x   (against junitparser-$best, the faster configuration)"
    echo "stepkit peak memory / input size: ${memory}x"
    verdict() { if awk "BEGIN {exit !($1)}"; then echo met; else echo MISSED; fi; }
    echo "targets: >= 10x faster: $(verdict "$speed >= 10"); peak memory <= 2x input: $(verdict "$memory <= 2")"
else
    echo "stepkit not measured: build a stepkit with 'junit merge' and run this again"
fi

if [ -z "$ok" ]; then
    echo "run.sh: the merged outputs do not hold the expected test cases (see the table above)" >&2
    exit 1
fi
[ -n "$measure_stepkit" ] || exit 1
