#!/usr/bin/env python3
"""Sends signed (or forged) GitHub push deliveries to a webhook receiver and measures each answer.

One keep-alive connection per worker thread; the time is from the first byte sent to the whole
answer read. Prints one JSON line: counts by status and latency percentiles in milliseconds.
"""
import argparse
import hashlib
import hmac
import http.client
import json
import os
import statistics
import threading
import time
import urllib.parse


def payload(n, run):
    sha = hashlib.sha1(f"{run}-{n}".encode()).hexdigest()
    return json.dumps({
        "ref": "refs/heads/bench",
        "before": "0" * 40,
        "after": sha,
        "deleted": False,
        "repository": {"full_name": "octo/app"},
        "head_commit": {"id": sha, "message": f"commit {n}"},
        "commits": [{"id": sha, "added": [], "modified": ["src/app.py"], "removed": []}],
    }).encode()


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--url", required=True)
    parser.add_argument("--secret", required=True)
    parser.add_argument("--mode", choices=["valid", "forged"], required=True)
    parser.add_argument("--count", type=int, required=True)
    parser.add_argument("--concurrency", type=int, default=50)
    args = parser.parse_args()
    url = urllib.parse.urlsplit(args.url)
    run = os.urandom(8).hex()
    bodies = [payload(n, run) for n in range(args.count)]
    latencies = [0.0] * args.count
    statuses = [0] * args.count
    next_index = [0]
    lock = threading.Lock()

    def worker():
        conn = http.client.HTTPConnection(url.hostname, url.port, timeout=30)
        while True:
            with lock:
                n = next_index[0]
                next_index[0] += 1
            if n >= args.count:
                break
            body = bodies[n]
            key = args.secret if args.mode == "valid" else "forged-" + args.secret
            signature = "sha256=" + hmac.new(key.encode(), body, hashlib.sha256).hexdigest()
            headers = {
                "Content-Type": "application/json",
                "X-GitHub-Event": "push",
                "X-GitHub-Delivery": f"{run}-{n}",
                "X-Hub-Signature-256": signature,
            }
            start = time.perf_counter()
            try:
                conn.request("POST", url.path, body=body, headers=headers)
                response = conn.getresponse()
                response.read()
                statuses[n] = response.status
                if response.getheader("Connection", "").lower() == "close":
                    conn.close()
            except (OSError, http.client.HTTPException):
                statuses[n] = -1
                conn.close()
                conn = http.client.HTTPConnection(url.hostname, url.port, timeout=30)
            latencies[n] = (time.perf_counter() - start) * 1000.0
        conn.close()

    started = time.perf_counter()
    threads = [threading.Thread(target=worker) for _ in range(args.concurrency)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    wall = time.perf_counter() - started
    ordered = sorted(latencies)
    counts = {}
    for s in statuses:
        counts[str(s)] = counts.get(str(s), 0) + 1
    print(json.dumps({
        "mode": args.mode,
        "count": args.count,
        "concurrency": args.concurrency,
        "statuses": counts,
        "wall_s": round(wall, 3),
        "p50_ms": round(statistics.median(ordered), 3),
        "p99_ms": round(ordered[int(len(ordered) * 0.99) - 1], 3),
        "max_ms": round(ordered[-1], 3),
    }))


if __name__ == "__main__":
    main()
