#!/bin/sh
# stepkitInstall's agent side: the release tarball, verified against the pinned SHA256SUMS, unpacked once
# per version into STEPKIT_TOOL_DIR. Values arrive in the environment, never in the script text.
set -eu
case "$(uname -s)-$(uname -m)" in
    Linux-x86_64|Linux-amd64) target=x86_64-unknown-linux-musl ;;
    Linux-aarch64|Linux-arm64) target=aarch64-unknown-linux-musl ;;
    Darwin-x86_64) target=x86_64-apple-darwin ;;
    Darwin-arm64) target=aarch64-apple-darwin ;;
    *) echo "stepkitInstall: no stepkit release for $(uname -s) $(uname -m); stepkit runs on Linux and macOS, x86_64 and aarch64" >&2; exit 3 ;;
esac
dir="$STEPKIT_TOOL_DIR/$STEPKIT_VERSION"
if [ -x "$dir/stepkit" ] && [ -f "$dir/.complete" ]; then
    "$dir/stepkit" --version
    exit 0
fi
file="stepkit-$STEPKIT_VERSION-$target.tar.gz"
url="${STEPKIT_RELEASE_URL%/}/v$STEPKIT_VERSION/$file"
expected=$(awk -v f="$file" '$2 == f || $2 == "*" f { print $1 }' "$STEPKIT_SUMS")
[ -n "$expected" ] || { echo "stepkitInstall: the pinned checksums have no line for $file" >&2; exit 3; }
work=$(mktemp -d "$STEPKIT_TOOL_DIR/.download.XXXXXX")
trap 'rm -rf "$work"' EXIT
if command -v curl >/dev/null 2>&1; then
    curl -fsSL --retry 3 -o "$work/$file" "$url"
else
    wget -q -O "$work/$file" "$url"
fi
if command -v sha256sum >/dev/null 2>&1; then actual=$(sha256sum "$work/$file" | cut -d' ' -f1); else actual=$(shasum -a 256 "$work/$file" | cut -d' ' -f1); fi
if [ "$actual" != "$expected" ]; then
    echo "stepkitInstall: checksum mismatch for $url: expected $expected (pinned), got $actual; not installed" >&2
    exit 3
fi
tar -xzf "$work/$file" -C "$work"
rm -rf "$dir"
mkdir -p "$dir"
mv "$work/stepkit-$STEPKIT_VERSION-$target/stepkit" "$dir/stepkit"
touch "$dir/.complete"
"$dir/stepkit" --version
