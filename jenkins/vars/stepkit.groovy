// Jenkins shared-library step: `stepkit args: "junit summary 'reports/*.xml'"`.
// Runs stepkit in a `sh` step, writes the JSON result file, and returns it parsed (readJSON, from the
// Pipeline Utility Steps plugin) together with the exit code, so a pipeline branches on data, not logs.
def call(Map options = [:]) {
    String args = options.args ?: error('stepkit: give args, e.g. stepkit(args: "junit summary reports/*.xml")')
    String resultFile = options.resultFile ?: "${env.WORKSPACE_TMP ?: env.WORKSPACE}/stepkit-result-${env.BUILD_NUMBER}.json"
    String binary = options.binary ?: 'stepkit'
    int code = sh(
        label: "stepkit ${args}",
        returnStatus: true,
        script: "${binary} --color never --result-file '${resultFile}' ${args}"
    )
    def result = fileExists(resultFile) ? readJSON(file: resultFile) : [:]
    result.exit_code = code
    if (code != 0 && code != 1 && code != 4 && !options.returnOnError) {
        error("stepkit ${args} failed with exit code ${code}: ${result.error ?: 'see the log above'}")
    }
    return result
}
