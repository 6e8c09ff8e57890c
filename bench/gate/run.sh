#!/usr/bin/env bash
# Benchmark: how soon `stepkit gate` opens after the service turns healthy, against the polling loop
# pipelines write by hand (`until curl -fsS URL; do sleep INTERVAL; done`), same trials, same run.
# Target (issue 5): the gate opens at most one interval + 20 ms after the service becomes healthy.
#
# Usage: bench/gate/run.sh          (about 2 minutes with the defaults)
# Env:   STEPKIT=path/to/stepkit (default: cargo build --release, honouring CARGO_TARGET_DIR)
#        INTERVAL_MS=1000  TRIALS=15
# Needs: python3, curl. Everything runs on 127.0.0.1.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/../.." && pwd)
command -v python3 >/dev/null || { echo "bench/gate: python3 is needed" >&2; exit 1; }
command -v curl >/dev/null || { echo "bench/gate: curl is needed" >&2; exit 1; }
if [[ -z ${STEPKIT:-} ]]; then
  (cd "$root" && cargo build --release --quiet --bin stepkit)
  STEPKIT=${CARGO_TARGET_DIR:-$root/target}/release/stepkit
  case $STEPKIT in /*) ;; *) STEPKIT=$root/$STEPKIT ;; esac
fi
exec python3 "$here/opening.py" "$STEPKIT" "${INTERVAL_MS:-1000}" "${TRIALS:-15}"
