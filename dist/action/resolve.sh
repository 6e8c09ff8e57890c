#!/bin/sh
# The action's first step: which stepkit to run, for which platform, from where, and whether
# `stepkit test` timings are cached. POSIX sh (no bash 4, no python3): runs in any `container:` image.
set -eu
action_dir=$(cd "$(dirname "$0")/../.." && pwd)
out() { printf '%s=%s\n' "$1" "$2" >> "$GITHUB_OUTPUT"; }
fail() { printf '::error title=stepkit::%s\n' "$1"; exit 2; }

os=${RUNNER_OS:-$(uname -s)}
arch=${RUNNER_ARCH:-$(uname -m)}
case "$os" in
    Linux) os_part=unknown-linux-musl ;;
    macOS|Darwin) os_part=apple-darwin ;;
    Windows|MINGW*|MSYS*|CYGWIN*)
        fail "stepkit runs on Linux and macOS runners only (it needs Unix signals and process groups); use runs-on: ubuntu-latest or macos-latest, or run it in WSL or a Linux container" ;;
    *) fail "no stepkit build for runner OS '$os'; stepkit is released for Linux and macOS" ;;
esac
case "$arch" in
    X64|x86_64|amd64) arch_part=x86_64; cache_arch=x64 ;;
    ARM64|aarch64|arm64) arch_part=aarch64; cache_arch=arm64 ;;
    *) fail "no stepkit build for runner architecture '$arch'; stepkit is released for x86_64 and aarch64" ;;
esac
target="$arch_part-$os_part"

# The version: the `version` input, else the action ref when it names a release (`@v0.2.0`), else the
# release this commit is (a moving `@v0` points at a release commit, which holds dist/release-version).
version=${STEPKIT_INPUT_VERSION:-}
version=${version#v}
ref=${STEPKIT_ACTION_REF:-}
if [ -z "$version" ] && [ -n "$ref" ] && [ -f "$action_dir/dist/checksums/v${ref#v}.sha256" ]; then
    version=${ref#v}
fi
if [ -z "$version" ] && [ -f "$action_dir/dist/release-version" ]; then
    version=$(tr -d ' \n\r' < "$action_dir/dist/release-version")
fi
cache_root=${RUNNER_TOOL_CACHE:-${RUNNER_TEMP:-/tmp}}/stepkit

if [ -z "$version" ]; then
    # An unreleased ref (a branch, a commit): no release binary and no pinned checksum exist for it.
    printf '::notice title=stepkit::%s\n' "the action ref '${ref:-local}' is not a stepkit release: building stepkit from this ref's source with cargo (cached per source); pin a release such as @v0 to download a verified binary in seconds"
    command -v cargo >/dev/null 2>&1 || fail "the action ref '${ref:-local}' is not a stepkit release, and building from source needs cargo on the runner; pin a release (uses: ...stepkit@v0) or set the version input"
    key=$(cd "$action_dir" && find Cargo.toml Cargo.lock src crates -type f 2>/dev/null | LC_ALL=C sort | xargs cat | cksum | tr ' ' -)
    dir="$cache_root/source/$cache_arch"
    out source true
    out version source
    out source-key "stepkit-source-$os-$cache_arch-$key"
    out dir "$dir"
    out bin "$dir/bin/stepkit"
else
    sums="$action_dir/dist/checksums/v$version.sha256"
    [ -f "$sums" ] || fail "no checksums pinned for stepkit $version at this action ref (dist/checksums/v$version.sha256); use the action at a ref that has them, e.g. uses: ...stepkit@v$version"
    base=${STEPKIT_INPUT_RELEASE_URL:-}
    if [ -z "$base" ]; then
        [ -n "${STEPKIT_ACTION_REPOSITORY:-}" ] || fail "cannot tell which repository's releases to download from (github.action_repository is empty, as for a local action); set the release-url input"
        base="${STEPKIT_SERVER_URL:-https://github.com}/$STEPKIT_ACTION_REPOSITORY/releases/download"
    fi
    file="stepkit-$version-$target.tar.gz"
    out source false
    out version "$version"
    out target "$target"
    out url "${base%/}/v$version/$file"
    out dir "$cache_root/$version/$cache_arch"
    out bin "$cache_root/$version/$cache_arch/stepkit"
fi

# `stepkit test` keeps its timings in .stepkit/timings: the first word that is not a global option (or
# its value) is the subcommand. `set -f`: the split must not expand globs in the arguments.
set -f
# shellcheck disable=SC2086
set -- ${STEPKIT_ARGS:-}
set +f
while [ $# -gt 0 ]; do
    case "$1" in
        --format|--color|--config|--result-file) shift 2 2>/dev/null || shift ;;
        -*) shift ;;
        *) break ;;
    esac
done
out timings "$([ "${1:-}" = test ] && echo true || echo false)"
