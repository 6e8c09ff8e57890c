#!/usr/bin/env python3
"""Writes the inputs of a history of VERSIONS versions into OUT/v<i>/: a JUnit report of TESTS tests
(a few flaky, one slow), a deploy result, and `stepkit load` results (schema version 1, five named
requests) for two targets, postgres and mysql: four runs per version once recorded. Deterministic."""
import json
import os
import random
import sys

out, versions, tests = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
rng = random.Random(1)
REQUESTS = ["list items", "get item", "create order", "search", "checkout"]


def latency(p95):
    return {"min": 1.0, "mean": p95 / 2, "p50": p95 / 2, "p90": p95 * 0.9, "p95": p95, "p99": p95 * 1.5, "max": p95 * 2}


def request(name, rps, p95):
    return {"name": name, "method": "GET", "url": "http://127.0.0.1/x", "requests": 10000, "responses": 10000,
            "errors": 0, "error_rate_pct": 0.0, "rps": rps, "latency_ms": latency(p95),
            "statuses": {"200": 10000}, "errors_by_class": {}}


def load(target, base):
    rps = base * rng.uniform(0.95, 1.05)
    return {"command": "load", "verdict": "passed", "exit_code": 0, "headline": f"{rps:.0f} requests/s",
            "warnings": [], "annotations": [], "outputs": {},
            "data": {"schema_version": 1, "target": target, "model": "closed", "connections": 8, "rate": None,
                     "warmup_s": 0.0, "elapsed_s": 10.0, "connections_opened": 8,
                     "overall": request("overall", rps, rng.uniform(9, 11)),
                     "requests": [request(n, rps / len(REQUESTS), rng.uniform(5, 30)) for n in REQUESTS],
                     "thresholds": {}, "baseline": None, "problems": []}}


for v in range(versions):
    d = os.path.join(out, f"v{v}")
    os.makedirs(d, exist_ok=True)
    cases = []
    for t in range(tests):
        body = ""
        if t % 17 == 0 and rng.random() < 0.2:
            body = '<failure message="boom">trace</failure>'
        elif t % 11 == 0 and rng.random() < 0.3:
            body = '<flakyFailure message="once"/>'
        time = 2.5 if t == 0 else rng.uniform(0.001, 0.2)
        cases.append(f'<testcase classname="app.Suite{t % 5}" name="test_{t}" time="{time:.3f}">{body}</testcase>')
    with open(os.path.join(d, "junit.xml"), "w") as f:
        f.write('<?xml version="1.0"?><testsuites><testsuite name="unit">' + "".join(cases) + "</testsuite></testsuites>")
    deploy = {"command": "deploy", "verdict": "passed", "exit_code": 0, "headline": "web runs app", "warnings": [],
              "annotations": [], "outputs": {},
              "data": {"app": "web", "image": "app", "result": "deployed", "duration_ms": rng.randint(3500, 4500),
                       "downtime_ms": None, "gate": {"elapsed_ms": 800}}}
    for name, doc in [("deploy.json", deploy), ("load-pg.json", load("postgres", 1000)), ("load-my.json", load("mysql", 900))]:
        with open(os.path.join(d, name), "w") as f:
            json.dump(doc, f)
