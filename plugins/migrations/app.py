"""stepkit check plugin (Python): every `up` database migration has a matching `down`.

Understands the two common layouts:
  <dir>/0001_create_users.up.sql  +  <dir>/0001_create_users.down.sql   (golang-migrate, sqlx, dbmate-like)
  <dir>/2024-01-01-000000_users/up.sql  +  .../down.sql                 (diesel-like)

Config: `path` (the migrations directory, absolute or relative to a granted directory; default `migrations`),
`severity` (failure or warning, default failure).
"""

import os

from componentize_py_types import Err
from wit_world import exports
from wit_world.imports import host, types

SEVERITIES = {"failure": types.Severity.FAILURE, "warning": types.Severity.WARNING}


def locate(path: str, readable_dirs: list[str]) -> str | None:
    """The first granted directory holding `path` (absolute paths are taken as given)."""
    if os.path.isabs(path):
        return path if os.path.isdir(path) else None
    for root in readable_dirs:
        candidate = os.path.join(root, path)
        if os.path.isdir(candidate):
            return candidate
    return None


def missing_downs(directory: str) -> tuple[int, list[str]]:
    """How many `up` migrations there are, and the relative paths of those without a `down`."""
    ups = 0
    missing = []
    for current, dirs, files in os.walk(directory):
        dirs.sort()
        present = set(files)
        for name in sorted(files):
            if name.startswith("up."):
                # diesel-like: the directory is the migration, up.sql and down.sql inside it.
                partner = "down." + name[len("up."):]
            elif ".up." in name:
                partner = name.replace(".up.", ".down.", 1)
            else:
                continue
            ups += 1
            if partner not in present:
                missing.append(os.path.relpath(os.path.join(current, name), directory))
    return ups, missing


class Check(exports.Check):
    """componentize-py exports the class named after the WIT interface (`check`)."""

    def run(self, input: types.Input) -> types.Report:
        config = dict(input.config)
        wanted = config.get("path", "migrations")
        severity = SEVERITIES.get(config.get("severity", "failure"))
        if severity is None:
            raise Err(types.CheckError_InvalidConfig("`severity`: expected failure or warning"))
        directory = locate(wanted, input.readable_dirs)
        if directory is None:
            raise Err(types.CheckError_Io(f"{wanted}: no such directory in the granted directories"))

        ups, missing = missing_downs(directory)
        host.log(host.LogLevel.INFO, f"{directory}: {ups} up migrations, {len(missing)} without down")
        metrics = [
            types.Metric("up migrations", float(ups), "count"),
            types.Metric("missing down", float(len(missing)), "count"),
        ]
        if ups == 0:
            return types.Report(types.Verdict.SKIP, f"{wanted}: no up migrations found", [], metrics)

        shown = wanted.rstrip("/")
        findings = [
            types.Finding(f"{name} has no matching down migration", f"{shown}/{name}", None, severity)
            for name in missing
        ]
        if not missing:
            return types.Report(types.Verdict.PASS, f"all {ups} up migrations have a down", [], metrics)
        verdict = types.Verdict.FAIL if severity == types.Severity.FAILURE else types.Verdict.WARN
        summary = f"{len(missing)} of {ups} up migrations have no down"
        return types.Report(verdict, summary, findings, metrics)
