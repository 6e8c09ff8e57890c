"""{{name}}: a stepkit check plugin in Python. It fails when a change touches more files than `max-files`."""

from componentize_py_types import Err
from wit_world import exports
from wit_world.imports import host, types


def config_int(config: dict[str, str], key: str, default: int) -> int:
    """An integer config value; a malformed one is an invalid-config error naming the key."""
    raw = config.get(key)
    if raw is None:
        return default
    try:
        return int(raw)
    except ValueError:
        raise Err(types.CheckError_InvalidConfig(f"`{key}`: {raw!r} is not a whole number"))


class Check(exports.Check):
    """componentize-py exports the class named after the WIT interface (`check`)."""

    def run(self, input: types.Input) -> types.Report:
        # Later pairs win, as on a command line (`--set k=v` or the [[check]] config table).
        config = dict(input.config)
        max_files = config_int(config, "max-files", 50)
        changed = input.changed_files
        host.log(host.LogLevel.INFO, f"{len(changed)} changed files")

        metrics = [types.Metric("changed files", float(len(changed)), "count")]
        if not changed:
            return types.Report(types.Verdict.SKIP, "no changed files known", [], metrics)
        summary = f"{len(changed)} files changed (at most {max_files})"
        if len(changed) > max_files:
            finding = types.Finding("split this change into smaller ones", None, None, types.Severity.FAILURE)
            return types.Report(types.Verdict.FAIL, summary, [finding], metrics)
        return types.Report(types.Verdict.PASS, summary, [], metrics)
