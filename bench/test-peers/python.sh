# The Python half of run.sh (sourced by it: uses its measure, check_counts, table, say, $work, $W).
# stepkit vs pytest-xdist on attrs' pytest suite.

read -r venv suite < <("$here/setup-python.sh" "$CACHE/python")
py=$venv/bin/python
# Every runner gets the same options through the environment, so no runner's command line carries
# anything but its own parallelism flags (stepkit then lists exactly what pytest would run).
deselect=${PY_DESELECT-tests/test_converters.py::TestPipe::test_wrapped_annotation}
PYTEST_ADDOPTS="-p no:cacheprovider"
for id in $deselect; do PYTEST_ADDOPTS+=" --deselect $id"; done
export PYTEST_ADDOPTS
# This machine's environment sets PYTHONDONTWRITEBYTECODE, which makes every pytest start
# recompile the tests' assertion rewrites; a developer's machine or a CI runner caches them.
unset PYTHONDONTWRITEBYTECODE
# stepkit finds `python -m pytest` on PATH; the venv's python must be the one it starts.
export PATH="$venv/bin:$PATH"

cd "$suite"
say ""
say "## Python: attrs $(basename "$suite" | sed 's/^attrs-//') (PyPI sdist), $("$py" --version), pytest $("$py" -c 'import pytest; print(pytest.__version__)'), pytest-xdist $("$py" -c 'import xdist; print(xdist.__version__)')"
[[ -z "$deselect" ]] || say "(deselected for every runner alike: $deselect)"

# stepkit's fixed costs: the listing pass (`--collect-only` over the whole suite) and one pytest
# start-up per batch (interpreter, plugins, conftest, hypothesis; here collecting one small file).
measure listing "$work/py-list.log" python -m pytest --collect-only -q
py_listing=$wall
starts=()
for _ in 1 2 3 4 5; do
  measure start-up "$work/py-start.log" python -m pytest --collect-only -q tests/test_compat.py
  starts+=("$wall")
done
py_startup=$(median "${starts[@]}")

walls=() counts=() tested=()
echo "  Python: serial pytest..." >&2
measure serial "$work/py-serial.log" python -m pytest --junitxml "$work/py-serial.xml"
((rc <= 1)) || { echo "the serial run failed: nothing to compare against" >&2; exit 1; }
walls[serial]=$wall
baseline=$work/py-serial.xml
check_counts serial "$work/py-serial.xml"
ideal=$(calc "round(${walls[serial]} / $W, 2)")

# stepkit-cold-path: the same cold run with the suite's directory in CMD (`python -m pytest tests`,
# which attrs' testpaths also names): the path must not be run again by every batch (issue 12 §1),
# so its wall must match stepkit-cold's.
# stepkit-warm: the second run as a user gets it, with the default `--timings auto`: the last run's
# timings and listing from .stepkit/ (the listing is checked while the batches start). One unmeasured
# run first writes them. stepkit-warm-report: planned from the cold run's report instead (no listing
# kept, so the listing runs before any batch, as every run did before the head start).
py_modes=(xdist-load xdist-worksteal stepkit-cold stepkit-cold-path stepkit-warm stepkit-warm-report)
rm -rf .stepkit
"$STEPKIT" test --workers "$W" -- python -m pytest > "$work/py-prime.log" 2>&1 || true
for ((r = 1; r <= RUNS; r++)); do
  for mode in "${py_modes[@]}"; do
    echo "  Python round $r/$RUNS: $mode (load $(loadavg))..." >&2
    report=$work/py-$mode-$r.xml
    case $mode in
      xdist-load)
        measure "$mode" "$work/py-$mode.log" python -m pytest -n "$W" --dist load --junitxml "$report" ;;
      xdist-worksteal)
        measure "$mode" "$work/py-$mode.log" python -m pytest -n "$W" --dist worksteal --junitxml "$report" ;;
      stepkit-cold)
        measure "$mode" "$work/py-$mode-$r.log" "$STEPKIT" test --workers "$W" --timings none --junit "$report" -- python -m pytest ;;
      stepkit-cold-path)
        measure "$mode" "$work/py-$mode-$r.log" "$STEPKIT" test --workers "$W" --timings none --junit "$report" -- python -m pytest tests ;;
      stepkit-warm)
        measure "$mode" "$work/py-$mode-$r.log" "$STEPKIT" test --workers "$W" --junit "$report" -- python -m pytest ;;
      stepkit-warm-report)
        measure "$mode" "$work/py-$mode-$r.log" "$STEPKIT" test --workers "$W" --timings "$work/py-stepkit-cold-$r.xml" --junit "$report" -- python -m pytest ;;
    esac
    record "$mode" "$report"
  done
done

table "$ideal" serial "${py_modes[@]}"
best=xdist-load
if [[ -n "${walls[xdist-worksteal]:-}" ]] && { [[ -z "${walls[xdist-load]:-}" ]] ||
  python3 -c "import sys; sys.exit(0 if $(median ${walls[xdist-worksteal]}) < $(median ${walls[xdist-load]}) else 1)"; }; then
  best=xdist-worksteal
fi
warm_vs=$(ratio stepkit-warm "$best")
cold_vs=$(ratio stepkit-cold "$best")
say ""
say "- stepkit warm / best xdist ($best): **$warm_vs** ($(target "$warm_vs" 1.00) against ≤ 1.00x); stepkit cold / $best: $cold_vs"
say "- the head start: warm (the last listing, checked while the batches run) / warm from a report (listing first): $(ratio stepkit-warm stepkit-warm-report)"
say "- with the path argument (\`python -m pytest tests\`) / without, both cold: $(ratio stepkit-cold-path stepkit-cold) (each batch runs only its own tests, so ≈ 1.00x)"
say "- where the time goes: listing (\`pytest --collect-only\`) ${py_listing}s before any test runs; one pytest start-up (collecting one small file) ${py_startup}s;"
say "  $(startup_share py "$py_startup") (xdist starts $W workers once)"
cd "$root"
