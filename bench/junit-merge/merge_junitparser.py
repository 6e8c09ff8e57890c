#!/usr/bin/env python3
"""The peer of `stepkit junit merge` in the junit-merge benchmark: merges JUnit files with
junitparser (PyPI), the way its own `junitparser merge` command does (junitparser/cli.py):
JUnitXml.fromfile each input, `+=` it into one JUnitXml, update the statistics, write it.

junitparser parses with lxml when lxml is importable and with the standard library's
ElementTree otherwise (a plain `pip install junitparser` has no lxml). `--parser etree` hides
lxml so the two can be measured from one environment.

Usage: merge_junitparser.py [--parser auto|etree|lxml] -o OUT.xml INPUT.xml...
"""

import argparse
import sys


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("-o", "--output", required=True)
    ap.add_argument("--parser", choices=["auto", "etree", "lxml"], default="auto")
    ap.add_argument("inputs", nargs="+")
    args = ap.parse_args()

    if args.parser == "etree":
        # Makes junitparser's `from lxml import etree` fail, so it falls back to ElementTree.
        sys.modules["lxml"] = None
    elif args.parser == "lxml":
        import lxml.etree  # noqa: F401  (fail loudly if it is not installed)

    from junitparser import JUnitXml  # after the parser choice: junitparser picks at import

    merged = JUnitXml()
    for path in args.inputs:
        merged += JUnitXml.fromfile(path)
    merged.update_statistics()
    merged.write(args.output)


if __name__ == "__main__":
    main()
