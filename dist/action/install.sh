#!/bin/sh
# The action's install step: the release tarball for this platform, verified against the checksums
# pinned in the action's repository at this ref, unpacked into the runner's tool cache (reused by later
# jobs on the same runner) and put first on PATH. POSIX sh, curl or wget, sha256sum or shasum.
set -eu
action_dir=$(cd "$(dirname "$0")/../.." && pwd)
fail() { printf '::error title=stepkit::%s\n' "$1"; exit 3; }
file="stepkit-$STEPKIT_VERSION-$STEPKIT_TARGET.tar.gz"
dir=$STEPKIT_DIR

if [ -x "$dir/stepkit" ] && [ -f "$dir.complete" ]; then
    echo "stepkit $STEPKIT_VERSION from the tool cache ($dir)"
else
    expected=$(awk -v f="$file" '$2 == f || $2 == "*" f { print $1 }' "$action_dir/dist/checksums/v$STEPKIT_VERSION.sha256")
    [ -n "$expected" ] || fail "dist/checksums/v$STEPKIT_VERSION.sha256 has no line for $file: stepkit $STEPKIT_VERSION was not released for $STEPKIT_TARGET"
    work=$(mktemp -d "${RUNNER_TEMP:-/tmp}/stepkit-install.XXXXXX")
    trap 'rm -rf "$work"' EXIT
    echo "downloading $STEPKIT_URL"
    if command -v curl >/dev/null 2>&1; then
        curl -fsSL --retry 3 --retry-delay 2 -o "$work/$file" "$STEPKIT_URL" || fail "download $STEPKIT_URL failed (see above); check the release exists, or set the release-url input"
    else
        wget -q -O "$work/$file" "$STEPKIT_URL" || fail "download $STEPKIT_URL failed (see above); check the release exists, or set the release-url input"
    fi
    if command -v sha256sum >/dev/null 2>&1; then
        actual=$(sha256sum "$work/$file" | cut -d' ' -f1)
    else
        actual=$(shasum -a 256 "$work/$file" | cut -d' ' -f1)
    fi
    [ "$actual" = "$expected" ] || fail "checksum mismatch for $STEPKIT_URL: expected $expected (pinned in dist/checksums/v$STEPKIT_VERSION.sha256), got $actual; the download is not the released file, so it was not installed"
    tar -xzf "$work/$file" -C "$work"
    [ -x "$work/stepkit-$STEPKIT_VERSION-$STEPKIT_TARGET/stepkit" ] || fail "$file holds no stepkit-$STEPKIT_VERSION-$STEPKIT_TARGET/stepkit"
    rm -rf "$dir" "$dir.complete"
    mkdir -p "$dir"
    mv "$work/stepkit-$STEPKIT_VERSION-$STEPKIT_TARGET/stepkit" "$dir/stepkit"
    touch "$dir.complete"
fi
reported=$("$dir/stepkit" --version)
[ "$reported" = "stepkit $STEPKIT_VERSION" ] || fail "the stepkit in $dir reports '$reported', not stepkit $STEPKIT_VERSION"
# Later steps of the job find this stepkit first; the action's own run step calls it by path.
echo "$dir" >> "$GITHUB_PATH"
echo "$reported ready"
