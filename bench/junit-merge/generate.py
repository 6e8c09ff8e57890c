#!/usr/bin/env python3
"""Writes a deterministic set of realistic JUnit reports for the junit-merge benchmark.

The shape imitates a sharded pytest/Surefire run: each shard file has a <testsuites> root with
several <testsuite> elements; cases carry classname, name (some parametrized), time, file and
line; a few percent fail (with a multi-line traceback), error, skip, or capture output; some
suites carry <properties>. A few cases are written again in the next shard under the same suite
name (an overlapping shard or a retried test), so a merger that deduplicates by test identity
has work to do.

Prints the total input size and writes manifest.json next to the reports, so run.sh can check
the merged outputs against the numbers the generator knows to be true.

Usage: generate.py OUT_DIR [--files 20] [--cases 200000] [--duplicates 200] [--seed 1]
"""

import argparse
import json
import os
import random
from xml.sax.saxutils import escape, quoteattr

PACKAGES = ["api", "auth", "billing", "cli", "core", "db", "events", "export", "importers",
            "jobs", "mail", "metrics", "notify", "orders", "payments", "search", "storage",
            "sync", "ui", "users", "webhooks"]
NOUNS = ["user", "order", "invoice", "token", "session", "payload", "report", "schema",
         "queue", "cache", "config", "account", "webhook", "export", "price", "tenant"]
VERBS = ["create", "update", "delete", "list", "parse", "render", "validate", "retry",
         "serialize", "reject", "expire", "refresh", "merge", "lookup", "migrate"]
SKIP_REASONS = ["requires docker", "flaky on CI, see #4812", "needs network access",
                "postgres < 14 only", "slow test: set RUN_SLOW=1", "not implemented on win32"]
FAILURE_MESSAGES = [
    "AssertionError: assert 3 == 4",
    "AssertionError: assert <Response [500]> == 200",
    "AssertionError: expected 'active' but got 'pending' & retried",
    "KeyError: 'tenant_id'",
    "assert {'a': 1} == {'a': 2}",
]
ERROR_TYPES = ["RuntimeError", "ConnectionRefusedError", "TimeoutError", "fixture 'db' not found"]


def traceback(rng, path, line, message):
    """A pytest-style multi-line traceback: the bulk of a real failure's bytes."""
    frames = []
    for depth in range(rng.randint(2, 6)):
        fn = f"{rng.choice(VERBS)}_{rng.choice(NOUNS)}"
        frames.append(
            f'  File "/app/src/{rng.choice(PACKAGES)}/{rng.choice(NOUNS)}.py", line {rng.randint(10, 900)}, in {fn}\n'
            f"    result = self._{fn}(payload, retries={depth})\n"
        )
    return (
        f"{path}:{line}: in test body\n"
        "Traceback (most recent call last):\n"
        + "".join(frames)
        + f"E   {message}\n"
        f"E    +  where 3 = len([<Item id=1>, <Item id=2>, <Item id=3>])\n"
    )


def system_out(rng):
    lines = [f"2024-05-01 12:00:{i:02d},{rng.randint(0, 999):03d} INFO {rng.choice(PACKAGES)}: "
             f"{rng.choice(VERBS)} {rng.choice(NOUNS)} id={rng.randint(1, 99999)}"
             for i in range(rng.randint(2, 6))]
    return "\n".join(lines) + "\n"


def make_case(rng, classes, path, index):
    """One test case: identity fields, verdict, timing and optional captured output."""
    cls = rng.choice(classes)
    base = f"test_{rng.choice(VERBS)}_{rng.choice(NOUNS)}_{index}"
    # Roughly a quarter of tests are parametrized, as in a typical pytest suite.
    name = f"{base}[param-{rng.randint(0, 9)}]" if rng.random() < 0.25 else base
    line = rng.randint(5, 2000)
    time = round(rng.expovariate(1 / 0.05), 3)
    roll = rng.random()
    status = "failed" if roll < 0.03 else "errored" if roll < 0.04 else "skipped" if roll < 0.06 else "passed"
    return {"classname": cls, "name": name, "file": path, "line": line, "time": time,
            "status": status, "out": system_out(rng) if rng.random() < 0.05 else None}


def case_xml(rng, case, status):
    head = (f'    <testcase classname={quoteattr(case["classname"])} name={quoteattr(case["name"])} '
            f'time="{case["time"]:.3f}" file={quoteattr(case["file"])} line="{case["line"]}"')
    body = []
    if status == "failed":
        msg = rng.choice(FAILURE_MESSAGES)
        body.append(f'      <failure message={quoteattr(msg)} type="AssertionError">'
                    f'{escape(traceback(rng, case["file"], case["line"], msg))}</failure>\n')
    elif status == "errored":
        ty = rng.choice(ERROR_TYPES)
        msg = f"{ty}: while setting up {case['name']}"
        body.append(f'      <error message={quoteattr(msg)} type={quoteattr(ty)}>'
                    f'{escape(traceback(rng, case["file"], case["line"], msg))}</error>\n')
    elif status == "skipped":
        body.append(f'      <skipped message={quoteattr(rng.choice(SKIP_REASONS))} type="pytest.skip"/>\n')
    if case["out"]:
        body.append(f"      <system-out>{escape(case['out'])}</system-out>\n")
    if not body:
        return head + "/>\n"
    return head + ">\n" + "".join(body) + "    </testcase>\n"


def suite_xml(rng, name, cases_xml, counts, shard):
    props = ""
    # About a third of suites record their environment, like pytest's record_testsuite_property.
    if rng.random() < 0.3:
        props = ("    <properties>\n"
                 f'      <property name="python" value="3.11.{rng.randint(0, 9)}"/>\n'
                 f'      <property name="shard" value="{shard}"/>\n'
                 f'      <property name="ci.job" value="test ({shard})"/>\n'
                 "    </properties>\n")
    attrs = (f'name={quoteattr(name)} tests="{counts["tests"]}" failures="{counts["failed"]}" '
             f'errors="{counts["errored"]}" skipped="{counts["skipped"]}" time="{counts["time"]:.3f}" '
             f'timestamp="2024-05-01T12:{shard % 60:02d}:00" hostname="runner-{shard}"')
    return f"  <testsuite {attrs}>\n{props}{''.join(cases_xml)}  </testsuite>\n"


def tally(statuses_times):
    c = {"tests": 0, "failed": 0, "errored": 0, "skipped": 0, "time": 0.0}
    for status, time in statuses_times:
        c["tests"] += 1
        c["time"] += time
        if status != "passed":
            c[status] += 1
    return c


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("out_dir")
    ap.add_argument("--files", type=int, default=20)
    ap.add_argument("--cases", type=int, default=200_000, help="total <testcase> elements written, duplicates included")
    ap.add_argument("--duplicates", type=int, default=200, help="cases written again in the next shard")
    ap.add_argument("--seed", type=int, default=1)
    args = ap.parse_args()
    rng = random.Random(args.seed)
    os.makedirs(args.out_dir, exist_ok=True)

    # Shards are roughly, not exactly, balanced (as with timing-based splitting).
    weights = [rng.uniform(0.7, 1.3) for _ in range(args.files)]
    dup_per_boundary = [args.duplicates // max(1, args.files - 1)] * max(0, args.files - 1)
    for i in range(args.duplicates - sum(dup_per_boundary)):
        dup_per_boundary[i % len(dup_per_boundary)] += 1
    fresh_total = args.cases - args.duplicates
    fresh = [int(fresh_total * w / sum(weights)) for w in weights]
    fresh[-1] += fresh_total - sum(fresh)

    total_bytes = 0
    counter = 0
    previous_suites = []  # (suite name, cases) of the previous shard, to repeat a few from
    files = []
    for shard in range(args.files):
        suites = []
        remaining = fresh[shard]
        while remaining > 0:
            n = min(remaining, rng.randint(20, 400))
            name = f"tests.{rng.choice(PACKAGES)}.test_{rng.choice(NOUNS)}_{shard}_{len(suites)}"
            path = name.replace(".", "/") + ".py"
            # A test module holds a few test classes.
            classes = [f"{name}.Test{rng.choice(NOUNS).capitalize()}{rng.choice(VERBS).capitalize()}"
                       for _ in range(rng.randint(1, 4))]
            cases = [make_case(rng, classes, path, counter + k) for k in range(n)]
            counter += n
            suites.append((name, cases))
            remaining -= n

        blocks = []
        doc_counts = {"tests": 0, "failed": 0, "errored": 0, "skipped": 0, "time": 0.0}

        def add_block(name, cases, statuses):
            counts = tally(zip(statuses, (c["time"] for c in cases)))
            for key in doc_counts:
                doc_counts[key] += counts[key]
            xml = [case_xml(rng, c, s) for c, s in zip(cases, statuses)]
            blocks.append(suite_xml(rng, name, xml, counts, shard))

        for name, cases in suites:
            add_block(name, cases, [c["status"] for c in cases])

        # The overlap: cases of the previous shard seen again under the same suite name. Most
        # repeat their verdict (PHPUnit re-reports skips, overlapping shards); a failure seen
        # passing here is a flaky test.
        if shard > 0 and previous_suites:
            everything = [(name, c) for name, cases in previous_suites for c in cases]
            by_suite = {}
            for name, case in rng.sample(everything, min(len(everything), dup_per_boundary[shard - 1])):
                by_suite.setdefault(name, []).append(case)
            for name, cases in by_suite.items():
                add_block(name, cases, ["passed" if c["status"] == "failed" and rng.random() < 0.5 else c["status"]
                                        for c in cases])

        text = ('<?xml version="1.0" encoding="UTF-8"?>\n'
                f'<testsuites name="pytest" tests="{doc_counts["tests"]}" failures="{doc_counts["failed"]}" '
                f'errors="{doc_counts["errored"]}" skipped="{doc_counts["skipped"]}" time="{doc_counts["time"]:.3f}">\n'
                + "".join(blocks) + "</testsuites>\n")
        data = text.encode("utf-8")
        file_name = os.path.join(args.out_dir, f"shard-{shard:03d}.xml")
        with open(file_name, "wb") as f:
            f.write(data)
        total_bytes += len(data)
        files.append(file_name)
        previous_suites = suites

    # Counted from the files, not from the plan, so the manifest cannot drift from what was written.
    written = sum(count_testcases(f) for f in files)
    manifest = {"files": len(files), "testcase_elements": written, "unique_cases": counter,
                "duplicates": written - counter, "input_bytes": total_bytes, "seed": args.seed}
    with open(os.path.join(args.out_dir, "manifest.json"), "w") as f:
        json.dump(manifest, f, indent=2)
    print(f"{len(files)} files, {written} test cases ({counter} unique), {total_bytes} bytes "
          f"({total_bytes / 2**20:.1f} MiB) in {args.out_dir}")
    print(f"input bytes: {total_bytes}")


def count_testcases(path):
    with open(path, "rb") as f:
        return f.read().count(b"<testcase ")


if __name__ == "__main__":
    main()
