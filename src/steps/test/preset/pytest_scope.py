"""stepkit's listing plugin: which of pytest's own command-line arguments are positional.

Loaded with `-p _stepkit_scope` during the listing only. pytest's parser, with every plugin's and
the root conftest's options registered, is asked which arguments are positional (paths and node ids
that select tests): an argument is positional when replacing it with a probe changes exactly that
entry of the positional list and no option. That never mistakes an option's value (`-k tests`) for
a path, whatever options plugins add.
"""

import json
import os

import pytest


@pytest.hookimpl(trylast=True)
def pytest_configure(config):
    out = os.environ.get("STEPKIT_PYTEST_SCOPE")
    if not out:
        return
    args = [os.fspath(a) for a in config.invocation_params.args]
    parser = config._parser

    def parse(argv):
        try:
            ns = vars(parser.parse_known_args(argv))
        except BaseException:  # a usage error (argparse exits): not a clean parse
            return None
        positional = list(ns.pop("file_or_dir", None) or [])
        return positional, ns

    full = parse(args)
    indices = []
    if full is not None:
        positional, options = full
        for i, arg in enumerate(args):
            if arg not in positional:
                continue
            probe = "stepkit-probe-%d" % i
            probed = parse(args[:i] + [probe] + args[i + 1:])
            if probed is None or probed[1] != options or probe not in probed[0]:
                continue
            expected = list(probed[0])
            expected[expected.index(probe)] = arg
            if expected == positional:
                indices.append(i)
    with open(out, "w", encoding="utf-8") as f:
        json.dump({"args": args, "positional": indices, "parsed": full is not None}, f)
