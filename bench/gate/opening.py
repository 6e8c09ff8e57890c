#!/usr/bin/env python3
"""How long after a service turns healthy does the gate open?

Each trial starts a loopback HTTP service that answers 503 until a random moment (0.3 to 2.7
intervals after the start) and 200 from then on (scenario "503"; in scenario "slow" each answer
before that moment takes 2 intervals, like an app that accepts connections while it boots), starts the gate command, and records the wall
time from the moment the service turned healthy to the moment the gate process exited 0: the
"opening latency" a pipeline waits for. The same trials (same random offsets) run for stepkit and
for the peer, the shell loop pipelines write by hand:
    until curl -fsS --max-time TIMEOUT -o /dev/null URL; do sleep INTERVAL; done
with the same per-attempt timeout (2 intervals) for both.
Prints one line per trial and a summary per tool; exits 1 only when a command fails.
"""
import http.server
import random
import statistics
import subprocess
import sys
import threading
import time


class Service(http.server.BaseHTTPRequestHandler):
    healthy_at = 0.0

    def do_GET(self):
        ok = time.time() >= self.server.healthy_at
        if not ok and self.server.slow:
            time.sleep(self.server.slow)
        body = b"ok\n" if ok else b"starting\n"
        try:
            self.send_response(200 if ok else 503)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client gave up on a slow answer (its timeout): that is the scenario

    def log_message(self, *args):
        pass


def trial(command, offset, slow):
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Service)
    server.daemon_threads = True
    server.slow = slow
    port = server.server_address[1]
    threading.Thread(target=server.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{port}/health"
    start = time.time()
    server.healthy_at = start + offset
    done = subprocess.run([part.replace("{url}", url) for part in command], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=120)
    end = time.time()
    server.shutdown()
    if done.returncode != 0:
        sys.exit(f"bench/gate: {command[0]} exited {done.returncode} for {url}")
    return end - server.healthy_at


def scenario(name, tools, offsets, slow, interval):
    results = {tool: [] for tool in tools}
    for i, offset in enumerate(offsets):
        # Alternate which tool goes first, so a change of load mid-run hits both alike.
        order = list(tools) if i % 2 == 0 else list(reversed(tools))
        for tool in order:
            results[tool].append(trial(tools[tool], offset, slow))
        print(f"{name} trial {i + 1:2}: healthy after {offset * 1000:6.0f} ms; opened " + ", ".join(f"{t} +{results[t][-1] * 1000:.0f} ms" for t in tools), flush=True)
    bound = interval + 0.020
    for tool, values in results.items():
        over = sum(v > bound for v in values)
        print(f"{name}: {tool:10} opening latency median {statistics.median(values) * 1000:.0f} ms, max {max(values) * 1000:.0f} ms; over one interval + 20 ms ({bound * 1000:.0f} ms): {over} of {len(values)}")
    ratio = statistics.median(results["stepkit"]) / statistics.median(results["curl-loop"])
    print(f"{name}: ratio of median opening latency, stepkit / curl loop: {ratio:.2f}x")
    print()
    return max(results["stepkit"])


def main():
    stepkit, interval_ms, trials = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    interval = interval_ms / 1000
    timeout = 2 * interval
    rng = random.Random(42)
    offsets = [rng.uniform(0.3, 2.7) * interval for _ in range(trials)]
    tools = {
        "stepkit": [stepkit, "--quiet", "gate", "--http", "{url}", "--interval", f"{interval_ms}ms", "--timeout", f"{int(timeout * 1000)}ms", "--deadline", "60s"],
        "curl-loop": ["sh", "-c", f"until curl -fsS --max-time {timeout} -o /dev/null '{{url}}' 2>/dev/null; do sleep {interval}; done"],
    }
    worst = max(scenario("503", tools, offsets, 0, interval), scenario("slow", tools, offsets, timeout, interval))
    bound = interval + 0.020
    verdict = "met" if worst <= bound else "MISSED"
    print(f"target: stepkit opens at most one interval + 20 ms after health in every trial: {verdict} (max {worst * 1000:.0f} ms, bound {bound * 1000:.0f} ms)")


if __name__ == "__main__":
    main()
