// Jenkins shared-library step: `stepkit(args: ['junit', 'summary', 'reports/*.xml'])`.
// Runs stepkit with its arguments passed through an environment variable and split by stepkit itself
// (--args-from-env: no shell sees them, so a branch name or PR title in them cannot run commands),
// writes a fresh JSON result file per call, and returns it parsed (readJSON, from the Pipeline Utility
// Steps plugin) with the exit code. Exit codes become build results: 1 from test/junit/check is
// UNSTABLE, 124 is FAILURE naming the timeout, 130/143 is ABORTED, anything else non-zero is FAILURE.
def call(Map options = [:]) {
    if (!options.args) {
        error("stepkit: give args, a list (stepkit(args: ['junit', 'summary', 'reports/*.xml'])) or a string")
    }
    List<String> words = (options.args instanceof List) ? options.args.collect { it.toString() } : null
    String args = words != null ? words.collect { quote(it) }.join(' ') : options.args.toString()
    String command = words != null ? subcommand(words) : subcommand(args.tokenize())
    String binary = options.binary ?: env.STEPKIT_BIN ?: 'stepkit'
    String dir = env.WORKSPACE_TMP ?: "${env.WORKSPACE}@tmp"
    // Fresh per call: a call that writes nothing must not hand back an earlier call's result.
    String resultFile = options.resultFile ?: "${dir}/stepkit-${UUID.randomUUID()}.json"
    int code
    withEnv(["STEPKIT_ARGS=${args}", "STEPKIT_BIN=${binary}", "STEPKIT_RESULT_FILE=${resultFile}"]) {
        code = sh(
            label: "stepkit ${command}",
            returnStatus: true,
            script: 'mkdir -p "$(dirname "$STEPKIT_RESULT_FILE")" && rm -f "$STEPKIT_RESULT_FILE" && "$STEPKIT_BIN" --color never --args-from-env STEPKIT_ARGS'
        )
    }
    def result = fileExists(resultFile) ? readJSON(file: resultFile) : [:]
    result.exit_code = code
    result.result_file = resultFile
    String why = result.headline ?: result.error ?: 'see the log above'
    if (code == 0 || code == 4 || options.returnOnError) {
        return result
    }
    if (code == 1 && command in ['test', 'junit', 'check']) {
        unstable("stepkit ${command}: ${why}")
        return result
    }
    if (code == 124) {
        error("stepkit ${command} timed out (exit 124: its --timeout or deadline passed): ${why}")
    }
    if (code == 130 || code == 143) {
        currentBuild.result = 'ABORTED'
        error("stepkit ${command} was interrupted (exit ${code}): the build was aborted")
    }
    error("stepkit ${command} failed with exit code ${code}: ${why}")
}

// One word for stepkit's shell-like split: single quotes keep everything literal.
static String quote(String word) {
    return "'" + word.replace("'", "'\\''") + "'"
}

// The subcommand: the first word that is not a global option or a global option's value.
static String subcommand(List<String> words) {
    List<String> valued = ['--format', '--color', '--config', '--result-file']
    for (int i = 0; i < words.size(); i++) {
        String w = words[i]
        if (w in valued) { i++; continue }
        if (!w.startsWith('-')) { return w }
    }
    return ''
}
