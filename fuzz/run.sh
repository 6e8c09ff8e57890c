#!/usr/bin/env bash
# Fuzzes the JUnit reader for SECONDS (default 60): `fuzz/run.sh 300`. Exits non-zero when the
# fuzzer finds a crash, leak, timeout or out-of-memory; the input that did it is written under
# fuzz/artifacts/junit_read/ and the command to replay it is printed.
# `fuzz/run.sh build` only builds the target (CI builds it in the background while it lints and
# tests; the run that follows finds it built).
#
# cargo-fuzz builds with -Zsanitizer=address and other -Z flags, which only a nightly compiler
# accepts. On a stable toolchain we set RUSTC_BOOTSTRAP=1, which makes stable rustc accept them;
# stable ships the AddressSanitizer runtime, so this is real ASan-instrumented fuzzing on the same
# compiler the project builds with. Set FUZZ_TOOLCHAIN=nightly to use an installed nightly instead.
set -euo pipefail
seconds="${1:-60}"
case "$seconds" in
    build) ;;
    '' | *[!0-9]*) echo "usage: fuzz/run.sh [SECONDS | build]" >&2; exit 2 ;;
esac
here="$(cd "$(dirname "$0")" && pwd)"
cd "$here/.." # cargo fuzz finds fuzz/Cargo.toml from the crate root

# Only the fuzz project's own target dir: a CARGO_TARGET_DIR meant for the root crate would mix
# sanitizer builds into it.
unset CARGO_TARGET_DIR

if ! cargo fuzz --version >/dev/null 2>&1; then
    echo "run.sh: installing cargo-fuzz" >&2
    cargo install cargo-fuzz --locked
fi

toolchain=()
if [ -n "${FUZZ_TOOLCHAIN:-}" ]; then
    toolchain=("+$FUZZ_TOOLCHAIN")
fi
if ! rustc "${toolchain[@]}" --version | grep -q nightly; then
    export RUSTC_BOOTSTRAP=1
fi

if [ "$seconds" = build ]; then
    exec cargo "${toolchain[@]}" fuzz build junit_read
fi
"$here/seed.sh"

# The time limit bounds the run; -timeout flags any single input that takes over 10 s (a hang);
# -rss_limit_mb flags memory blow-ups (the reader promises bounded memory); -max_len allows
# inputs up to 1 MiB, enough for deep nesting and long text runs.
exec cargo "${toolchain[@]}" fuzz run junit_read -- \
    -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -max_len=1048576 \
    -dict="$here/junit.dict"
