#!/usr/bin/env bash
# Benchmark: `stepkit image build` and `stepkit image push` against the docker CLI doing the same
# work, on the same daemon, in the same run.
#
# Build: a generated context of 10,000 small files in nested directories, half of them (`*.tmp`)
#   excluded by a .dockerignore, and a Dockerfile `FROM scratch` + `COPY . /ctx`, so the daemon
#   really unpacks and snapshots what the client sent. Measured, alternating, RUNS times each:
#     stepkit image build --no-cache --tag bench-image-<pid>/ctx:stepkit-N --context <ctx>
#     DOCKER_BUILDKIT=0 docker build --no-cache -t bench-image-<pid>/ctx:docker-N <ctx>
#   The peer is the classic builder on purpose: stepkit talks to the daemon's classic build API
#   (POST /build with the context as one tar body, .dockerignore applied by the client), which is
#   exactly what `docker build` does with DOCKER_BUILDKIT=0. BuildKit (DOCKER_BUILDKIT=1) is a
#   different protocol (session, incremental file sync, its own snapshotter); it is measured too,
#   for reference only, not for the ratio.
#   Check: both images hold the same file list under /ctx (docker create + docker export | tar -t),
#   namely FILES/2 kept files + Dockerfile + .dockerignore, and no *.tmp file.
#   References (not targets), because the daemon's share of that build is large and noisy:
#   - a two-file context, RUNS_SMALL times: the fixed cost per build. Here stepkit is compared
#     with plain `docker build` and with `docker build` given the same 3 labels stepkit always
#     sets: the classic builder runs every build label as a LABEL step of its own, where stepkit
#     adds one LABEL step for all of them.
#   - the client alone: the 10,000-file build sent to fake_dockerd.py, a stand-in daemon that
#     only reads the context (walk, .dockerignore, tar and transfer are all that is timed);
#     both clients must send a context of the same size.
#
# Push: an image of LAYERS layers (each a COPY of its own LAYER_MB MiB of random data, so nothing
#   compresses or deduplicates), pushed to a local registry (docker-registry on 127.0.0.1:PORT,
#   plain HTTP, filesystem storage, no auth), alternating RUNS times each:
#     stepkit image push 127.0.0.1:PORT/bench-image-<pid>/layers-sN:1
#     docker push        127.0.0.1:PORT/bench-image-<pid>/layers-dN:1
#   Every push must upload every layer: a new repository name alone is not enough (the daemon
#   remembers which blobs it pushed to a registry and mounts them from the other repository),
#   so the registry is restarted on empty storage before each measured push (outside the timing).
#   Check: the registry serves a manifest with LAYERS layers for every pushed tag.
#
# One warm-up round of each (not counted) comes first: it fills the page cache with the context
# and lets the daemon compress the layers once, for both tools alike. Medians of wall time; the
# ratio is stepkit/docker, the median of the per-round ratios (two runs seconds apart, so a change
# of load mid-benchmark cancels out); the ratio of the medians is printed as a cross-check.
# Targets (issue): <= 1.05 for both, printed last. A missed target is printed, not an
# error: the script exits non-zero only when something fails (a command, a check).
#
# Usage: bench/image/run.sh      (from any directory; 3-5 min on 2 cores, depending on the load)
# Env:   STEPKIT=path/to/stepkit (default: cargo build --release, honouring CARGO_TARGET_DIR)
#        DOCKER=/usr/bin/docker (a client with the classic builder and DOCKER_BUILDKIT support)
#        RUNS=5  FILES=10000  LAYERS=5  LAYER_MB=8  PORT=15100 (the registry's loopback port)
#        RUNS_SMALL=10 (runs of the two-file context that shows the fixed cost per build)
#        BUILDKIT=1 (0 skips the BuildKit reference in the 10,000-file rounds)
#        LABELS=1 (adds `docker build` with stepkit's labels to the 10,000-file rounds; +1/3 time)
#        BENCH_TIMEOUT=300 (seconds any one command may take)
#        BENCH_KEEP=1 (keep the temp dir)
# Needs: a running dockerd (started here, and stopped at the end, when none answers and we are
#        root), docker-registry (Debian package docker-registry), curl, python3.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/../.." && pwd)
DOCKER=${DOCKER:-/usr/bin/docker}
RUNS=${RUNS:-5}
FILES=${FILES:-10000}
LAYERS=${LAYERS:-5}
LAYER_MB=${LAYER_MB:-8}
PORT=${PORT:-15100}
BUILDKIT=${BUILDKIT:-1}
LABELS=${LABELS:-0}
RUNS_SMALL=${RUNS_SMALL:-10}
LIMIT=${BENCH_TIMEOUT:-300}
REGISTRY=127.0.0.1:$PORT
ns=bench-image-$$ # image names of this run, so that a concurrent run does not collide

say() { printf '==> %s\n' "$*" >&2; }
die() { printf 'bench/image: %s\n' "$*" >&2; exit 1; }
calc() { python3 -c "print($1)"; }
median() { python3 -c 'import statistics,sys; print(f"{statistics.median(map(float, sys.argv[1:])):.3f}")' "$@"; }

command -v python3 >/dev/null || die "python3 is needed"
command -v curl >/dev/null || die "curl is needed"
[[ -x $DOCKER ]] || die "no docker client at $DOCKER (set DOCKER=)"
command -v docker-registry >/dev/null || die "docker-registry is needed (apt-get install -y docker-registry)"

work=$(mktemp -d "${TMPDIR:-/tmp}/stepkit-bench-image.XXXXXX")
dockerd_pid=""
registry_pid=""
fake_pid=""
containers=()

cleanup() {
  set +e
  for c in "${containers[@]}"; do "$DOCKER" rm -f "$c" >/dev/null 2>&1; done
  # Every image this run tagged is under $ns (locally and for the registry).
  "$DOCKER" image ls --format '{{.Repository}}:{{.Tag}}' 2>/dev/null | grep -E "(^|/)$ns/" | xargs -r "$DOCKER" rmi -f >/dev/null 2>&1
  declare -F stop_registry >/dev/null && stop_registry
  if [[ -n $fake_pid ]]; then kill "$fake_pid" 2>/dev/null; wait "$fake_pid" 2>/dev/null; fi
  if [[ -n $dockerd_pid ]]; then kill "$dockerd_pid" 2>/dev/null; wait "$dockerd_pid" 2>/dev/null; fi
  if [[ -n ${BENCH_KEEP:-} ]]; then say "kept $work"; else rm -rf "$work"; fi
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# --- tools ----------------------------------------------------------------------------------------
if ! timeout 20 "$DOCKER" info >/dev/null 2>&1; then
  command -v dockerd >/dev/null && [[ $(id -u) == 0 ]] || die "no docker daemon answers and I cannot start one"
  say "starting dockerd (log: $work/dockerd.log)"
  dockerd >"$work/dockerd.log" 2>&1 &
  dockerd_pid=$!
  for _ in $(seq 60); do timeout 5 "$DOCKER" info >/dev/null 2>&1 && break; sleep 0.5; done
  timeout 5 "$DOCKER" info >/dev/null 2>&1 || die "dockerd did not come up: $(tail -5 "$work/dockerd.log")"
fi

measure_stepkit=1
if [[ -z ${STEPKIT:-} ]]; then
  say "building stepkit (release)"
  if (cd "$root" && timeout 1800 cargo build --release --quiet --bin stepkit); then
    STEPKIT=${CARGO_TARGET_DIR:-$root/target}/release/stepkit
    case $STEPKIT in /*) ;; *) STEPKIT=$root/$STEPKIT ;; esac
  else
    say "WARNING: stepkit does not build: measuring docker only"
    measure_stepkit=
  fi
fi
if [[ -n $measure_stepkit ]] && ! "$STEPKIT" image build --help >/dev/null 2>&1; then
  say "WARNING: $STEPKIT has no 'image build' command: measuring docker only"
  measure_stepkit=
fi

if [[ -n $measure_stepkit ]]; then echo "stepkit: $("$STEPKIT" --version 2>&1) ($STEPKIT)"; else echo "stepkit: not measured"; fi
echo "docker:  $("$DOCKER" version --format 'client {{.Client.Version}}, engine {{.Server.Version}} (API {{.Server.APIVersion}}), storage driver ')$("$DOCKER" info --format '{{.Driver}}')"
echo "machine: $(nproc) CPUs, load $(cut -d' ' -f1-3 /proc/loadavg); runs=$RUNS files=$FILES layers=${LAYERS}x${LAYER_MB}MiB"
echo

# Runs a command (output to $log) under the time limit and prints its wall seconds; a failure aborts.
log=/dev/null
wall() {
  local start end rc=0
  start=$(date +%s.%N)
  timeout "$LIMIT" "$@" >"$log" 2>&1 || rc=$?
  end=$(date +%s.%N)
  if ((rc != 0)); then
    echo "FAILED (exit $rc): $*" >&2
    tail -n 30 "$log" >&2 || true
    exit 1
  fi
  calc "f'{$end - $start:.3f}'"
}
# Removes an image (tag) if it exists; outside every timing.
rmi() { "$DOCKER" rmi -f "$@" >/dev/null 2>&1 || true; }

# --- build ----------------------------------------------------------------------------------------
ctx=$work/ctx
say "generating the build context ($FILES files, half excluded by .dockerignore)"
python3 - "$ctx" "$FILES" <<'PY'
import os, random, sys
root, n = sys.argv[1], int(sys.argv[2])
rng = random.Random(1)
# 100 top directories x 5 subdirectories x (n/500) files: ~20 files per leaf directory at 10,000.
per_leaf = max(1, n // 500)
count = 0
for top in range(100):
    for sub in range(5):
        d = os.path.join(root, "src", f"pkg{top:02}", f"mod{sub}")
        os.makedirs(d, exist_ok=True)
        for i in range(per_leaf):
            if count >= n:
                break
            # Every other file is build debris the .dockerignore drops.
            name = f"f{i:03}.tmp" if count % 2 else f"f{i:03}.txt"
            with open(os.path.join(d, name), "wb") as f:
                f.write(rng.randbytes(rng.randint(100, 2000)))
            count += 1
assert count == n, (count, n)
with open(os.path.join(root, ".dockerignore"), "w") as f:
    f.write("**/*.tmp\n")
with open(os.path.join(root, "Dockerfile"), "w") as f:
    f.write("FROM scratch\nCOPY . /ctx\n")
PY
kept=$(find "$ctx" -type f ! -name '*.tmp' | wc -l) # includes Dockerfile and .dockerignore
echo "context: $(find "$ctx" -type f | wc -l) files, $(du -sh --apparent-size "$ctx" | cut -f1); $kept sent after .dockerignore"

# Every build gets its own tag and all of them stay until the section ends. Removing an image
# deletes thousands of inodes, and some file systems make the next thousands of creations pay for
# that: ext4 without a journal (this benchmark's first machine) skips inodes deleted in the last
# 60 s (360 s while their blocks are dirty) and rescans them on every allocation. The daemon
# itself still deletes the extracted context and the COPY container after each build, so every
# measured build follows the same churn; `sync` before each one keeps the previous build's
# writeback out of its timing.
tag() { echo "$ns/ctx:$1-$round"; }
build_stepkit() { wall "$STEPKIT" image build --no-cache --tag "$(tag stepkit)" --context "$ctx"; }
build_docker() { (cd "$ctx" && wall env DOCKER_BUILDKIT=0 "$DOCKER" build --no-cache -t "$(tag docker)" .); }
# stepkit always sets OCI labels (created, version, title; on CI also source and revision). The
# classic builder would turn every build-API label into a LABEL step of its own (a container created
# and committed each), so stepkit applies them all in one LABEL step of a second, Dockerfile-only
# build. Measured for reference: docker build given the same labels as --label.
build_labels() {
  (cd "$ctx" && wall env DOCKER_BUILDKIT=0 "$DOCKER" build --no-cache -t "$(tag labels)" \
    --label "org.opencontainers.image.created=$(date -u +%Y-%m-%dT%H:%M:%SZ)" \
    --label org.opencontainers.image.title=ctx --label "org.opencontainers.image.version=labels-$round" .)
}
build_buildkit() { (cd "$ctx" && wall env DOCKER_BUILDKIT=1 "$DOCKER" build --no-cache -t "$(tag buildkit)" .); }

bs=() bd=() bl=() bb=() pairs=()
for round in $(seq 0 "$RUNS"); do
  # Alternate the order, so drift (page cache, daemon state, neighbours) hits both alike.
  if ((round % 2)); then order="labels docker stepkit"; else order="stepkit docker labels"; fi
  line="round $round:"
  ts="" td=""
  for who in $order; do
    log=$work/build-$who-$round.log
    sync
    case $who in
      stepkit) [[ -n $measure_stepkit ]] || continue; t=$(build_stepkit); ts=$t; if ((round)); then bs+=("$t"); fi ;;
      docker) t=$(build_docker); td=$t; if ((round)); then bd+=("$t"); fi ;;
      labels) [[ $LABELS == 1 ]] || continue; t=$(build_labels); if ((round)); then bl+=("$t"); fi ;;
    esac
    line+=" $who ${t}s"
  done
  if [[ -n $ts ]] && ((round)); then pairs+=("$(calc "$ts / $td")"); fi
  if [[ $BUILDKIT == 1 ]]; then
    log=$work/build-buildkit-$round.log
    sync
    t=$(build_buildkit); if ((round)); then bb+=("$t"); fi
    line+=" (buildkit ${t}s)"
  fi
  echo "build $line$( ((round)) || echo ' [warm-up, not counted]')"
done
round=$RUNS

# The images must hold the same files: the ones the .dockerignore keeps.
files_in() {
  local cid
  cid=$("$DOCKER" create "$1" /none) # a scratch image has no command; the container never starts
  containers+=("$cid")
  "$DOCKER" export "$cid" | tar -t | grep -E '^ctx/.*[^/]$' | sort
  "$DOCKER" rm "$cid" >/dev/null
}
files_in "$(tag docker)" >"$work/files-docker.txt"
n_docker=$(wc -l <"$work/files-docker.txt")
((n_docker == kept)) || die "the docker-built image holds $n_docker files under /ctx, expected $kept"
! grep -q '\.tmp$' "$work/files-docker.txt" || die "the docker-built image holds *.tmp files"
if [[ -n $measure_stepkit ]]; then
  files_in "$(tag stepkit)" >"$work/files-stepkit.txt"
  diff -q "$work/files-docker.txt" "$work/files-stepkit.txt" >/dev/null ||
    die "the images differ in their files (stepkit $(wc -l <"$work/files-stepkit.txt"), docker $n_docker): diff $work/files-{docker,stepkit}.txt"
  echo "check: both images hold the same $n_docker files under /ctx, no *.tmp"
else
  echo "check: the docker image holds $n_docker files under /ctx, no *.tmp"
fi
"$DOCKER" image ls --format '{{.Repository}}:{{.Tag}}' | grep -E "^$ns/ctx:" | xargs -r "$DOCKER" rmi -f >/dev/null
echo

# --- build references: the fixed cost per build, and the client's own share --------------------
# The 10,000-file build is dominated by the daemon (extracting, copying and committing 5,000 files),
# so what a client adds is lost in its noise. Two cheaper measurements isolate it:
#  1. a two-file context: what is left is the per-build cost (API calls, builder steps);
#  2. the 10,000-file context sent to fake_dockerd.py, a stand-in daemon that only reads the body:
#     what is left is the client's walk, .dockerignore, tar and transfer.
tiny=$work/tiny
mkdir -p "$tiny"
printf 'FROM scratch\nCOPY . /ctx\n' >"$tiny/Dockerfile"
echo hello >"$tiny/hello.txt"
ts_=() td_=() tl_=()
for round in $(seq 0 "$RUNS_SMALL"); do
  if ((round % 2)); then order="labels docker stepkit"; else order="stepkit docker labels"; fi
  for who in $order; do
    log=$work/tiny-$who-$round.log
    case $who in
      stepkit) [[ -n $measure_stepkit ]] || continue; t=$(wall "$STEPKIT" image build --no-cache --tag "$ns/tiny:s$round" --context "$tiny"); if ((round)); then ts_+=("$t"); fi ;;
      docker) t=$(cd "$tiny" && wall env DOCKER_BUILDKIT=0 "$DOCKER" build --no-cache -t "$ns/tiny:d$round" .); if ((round)); then td_+=("$t"); fi ;;
      labels) t=$(cd "$tiny" && wall env DOCKER_BUILDKIT=0 "$DOCKER" build --no-cache -t "$ns/tiny:l$round" \
        --label "org.opencontainers.image.created=$(date -u +%Y-%m-%dT%H:%M:%SZ)" \
        --label org.opencontainers.image.title=tiny --label "org.opencontainers.image.version=l$round" .)
        if ((round)); then tl_+=("$t"); fi ;;
    esac
  done
done
"$DOCKER" image ls --format '{{.Repository}}:{{.Tag}}' | grep -E "^$ns/tiny:" | xargs -r "$DOCKER" rmi -f >/dev/null
steps=""
if [[ -n $measure_stepkit ]]; then steps=$(grep -c '^Step ' "$work/tiny-stepkit-$RUNS_SMALL.log" || true); fi
echo "tiny context (2 files), median of $RUNS_SMALL: docker $(median "${td_[@]}")s (2 steps), docker + 3 --label $(median "${tl_[@]}")s (5 steps)${measure_stepkit:+, stepkit $(median "${ts_[@]}")s ($steps steps)}"

fake=$work/fake.sock
python3 "$here/fake_dockerd.py" "$fake" 2>"$work/fake.log" &
fake_pid=$!
for _ in $(seq 50); do [[ -S $fake ]] && break; sleep 0.1; done
[[ -S $fake ]] || die "fake_dockerd.py did not start: $(cat "$work/fake.log")"
cs=() cd_=()
for round in $(seq 0 "$RUNS"); do
  if ((round % 2)); then order="docker stepkit"; else order="stepkit docker"; fi
  for who in $order; do
    log=$work/client-$who-$round.log
    case $who in
      stepkit) [[ -n $measure_stepkit ]] || continue; t=$(wall env DOCKER_HOST="unix://$fake" "$STEPKIT" image build --no-cache --tag "$ns/fake:s" --context "$ctx"); if ((round)); then cs+=("$t"); fi ;;
      docker) t=$(cd "$ctx" && wall env DOCKER_HOST="unix://$fake" DOCKER_BUILDKIT=0 "$DOCKER" build --no-cache -t "$ns/fake:d" .); if ((round)); then cd_+=("$t"); fi ;;
    esac
  done
done
kill "$fake_pid" 2>/dev/null || true
wait "$fake_pid" 2>/dev/null || true
fake_pid=""
# Both clients must have sent the same context, byte for byte in size.
# stepkit's second request (its one LABEL step, a 2 KiB Dockerfile-only body) is not a context.
sizes=$(grep -o 'body [0-9]* bytes' "$work/fake.log" | awk '$2 > 10240' | sort -u)
[[ $(wc -l <<<"$sizes") == 1 ]] || die "the clients sent contexts of different sizes to the fake daemon: $sizes"
echo "client only (fake daemon, same ${sizes#body } context), median of $RUNS: docker $(median "${cd_[@]}")s${measure_stepkit:+, stepkit $(median "${cs[@]}")s}"
echo

# --- push -----------------------------------------------------------------------------------------
reg=$work/registry
mkdir -p "$reg"
cat >"$reg/config.yml" <<EOF
version: 0.1
log:
  level: warn
storage:
  filesystem:
    rootdirectory: $reg/data
  delete:
    enabled: true
http:
  addr: $REGISTRY
EOF
start_registry() {
  rm -rf "$reg/data"
  docker-registry serve "$reg/config.yml" >>"$reg/log" 2>&1 &
  registry_pid=$!
  for _ in $(seq 100); do
    [[ $(curl -s -o /dev/null -w '%{http_code}' "http://$REGISTRY/v2/" || true) == 200 ]] && return 0
    kill -0 "$registry_pid" 2>/dev/null || break
    sleep 0.1
  done
  die "the registry did not start on $REGISTRY (port taken? set PORT=): $(tail -3 "$reg/log")"
}
stop_registry() {
  if [[ -n $registry_pid ]]; then
    kill "$registry_pid" 2>/dev/null || true
    wait "$registry_pid" 2>/dev/null || true
    registry_pid=""
  fi
}
if curl -s -o /dev/null "http://$REGISTRY/v2/"; then die "something already listens on $REGISTRY (set PORT=)"; fi

layers=$work/layers
mkdir -p "$layers"
say "building a $LAYERS-layer image (${LAYER_MB} MiB of random data per layer)"
echo "FROM scratch" >"$layers/Dockerfile"
for i in $(seq "$LAYERS"); do
  head -c "$((LAYER_MB * 1024 * 1024))" /dev/urandom >"$layers/layer$i.bin"
  echo "COPY layer$i.bin /layer$i.bin" >>"$layers/Dockerfile"
done
src=$ns/layers:src
log=$work/layers-build.log
(cd "$layers" && wall env DOCKER_BUILDKIT=0 "$DOCKER" build -t "$src" . >/dev/null)

# The registry's manifest for a tag must list every layer.
check_manifest() {
  local repo=$1 n
  n=$(curl -sf -H 'Accept: application/vnd.docker.distribution.manifest.v2+json' "http://$REGISTRY/v2/$repo/manifests/1" |
    python3 -c 'import json,sys; print(len(json.load(sys.stdin)["layers"]))') || die "the registry serves no manifest for $repo:1"
  ((n == LAYERS)) || die "$repo:1 has $n layers in the registry, expected $LAYERS"
}

ps_=() pd=() ppairs=()
for round in $(seq 0 "$RUNS"); do
  if ((round % 2)); then order="docker stepkit"; else order="stepkit docker"; fi
  line="round $round:"
  ts="" td=""
  for who in $order; do
    [[ $who == stepkit && -z $measure_stepkit ]] && continue
    repo=$ns/layers-${who:0:1}$round
    ref=$REGISTRY/$repo:1
    "$DOCKER" tag "$src" "$ref"
    start_registry # empty: every layer is uploaded
    log=$work/push-$who-$round.log
    case $who in
      stepkit) t=$(wall "$STEPKIT" image push "$ref"); ts=$t; if ((round)); then ps_+=("$t"); fi ;;
      docker) t=$(wall "$DOCKER" push "$ref"); td=$t; if ((round)); then pd+=("$t"); fi ;;
    esac
    check_manifest "$repo"
    stop_registry
    rmi "$ref"
    line+=" $who ${t}s"
  done
  if [[ -n $ts ]] && ((round)); then ppairs+=("$(calc "$ts / $td")"); fi
  echo "push $line$( ((round)) || echo ' [warm-up, not counted]')"
done
echo "check: the registry served a $LAYERS-layer manifest after every push"
echo

# --- results --------------------------------------------------------------------------------------
echo "load at the end: $(cut -d' ' -f1-3 /proc/loadavg) (other work on the machine or the daemon makes the build times noisy)"
verdict() { python3 -c "print('ok' if $1 <= 1.05 else 'MISSED')"; }
ratio() { calc "f'{$1 / $2:.2f}'"; }
md=$(median "${bd[@]}")
mpd=$(median "${pd[@]}")
echo "build, median of $RUNS: docker (classic builder) ${md}s${measure_stepkit:+, stepkit $(median "${bs[@]}")s}"
if [[ $LABELS == 1 ]]; then echo "build, median of $RUNS: docker with stepkit's 3 OCI labels as --label $(median "${bl[@]}")s (reference)"; fi
if [[ $BUILDKIT == 1 ]]; then echo "build, median of $RUNS: docker with BuildKit $(median "${bb[@]}")s (reference)"; fi
echo "push,  median of $RUNS: docker ${mpd}s${measure_stepkit:+, stepkit $(median "${ps_[@]}")s}"
if [[ -n $measure_stepkit ]]; then
  ms=$(median "${bs[@]}")
  mps=$(median "${ps_[@]}")
  if [[ $LABELS == 1 ]]; then echo "(reference) build ratio stepkit/docker-with-the-same-labels: $(ratio "$ms" "$(median "${bl[@]}")")x"; fi
  echo "(reference) tiny context: stepkit/docker $(ratio "$(median "${ts_[@]}")" "$(median "${td_[@]}")")x, stepkit/docker-with-the-same-labels $(ratio "$(median "${ts_[@]}")" "$(median "${tl_[@]}")")x; client only: stepkit/docker $(ratio "$(median "${cs[@]}")" "$(median "${cd_[@]}")")x"
  echo "(cross-check) ratio of the medians stepkit/docker: build $(ratio "$ms" "$md")x, push $(ratio "$mps" "$mpd")x"
  echo
  # The headline is the median of the per-round ratios: each compares two runs made seconds apart,
  # so a change of load during the benchmark (other jobs, the daemon's own state) cancels out,
  # where a ratio of two medians can pair a quiet stepkit run with a loaded docker run.
  rb=$(ratio "$(median "${pairs[@]}")" 1)
  rp=$(ratio "$(median "${ppairs[@]}")" 1)
  echo "build ratio stepkit/docker: ${rb}x (target <= 1.05) $(verdict "$rb")"
  echo "push ratio stepkit/docker: ${rp}x (target <= 1.05) $(verdict "$rp")"
else
  echo "stepkit was not measured: no ratio" >&2
  exit 1
fi
