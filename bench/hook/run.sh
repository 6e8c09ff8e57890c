#!/usr/bin/env bash
# stepkit hook serve vs adnanh/webhook (the receiver teams use today), same client, same machine, same run:
# 1,000 valid signed GitHub push deliveries in a burst (50 connections), then 10,000 forged ones
# (1 connection, so the time is the server's, not a queue's). Prints each side's percentiles and the ratios.
# Needs: python3, go (Debian golang-go; the client, bench/hook/load.go), git, and adnanh/webhook (Debian
# package `webhook`, or WEBHOOK_BIN).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
stepkit="${STEPKIT_BIN:-$root/target/release/stepkit}"
webhook="${WEBHOOK_BIN:-$(command -v webhook || true)}"
[ -x "$stepkit" ] || (cd "$root" && cargo build --release --quiet)
[ -n "$webhook" ] && [ -x "$webhook" ] || { echo "adnanh/webhook not found: apt-get install webhook (Debian packages it), or set WEBHOOK_BIN" >&2; exit 3; }
secret="bench-secret-$(head -c 16 /dev/urandom | od -An -tx1 | tr -d ' \n')"
work="$(mktemp -d)"
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; rm -rf "$work"; }
trap cleanup EXIT

# A repository and clone, so accepted deliveries queue real jobs (which run after the answers).
git init -q -b bench "$work/upstream"
git -C "$work/upstream" -c user.name=b -c user.email=b@b commit -q --allow-empty -m start
git clone -q "$work/upstream" "$work/clone"
cat > "$work/stepkit.toml" <<TOML
[hook]
clone = "$work/clone"
[[hook.rule]]
branch = "bench"
target = "bench"
steps = [["junit", "summary", "nothing-*.xml"]]
TOML
STEPKIT_HOOK_SECRET="$secret" "$stepkit" hook serve --listen 127.0.0.1:0 --config "$work/stepkit.toml" \
  --state-dir "$work/state" 2> "$work/stepkit.log" &
pids+=($!)
for _ in $(seq 100); do grep -q "listening on" "$work/stepkit.log" && break; sleep 0.1; done
stepkit_url="$(grep -o 'http://[0-9.:]*/hook' "$work/stepkit.log" | head -1)"

# A port the kernel just handed out (a random guess collided with other listeners on a busy machine).
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
cat > "$work/hooks.json" <<JSON
[{"id": "deploy", "execute-command": "/bin/true", "response-message": "queued",
  "trigger-rule": {"match": {"type": "payload-hmac-sha256", "secret": "$secret",
                   "parameter": {"source": "header", "name": "X-Hub-Signature-256"}}}}]
JSON
"$webhook" -hooks "$work/hooks.json" -ip 127.0.0.1 -port "$port" -nopanic > "$work/webhook.log" 2>&1 &
pids+=($!)
up=""
for _ in $(seq 100); do (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && { up=1; break; }; sleep 0.1; done
[ -n "$up" ] || { echo "webhook did not listen on 127.0.0.1:$port:" >&2; cat "$work/webhook.log" >&2; exit 3; }
[ -n "$stepkit_url" ] || { echo "stepkit hook serve did not listen:" >&2; cat "$work/stepkit.log" >&2; exit 3; }
webhook_url="http://127.0.0.1:$port/hooks/deploy"

# The client is built once, so neither side pays for a compile inside its measurement.
(cd "$here" && go build -o "$work/load" load.go)
measure() { "$work/load" --secret "$secret" --url "$1" --mode "$2" --count "$3" --concurrency "$4"; }
sv=$(measure "$stepkit_url" valid 1000 50);  echo "stepkit  valid : $sv"
wv=$(measure "$webhook_url" valid 1000 50);  echo "webhook  valid : $wv"
sf=$(measure "$stepkit_url" forged 10000 1); echo "stepkit  forged: $sf"
wf=$(measure "$webhook_url" forged 10000 1); echo "webhook  forged: $wf"

# None lost: every valid delivery is in the store as accepted.
accepted=$("$stepkit" hook list --limit 20000 --format json --config "$work/stepkit.toml" --state-dir "$work/state" |
  python3 -c 'import json,sys; d=json.load(sys.stdin)["data"]["deliveries"]; print(sum(1 for x in d if x["status"] == 202))')
echo "stepkit deliveries stored as accepted: $accepted of 1000"
python3 - "$sv" "$wv" "$sf" "$wf" <<'PY'
import json, sys
sv, wv, sf, wf = (json.loads(a) for a in sys.argv[1:])
for name, run, wanted in (("stepkit valid", sv, "202"), ("webhook valid", wv, "200"), ("stepkit forged", sf, "401"), ("webhook forged", wf, "500")):
    if set(run["statuses"]) != {wanted}:
        sys.exit(f"{name}: answers {run['statuses']}, expected only {wanted}: this run measures nothing")
print(f"valid burst : stepkit p50 {sv['p50_ms']} ms, p99 {sv['p99_ms']} ms, max {sv['max_ms']} ms; webhook p50 {wv['p50_ms']} ms, p99 {wv['p99_ms']} ms, max {wv['max_ms']} ms; ratio webhook/stepkit p50 {wv['p50_ms']/sv['p50_ms']:.2f}x, p99 {wv['p99_ms']/sv['p99_ms']:.2f}x")
print(f"forged      : stepkit p50 {sf['p50_ms']} ms; webhook p50 {wf['p50_ms']} ms; ratio webhook/stepkit p50 {wf['p50_ms']/sf['p50_ms']:.2f}x")
PY
