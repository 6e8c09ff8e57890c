#!/usr/bin/env python3
"""Every YAML a user may copy must parse: the ```yaml blocks of README.md and docs/*.md, and
action.yml. A snippet with an unquoted `: ` in a `run:` line is invalid YAML that GitHub rejects
only when the user's workflow runs. Prints each broken block by file and line; exit 1 if any."""

import glob
import re
import sys

import yaml

root = sys.argv[1] if len(sys.argv) > 1 else "."
broken = 0
for path in [f"{root}/README.md", *sorted(glob.glob(f"{root}/docs/*.md"))]:
    text = open(path, encoding="utf-8").read()
    for block in re.finditer(r"^```ya?ml\n(.*?)^```", text, re.S | re.M):
        line = text[: block.start()].count("\n") + 2
        try:
            yaml.safe_load(block.group(1))
        except yaml.YAMLError as e:
            broken += 1
            print(f"{path}:{line}: invalid YAML: {str(e).splitlines()[0]}", file=sys.stderr)
for path in glob.glob(f"{root}/action.yml") + sorted(glob.glob(f"{root}/.github/workflows/*.yml")):
    try:
        yaml.safe_load(open(path, encoding="utf-8"))
    except yaml.YAMLError as e:
        broken += 1
        print(f"{path}: invalid YAML: {str(e).splitlines()[0]}", file=sys.stderr)
if broken:
    sys.exit(1)
print("every YAML snippet in the docs parses")
