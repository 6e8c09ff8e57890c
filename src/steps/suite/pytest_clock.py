"""stepkit's clock for `stepkit test --test-timeout` under pytest (loaded with `-p stepkit_clock`).

Writes `start <node id>` and `finish <node id>` lines to $STEPKIT_CLOCK_LOG as tests run, so stepkit
knows which test is running and since when.
"""
import os
import signal

_LOG = os.environ.get("STEPKIT_CLOCK_LOG")


def _write(kind, nodeid):
    if _LOG:
        with open(_LOG, "a", encoding="utf-8") as log:
            log.write(kind + " " + nodeid + "\n")


def pytest_runtest_logstart(nodeid, location):
    _write("start", nodeid)


def pytest_runtest_logfinish(nodeid, location):
    _write("finish", nodeid)


def _interrupt(signum, frame):
    raise KeyboardInterrupt("stopped by stepkit: a test ran longer than --test-timeout")


def pytest_configure(config):
    # stepkit stops a batch whose test ran too long with SIGTERM. Read as a KeyboardInterrupt,
    # pytest still writes its JUnit report for the tests that finished, so none of them is lost.
    signal.signal(signal.SIGTERM, _interrupt)
