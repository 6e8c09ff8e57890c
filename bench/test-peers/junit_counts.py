#!/usr/bin/env python3
"""Counts a JUnit report the way the benchmark compares runners.

Prints one line: `distinct passed failed errors skipped repeats case_seconds longest_case`.
With a BASELINE report (the serial run's) it also compares test by test: the tests that ran
(passed, failed, errors) must be the same tests with the same statuses (exit 4 otherwise); tests
that only one side reports as skipped (pytest reports a module skipped at import as one case, which
a runner that lists tests first never sees) are shown but exit 3. Differences go to stderr.
A test's identity is (classname or class, name). ParaTest nests suites, pytest writes one suite,
stepkit one suite per file: only the <testcase> elements count, wherever they sit. `repeats`
counts cases seen again under the same identity (a runner that ran a test twice); the status of
the last one wins, as in a merge. The case times add up to the serial work the runners share out.
"""
import sys
import xml.etree.ElementTree as ET


def statuses(path: str) -> tuple[dict[tuple[str, str], str], int, float, float]:
    try:
        root = ET.parse(path).getroot()
    except (OSError, ET.ParseError) as err:
        sys.exit(f"cannot read JUnit report {path}: {err}")
    status: dict[tuple[str, str], str] = {}
    repeats = 0
    seconds = 0.0
    longest = 0.0
    for case in root.iter("testcase"):
        key = (case.get("classname") or case.get("class") or "", case.get("name") or "")
        if key in status:
            repeats += 1
        kinds = {child.tag for child in case}
        if "failure" in kinds:
            status[key] = "failed"
        elif "error" in kinds:
            status[key] = "error"
        elif "skipped" in kinds:
            status[key] = "skipped"
        else:
            status[key] = "passed"
        t = float(case.get("time") or 0.0)
        seconds += t
        longest = max(longest, t)
    return status, repeats, seconds, longest


def compare(status: dict, baseline: dict) -> int:
    ran = {k: v for k, v in status.items() if v != "skipped"}
    base_ran = {k: v for k, v in baseline.items() if v != "skipped"}
    differ = sorted(k for k in ran.keys() | base_ran.keys() if ran.get(k) != base_ran.get(k))
    skips = sorted(k for k in status.keys() ^ baseline.keys() if k not in differ)
    for title, keys in (("ran differently", differ), ("skipped on one side only", skips)):
        for k in keys[:10]:
            print(f"  {title}: {k[0]}::{k[1]}: {status.get(k, 'absent')} here, {baseline.get(k, 'absent')} in the baseline", file=sys.stderr)
        if len(keys) > 10:
            print(f"  ... and {len(keys) - 10} more {title}", file=sys.stderr)
    return 4 if differ else 3 if skips else 0


def main(argv: list[str]) -> int:
    status, repeats, seconds, longest = statuses(argv[0])
    counts = [list(status.values()).count(s) for s in ("passed", "failed", "error", "skipped")]
    print(len(status), *counts, repeats, f"{seconds:.3f}", f"{longest:.3f}")
    return compare(status, statuses(argv[1])[0]) if len(argv) == 2 else 0


if __name__ == "__main__":
    if len(sys.argv) not in (2, 3):
        sys.exit("usage: junit_counts.py REPORT.xml [BASELINE.xml]")
    sys.exit(main(sys.argv[1:]))
