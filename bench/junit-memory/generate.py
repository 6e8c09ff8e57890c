#!/usr/bin/env python3
"""Writes one large JUnit report made of many small test cases with many small attributes.

This is the shape that costs a reader the most per input byte: googletest and PHPUnit write a
handful of short attributes on every case (status, result, timestamp, assertions, class, line),
so the bytes per case are few and any per-case or per-attribute allocation dominates.

Usage: generate.py OUT_FILE [--megabytes 100] [--seed 1]
Prints the number of cases and the size written.
"""

import argparse
import random

CLASSES = [f"pkg{p}.Module{m}Test" for p in range(20) for m in range(10)]
STATUS = ["run", "run", "run", "run", "notrun"]
RESULTS = ["completed", "completed", "completed", "skipped"]


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("out")
    parser.add_argument("--megabytes", type=int, default=100)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    rng = random.Random(args.seed)
    limit = args.megabytes * 1024 * 1024
    written = 0
    cases = 0
    suite = 0
    with open(args.out, "w", encoding="utf-8") as out:
        head = '<?xml version="1.0" encoding="UTF-8"?>\n<testsuites name="AllTests">\n'
        out.write(head)
        written += len(head)
        while written < limit:
            suite += 1
            cls = CLASSES[suite % len(CLASSES)]
            line = f'<testsuite name="{cls}.S{suite}" tests="100" timestamp="2024-05-0{suite % 9 + 1}T10:00:00">\n'
            out.write(line)
            written += len(line)
            for i in range(100):
                cases += 1
                t = rng.randint(0, 999) / 1000
                case = (
                    f'<testcase name="t{cases}" classname="{cls}" file="tests/{cls}.cc" line="{i * 7 + 3}"'
                    f' time="{t:.3f}" status="{rng.choice(STATUS)}" result="{rng.choice(RESULTS)}"'
                    f' assertions="{rng.randint(0, 9)}" a="{rng.randint(0, 99)}" b="x{rng.randint(0, 9)}"/>\n'
                )
                out.write(case)
                written += len(case)
            out.write("</testsuite>\n")
            written += len("</testsuite>\n")
        out.write("</testsuites>\n")
        written += len("</testsuites>\n")
    print(f"{cases} cases, {written} bytes")


if __name__ == "__main__":
    main()
