#!/usr/bin/env bash
# Builds every plugin of this directory into dist/<name>.wasm: the Rust examples and fixtures (one cargo
# workspace, release, wasm32-wasip2) and the Python example (componentize-py). Safe to run again: cargo
# only rebuilds what changed, the Python component only when its sources or the WIT are newer, and dist/
# files are replaced only when their bytes differ (so their mtimes say when a component really changed).
set -euo pipefail
cd "$(dirname "$0")"
here="$PWD"
wit="$here/../wit"
dist="$here/dist"
mkdir -p "$dist"

die() { printf 'plugins/build.sh: %s\n' "$*" >&2; exit 1; }

# --- preconditions, with the command that fixes each ---------------------------------------------
command -v cargo >/dev/null || die "cargo not found: install Rust from https://rustup.rs"
if command -v rustup >/dev/null; then
    rustup target list --installed | grep -qx wasm32-wasip2 \
        || die "the wasm32-wasip2 target is missing: run 'rustup target add wasm32-wasip2'"
fi
componentize_py="${COMPONENTIZE_PY:-componentize-py}"
# pip may install the script into a directory that is not on PATH (user or pyenv installs).
if ! command -v "$componentize_py" >/dev/null && command -v python3 >/dev/null; then
    scripts="$(python3 -c 'import sysconfig; print(sysconfig.get_path("scripts"))' 2>/dev/null || true)"
    [ -x "$scripts/componentize-py" ] && componentize_py="$scripts/componentize-py"
fi
command -v "$componentize_py" >/dev/null \
    || die "componentize-py not found: run 'python3 -m pip install componentize-py' (or set COMPONENTIZE_PY)"

# Copy only when different, so an unchanged component keeps its mtime.
install_if_changed() {
    local from="$1" to="$2"
    if ! cmp -s "$from" "$to"; then
        cp "$from" "$to.tmp" && mv "$to.tmp" "$to"
        printf '  %s\n' "${to#"$here"/}"
    fi
}

# --- Rust: examples and fixtures ---------------------------------------------------------------
cargo build --quiet --release --target wasm32-wasip2
out="$here/target/wasm32-wasip2/release"
for manifest in */Cargo.toml fixtures/*/Cargo.toml; do
    dir="$(dirname "$manifest")"
    name="$(basename "$dir")"
    package="$name"
    [[ "$dir" == fixtures/* ]] && package="fixture-$name"
    # A cdylib lands under its crate name (underscores); the no-export command binary keeps its dashes.
    artifact="$out/${package//-/_}.wasm"
    [ -f "$artifact" ] || artifact="$out/$package.wasm"
    [ -f "$artifact" ] || die "$dir built, but no component found for package $package"
    install_if_changed "$artifact" "$dist/$name.wasm"
done

# --- Python: one example ---------------------------------------------------------------------------
for app in */app.py; do
    dir="$(dirname "$app")"
    target="$dist/$dir.wasm"
    if [ -f "$target" ] && [ -z "$(find "$dir" "$wit" \( -name '*.py' -o -name '*.wit' \) -newer "$target" -print -quit)" ]; then
        continue
    fi
    # componentize-py writes generated bindings into a scratch dir, never into the source tree.
    scratch="$(mktemp -d)"
    trap 'rm -rf "$scratch"' EXIT
    (cd "$dir" && "$componentize_py" -d "$wit" -w plugin componentize app -o "$scratch/out.wasm" >"$scratch/log" 2>&1) \
        || { cat "$scratch/log" >&2; die "componentize-py failed for $dir"; }
    mv "$scratch/out.wasm" "$target"
    printf '  %s\n' "dist/$dir.wasm"
done

printf 'plugins/build.sh: %s components in %s\n' "$(find "$dist" -name '*.wasm' | wc -l)" "dist/"
