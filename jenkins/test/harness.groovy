// Runs the shared library's steps (vars/*.groovy) outside Jenkins against the real stepkit binary, with
// stand-ins for the Jenkins steps they call (sh, withEnv, readJSON, fileExists, unstable, error,
// libraryResource, writeFile) that behave as Jenkins documents them. Checks the exit-code mapping, the
// fresh result file, that arguments reach stepkit with no shell interpolation, and stepkitInstall's
// download + checksum verification from a loopback HTTP server.
// Usage: groovy jenkins/test/harness.groovy STEPKIT_BINARY RELEASE_DIR VERSION
import groovy.json.JsonSlurper
import com.sun.net.httpserver.HttpServer

class StepError extends RuntimeException { StepError(String m) { super(m) } }

String stepkitBin = args[0]
File releaseDir = new File(args[1])
String version = args[2]
File lib = new File(getClass().protectionDomain.codeSource.location.path).parentFile.parentFile
File work = File.createTempDir()
File resources = new File(work, 'resources')
int failures = 0

def check = { String what, boolean ok ->
    println((ok ? 'harness ok:     ' : 'harness NOT OK: ') + what)
    if (!ok) failures++
}

// One pipeline "run": a fresh binding with the step stand-ins, the library's vars loaded as Jenkins does.
def pipeline = { Map extraEnv = [:] ->
    def b = new Binding()
    def envStack = [[WORKSPACE: work.path, WORKSPACE_TMP: new File(work, 'tmp').path] + extraEnv]
    def env = [:] + envStack[0]
    def build = [result: null, unstable: []]
    b.setVariable('env', env)
    b.setVariable('currentBuild', build)
    b.setVariable('build', build)
    b.setVariable('withEnv', { List<String> pairs, Closure body ->
        def saved = [:] + env
        pairs.each { p -> int i = p.indexOf('='); env[p.substring(0, i)] = p.substring(i + 1) }
        try { body() } finally { env.clear(); env.putAll(saved) }
    })
    b.setVariable('sh', { Map m ->
        def pb = new ProcessBuilder('/bin/sh', '-c', m.script).directory(work).inheritIO()
        env.each { k, v -> if (v != null) pb.environment().put(k.toString(), v.toString()) }
        int code = pb.start().waitFor()
        if (m.returnStatus) return code
        if (code != 0) throw new StepError("script returned exit code ${code}")
        return null
    })
    b.setVariable('fileExists', { String f -> new File(f).exists() })
    b.setVariable('readJSON', { Map m -> new JsonSlurper().parse(new File(m.file)) })
    b.setVariable('writeFile', { Map m -> def f = new File(m.file); f.parentFile.mkdirs(); f.text = m.text })
    b.setVariable('unstable', { String msg -> build.unstable << msg; if (build.result == null) build.result = 'UNSTABLE' })
    b.setVariable('error', { String msg -> if (build.result in [null, 'SUCCESS', 'UNSTABLE']) build.result = 'FAILURE'; throw new StepError(msg) })
    b.setVariable('libraryResource', { String path ->
        for (File root : [resources, new File(lib, 'resources')]) {
            File f = new File(root, path)
            if (f.isFile()) return f.text
        }
        throw new StepError("No such library resource ${path} could be found.")
    })
    def shell = new GroovyShell(b)
    ['stepkit', 'stepkitInstall'].each { name ->
        def script = shell.parse(new File(lib, "vars/${name}.groovy"))
        script.binding = b
        b.setVariable(name, { Map o -> script.call(o) })
    }
    return [b: b, build: build, env: env]
}
def expectError = { Closure body -> try { body(); return null } catch (StepError e) { return e.message } }

def reports = new File(work, 'reports'); reports.mkdirs()
new File(reports, 'pass.xml').text = "<testsuite name='s'><testcase name='a'/></testsuite>"
new File(reports, 'fail.xml').text = "<testsuite name='s'><testcase name='b'><failure message='no'/></testcase></testsuite>"
def base = [STEPKIT_BIN: stepkitBin]

// 0: the result comes back parsed, with the exit code.
def p = pipeline(base)
def r = p.b.getVariable('stepkit')(args: ['junit', 'summary', 'reports/pass.xml'])
check('exit 0 returns the parsed result', r.exit_code == 0 && r.verdict == 'passed' && p.build.result == null)

// 1 from junit: UNSTABLE, and the result still returned.
p = pipeline(base)
r = p.b.getVariable('stepkit')(args: 'junit summary reports/fail.xml')
check('exit 1 from junit summary marks the build UNSTABLE', r.exit_code == 1 && p.build.result == 'UNSTABLE' && p.build.unstable)

// Arguments with shell syntax reach stepkit as they are: nothing is run, quotes are kept.
new File(reports, '$(touch pwned) it\'s.xml').text = new File(reports, 'pass.xml').text
p = pipeline(base)
r = p.b.getVariable('stepkit')(args: ['junit', 'summary', 'reports/$(touch pwned) it\'s.xml'])
check('list arguments are not interpolated by a shell', r.exit_code == 0 && !new File(work, 'pwned').exists() && r.data.files[0].contains('$(touch pwned)'))
p = pipeline(base)
r = p.b.getVariable('stepkit')(args: "junit summary 'reports/\$(touch pwned) it'\\''s.xml' `touch pwned2`", returnOnError: true)
check('string arguments are split by stepkit, nothing run', !new File(work, 'pwned').exists() && !new File(work, 'pwned2').exists())

// A fresh result file per call; and a call that writes nothing does not return an earlier result.
def fixed = new File(work, 'result.json')
p = pipeline(base)
r = p.b.getVariable('stepkit')(args: ['junit', 'summary', 'reports/pass.xml'], resultFile: fixed.path)
def again = p.b.getVariable('stepkit')(args: ['junit', 'merge', '--no-such-flag'], resultFile: fixed.path, returnOnError: true)
check('a usage error returns no stale result', r.verdict == 'passed' && again.exit_code == 2 && again.verdict == null && !fixed.exists())
p = pipeline(base)
def one = p.b.getVariable('stepkit')(args: ['junit', 'summary', 'reports/pass.xml'])
def two = p.b.getVariable('stepkit')(args: ['junit', 'summary', 'reports/pass.xml'])
check('each call gets its own result file', one.result_file != two.result_file)

// Exit codes a real stepkit gives when a deadline passes or it is interrupted, from a binary that exits so.
def fake = { int code -> def f = new File(work, "exit-${code}"); f.text = "#!/bin/sh\nexit ${code}\n"; f.setExecutable(true); f.path }
p = pipeline(base)
def msg = expectError { p.b.getVariable('stepkit')(args: ['test', '--', 'true'], binary: fake(124)) }
check('124 fails the build naming the timeout', msg?.contains('timed out') && p.build.result == 'FAILURE')
[130, 143].each { code ->
    p = pipeline(base)
    msg = expectError { p.b.getVariable('stepkit')(args: ['gate'], binary: fake(code)) }
    check("${code} aborts the build", msg?.contains('interrupted') && p.build.result == 'ABORTED')
}
p = pipeline(base)
msg = expectError { p.b.getVariable('stepkit')(args: ['junit', 'merge', '--no-such-flag']) }
check('exit 2 fails the build with the code', msg?.contains('exit code 2') && p.build.result == 'FAILURE')
p = pipeline(base)
msg = expectError { p.b.getVariable('stepkit')(args: ['gate'], binary: fake(1)) }
check('exit 1 from gate fails the build (not UNSTABLE)', msg != null && p.build.result == 'FAILURE')

// stepkitInstall: download from a loopback server, verify against the pinned checksums, install.
def server = HttpServer.create(new InetSocketAddress('127.0.0.1', 0), 0)
server.createContext('/', { ex ->
    File f = new File(releaseDir, ex.requestURI.path.substring(1))
    if (f.isFile()) { ex.sendResponseHeaders(200, f.length()); ex.responseBody.withStream { it << f.bytes } }
    else { ex.sendResponseHeaders(404, -1) }
    ex.close()
})
server.start()
String url = "http://127.0.0.1:${server.address.port}"
try {
    new File(resources, 'stepkit/checksums').mkdirs()
    new File(resources, "stepkit/checksums/v${version}.sha256").text = new File(releaseDir, "v${version}/SHA256SUMS").text
    p = pipeline([:])
    def bin = p.b.getVariable('stepkitInstall')(version: version, releaseUrl: url, toolDir: new File(work, 'tools').path)
    r = p.b.getVariable('stepkit')(args: ['junit', 'summary', 'reports/pass.xml'])
    check('stepkitInstall installs the verified release and stepkit() runs it', new File(bin).canExecute() && p.env.STEPKIT_BIN == bin && r.exit_code == 0)
    new File(resources, "stepkit/checksums/v${version}.sha256").text = new File(releaseDir, "v${version}/SHA256SUMS").text.replaceAll(/^[0-9a-f]{8}/, '00000000')
    p = pipeline([:])
    msg = expectError { p.b.getVariable('stepkitInstall')(version: version, releaseUrl: url, toolDir: new File(work, 'tools2').path) }
    check('a checksum mismatch fails stepkitInstall', msg != null && !new File(work, "tools2/${version}/stepkit").exists())
    p = pipeline([:])
    msg = expectError { p.b.getVariable('stepkitInstall')(version: '9.9.9', releaseUrl: url) }
    check('an unpinned version is refused', msg?.contains('no checksums pinned'))
} finally {
    server.stop(0)
    work.deleteDir()
}
println(failures ? "jenkins harness: ${failures} FAILED" : 'jenkins harness: all passed')
System.exit(failures ? 1 : 0)
