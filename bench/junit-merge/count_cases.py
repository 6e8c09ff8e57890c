#!/usr/bin/env python3
"""Counts the test cases in a merged JUnit file, for run.sh's correctness check.

Prints two numbers: the <testcase> elements, and the distinct test identities among them. An
identity is (suite path from the root suite down, classname, name, file), the identity stepkit
merges by. A merger that deduplicates writes as many elements as identities; junitparser appends
every case it reads, so its element count includes the repeats, while its identity count must
still equal stepkit's.

Usage: count_cases.py MERGED.xml  ->  "<elements> <identities>"
"""

import sys
import xml.etree.ElementTree as ET


def main():
    elements = 0
    identities = set()
    suites = []  # names of the open <testsuite> elements, root first
    # Streaming, so counting a large output does not itself need gigabytes.
    for event, elem in ET.iterparse(sys.argv[1], events=("start", "end")):
        if elem.tag == "testsuite":
            if event == "start":
                suites.append(elem.get("name", ""))
            else:
                suites.pop()
                elem.clear()
        elif elem.tag == "testcase" and event == "start":
            elements += 1
            identities.add((tuple(suites), elem.get("classname"), elem.get("name"), elem.get("file")))
    print(elements, len(identities))


if __name__ == "__main__":
    main()
