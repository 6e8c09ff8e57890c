#!/usr/bin/env bash
# Time from a job's start to stepkit ready, under act (self-hosted mode): this action downloading the
# release from a loopback server (cold: empty tool cache; warm: the tool cache of a previous job) vs the
# action as it was before issue 18 (`cargo install` from source, no cache), measured the same way. An
# empty job (checkout only) is measured too and subtracted: what remains is the action's own time.
# Usage: bench/action/run.sh [RELEASE_BINARY]   (default: target/release/stepkit, built if missing)
#        BENCH_PEER=0 skips the cargo install peer (it compiles stepkit in release mode: many minutes).
set -euo pipefail
repo=$(cd "$(dirname "$0")/../.." && pwd)
binary=${1:-$repo/target/release/stepkit}
[ -x "$binary" ] || (cd "$repo" && cargo build --locked --release)
binary=$(realpath "$binary")
work=$(mktemp -d)
server=
trap '[ -n "$server" ] && kill "$server" 2>/dev/null; rm -rf "$work"' EXIT
# shellcheck source=../../.ci/act-release.sh
. "$repo/.ci/act-release.sh"
serve_release "$binary"
cache_standin

workflow() { # NAME USES_LINES
    cat > "$2/.github/workflows/bench.yml" <<YAML
name: bench
on: push
jobs:
  bench:
    runs-on: ubuntu-latest
    steps:
      - uses: actions/checkout@v4
$3
YAML
    git_commit "$2"
}
seconds() { local start; start=$(date +%s.%N); "$@"; echo "$(date +%s.%N) - $start" | bc; }

release="$work/release-action"
action_repo "$release"
workflow release "$release" "      - uses: ./
        with: { version: \"$version\", release-url: \"http://127.0.0.1:$port\", args: --version }
      - run: stepkit --version"
empty="$work/empty"
mkdir -p "$empty/.github/workflows"
workflow empty "$empty" "      - run: 'true'"

t_empty=$(seconds run_act "$empty" .github/workflows/bench.yml empty)
t_cold=$(seconds run_act "$release" .github/workflows/bench.yml cold)
grep -q "downloading http://127.0.0.1" "$work/act-cold.log" || { cat "$work/act-cold.log"; exit 1; }
# Warm: the same runner's tool cache, as a second job on a self-hosted runner finds it.
cp -a "$work/cache-cold" "$work/cache-warm"
t_warm=$(seconds run_act "$release" .github/workflows/bench.yml warm)
grep -q "from the tool cache" "$work/act-warm.log" || { cat "$work/act-warm.log"; exit 1; }
printf 'empty job (checkout only)      %6.2f s\n' "$t_empty"
printf 'release download, cold cache   %6.2f s   (action: %.2f s)\n' "$t_cold" "$(echo "$t_cold - $t_empty" | bc)"
printf 'release download, tool cache   %6.2f s   (action: %.2f s)\n' "$t_warm" "$(echo "$t_warm - $t_empty" | bc)"

if [ "${BENCH_PEER:-1}" != 0 ]; then
    # The peer: the action before issue 18, on the same source (cargo install, the registry already
    # downloaded in CARGO_HOME, no target cache: what every job paid).
    source_action="$work/source-action"
    mkdir -p "$source_action"
    (cd "$repo" && git archive HEAD) | tar -x -C "$source_action"
    git -C "$repo" show a20249d:action.yml > "$source_action/action.yml"
    workflow source "$source_action" "      - uses: ./
        with: { args: --version }"
    # `command -v stepkit` decided whether it built at all: with one on PATH it would measure nothing.
    ! command -v stepkit >/dev/null || { echo "bench: a stepkit is on PATH ($(command -v stepkit)); the peer would not build" >&2; exit 2; }
    t_source=$(seconds run_act "$source_action" .github/workflows/bench.yml source)
    grep -q "Success - Main ./" "$work/act-source.log" || { tail -30 "$work/act-source.log"; exit 1; }
    printf 'cargo install from source      %6.2f s   (action: %.2f s)\n' "$t_source" "$(echo "$t_source - $t_empty" | bc)"
    printf 'ratio, action time, cold download / cargo install: %.4f\n' \
        "$(echo "($t_cold - $t_empty) / ($t_source - $t_empty)" | bc -l)"
fi
