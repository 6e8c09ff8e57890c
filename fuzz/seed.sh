#!/usr/bin/env bash
# Seeds the junit_read corpus with real reports (JUnit 4/Surefire, Jest, PHPUnit, pytest, TRX, NUnit 3, xUnit.net...),
# so the fuzzer starts from every dialect instead of rediscovering XML from nothing.
# The copies are not committed (fuzz/corpus is ignored); run this before fuzzing. Idempotent.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
# The repository's copy of the shared JUnit corpus (tests/fixtures), so seeding needs nothing outside it.
source_dir="${JUNIT_CORPUS_DIR:-$here/../tests/fixtures/junit-corpus}"
dest="$here/corpus/junit_read"
mkdir -p "$dest"

shopt -s nullglob
files=("$source_dir"/*/*.xml)
# The TRX, NUnit 3 and xUnit.net fixtures go in too (the reader dispatches on their root elements),
# and the committed hostile seeds (fuzz/seeds: a truncated TRX, an entity DOCTYPE in NUnit, ...).
dialects=("$here"/../tests/fixtures/dialects/*/*.xml "$here"/../tests/fixtures/dialects/*/*.trx "$here"/seeds/*)
if ((${#files[@]} == 0)); then
    echo "seed.sh: no JUnit reports under $source_dir/*/ (set JUNIT_CORPUS_DIR); seeding the dialect fixtures only" >&2
fi
for f in "${files[@]}"; do
    # Prefix with the collection name: two collections may hold the same file name.
    cp -f "$f" "$dest/$(basename "$(dirname "$f")")__$(basename "$f")"
done
for f in "${dialects[@]}"; do
    cp -f "$f" "$dest/$(basename "$(dirname "$f")")__$(basename "$f")"
done
echo "seed.sh: $((${#files[@]} + ${#dialects[@]})) seed reports in $dest"
