#!/usr/bin/env bash
# Proves the release artefacts here: the static x86_64 musl binary is packed into the layout the
# release workflow publishes (dist/package.sh: tarball + SHA256SUMS), the tarball verifies and unpacks
# to a working binary, and the FROM scratch image (dist/image-context.sh, built by `stepkit image build`
# itself) runs it with nothing else in the container.
# Usage: .ci/release-layout.sh MUSL_BINARY   (needs STEPKIT_TEST_DOCKER's daemon)
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
binary=$(realpath "$1")
docker=${STEPKIT_TEST_DOCKER:-docker}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

file "$binary" | grep -q "statically linked\|static-pie linked" || { file "$binary"; echo "release-layout: $binary is not static" >&2; exit 1; }
version=$("$binary" --version | cut -d' ' -f2)
"$repo/dist/package.sh" "$work/out" "$version" "x86_64-unknown-linux-musl=$binary"
(cd "$work/out" && sha256sum -c SHA256SUMS)
tar -xzf "$work/out/stepkit-$version-x86_64-unknown-linux-musl.tar.gz" -C "$work"
"$work/stepkit-$version-x86_64-unknown-linux-musl/stepkit" --version | grep -qx "stepkit $version"
# Packing twice gives the same bytes: the pinned checksum does not depend on when the tarball was made.
"$repo/dist/package.sh" "$work/again" "$version" "x86_64-unknown-linux-musl=$binary" >/dev/null
cmp "$work/out/SHA256SUMS" "$work/again/SHA256SUMS"

"$repo/dist/image-context.sh" "$binary" "$work/image"
tag="stepkit-release-layout:ci-$$"
"$binary" --color never image build --context "$work/image" --tag "$tag"
printf "<testsuite name='s'><testcase name='t'/></testsuite>" > "$work/r.xml"
# Whole outputs first, then grep: `grep -q` stops reading at its match, and under pipefail the writer's
# broken pipe (docker run still streaming the rest) would fail the step.
printed="$("$docker" run --rm -v "$work:/w:ro" -w /w "$tag" --version)"
grep -qx "stepkit $version" <<<"$printed"
printed="$("$docker" run --rm -v "$work:/w:ro" -w /w "$tag" --format json junit summary r.xml)"
grep -q '"verdict": "passed"' <<<"$printed"
"$docker" image rm -f "$tag" >/dev/null
echo "release-layout: stepkit $version: tarball, SHA256SUMS and the FROM scratch image work"
