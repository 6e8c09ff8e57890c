# Sourced by .ci/action-e2e.sh and bench/action/run.sh: a loopback release server, the action's
# repository at a release ref, and act in self-hosted mode with its own caches.
# Needs: $work (a scratch directory), $repo (this checkout).

# serve_release BINARY: packs BINARY as the release (dist/package.sh) and serves $work/release on a free
# loopback port. Sets version, target, port, server (the server's pid; the caller kills it).
serve_release() {
    version=$("$1" --version | cut -d' ' -f2)
    target="$(uname -m)-unknown-linux-musl"
    # A stripped copy keeps a debug binary small; a release one is already stripped.
    strip -o "$work/stepkit" "$1"
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
}

# action_repo DIR: the action's repository at a release ref (action.yml, its scripts, the pinned
# checksums of the served release), ready for a workflow in DIR/.github/workflows.
action_repo() {
    mkdir -p "$1/dist/checksums" "$1/.github/workflows"
    cp "$repo/action.yml" "$1/"
    cp -r "$repo/dist/action" "$1/dist/"
    cp "$work/release/v$version/SHA256SUMS" "$1/dist/checksums/v$version.sha256"
}

# cache_standin: the GitHub cache service is SaaS and act cannot fetch actions/cache offline: a stand-in
# with the contract of actions/cache/restore and /save (inputs path, key, restore-keys; output
# cache-hit) keeps entries in a directory. Sets standin.
cache_standin() {
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
        hit=false from=
        if [ -d "$store/$K" ]; then hit=true; from=$K; else
          for prefix in $R; do
            if [ -z "$from" ]; then from=$( (ls "$store" 2>/dev/null || true) | grep -F "$prefix" | tail -1 || true); fi
          done
        fi
        if [ -n "$from" ]; then mkdir -p "$P" && cp -a "$store/$from/." "$P/"; fi
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
    git_commit "$standin"
}

git_commit() {
    (cd "$1" && git init -q && git add -A && git -c user.email=ci@localhost -c user.name=ci commit -qm snapshot)
}

# run_act DIR WORKFLOW NAME: act in self-hosted mode in DIR; its caches (tool cache included) under
# $work/cache-NAME, so each NAME starts cold. The log goes to $work/act-NAME.log.
run_act() {
    (cd "$1" && XDG_CACHE_HOME="$work/cache-$3" act push -P ubuntu-latest=-self-hosted -W "$2" \
        --local-repository "actions/cache@v4=$standin" > "$work/act-$3.log" 2>&1)
}
