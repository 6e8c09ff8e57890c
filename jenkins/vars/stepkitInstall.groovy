// Jenkins shared-library step: `stepkitInstall()` (or `stepkitInstall(version: '0.2.0')`) downloads the
// release tarball for this agent's OS and architecture, verifies it against the SHA256SUMS pinned in
// this library at the ref it was loaded from (resources/stepkit/checksums), unpacks it into the
// agent's tool directory, and sets env.STEPKIT_BIN, which `stepkit(...)` runs. Returns the binary's path.
def call(Map options = [:]) {
    String version = (options.version ?: releaseVersion())?.replaceFirst(/^v/, '')
    if (!version) {
        error('stepkitInstall: give version (e.g. stepkitInstall(version: "0.2.0")), or load the library at a release tag (@Library("stepkit@v0.2.0"))')
    }
    String sums
    try {
        sums = libraryResource("stepkit/checksums/v${version}.sha256")
    } catch (e) {
        error("stepkitInstall: no checksums pinned for stepkit ${version} in this library (resources/stepkit/checksums/v${version}.sha256); load the library at a ref that has them")
    }
    String base = options.releaseUrl ?: env.STEPKIT_RELEASE_URL ?: resource('stepkit/release-url')
    if (!base) {
        error('stepkitInstall: give releaseUrl (the base of the release downloads, e.g. https://github.com/OWNER/stepkit/releases/download), or load the library at a release tag')
    }
    String root = options.toolDir ?: "${env.WORKSPACE_TMP ?: env.WORKSPACE + '@tmp'}/stepkit-tools"
    String sumsFile = "${root}/v${version}.sha256"
    writeFile(file: sumsFile, text: sums)
    withEnv(["STEPKIT_VERSION=${version}", "STEPKIT_RELEASE_URL=${base}", "STEPKIT_TOOL_DIR=${root}", "STEPKIT_SUMS=${sumsFile}"]) {
        sh(label: "install stepkit ${version}", script: libraryResource('stepkit/install.sh'))
    }
    env.STEPKIT_BIN = "${root}/${version}/stepkit"
    return env.STEPKIT_BIN
}

// A library loaded at a release tag carries the version it is and where its releases are (both
// written by the release workflow); elsewhere these resources do not exist.
String releaseVersion() {
    return resource('stepkit/release-version')
}

String resource(String path) {
    try {
        return libraryResource(path).trim()
    } catch (e) {
        return null
    }
}
