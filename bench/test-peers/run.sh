#!/usr/bin/env bash
# stepkit test against the real peers, on real open-source suites fetched at bench time:
#   PHP:    Carbon's PHPUnit suite (Debian source package php-nesbot-carbon, 5,600 tests in 1,000
#           files) under Debian's PHPUnit 9: serial phpunit, ParaTest 6 `-p W` (its default
#           runner, a process per file), ParaTest `--runner WrapperRunner` (reused processes, for
#           reference), stepkit cold (no timings) and warm (`--timings` = the cold run's report).
#   Python: attrs' pytest suite (PyPI sdist, 1,385 tests in 26 files) in a venv: serial pytest,
#           pytest-xdist `-n W` with `--dist load` and `--dist worksteal`, stepkit cold and warm.
# Every runner runs the same suite with the same config and no extra selecting arguments; each
# writes JUnit, and the distinct tests and their statuses must equal the serial run's.
# "Ideal" = serial wall / W. The ratios are the claim; absolute times move with machine load.
#
# Usage: PARATEST_DIR=/path/to/paratest-6.x bench/test-peers/run.sh [php] [python]
# Env:   STEPKIT=path/to/stepkit (default: cargo build --release, honouring CARGO_TARGET_DIR)
#        PARATEST_DIR  a ParaTest 6.x source tree (bin/ and src/; see README.md for how to get one);
#                      it is copied, never modified, and is not part of this repository
#        WORKERS=2  RUNS=1 (rounds of the parallel modes; medians are reported)
#        PARATEST_WRAPPER=1 (also measure ParaTest's WrapperRunner; 0 to skip)
#        BENCH_CACHE_DIR=~/.cache/stepkit-bench/test-peers (fetched suites and the venv, reused)
#        LIMIT=1200 (seconds any one command may take)  RESULTS=file (also write the tables there)
#        KEEP=1 (keep the temporary directory with every log and JUnit report)
#        PY_DESELECT (pytest node ids to leave out, space-separated; default: the one attrs test
#                     that fails on Python 3.11 for every runner alike)
# Exit status: 0 when everything ran and the counts agree (a missed target is printed, not an
# error); 1 when a runner crashed, timed out or reported different tests.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/../.." && pwd)
W=${WORKERS:-2}
RUNS=${RUNS:-1}
LIMIT=${LIMIT:-1200}
CACHE=${BENCH_CACHE_DIR:-$HOME/.cache/stepkit-bench/test-peers}
SUITES=("$@")
((${#SUITES[@]})) || SUITES=(php python)
for s in "${SUITES[@]}"; do
  [[ $s == php || $s == python ]] || { echo "unknown suite '$s': say php and/or python" >&2; exit 2; }
done
wants() { [[ " ${SUITES[*]} " == *" $1 "* ]]; }

if wants php; then
  [[ -n "${PARATEST_DIR:-}" ]] || {
    echo "PARATEST_DIR is not set: point it at a ParaTest 6.x source tree (bench/test-peers/README.md), or run only 'python'" >&2
    exit 2
  }
  [[ -f "$PARATEST_DIR/bin/paratest" && -d "$PARATEST_DIR/src" ]] || {
    echo "PARATEST_DIR=$PARATEST_DIR has no bin/paratest and src/: is it a ParaTest source tree?" >&2
    exit 2
  }
  grep -q '"phpunit/phpunit": "^9' "$PARATEST_DIR/composer.json" || {
    echo "PARATEST_DIR=$PARATEST_DIR is not a ParaTest 6.x (its composer.json does not require PHPUnit 9, which Debian ships)" >&2
    exit 2
  }
fi

if [[ -z "${STEPKIT:-}" ]]; then
  echo "building stepkit (release)..." >&2
  cargo build --release --quiet --manifest-path "$root/Cargo.toml" --bin stepkit
  STEPKIT="${CARGO_TARGET_DIR:-$root/target}/release/stepkit"
fi
STEPKIT=$(cd "$(dirname "$STEPKIT")" && pwd)/$(basename "$STEPKIT")
[[ -x "$STEPKIT" ]] || { echo "no stepkit binary at $STEPKIT" >&2; exit 2; }

work=$(mktemp -d "${TMPDIR:-/tmp}/stepkit-bench-peers.XXXXXX")
out=$work/results.md
: >"$out"
# The tables so far reach RESULTS even when a later step fails; KEEP=1 keeps every log and report.
finish() {
  [[ -z "${RESULTS:-}" ]] || cp "$out" "$RESULTS"
  if [[ ${KEEP:-0} == 1 ]]; then echo "logs and reports kept in $work" >&2; else rm -rf "$work"; fi
}
trap finish EXIT
status=0

calc() { python3 -c "print($1)"; }
median() { python3 -c 'import statistics,sys; print(f"{statistics.median(map(float, sys.argv[1:])):.2f}")' "$@"; }
loadavg() { cut -d' ' -f1 /proc/loadavg; }
say() { echo "$*" | tee -a "$out"; }

# measure NAME LOG CMD...: runs CMD (bounded by LIMIT) and sets $wall and $rc. Exit 0 and 1
# (tests failed) are results, and up to $results_up_to where a caller says so (PHPUnit and
# ParaTest exit 2 when tests errored); anything else (a crash, a timeout, a usage error) marks the
# run broken: it gets no time in the tables and the benchmark exits 1.
measure() {
  local name=$1 log=$2 start end
  rc=0
  shift 2
  start=$(date +%s.%N)
  timeout "$LIMIT" "$@" >"$log" 2>&1 || rc=$?
  end=$(date +%s.%N)
  wall=$(calc "round($end - $start, 2)")
  if ((rc > ${results_up_to:-1})); then
    echo "  $name: FAILED (exit $rc) after ${wall}s: $*" >&2
    tail -n 20 "$log" >&2 || true
    status=1
  fi
}

# check_counts NAME REPORT: the tests that ran, and their statuses, must be the serial run's
# ($baseline); a test skipped on one side only is shown, not fatal (junit_counts.py says why).
check_counts() {
  local name=$1 report=$2 got rc=0
  if [[ ! -s "$report" ]]; then
    echo "  $name: wrote no JUnit report ($report)" >&2
    counts[$name]="no report"
    status=1
    return
  fi
  got=$(python3 "$here/junit_counts.py" "$report" "$baseline" 2>"$work/$name.diff") || rc=$?
  counts[$name]=$(awk '{printf "%d tests: %d passed, %d failed, %d errors, %d skipped", $1, $2, $3, $4, $5}' <<<"$got")
  tested[$name]+=" $(cut -d' ' -f7 <<<"$got")"
  ((rc == 0)) || sed "s/^/  $name: /" "$work/$name.diff" >&2
  if ((rc == 3)); then
    counts[$name]+=" (skips differ from serial)"
  elif ((rc != 0)); then
    counts[$name]+=" (DIFFERS from serial)"
    # ParaTest's WrapperRunner reuses processes, so state leaks between files: shown, not fatal.
    [[ $name == paratest-wrapper ]] || status=1
  fi
}

# How many batches (processes) ran: the balance line's "P planned batches ran as B" where a first
# run joined queued batches, else the plan line's "stepkit test: N tests in F files; B batches on W workers".
batches_of() {
  local ran
  ran=$(sed -nE 's/^Balance: .* planned batches ran as ([0-9]+)\).*/\1/p' "$1" | head -n 1)
  [[ -n $ran ]] && { echo "$ran"; return; }
  sed -nE 's/.*; ([0-9]+) batches on .*/\1/p' "$1" | head -n 1
}
# startup_share PREFIX STARTUP: how many batches the first round's cold and warm stepkit runs
# ran, and what one start-up of STARTUP seconds each costs every worker.
startup_share() {
  local cold warm
  cold=$(batches_of "$work/$1-stepkit-cold-1.log")
  warm=$(batches_of "$work/$1-stepkit-warm-1.log")
  echo "stepkit ran ${cold:-?} batches cold and ${warm:-?} warm, so ≈ $(calc "round(${cold:-0} * $2 / $W, 1)")s / $(calc "round(${warm:-0} * $2 / $W, 1)")s of each worker's time is start-up"
}

# The table for one suite: median wall per mode, ratio to the ideal, counts.
declare -A walls counts tested
table() {
  local ideal=$1 mode
  shift
  say ""
  # "test time" = the cases' own times added up: the work itself, which grows when runners
  # compete for the CPUs; wall - test time / W is what the runner adds.
  say "| mode | wall (median of $RUNS) | / ideal ${ideal}s | test time | JUnit |"
  say "|---|---:|---:|---:|---|"
  for mode in "$@"; do
    local m=n/a
    if [[ -z "${walls[$mode]:-}" ]]; then
      say "| $mode | n/a | | | ${counts[$mode]:-} |"
      continue
    fi
    m=$(median ${walls[$mode]})
    say "| $mode | ${m}s | $(per_ideal "$mode") | $(median ${tested[$mode]:-0})s | ${counts[$mode]:-} |"
  done
}
# record MODE REPORT: after measure, the mode's time and counts (or why it has none).
record() {
  if ((rc > ${results_up_to:-1})); then
    counts[$1]="FAILED (exit $rc; see above)"
  else
    walls[$1]+=" $wall"
    check_counts "$1" "$2"
  fi
}
ratio() { # ratio A B: A's median wall / B's, "n/a" when either never ran through
  if [[ -z "${walls[$1]:-}" || -z "${walls[$2]:-}" ]]; then echo "n/a"; return; fi
  calc "f'{$(median ${walls[$1]}) / $(median ${walls[$2]}):.2f}x'"
}
per_ideal() { # per_ideal MODE: its median wall / $ideal
  if [[ -z "${walls[$1]:-}" ]]; then echo "n/a"; return; fi
  calc "f'{$(median ${walls[$1]}) / $ideal:.2f}x'"
}
target() { # target RATIO LIMIT: "ok" or "MISSED"
  local r=${1%x}
  [[ $r != n/a ]] || { echo "not measured"; return; }
  if python3 -c "import sys; sys.exit(0 if $r <= $2 else 1)"; then echo "ok"; else echo "MISSED"; fi
}

say "# stepkit test vs ParaTest and pytest-xdist ($(date -u +%Y-%m-%dT%H:%MZ))"
say ""
say "stepkit: $("$STEPKIT" --version 2>/dev/null || echo "$STEPKIT"); $(nproc) CPUs, W=$W workers, RUNS=$RUNS; load average at start: $(cut -d' ' -f1-3 /proc/loadavg)"

if wants php; then
  . "$here/php.sh"
fi
if wants python; then
  . "$here/python.sh"
fi

say ""
say "load average at the end: $(cut -d' ' -f1-3 /proc/loadavg)"
[[ -z "${RESULTS:-}" ]] || echo "tables written to $RESULTS" >&2
exit "$status"
