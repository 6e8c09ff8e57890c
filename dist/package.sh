#!/bin/sh
# The release layout, made the same way by the release workflow and by .ci/run:
#   OUTDIR/stepkit-VERSION-TARGET.tar.gz   (one directory stepkit-VERSION-TARGET/ with the binary and docs)
#   OUTDIR/SHA256SUMS                      (sha256sum format, every tarball in OUTDIR)
# The action and the Jenkins install step verify a download against dist/checksums/vVERSION.sha256,
# a copy of SHA256SUMS committed at the release commit (see docs/install.md).
# Usage: dist/package.sh OUTDIR VERSION TARGET=BINARY...
set -eu
[ $# -ge 3 ] || { echo "usage: $0 OUTDIR VERSION TARGET=BINARY..." >&2; exit 2; }
repo=$(cd "$(dirname "$0")/.." && pwd)
out=$1 version=$2
shift 2
mkdir -p "$out"
out=$(cd "$out" && pwd)
for pair in "$@"; do
    target=${pair%%=*} binary=${pair#*=}
    [ -x "$binary" ] || { echo "$0: $binary (for $target) is not an executable file" >&2; exit 2; }
    name="stepkit-$version-$target"
    stage=$(mktemp -d)
    mkdir "$stage/$name"
    cp "$binary" "$stage/$name/stepkit"
    cp "$repo/README.md" "$stage/$name/"
    # Same bytes for the same inputs: sorted names, fixed times and owners, gzip without a timestamp.
    tar --sort=name --mtime=@0 --owner=0 --group=0 --numeric-owner -C "$stage" -cf - "$name" | gzip -n -9 > "$out/$name.tar.gz"
    rm -rf "$stage"
done
(cd "$out" && sha256sum stepkit-*.tar.gz > SHA256SUMS)
cat "$out/SHA256SUMS"
