#!/usr/bin/env bash
# stepkit deploy under load: a steady open-model load (`stepkit load --rate`) during 20 consecutive
# deploys (one of them of a version that fails its gate) and 5 rollbacks, in two set-ups of the same run:
#   proxy:  traffic through a real HAProxy (runtime API on a unix socket, loopback frontend), the
#           versions start-first, switched after their gate, the old one drained (--proxy-socket);
#   direct: the app's port published on the host, as without a proxy: the same host port means
#           stop-first (the old version stops before the new one starts).
# Each deploy or rollback gets its own load window (load starts, 0.5 s, the deploy, 0.5 s, load stops
# by SIGINT), so every switch is inside a window. Printed per set-up: requests, failed requests by
# class, p99 per window (median and worst), and the ratios direct / proxy. Goal: 0 failed through
# the proxy.
#
#   bench/deploy/run.sh                         # ~4 min on 2 cores, after the release build
#   STEPKIT=target/debug/stepkit BENCH_RATE=200 BENCH_DEPLOYS=20 BENCH_ROLLBACKS=5 bench/deploy/run.sh
#   BENCH_KEEP=1 bench/deploy/run.sh            # keep the temp dir: every window's load and deploy result
#
# Needs Docker, /usr/sbin/haproxy (Debian: haproxy), a static busybox (busybox-static), jq, python3.
# Images are FROM scratch + busybox httpd (no registry needed). Everything listens on 127.0.0.1.
set -euo pipefail

here="$(cd "$(dirname "$0")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
rate="${BENCH_RATE:-200}"
deploys="${BENCH_DEPLOYS:-20}"
rollbacks="${BENCH_ROLLBACKS:-5}"
bad_at="${BENCH_BAD_AT:-10}"
haproxy="${HAPROXY:-/usr/sbin/haproxy}"
docker="${DOCKER:-docker}"

for tool in "$docker" "$haproxy" jq python3; do
    command -v "$tool" >/dev/null || { echo "bench/deploy: $tool is not installed (see the header of $0)" >&2; exit 2; }
done
[ -x /bin/busybox ] || { echo "bench/deploy: /bin/busybox (busybox-static) is needed for the images" >&2; exit 2; }

if [ -z "${STEPKIT:-}" ]; then
    (cd "$repo" && cargo build --release --bin stepkit --quiet)
    STEPKIT="${CARGO_TARGET_DIR:-$repo/target}/release/stepkit"
fi

work="$(mktemp -d)"
app="stepkit-bench-deploy-$$"
haproxy_pid=""
# Under set -e a failing command here would replace the script's exit status: every one is guarded.
cleanup() {
    if [ -n "$haproxy_pid" ]; then kill "$haproxy_pid" 2>/dev/null || true; wait "$haproxy_pid" 2>/dev/null || true; fi
    ids="$("$docker" ps -aq --filter "name=$app" || true)"
    if [ -n "$ids" ]; then "$docker" rm -f $ids >/dev/null || true; fi
    "$docker" rmi -f "$app:a" "$app:b" "$app:bad" >/dev/null 2>&1 || true
    if [ -n "${BENCH_KEEP:-}" ]; then echo "bench/deploy: kept $work" >&2; else rm -rf "$work"; fi
}
trap cleanup EXIT

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

# Two good versions (deployed in turn: each deploy is a new container) and one whose HEALTHCHECK
# always fails. The good ones turn healthy when httpd answers, so a gate never passes a version
# that cannot serve yet.
build() {
    local tag="$1" health="$2" ctx="$work/ctx-$1"
    mkdir -p "$ctx/www"
    cp /bin/busybox "$ctx/busybox"
    printf '%s\n' "$tag" > "$ctx/www/version"
    cat > "$ctx/Dockerfile" <<EOF
FROM scratch
COPY busybox /bin/busybox
RUN ["/bin/busybox", "--install", "-s", "/bin"]
COPY www /www
HEALTHCHECK --interval=1s --timeout=1s --retries=1 CMD ["/bin/sh", "-c", "$health"]
CMD ["/bin/httpd", "-f", "-p", "8080", "-h", "/www"]
EOF
    "$docker" build -q -t "$app:$tag" "$ctx" >/dev/null 2>"$ctx.log" || { cat "$ctx.log" >&2; exit 3; }
}
build a "wget -q -O /dev/null http://127.0.0.1:8080/version"
build b "wget -q -O /dev/null http://127.0.0.1:8080/version"
build bad "exit 1"

# One window: load in the background, the command, load stopped; prints the load's result file.
window() {
    local url="$1" out="$2"; shift 2
    "$STEPKIT" --format json --result-file "$out" load "$url" --rate "$rate" --duration 10m --timeout 5s \
        >/dev/null 2>&1 &
    local load=$!
    sleep 0.5
    "$@" >"$out.deploy.json" 2>"$out.deploy.log" || true
    sleep 0.5
    kill -INT "$load"
    wait "$load" || true
}

# deploy N: version a/b in turn, the bad one at $bad_at; then the rollbacks. ROLLBACK_FLAGS: the
# flags a rollback shares (the proxy's; a published port is the kept container's own).
run_setup() {
    local name="$1" url="$2"; shift 2
    local flags=("$@")
    local rollback_flags=(${ROLLBACK_FLAGS:-})
    local common=(--name "$app" --stop-timeout 1s --interval 200ms --deadline 30s --keep "$((rollbacks + 2))")
    "$STEPKIT" --format json deploy "${common[@]}" --image "$app:b" "${flags[@]}" >/dev/null 2>"$work/$name-first.log" \
        || { echo "bench/deploy: the first deploy ($name) failed:" >&2; cat "$work/$name-first.log" >&2; exit 3; }
    for _ in $(seq 50); do curl -sf "$url" >/dev/null && break; sleep 0.1; done
    local i tag
    for i in $(seq "$deploys"); do
        if [ "$i" = "$bad_at" ]; then tag=bad; elif [ $((i % 2)) = 1 ]; then tag=a; else tag=b; fi
        window "$url" "$work/$name-deploy-$i.json" \
            "$STEPKIT" --format json deploy "${common[@]}" --image "$app:$tag" "${flags[@]}"
        printf '  %s deploy %2d (%s): %s\n' "$name" "$i" "$tag" \
            "$(jq -r '.data.result // .error' "$work/$name-deploy-$i.json.deploy.json" 2>/dev/null || tail -1 "$work/$name-deploy-$i.json.deploy.log")" >&2
    done
    for i in $(seq "$rollbacks"); do
        window "$url" "$work/$name-rollback-$i.json" \
            "$STEPKIT" --format json deploy rollback --name "$app" --stop-timeout 1s --interval 200ms --deadline 30s "${rollback_flags[@]}"
        printf '  %s rollback %d: %s\n' "$name" "$i" \
            "$(jq -r '.data.result // .error' "$work/$name-rollback-$i.json.deploy.json" 2>/dev/null || tail -1 "$work/$name-rollback-$i.json.deploy.log")" >&2
    done
    ids="$("$docker" ps -aq --filter "name=$app")"
    [ -n "$ids" ] && "$docker" rm -f $ids >/dev/null
}

echo "bench/deploy: $deploys deploys (#$bad_at fails its gate) + $rollbacks rollbacks at $rate req/s, $(nproc) cores" >&2
echo "              $("$STEPKIT" --version), $("$haproxy" -v | head -1 | cut -d' ' -f1-3), docker $("$docker" version -f '{{.Server.Version}}')" >&2

# proxy: HAProxy on loopback, the versions on the default bridge, reached at their IP:8080.
front="$(free_port)"
cat > "$work/haproxy.cfg" <<EOF
global
  stats socket $work/admin.sock mode 600 level admin
  maxconn 1024
defaults
  mode http
  timeout connect 2s
  timeout client 30s
  timeout server 30s
frontend web
  bind 127.0.0.1:$front
  default_backend app
backend app
  balance roundrobin
EOF
"$haproxy" -db -f "$work/haproxy.cfg" >"$work/haproxy.log" 2>&1 &
haproxy_pid=$!
for _ in $(seq 50); do [ -S "$work/admin.sock" ] && break; sleep 0.1; done
ROLLBACK_FLAGS="--proxy-socket $work/admin.sock --proxy-backend app --upstream-port 8080 --drain-timeout 5s" \
    run_setup proxy "http://127.0.0.1:$front/version" \
    --proxy-socket "$work/admin.sock" --proxy-backend app --upstream-port 8080 --drain-timeout 5s

# direct: the port published on the host, stop-first as a deploy without a proxy does it.
port="$(free_port)"
ROLLBACK_FLAGS="" run_setup direct "http://127.0.0.1:$port/version" --publish "127.0.0.1:$port:8080"

python3 - "$work" <<'EOF'
import glob, json, statistics, sys
work = sys.argv[1]
def summary(name):
    total = failed = 0
    classes, p99s, results = {}, [], []
    for f in sorted(glob.glob(f"{work}/{name}-*-*.json")):
        if f.endswith(".deploy.json"):
            continue
        overall = json.load(open(f))["data"]["overall"]
        total += overall["requests"]
        failed += overall["errors"]
        for cls, e in overall["errors_by_class"].items():
            classes[cls] = classes.get(cls, 0) + e["count"]
        if overall.get("latency_ms"):
            p99s.append(overall["latency_ms"]["p99"])
        try:
            results.append(json.load(open(f + ".deploy.json")).get("data", {}).get("result"))
        except ValueError:
            results.append("error: " + open(f + ".deploy.log").read().strip().splitlines()[-1])
    return total, failed, classes, p99s, results
rows = {}
for name in ("proxy", "direct"):
    total, failed, classes, p99s, results = summary(name)
    rows[name] = (failed, statistics.median(p99s), max(p99s))
    print(f"{name:>6}: {total} requests in {len(p99s)} windows, failed {failed} {classes or ''}")
    print(f"        p99 per deploy window: median {statistics.median(p99s):.1f} ms, worst {max(p99s):.1f} ms")
    print(f"        results: " + ", ".join(f"{r} x{results.count(r)}" for r in sorted(set(map(str, results)))))
pf, pm, pw = rows["proxy"]
df, dm, dw = rows["direct"]
print(f"failed requests: proxy {pf}, direct {df}" + ("  (goal met: 0 through the proxy)" if pf == 0 else "  (GOAL MISSED: failed requests through the proxy)"))
print(f"p99 direct / proxy: median {dm / pm:.2f}x, worst {dw / pw:.2f}x")
sys.exit(0 if pf == 0 else 1)
EOF
