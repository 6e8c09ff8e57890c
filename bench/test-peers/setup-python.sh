#!/usr/bin/env bash
# Prepares the pytest suite for run.sh: attrs (1,385 tests in 26 files, hypothesis-heavy, pure
# Python) from its PyPI sdist, installed into a venv with pytest and pytest-xdist, all pinned.
#
# Usage: bench/test-peers/setup-python.sh DIR   prints "VENV SUITE" (both under DIR)
set -euo pipefail

dir=${1:?usage: setup-python.sh DIR}
ATTRS=${ATTRS_VERSION:-26.1.0}
pins=(pytest==9.2.0 pytest-xdist==3.8.0 hypothesis==6.170.27)
mkdir -p "$dir"
venv="$dir/venv"
suite="$dir/attrs-$ATTRS"

# A venv keeps this off the system Python (PEP 668) and off whatever else is installed.
if [[ ! -x "$venv/bin/python" ]]; then
  python3 -m venv "$venv" >&2
fi
if ! "$venv/bin/python" -c 'import pytest, xdist, hypothesis' 2>/dev/null; then
  "$venv/bin/python" -m pip install -q "${pins[@]}" >&2
fi
if [[ ! -f "$suite/pyproject.toml" ]]; then
  "$venv/bin/python" -m pip download -q --no-binary :all: --no-deps -d "$dir/sdist" "attrs==$ATTRS" >&2
  tar -xzf "$dir/sdist/attrs-$ATTRS.tar.gz" -C "$dir"
  [[ -d "$suite/tests" ]] || { echo "the attrs $ATTRS sdist has no tests/ (expected $suite/tests)" >&2; exit 1; }
fi
# attrs' conftest gives every hypothesis example a 400 ms deadline. On a loaded machine that trips
# at random (DeadlineExceeded) and one runner's counts then differ from another's for reasons that
# are not the runner's; the benchmark runs the suite without the deadline, the same for all.
conftest="$suite/tests/conftest.py"
if grep -q 'deadline=timedelta(milliseconds=400)' "$conftest"; then
  sed -i 's/deadline=timedelta(milliseconds=400)/deadline=None/' "$conftest"
fi
grep -q 'deadline=None' "$conftest" || { echo "could not lift the hypothesis deadline in $conftest (attrs changed?)" >&2; exit 1; }
# attrs' tests import the installed package (--import-mode=importlib keeps src/ out of reach).
if [[ "$("$venv/bin/python" -c 'import attrs; print(attrs.__version__)' 2>/dev/null)" != "$ATTRS" ]]; then
  "$venv/bin/python" -m pip install -q --no-deps "$suite" >&2
fi
echo "$venv $suite"
