"""stepkit's listing plugin: which of pytest's own command-line arguments are positional.

Loaded with `-p _stepkit_scope` during the listing only. pytest's parser, with every plugin's and
the root conftest's options registered, is asked which arguments are positional (paths and node ids
that select tests): an argument is positional when replacing it with a probe changes exactly that
entry of the positional list and no option. That never mistakes an option's value (`-k tests`) for
a path, whatever options plugins add.

It also records the files pytest skipped while collecting them (a module-level `pytest.skip` or
`importorskip`): they list no node id, yet pytest's own run reports each as a skipped case.
"""

import json
import os

import pytest

_scope = {}
_skipped = []


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
    _scope.update({"args": args, "positional": indices, "parsed": full is not None, "skipped": []})
    _write(out)


def pytest_collectreport(report):
    if _scope and report.skipped:
        longrepr = report.longrepr
        reason = longrepr[2] if isinstance(longrepr, tuple) and len(longrepr) == 3 else str(longrepr)
        _skipped.append({"nodeid": report.nodeid, "reason": reason})


def pytest_sessionfinish(session):
    out = os.environ.get("STEPKIT_PYTEST_SCOPE")
    if out and _scope:
        _scope["skipped"] = _skipped
        _write(out)


def _write(out):
    with open(out, "w", encoding="utf-8") as f:
        json.dump(_scope, f)
