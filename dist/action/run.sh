#!/bin/sh
# The action's run step: stepkit with its arguments split by stepkit itself (--args-from-env: nothing
# executed, no python3), a result file fresh for this step, the result as outputs, and `fail-on`.
set -eu
case "$STEPKIT_FAIL_ON" in
    failure|error|never) ;;
    *) printf '::error title=stepkit::%s\n' "fail-on is '$STEPKIT_FAIL_ON'; use failure, error or never"; exit 2 ;;
esac
if [ -n "${STEPKIT_INPUT_RESULT_FILE:-}" ]; then
    result=$STEPKIT_INPUT_RESULT_FILE
else
    result="$(mktemp -d "${RUNNER_TEMP:-/tmp}/stepkit-step.XXXXXX")/result.json"
fi
# Deleted first: a run that writes nothing (a usage error) must not leave an earlier result behind.
rm -f "$result"

# Later steps find this stepkit first (the install step did this for a release; a build from source
# may come from the cache, with no step of its own left to run).
dirname "$STEPKIT_BIN" >> "$GITHUB_PATH"

set +e
STEPKIT_RESULT_FILE=$result "$STEPKIT_BIN" --args-from-env STEPKIT_ARGS
code=$?
set -e

echo "exit-code=$code" >> "$GITHUB_OUTPUT"
if [ -f "$result" ]; then
    delimiter="stepkit_json_$(od -An -N12 -tx1 /dev/urandom | tr -d ' \n')"
    {
        echo "result-file=$result"
        echo "json<<$delimiter"
        cat "$result"
        echo
        echo "$delimiter"
    } >> "$GITHUB_OUTPUT"
fi
case "$STEPKIT_FAIL_ON" in
    failure) exit "$code" ;;
    error) [ "$code" -ge 2 ] && exit "$code"; exit 0 ;;
    never) exit 0 ;;
esac
