#!/usr/bin/env bash
# stepkit test: load balance and scheduling overhead, each measured against a peer in the same run.
#
# Part A (balance): a pytest suite with a skewed time distribution (one file ~70% of the total,
# split over 6 test methods; 12 light files) run
#   1. serially (one pytest process),
#   2. file-level parallel: `xargs -P W -n 1 pytest FILE` (one process per file: ParaTest's
#      default mode, and what `pytest-xdist --dist loadfile` amounts to),
#   3. stepkit cold (no timings: the planner can only guess from case counts),
#   4. stepkit's second run with no flags (the timings run 3 cached in .stepkit/timings/, --timings auto),
#   5. stepkit warm (--timings = the JUnit report of run 3: the realistic CI setup, timings from the last run).
# Each makespan is divided by the ideal max(total / W, longest test case), computed from the
# known sleep durations of the generated tests (not measured), so it excludes Python start-up
# and collection, which every mode pays at least once per worker.
#
# Part B (overhead): 2,000 near-empty test files through the `command` preset vs `xargs -P W`.
# stepkit batches many files per process (`{files}`); the fair peer runs the same number of
# processes, so xargs gets `-n K` with K = ceil(files / batches stepkit planned). `xargs -n 1`
# (one process per file) is shown for reference only.
#
# Usage: bench/test-balance/run.sh            (from any directory)
# Env:   STEPKIT=path/to/stepkit (default: build with cargo, honouring CARGO_TARGET_DIR)
#        WORKERS=4  SCALE=1 (multiplies every sleep of part A; 24 s of sleep at 1)
#        WARM_RUNS=3 (stepkit --timings runs in part A; the median is reported)
#        FILES_B=2000  RUNS_B=5  HYPERFINE=1 (part B through hyperfine instead of the built-in
#        interleaved loop; on a shared machine interleaving is fairer to a ratio)
# Takes ~2-4 minutes on 2 cores. Prints the two headline ratios last.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/../.." && pwd)
W=${WORKERS:-4}
SCALE=${SCALE:-1}
FILES_B=${FILES_B:-2000}
RUNS_B=${RUNS_B:-5}
WARM_RUNS=${WARM_RUNS:-3}
LIMIT=300 # seconds any single measured command may take before the benchmark gives up

if [[ -z "${STEPKIT:-}" ]]; then
  echo "building stepkit (release)..." >&2
  cargo build --release --quiet --manifest-path "$root/Cargo.toml"
  STEPKIT="${CARGO_TARGET_DIR:-$root/target}/release/stepkit"
fi
STEPKIT=$(cd "$(dirname "$STEPKIT")" && pwd)/$(basename "$STEPKIT")
[[ -x "$STEPKIT" ]] || { echo "no stepkit binary at $STEPKIT" >&2; exit 2; }
if ! python3 -c 'import pytest' 2>/dev/null; then
  python3 -m pip install --quiet pytest
fi

work=$(mktemp -d "${TMPDIR:-/tmp}/stepkit-bench-balance.XXXXXX")
trap 'rm -rf "$work"' EXIT

# Wall seconds of a command (stdout/stderr to $log), bounded by $LIMIT; a non-zero exit aborts.
log=/dev/null
wall() {
  local start end rc=0
  start=$(date +%s.%N)
  timeout "$LIMIT" "$@" >"$log" 2>&1 || rc=$?
  end=$(date +%s.%N)
  if ((rc != 0)); then
    echo "FAILED (exit $rc): $*" >&2
    tail -n 30 "$log" >&2 || true
    exit 1
  fi
  python3 -c "print(f'{$end - $start:.3f}')"
}
calc() { python3 -c "print($1)"; }
median() { python3 -c 'import statistics,sys; print(f"{statistics.median(map(float, sys.argv[1:])):.3f}")' "$@"; }

echo "stepkit: $("$STEPKIT" --version 2>/dev/null || echo "$STEPKIT")"
echo "python: $(python3 --version 2>&1), pytest $(python3 -c 'import pytest; print(pytest.__version__)'), $(nproc) CPUs, W=$W workers"
echo

# ---------------------------------------------------------------------------------------------
# Part A: balance on a skewed pytest suite
# ---------------------------------------------------------------------------------------------
A=$work/a
mkdir -p "$A/tests"
# Generates the suite and prints "total longest cases files heavy-file-total" from the durations it wrote.
read -r total longest ncases nfiles heavy_total < <(python3 - "$A/tests" "$SCALE" <<'PY'
import sys, pathlib
out = pathlib.Path(sys.argv[1])
scale = float(sys.argv[2])
# The heavy file: 16.8 s over 6 methods (70% of 24 s); unequal methods, as in real suites.
heavy = [3.5, 3.0, 3.0, 2.5, 2.5, 2.3]
# 12 light files, 7.2 s together, 2-4 tests each of 0.1-0.5 s.
light = [
    [0.3, 0.3], [0.4, 0.2], [0.2, 0.2, 0.2], [0.5, 0.1], [0.1, 0.1, 0.4], [0.3, 0.2, 0.1],
    [0.6], [0.2, 0.4], [0.1, 0.2, 0.3, 0.2], [0.4], [0.3, 0.4], [0.2, 0.3],
]
heavy = [round(s * scale, 3) for s in heavy]
light = [[round(s * scale, 3) for s in d] for d in light]
suite = {"test_heavy.py": heavy}
suite.update({f"test_light_{i:02}.py": d for i, d in enumerate(light, 1)})
for name, durations in suite.items():
    body = ["import time", ""]
    for j, s in enumerate(durations, 1):
        body += ["", f"def test_case_{j}():", f"    time.sleep({s})", "    assert True", ""]
    (out / name).write_text("\n".join(body))
every = [s for d in suite.values() for s in d]
print(f"{sum(every):.2f} {max(every):.2f} {len(every)} {len(suite)} {sum(heavy):.2f}")
PY
)
ideal=$(calc "round(max($total / $W, $longest), 3)")
heavy_share=$(calc "round(100 * $heavy_total / $total)")
echo "Part A: $nfiles files, $ncases tests, ${total}s of sleep (heavy file ${heavy_share}%, longest case ${longest}s)"
echo "        ideal makespan on $W workers = max($total/$W, $longest) = ${ideal}s (from the sleep durations)"

cd "$A"
startup=$(median $(for _ in 1 2 3; do log=/dev/null wall python3 -m pytest -q -p no:cacheprovider --collect-only tests/test_light_01.py; done))
echo "        one pytest start-up + collection here: ${startup}s (paid per process; not in the ideal)"
# No runner can beat ideal + one start-up per worker; stepkit also lists the tests first (one more
# start-up). Shown as a second column so the fixed cost is visible, not hidden in the ideal.
floor=$(calc "round($ideal + 2 * $startup, 3)")

echo "        running serial..." >&2
t_serial=$(log=$work/a-serial.log wall python3 -m pytest -q -p no:cacheprovider tests)
echo "        running xargs -P $W -n 1 (file-level)..." >&2
t_xargs=$(log=$work/a-xargs.log wall sh -c "ls tests/test_*.py | xargs -P $W -n 1 python3 -m pytest -q -p no:cacheprovider")
echo "        running stepkit (cold)..." >&2
# No `-q` after pytest here: stepkit's listing adds its own `-q`, and `-q -q` makes pytest print
# per-file counts instead of node ids, so stepkit finds no tests (exit 4). stepkit captures the
# output anyway, so -q changes nothing else.
t_cold=$(log=$work/a-cold.log wall "$STEPKIT" test --workers "$W" --junit "$work/a-cold.xml" -- python3 -m pytest)
# The cold run saved its timings in .stepkit/timings/ (--timings auto, the default): the second run
# on a laptop, with no flags at all.
echo "        running stepkit again with no flags (--timings auto)..." >&2
t_auto=$(log=$work/a-auto.log wall "$STEPKIT" test --workers "$W" --junit "$work/a-auto.xml" -- python3 -m pytest)
echo "        running stepkit (--timings from the cold run) x$WARM_RUNS..." >&2
warm_samples=()
for ((r = 1; r <= WARM_RUNS; r++)); do
  warm_samples+=("$(log=$work/a-warm.log wall "$STEPKIT" test --workers "$W" --timings "$work/a-cold.xml" --junit "$work/a-warm.xml" -- python3 -m pytest)")
done
t_warm=$(median "${warm_samples[@]}")
cd - >/dev/null

# Every mode must have run every test, and stepkit's merged reports must say so.
for f in a-cold a-auto a-warm; do
  python3 - "$work/$f.xml" "$ncases" <<'PY'
import sys, xml.etree.ElementTree as ET
root = ET.parse(sys.argv[1]).getroot()
cases = root.findall(".//testcase")
bad = [c.get("name") for c in cases if c.find("failure") is not None or c.find("error") is not None or c.find("skipped") is not None]
ids = {(c.get("classname"), c.get("name")) for c in cases}
if len(cases) != int(sys.argv[2]) or len(ids) != len(cases) or bad:
    sys.exit(f"{sys.argv[1]}: {len(cases)} cases ({len(ids)} distinct), expected {sys.argv[2]}; not passed: {bad}")
PY
done
grep -q "$ncases passed" "$work/a-serial.log" || { echo "serial run did not pass $ncases tests" >&2; exit 1; }
plan_cold=$(grep -o '[0-9]* batches on [0-9]* workers' "$work/a-cold.log" | head -1)
plan_warm=$(grep -o '[0-9]* batches on [0-9]* workers' "$work/a-warm.log" | head -1)
plan_auto=$(grep -o '[0-9]* batches on [0-9]* workers' "$work/a-auto.log" | head -1)

echo
printf '  %-56s %10s %14s %18s\n' "mode (W=$W)" "makespan" "ratio to ideal" "ratio to floor"
row() { printf '  %-56s %9.2fs %13.2fx %17.2fx\n' "$1" "$2" "$(calc "$2 / $ideal")" "$(calc "$2 / $floor")"; }
row "serial (one pytest)" "$t_serial"
row "file-level: xargs -P $W -n 1 (ParaTest default)" "$t_xargs"
row "stepkit, no timings ($plan_cold)" "$t_cold"
row "stepkit, second run, no flags (--timings auto, $plan_auto)" "$t_auto"
row "stepkit, --timings last run ($plan_warm)" "$t_warm"
echo "    (--timings runs: ${warm_samples[*]} s; median shown)"
printf '  %-56s %9.2fs\n' "ideal = max(total/W, longest case), sleeps only" "$ideal"
printf '  %-56s %9.2fs\n' "floor = ideal + 2 pytest start-ups (listing + 1 batch)" "$floor"
echo "  stepkit's own plan lines:"
grep -h '^stepkit test: [0-9]* tests' "$work/a-cold.log" "$work/a-auto.log" "$work/a-warm.log" | sed 's/^/    /'
echo

# ---------------------------------------------------------------------------------------------
# Part B: scheduling overhead for many near-empty files
# ---------------------------------------------------------------------------------------------
B=$work/b
mkdir -p "$B/t" "$B/j"
python3 - "$B/t" "$FILES_B" <<'PY'
import sys, pathlib
for i in range(1, int(sys.argv[2]) + 1):
    (pathlib.Path(sys.argv[1]) / f"{i:04}.sh").write_text("exit 0\n")
PY
# The runner runs each file it is given in its own shell, like a tiny test framework would.
# With `--junit PATH` first it also writes one <testcase> per file (PATH "auto": a fresh file
# under j/, for xargs, whose processes have no per-batch report path).
cat >"$B/runner.sh" <<'SH'
#!/bin/sh
junit=
if [ "${1:-}" = --junit ]; then junit=$2; shift 2; fi
[ "$junit" = auto ] && junit="j/$$.xml"
cases=
for f in "$@"; do
  sh "$f" || exit 1
  [ -n "$junit" ] && cases="$cases<testcase classname=\"t\" name=\"$f\" file=\"$f\" time=\"0\"/>"
done
[ -n "$junit" ] && printf '<testsuite name="t" tests="%s">%s</testsuite>\n' "$#" "$cases" >"$junit"
exit 0
SH
chmod +x "$B/runner.sh"
cd "$B"

# One stepkit run first, to learn how many batches (processes) it plans for these files.
log=$work/b-probe.log wall "$STEPKIT" test --workers "$W" --timings none --preset command --files 't/*.sh' -- ./runner.sh {files} >/dev/null
batches=$(grep -o '[0-9]* batches on' "$work/b-probe.log" | head -1 | cut -d' ' -f1)
[[ -n "$batches" ]] || { echo "cannot read stepkit's batch count:" >&2; cat "$work/b-probe.log" >&2; exit 1; }
grep -q "^stepkit test: $FILES_B tests in $FILES_B files" "$work/b-probe.log" || { echo "stepkit did not find $FILES_B files:" >&2; cat "$work/b-probe.log" >&2; exit 1; }
K=$(calc "-(-$FILES_B // $batches)")
echo "Part B: $FILES_B near-empty files; stepkit plans $batches batches on $W workers, so xargs gets -n $K ($(calc "-(-$FILES_B // $K)") processes)"

names=("xargs -P $W -n $K" "stepkit --preset command" "xargs -P $W -n $K, runner writes JUnit" "stepkit with {junit} + --junit merge" "xargs -P $W -n 1 (reference)")
cmds=(
  "ls t/*.sh | xargs -P $W -n $K ./runner.sh"
  "'$STEPKIT' test --workers $W --timings none --preset command --files 't/*.sh' -- ./runner.sh {files}"
  "rm -f j/*.xml; ls t/*.sh | xargs -P $W -n $K ./runner.sh --junit auto"
  "'$STEPKIT' test --workers $W --timings none --preset command --files 't/*.sh' --junit '$work/b.xml' -- ./runner.sh --junit {junit} {files}"
  "ls t/*.sh | xargs -P $W -n 1 ./runner.sh"
)
# Sanity: every command passes (stepkit exits 0 only when all files passed).
for c in "${cmds[@]}"; do log=$work/b-check.log wall sh -c "$c" >/dev/null; done
python3 - "$work/b.xml" "$FILES_B" <<'PY'
import sys, xml.etree.ElementTree as ET
cases = ET.parse(sys.argv[1]).getroot().findall(".//testcase")
bad = [c for c in cases if len(c)]
if len(cases) != int(sys.argv[2]) or bad:
    sys.exit(f"merged report has {len(cases)} cases ({len(bad)} not passed), expected {sys.argv[2]}")
PY

declare -a med
if [[ -n "${HYPERFINE:-}" ]] && command -v hyperfine >/dev/null; then
  hf_args=()
  for i in "${!cmds[@]}"; do hf_args+=(-n "${names[$i]}" "${cmds[$i]}"); done
  hyperfine --style basic --warmup 1 --runs "$RUNS_B" --export-json "$work/b.json" "${hf_args[@]}" >"$work/b-hyperfine.log" 2>&1 \
    || { cat "$work/b-hyperfine.log" >&2; exit 1; }
  mapfile -t med < <(python3 -c 'import json,sys; [print("%.3f" % r["median"]) for r in json.load(open(sys.argv[1]))["results"]]' "$work/b.json")
  how="hyperfine, median of $RUNS_B runs after 1 warm-up"
else
  # Interleaved rounds so drift (other load, caches) hits every command alike; median per command.
  declare -a samples
  for ((r = 0; r <= RUNS_B; r++)); do
    for i in "${!cmds[@]}"; do
      t=$(log=/dev/null wall sh -c "${cmds[$i]}")
      ((r == 0)) || samples[i]="${samples[i]:-} $t"
    done
  done
  for i in "${!cmds[@]}"; do med[i]=$(median ${samples[i]}); done
  how="built-in loop, median of $RUNS_B interleaved runs after 1 warm-up round"
fi
cd - >/dev/null

echo
printf '  %-56s %10s\n' "command ($how)" "wall"
for i in "${!cmds[@]}"; do printf '  %-56s %9.3fs\n' "${names[$i]}" "${med[$i]}"; done
echo

# ---------------------------------------------------------------------------------------------
ratio_balance=$(calc "round($t_warm / $ideal, 2)")
ratio_cold=$(calc "round($t_cold / $ideal, 2)")
ratio_xargs_a=$(calc "round($t_xargs / $ideal, 2)")
ratio_overhead=$(calc "round(${med[1]} / ${med[0]}, 2)")
ratio_junit=$(calc "round(${med[3]} / ${med[2]}, 2)")
ratio_n1=$(calc "round(${med[1]} / ${med[4]}, 2)")
verdict() { python3 -c "print('ok' if $1 <= $2 else 'MISSED')"; }
echo "Results (W=$W, $(nproc) CPUs):"
printf '  stepkit makespan / ideal (--timings):      %.2fx (target <= 1.10) %s\n' "$ratio_balance" "$(verdict "$ratio_balance" 1.10)"
printf '  stepkit makespan / floor (--timings):      %.2fx (floor = ideal + 2 start-ups of %.2fs)\n' "$(calc "round($t_warm / $floor, 2)")" "$startup"
printf '  stepkit makespan / ideal (no timings):     %.2fx (xargs -P file-level: %.2fx)\n' "$ratio_cold" "$ratio_xargs_a"
printf '  stepkit / xargs -P overhead ratio:         %.2fx (target <= 1.10) %s   [same process count: %s]\n' "$ratio_overhead" "$(verdict "$ratio_overhead" 1.10)" "$batches"
printf '  ... with JUnit written and merged:         %.2fx (vs xargs writing per-process JUnit, unmerged)\n' "$ratio_junit"
printf '  stepkit / xargs -P -n 1 (one per file):    %.2fx (reference)\n' "$ratio_n1"
