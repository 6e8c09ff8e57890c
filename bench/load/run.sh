#!/usr/bin/env bash
# stepkit load against oha and wrk on the same loopback server (nginx serving one small static file),
# in one run:
#   1. closed model: requests/s at the same connection count, as a ratio to the best peer (goal >= 0.95x);
#   2. open model at a fixed rate: p50 and p99 against oha with --latency-correction, which measures
#      from the intended send time as stepkit does (goal: within 5%), twice: on nginx, whose answers take
#      tens of microseconds, so each tool's own overhead is most of what it measures; and on a server
#      that answers after a fixed delay (delay_server.py, BENCH_DELAY_MS), where the server's time
#      dominates and two correct tools must agree.
# Rounds are interleaved (stepkit, oha, wrk, stepkit, ...) so that a noisy neighbour hits every tool
# alike; requests/s is the best round of each tool, latencies the median round.
#
#   bench/load/run.sh                                   # ~2 min: 3 rounds x 3 tools x 10 s + the rate runs
#   BENCH_CONNECTIONS=50 BENCH_DURATION=10s BENCH_RATE=2000 BENCH_ROUNDS=3 bench/load/run.sh
#
# Needs nginx and wrk (Debian: apt-get install nginx-light wrk) and oha (cargo install oha).
set -euo pipefail

here="$(cd "$(dirname "$0")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
connections="${BENCH_CONNECTIONS:-50}"
duration="${BENCH_DURATION:-10s}"
rate="${BENCH_RATE:-2000}"
rounds="${BENCH_ROUNDS:-3}"
delay_ms="${BENCH_DELAY_MS:-10}"
threads="$(nproc)"

for tool in nginx wrk jq; do
    command -v "$tool" >/dev/null || { echo "bench/load: $tool is not installed (see the header of $0)" >&2; exit 2; }
done
# Without oha the closed-model ratio is against wrk alone and the fixed-rate comparison is skipped: say so.
have_oha=true
command -v oha >/dev/null || { have_oha=false; echo "bench/load: oha is not installed (cargo install oha): wrk only, no fixed-rate comparison" >&2; }
oha_rps() { if $have_oha; then oha --no-tui --output-format json "$@" | jq '.summary.requestsPerSec'; else echo 0; fi; }

target_dir="${CARGO_TARGET_DIR:-$repo/target}"
(cd "$repo" && cargo build --release --bin stepkit --quiet)
stepkit="$target_dir/release/stepkit"

work="$(mktemp -d)"
chmod 755 "$work"
mkdir -p "$work/www" "$work/tmp"
printf 'hello from the stepkit load benchmark\n' > "$work/www/index.html"
chmod -R a+rX "$work"
port="$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')"
sed "s#@DIR@#$work#g; s#@PORT@#$port#g" "$here/nginx.conf.in" > "$work/nginx.conf"
nginx -c "$work/nginx.conf" -p "$work" &
nginx_pid=$!
delay_port="$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')"
python3 "$here/delay_server.py" "$delay_port" "$delay_ms" &
delay_pid=$!
trap 'kill "$nginx_pid" "$delay_pid" 2>/dev/null; wait "$nginx_pid" "$delay_pid" 2>/dev/null; rm -rf "$work"' EXIT
url="http://127.0.0.1:$port/index.html"
for _ in $(seq 50); do curl -sf "$url" >/dev/null && break; sleep 0.1; done
curl -sf "$url" >/dev/null || { echo "bench/load: nginx did not start" >&2; exit 3; }

echo "bench/load: $url, $connections connections, $duration per run, $rounds rounds, $threads cores" >&2
echo "            stepkit $("$stepkit" --version | cut -d' ' -f2), $($have_oha && oha --version), $(wrk -v 2>&1 | head -1 | cut -d' ' -f1-2)" >&2

rps_stepkit=(); rps_oha=(); rps_wrk=()
for round in $(seq "$rounds"); do
    s="$("$stepkit" --format json load "$url" -c "$connections" --duration "$duration" 2>/dev/null | jq '.data.overall.rps')"
    o="$(oha_rps -c "$connections" -z "$duration" "$url")"
    w="$(wrk -t "$threads" -c "$connections" -d "$duration" "$url" | awk '/^Requests\/sec:/ {print $2}')"
    printf '  round %s closed: stepkit %.0f  oha %.0f  wrk %.0f req/s\n' "$round" "$s" "$o" "$w" >&2
    rps_stepkit+=("$s"); rps_oha+=("$o"); rps_wrk+=("$w")
done

# Prints "p50 p99" in ms of stepkit and then of oha at the fixed rate on $1.
fixed_rate() {
    local s o
    s="$("$stepkit" --format json load "$1" -c "$connections" --rate "$rate" --duration "$duration" 2>/dev/null \
        | jq -r '.data.overall.latency_ms | "\(.p50) \(.p99)"')"
    o="$(oha --no-tui --output-format json -c "$connections" -q "$rate" --latency-correction -z "$duration" "$1" \
        | jq -r '.latencyPercentiles | "\(.p50 * 1000) \(.p99 * 1000)"')"
    echo "$s|$o"
}
lat_stepkit=(); lat_oha=(); delay_stepkit=(); delay_oha=()
$have_oha || rounds=0
delay_url="http://127.0.0.1:$delay_port/"
for _ in $(seq 50); do curl -sf "$delay_url" >/dev/null && break; sleep 0.1; done
curl -sf "$delay_url" >/dev/null || { echo "bench/load: delay_server.py did not start" >&2; exit 3; }
for round in $(seq "$rounds"); do
    IFS='|' read -r s o <<< "$(fixed_rate "$url")"
    printf '  round %s at %s/s, nginx: stepkit p50/p99 %s ms  oha %s ms\n' "$round" "$rate" "$s" "$o" >&2
    lat_stepkit+=("$s"); lat_oha+=("$o")
    IFS='|' read -r s o <<< "$(fixed_rate "$delay_url")"
    printf '  round %s at %s/s, %s ms server: stepkit p50/p99 %s ms  oha %s ms\n' "$round" "$rate" "$delay_ms" "$s" "$o" >&2
    delay_stepkit+=("$s"); delay_oha+=("$o")
done

# A reference for nginx's own round trip: wrk with one connection, one request at a time (closed loop).
# At 2000/s over 50 connections a request rarely waits for another, so a tool measuring the server and
# not itself should come close to this.
lone=""
if [ "$rounds" -gt 0 ]; then
    lone="$(wrk -t 1 -c 1 -d "$duration" --latency "$url" | awk '
        function ms(v) { if (v ~ /us$/) return v / 1000; if (v ~ /ms$/) return v + 0; if (v ~ /s$/) return v * 1000; return v }
        /^ +50%/ { p50 = ms($2) } /^ +99%/ { p99 = ms($2) } END { printf "%.3f %.3f", p50, p99 }')"
    printf '  wrk, one connection, closed loop, nginx: p50/p99 %s ms\n' "$lone" >&2
fi

python3 - "$rate" "${rps_stepkit[*]}" "${rps_oha[*]}" "${rps_wrk[*]}" "$(IFS=,; echo "${lat_stepkit[*]}")" "$(IFS=,; echo "${lat_oha[*]}")" \
    "$delay_ms" "$(IFS=,; echo "${delay_stepkit[*]}")" "$(IFS=,; echo "${delay_oha[*]}")" "$lone" <<'EOF'
import statistics, sys
rate = sys.argv[1]
best = lambda s: max(float(x) for x in s.split())
stepkit, oha, wrk = best(sys.argv[2]), best(sys.argv[3]), best(sys.argv[4])
peer = max(oha, wrk)
print(f"closed model, requests/s (best of rounds): stepkit {stepkit:.0f}, oha {oha:.0f}, wrk {wrk:.0f}")
print(f"  stepkit / best peer = {stepkit / peer:.2f}x (goal >= 0.95x)")
def median(rounds, i):
    return statistics.median(float(r.split()[i]) for r in rounds.split(","))
for server, ours, theirs in [("nginx", sys.argv[5], sys.argv[6]), (f"{sys.argv[7]} ms server", sys.argv[8], sys.argv[9])]:
    for i, name in enumerate(["p50", "p99"] if theirs else []):
        s, o = median(ours, i), median(theirs, i)
        print(f"open model at {rate}/s, {server}, {name} (median of rounds): stepkit {s:.3f} ms, oha {o:.3f} ms: {s / o:.2f}x (goal within 5%)")
if sys.argv[10]:
    p50, p99 = sys.argv[10].split()
    print(f"nginx's lone round trip (wrk, one connection): p50 {p50} ms, p99 {p99} ms")
EOF
