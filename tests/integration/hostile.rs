//! One hostile corpus through every sink: `junit summary`, `stepkit test` (real pytest) and `stepkit check`
//! (a real plugin) on GitHub Actions. No line of the log may become a workflow command that stepkit did
//! not write, no ESC or invisible character may reach it, and the step summary must render as text.

use crate::check::{components, dist, shared_cache};
use crate::support::{have_pytest, in_ci, stepkit, write};
use serde_json::Value;
use std::path::Path;

/// What a hostile report, test or plugin says: workflow commands (after the blanks the runner trims),
/// the legacy `##[` form, terminal escapes, bidi and zero-width characters, a CR, and markdown that
/// closes a code fence to render an image, links and HTML.
const HOSTILE: &[&str] = &[
    "      ::add-mask::hunter2",
    "::stop-commands::tok3n",
    "::error title=forged::pwned by the report",
    "##[error]legacy command",
    "\t##[set-output name=x;]y",
    "\u{3000}::warning::after an ideographic space",
    "\u{1b}[2J\u{1b}]0;retitled\u{7}screen cleared",
    "\u{9b}31m a C1 CSI",
    "a \u{202e}txt.exe\u{202c} bidi override",
    "zero\u{200b}width\u{2060}joiner\u{feff}",
    "carriage\r::error::after a CR",
    "```",
    "![tracker](https://evil.example/pixel.png) [click](https://evil.example/login) https://evil.example/bare www.evil.example",
    "<img src=x onerror=alert(1)></details><script>alert(1)</script>",
    "````",
];

fn corpus() -> String {
    HOSTILE.join("\n")
}

/// Escaped for an XML attribute or text; control characters stay raw bytes, as a careless writer leaves them.
fn xml(text: &str) -> String {
    text.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;")
}

/// Characters that must never reach the log or the summary as themselves.
const HIDDEN: [char; 9] =
    ['\u{1b}', '\u{9b}', '\u{7}', '\r', '\u{202e}', '\u{202c}', '\u{200b}', '\u{2060}', '\u{feff}'];

/// The log is clean: no hidden characters, no `##[`, and the only lines that start (after blanks) with
/// `::` are stepkit's own: groups and exactly as many annotations of each level as the JSON lists.
fn assert_log_clean(log: &str, annotations: &[Value]) {
    for c in HIDDEN {
        assert!(!log.contains(c), "{c:?} reached the log:\n{log}");
    }
    let mut commands = std::collections::BTreeMap::<&str, usize>::new();
    for line in log.lines() {
        assert!(!line.contains("##["), "a legacy workflow command reached the log: {line}");
        let Some(command) = line.trim_start().strip_prefix("::") else { continue };
        let name = command.split([' ', ':']).next().unwrap_or_default();
        assert!(
            ["group", "endgroup", "error", "warning", "notice"].contains(&name),
            "a workflow command stepkit did not write: {line}"
        );
        *commands.entry(name).or_default() += 1;
    }
    for level in ["error", "warning", "notice"] {
        let listed = annotations.iter().filter(|a| a["level"] == level).count().min(10);
        let summary_notice = usize::from(
            level == "notice" && annotations.iter().filter(|a| a["level"] != "notice").count() > 20,
        );
        assert!(
            commands.get(level).copied().unwrap_or(0) <= listed + summary_notice,
            "more ::{level} lines than annotations: a forged one got through:\n{log}"
        );
    }
}

/// The hostile text is shown, defused, not dropped.
fn assert_shown_defused(log: &str) {
    assert!(log.contains(": :add-mask::hunter2"), "the add-mask line is missing or not defused:\n{log}");
    // Shown (XML folds line breaks in attributes to spaces, so it may sit mid-line, where it is inert).
    assert!(log.contains("stop-commands::tok3n"), "{log}");
    assert!(log.contains("# #[error]legacy command"), "{log}");
    assert!(log.contains("\\x1b[2J") && log.contains("\\u{202e}"), "escapes are shown visibly:\n{log}");
}

/// GitHub's own markdown renderer (cmark-gfm, through the `cmarkgfm` Python package, raw HTML kept so
/// any that leaks through shows): None (skip) on a developer machine without it.
fn render_gfm(markdown: &str) -> Option<String> {
    use std::io::Write;
    let script = "import sys, cmarkgfm\nfrom cmarkgfm.cmark import Options\nsys.stdout.write(cmarkgfm.github_flavored_markdown_to_html(sys.stdin.read(), options=Options.CMARK_OPT_UNSAFE))";
    let child = std::process::Command::new("python3")
        .args(["-c", script])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn();
    let output = child.ok().and_then(|mut c| {
        c.stdin.take()?.write_all(markdown.as_bytes()).ok()?;
        c.wait_with_output().ok()
    });
    match output {
        Some(o) if o.status.success() => Some(String::from_utf8(o.stdout).unwrap()),
        other => {
            let why = other
                .map(|o| String::from_utf8_lossy(&o.stderr).into_owned())
                .unwrap_or_else(|| "python3 did not run".into());
            assert!(
                !in_ci(),
                "the cmarkgfm Python package is required under CI=true (.ci/run installs it): {why}"
            );
            eprintln!("skipping the markdown rendering check: cmarkgfm is not installed ({why})");
            None
        }
    }
}

/// The step summary renders as text: no image, link or HTML from the corpus, the corpus still there.
fn assert_summary_inert(markdown: &str) {
    for c in HIDDEN {
        assert!(!markdown.contains(c), "{c:?} reached the summary:\n{markdown}");
    }
    for line in markdown.lines() {
        assert!(!line.contains("##[") && !line.trim_start().starts_with("::"), "{line}");
    }
    let Some(html) = render_gfm(markdown) else { return };
    for tag in ["<img", "<a ", "<script", "</details><script"] {
        assert!(!html.contains(tag), "the summary renders {tag} from untrusted text:\n{html}");
    }
    assert!(html.contains("evil.example/pixel.png"), "the text is shown, not dropped:\n{html}");
}

fn github_env(cmd: crate::support::Stepkit, summary: &Path, output: &Path) -> crate::support::Stepkit {
    cmd.env("GITHUB_ACTIONS", "true")
        .env("GITHUB_STEP_SUMMARY", summary)
        .env("GITHUB_OUTPUT", output)
        .env("NO_COLOR", "1")
}

#[test]
fn junit_summary_defuses_a_hostile_report_in_every_sink() {
    let dir = tempfile::tempdir().unwrap();
    let s = xml(&corpus());
    let report = format!(
        "<testsuite name=\"{s}\">\n\
         <testcase classname=\"{s}\" name=\"{s}\" file=\"{s}\" line=\"3\" time=\"2\"><failure message=\"{s}\">{s}</failure><system-out>{s}</system-out></testcase>\n\
         <testcase classname=\"C\" name=\"second\" file=\"tests/`weird`.py\" time=\"1\"><error message=\"{s}\">{s}\ntests/`weird`.py:9: boom</error></testcase>\n\
         </testsuite>\n"
    );
    write(dir.path(), "hostile.xml", report);
    let (summary, output) = (dir.path().join("summary.md"), dir.path().join("output"));
    let run = github_env(stepkit(), &summary, &output)
        .current_dir(dir.path())
        .args(["--format", "json", "junit", "summary", "hostile.xml"])
        .run()
        .expect_code(1);
    let json = run.json();
    assert_eq!(json["data"]["summary"]["counts"]["tests"], 2, "{}", run.stdout);
    let annotations = json["annotations"].as_array().unwrap();
    assert_log_clean(&run.stderr, annotations);
    assert_shown_defused(&run.stderr);
    assert_summary_inert(&std::fs::read_to_string(&summary).unwrap());
    // JSON keeps the report's text exactly: it is data, escaped by JSON itself.
    assert!(json["data"]["summary"]["failed"][0]["message"]
        .as_str()
        .unwrap()
        .contains("::add-mask::hunter2"));

    // `--format markdown` prints the same summary on stdout, which the runner reads for commands too.
    let run = github_env(stepkit(), &summary, &output)
        .current_dir(dir.path())
        .args(["--format", "markdown", "junit", "summary", "hostile.xml"])
        .run()
        .expect_code(1);
    assert_log_clean(&run.stdout, &[]);
    assert_summary_inert(&run.stdout);
    // Text format, off GitHub: the same text, defused all the same (a Jenkins or GitLab log is a terminal too).
    let run =
        stepkit().current_dir(dir.path()).args(["junit", "summary", "hostile.xml"]).run().expect_code(1);
    assert_log_clean(&run.stderr, &[]);
    assert_shown_defused(&run.stderr);
}

#[test]
fn stepkit_test_defuses_a_hostile_failure_message_and_output() {
    if !have_pytest() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "pytest.ini", "[pytest]\naddopts = -p no:cacheprovider\n");
    // A JSON string is a valid Python string literal.
    let literal = serde_json::to_string(&corpus()).unwrap();
    write(
        dir.path(),
        "test_hostile.py",
        format!("import sys\nHOSTILE = {literal}\n\ndef test_hostile():\n    print(HOSTILE)\n    print(HOSTILE, file=sys.stderr)\n    assert False, HOSTILE\n\ndef test_fine():\n    pass\n"),
    );
    let (summary, output) = (dir.path().join("summary.md"), dir.path().join("output"));
    let run = github_env(stepkit(), &summary, &output)
        .current_dir(dir.path())
        .args(["--format", "json", "test", "--workers", "1", "--", "python3", "-m", "pytest"])
        .run()
        .expect_code(1);
    let json = run.json();
    assert_eq!(json["data"]["summary"]["counts"]["failures"], 1, "{}", run.stderr);
    assert_log_clean(&run.stderr, json["annotations"].as_array().unwrap());
    // The failure message (from pytest's JUnit) and the test's own output (the batch's block) both carry it.
    assert!(run.stderr.matches(": :add-mask::hunter2").count() >= 2, "{}", run.stderr);
    assert!(
        run.stderr.contains("\\x1b[2J"),
        "the raw ESC of the test's output is shown escaped:\n{}",
        run.stderr
    );
    assert_summary_inert(&std::fs::read_to_string(&summary).unwrap());
}

#[test]
fn check_defuses_hostile_plugin_output_and_finding_files() {
    if !components() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let (summary, output) = (dir.path().join("summary.md"), dir.path().join("output"));
    let echo = dist("echo");
    let text = format!("--set=text={}", corpus());
    let files = [
        "--set=file=src/\u{202e}bil.exe",
        "--set=file=a\u{200b}b.rs",
        "--set=file=x/##[error]y.rs",
        "--set=file=tests/`weird`.py",
        "--set=file=src/ok.rs",
    ];
    let run = github_env(stepkit(), &summary, &output)
        .env("STEPKIT_CACHE_DIR", shared_cache())
        .current_dir(dir.path())
        .args(["--format", "json", "check", "--plugin", echo.to_str().unwrap(), &text])
        .args(files)
        .run()
        .expect_code(1);
    let json = run.json();
    assert_log_clean(&run.stderr, json["annotations"].as_array().unwrap());
    assert_shown_defused(&run.stderr);
    assert_summary_inert(&std::fs::read_to_string(&summary).unwrap());
    // A file with bidi, zero-width or `##[` in it is no location; it stays in the message, escaped.
    let findings = json["data"]["plugins"][0]["report"]["findings"].as_array().unwrap();
    let files: Vec<Value> = findings.iter().map(|f| f["file"].clone()).collect();
    assert_eq!(
        files,
        [Value::Null, Value::Null, Value::Null, Value::Null, "tests/`weird`.py".into(), "src/ok.rs".into()],
        "{findings:?}"
    );
    assert!(
        findings[1]["message"].as_str().unwrap().ends_with("(file: src/\\u{202e}bil.exe)"),
        "{}",
        findings[1]["message"]
    );
    assert!(
        findings[3]["message"].as_str().unwrap().ends_with("(file: x/# #[error]y.rs)"),
        "{}",
        findings[3]["message"]
    );
    assert_eq!(findings[1]["line"], Value::Null, "no line without its file");
}
