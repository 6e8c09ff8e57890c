//! `stepkit dashboard` end to end: histories recorded through real `stepkit history record` processes
//! (JUnit reports with a hostile test name, deploy and load results on two targets), the page loaded
//! in headless Chromium from Debian (screenshot decoded and its chart colours counted, the DOM dumped,
//! the console read), exit codes, and the markdown on its way to the step summary and to a sticky PR
//! comment through `stepkit github comment` against a local server playing GitHub's API.

use crate::history::deploy_result;
use crate::support::{in_ci, stepkit, write, Run, Stepkit};
use serde_json::{json, Value};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

/// A test name that would run if the page did not escape it.
const HOSTILE_TEST: &str = "<script>alert(1)</script>";
/// A request name that would fetch (and run) something if it reached the page as markup.
const HOSTILE_REQUEST: &str = "<img src=x onerror=alert(2)>";

/// A `stepkit load` result (schema version 1): the whole run, `list items` and the hostile request.
fn load_result(target: &str, rps: f64, p95: f64, slow_p95: f64) -> Value {
    crate::history::load_result_with(target, rps, p95, (HOSTILE_REQUEST, slow_p95))
}

/// A JUnit report: the hostile test fails every 7th version (flaky over a window), `test_flaky` passes on
/// a retry every 3rd, and `test_broken` fails when `broken`.
fn junit(version: usize, broken: bool) -> String {
    let hostile = HOSTILE_TEST.replace('<', "&lt;").replace('>', "&gt;");
    let fail = |yes: bool| if yes { "<failure message=\"boom\">trace</failure>" } else { "" };
    let retried = if version % 3 == 0 { "<flakyFailure message=\"once\"/>" } else { "" };
    format!(
        r#"<?xml version="1.0"?>
<testsuites><testsuite name="unit" tests="6">
  <testcase classname="app.Tests" name="test_fast" time="0.010"/>
  <testcase classname="app.Tests" name="test_slow" time="2.{version:03}"/>
  <testcase classname="app.Tests" name="{hostile}" time="0.020">{}</testcase>
  <testcase classname="app.Tests" name="test_flaky" time="0.030">{retried}</testcase>
  <testcase classname="app.Tests" name="test_broken" time="0.040">{}</testcase>
  <testcase classname="app.Tests" name="test_skipped"><skipped/></testcase>
</testsuite></testsuites>"#,
        fail(version % 7 == 3),
        fail(broken)
    )
}

/// A history in a temp dir, recorded one version at a time through `stepkit history record`.
struct History {
    dir: tempfile::TempDir,
}

impl History {
    fn new() -> History {
        History { dir: tempfile::tempdir().unwrap() }
    }

    fn store(&self) -> PathBuf {
        self.dir.path().join("history.sqlite")
    }

    fn stepkit(&self) -> Stepkit {
        stepkit().current_dir(self.dir.path()).env("STEPKIT_HISTORY", self.store())
    }

    /// Records `versions` versions (4 runs each: tests, deploy, load on postgres and on mysql). The last
    /// one regresses: the hostile request's p95 on postgres +50%, test_broken fails.
    fn record(&self, versions: usize) {
        for v in 0..versions {
            let last = v + 1 == versions;
            let d = self.dir.path().join(format!("v{v}"));
            let wobble = (v % 4) as f64;
            let slow = if last { 30.0 } else { 20.0 };
            let files = [
                write(&d, "junit.xml", junit(v, last)),
                write(&d, "deploy.json", deploy_result(4000 + (v as u64 % 5) * 100).to_string()),
                write(
                    &d,
                    "load-pg.json",
                    load_result("postgres", 1000.0 - wobble, 10.0 + wobble / 10.0, slow).to_string(),
                ),
                write(&d, "load-my.json", load_result("mysql", 900.0 + wobble, 12.0, 20.0).to_string()),
            ];
            self.stepkit()
                .args(["history", "record"])
                .args(&files)
                .args(["--version", &format!("1.0.{v}"), "--repository", "octo/app", "--branch", "main"])
                .run()
                .expect_code(0);
        }
    }

    fn dashboard(&self, args: &[&str]) -> Run {
        self.stepkit().args(["--format", "json", "dashboard"]).args(args).run()
    }
}

/// The page's own guarantees, read from its text.
fn assert_self_contained(page: &str) {
    let lower = page.to_ascii_lowercase();
    assert!(lower.contains("<meta http-equiv=\"content-security-policy\" content=\"default-src 'none';"));
    // Escaped text may say `src=`; an attribute would be followed by a quote, which escaping turns into &quot;.
    for forbidden in
        ["<script", " src=\"", " href=\"", "url(", "@import", "<link", "<iframe", "<img", "<object"]
    {
        assert!(!lower.contains(forbidden), "the page holds `{forbidden}`");
    }
    assert!(page.contains("&lt;script&gt;alert(1)&lt;/script&gt;"), "the hostile test name, escaped");
    assert!(page.contains("&lt;img src=x onerror=alert(2)&gt;"), "the hostile request name, escaped");
}

#[test]
fn a_history_of_200_runs_renders_one_offline_page_that_chromium_draws() {
    let history = History::new();
    history.record(50);
    let run =
        history.dashboard(&["-o", "site/index.html", "--markdown", "cmp.md", "--last", "200"]).expect_code(0);
    let doc = run.json();
    let data = &doc["data"];
    assert_eq!(data["runs"], 200, "{}", run.stderr);
    assert_eq!(data["schema_version"], 1);
    let regressions: Vec<(&str, &str)> = data["regressions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| (r["area"].as_str().unwrap(), r["series"].as_str().unwrap()))
        .collect();
    assert_eq!(regressions, [("tests", "junit"), ("latency", "postgres")], "{}", data["regressions"]);
    assert_eq!(data["regressions"][1]["what"], format!("p95 of {HOSTILE_REQUEST}"));
    assert_eq!(data["regressions"][1]["change_pct"], 50.0);
    assert_eq!(data["regressions"][1]["previous_version"], "1.0.48");
    assert_eq!(data["latency"].as_array().unwrap().len(), 3, "the whole run and two requests");
    assert_eq!(data["throughput"]["versions"].as_array().unwrap().len(), 50);
    assert_eq!(data["tests"][0]["runs"].as_array().unwrap().len(), 50);
    let flaky: Vec<&str> =
        data["tests"][0]["flaky"].as_array().unwrap().iter().map(|t| t["name"].as_str().unwrap()).collect();
    assert!(flaky.contains(&HOSTILE_TEST) && flaky.contains(&"test_flaky"), "{flaky:?}");
    assert_eq!(doc["outputs"]["regressions"], "2");

    let page_path = history.dir.path().join("site/index.html");
    let page = std::fs::read_to_string(&page_path).unwrap();
    // A correctness bound (1,000 runs must fit in 2 MiB; bench/dashboard measures time), not a timing.
    assert!(page.len() < 2 << 20, "{} bytes", page.len());
    assert_self_contained(&page);
    let markdown = std::fs::read_to_string(history.dir.path().join("cmp.md")).unwrap();
    assert!(markdown.contains("2 regressions past 10%"), "{markdown}");
    assert_no_markup(&markdown);

    let Some(chromium) = chromium() else { return };
    let shots = tempfile::tempdir().unwrap();

    // The console check must be able to fail: a page with an error in it is caught.
    let broken = write(shots.path(), "broken.html", "<!DOCTYPE html><p>x</p><script>nosuch()</script>");
    let (_, stderr) = browse(&chromium, &broken, &["--dump-dom"]);
    assert!(
        console_messages(&stderr).iter().any(|m| m.contains("nosuch")),
        "the console reader missed an uncaught error:\n{stderr}"
    );

    let shot = shots.path().join("page.png");
    let (_, stderr) = browse(&chromium, &page_path, &[&format!("--screenshot={}", shot.display())]);
    let console = console_messages(&stderr);
    assert!(console.is_empty(), "the page logged to the console: {console:#?}");
    let pixels = Screenshot::read(&shot);
    assert!(
        pixels.non_white() > pixels.total() / 20,
        "a blank page: {} of {} pixels",
        pixels.non_white(),
        pixels.total()
    );
    assert!(pixels.distinct() > 50, "only {} colours", pixels.distinct());
    // The charts' own colours (svg.rs): passed and failed bars, the regression mark, the first two lines.
    for (name, rgb) in [
        ("passed", (0x2e, 0x9e, 0x44)),
        ("failed", (0xd6, 0x27, 0x28)),
        ("first line", (0x1f, 0x77, 0xb4)),
        ("second line", (0xff, 0x7f, 0x0e)),
    ] {
        let n = pixels.count(rgb);
        assert!(n > 100, "{name} ({rgb:?}) is drawn in only {n} pixels");
    }

    let (dom, stderr) = browse(&chromium, &page_path, &["--dump-dom"]);
    assert!(console_messages(&stderr).is_empty(), "{stderr}");
    for expected in [
        "id=\"regressions\"",
        "id=\"tests\"",
        "id=\"deploy\"",
        "id=\"latency\"",
        "id=\"throughput\"",
        "data-chart=\"tests\"",
        "data-chart=\"deploy\"",
        "data-chart=\"throughput\"",
        "class=\"regressed\"",
    ] {
        assert!(dom.contains(expected), "the DOM lacks {expected}");
    }
    assert_eq!(dom.matches("data-chart=\"latency\"").count(), 3);
    assert_eq!(
        dom.matches("<polyline").count(),
        3 * 2 + 1 + 2,
        "a line per target on each latency chart, deploy, throughput"
    );
    assert!(
        !dom.to_ascii_lowercase().contains("<script") && !dom.contains("<img"),
        "markup from the history ran"
    );
    assert!(dom.contains("&lt;script&gt;alert(1)&lt;/script&gt;"));
}

#[test]
fn exit_codes_follow_the_verdict_and_the_flags() {
    let history = History::new();
    // Nothing recorded yet: exit 4, an empty page, and no store created by a reader.
    let run = history.dashboard(&["-o", "page.html"]).expect_code(4);
    assert!(run.stderr.contains("no runs in"), "{}", run.stderr);
    assert!(history.dir.path().join("page.html").is_file());
    assert!(!history.store().exists(), "the dashboard created the store it was to read");

    history.record(3);
    let run = history.dashboard(&["-o", "page.html"]).expect_code(0);
    assert_eq!(run.json()["data"]["regressions"].as_array().unwrap().len(), 2);
    assert!(run.stderr.contains("2 regressions past 10%"), "{}", run.stderr);
    history.dashboard(&["-o", "page.html", "--fail-on-regression"]).expect_code(1);
    // Past 60% only a new test failure counts: it has no tolerance.
    let run = history.dashboard(&["-o", "page.html", "--max-regression", "60%"]).expect_code(0);
    assert_eq!(run.json()["data"]["regressions"][0]["area"], "tests");
    let run = history.dashboard(&["-o", "page.html", "--target", "mysql"]).expect_code(0);
    assert_eq!(run.json()["data"]["regressions"], json!([]), "mysql did not regress");
    let run = history
        .stepkit()
        .env("STEPKIT_DASHBOARD_MAX_REGRESSION", "2%")
        .args(["--format", "json", "dashboard", "-o", "page.html", "--percentile", "p99"])
        .run()
        .expect_code(0);
    assert_eq!(run.json()["data"]["max_regression_pct"], 2.0);
    assert_eq!(run.json()["data"]["percentile"], "p99");

    let run = history.dashboard(&["-o", "page.html", "--max-regression", "lots"]).expect_code(2);
    assert!(run.stderr.contains("--max-regression"), "{}", run.stderr);
    // The page's path is a directory: the environment's fault, and the message names it.
    std::fs::create_dir_all(history.dir.path().join("taken.html")).unwrap();
    let run = history.dashboard(&["-o", "taken.html"]).expect_code(3);
    assert!(run.stderr.contains("taken.html"), "{}", run.stderr);
    let run = history.stepkit().args(["--history", "mysql://db/x", "dashboard"]).run().expect_code(2);
    assert!(run.stderr.contains("--history"), "{}", run.stderr);
}

#[tokio::test]
async fn the_comparison_goes_to_the_step_summary_and_a_sticky_pr_comment() {
    use crate::github_api::{comment, TOKEN};
    use crate::support::contract::Contract;
    use wiremock::ResponseTemplate;

    let history = History::new();
    history.record(3);
    let d = history.dir.path();
    let summary = write(d, "summary.md", "");
    let outputs = write(d, "outputs", "");
    let on_actions = |command: Stepkit| {
        command
            .env("GITHUB_ACTIONS", "true")
            .env("GITHUB_REPOSITORY", "octo/app")
            .env("GITHUB_STEP_SUMMARY", &summary)
            .env("GITHUB_OUTPUT", &outputs)
    };
    let command =
        on_actions(history.stepkit()).args(["dashboard", "-o", "site/index.html", "--markdown", "cmp.md"]);
    let run = tokio::task::spawn_blocking(move || command.run()).await.unwrap().expect_code(0);
    // Regressions are annotations too (warnings: --fail-on-regression was not given).
    assert!(run.stderr.contains("::warning title=latency regressed::"), "{}", run.stderr);
    let summary_text = std::fs::read_to_string(&summary).unwrap();
    assert!(summary_text.contains("octo/app: pipeline dashboard"), "{summary_text}");
    assert!(summary_text.contains("2 regressions past 10%"), "{summary_text}");
    assert_no_markup(&summary_text);
    assert!(std::fs::read_to_string(&outputs).unwrap().contains("regressions"));
    let comparison = std::fs::read_to_string(d.join("cmp.md")).unwrap();
    let row = comparison
        .lines()
        .find(|l| l.starts_with("| latency |"))
        .expect("a latency regression row")
        .to_string();
    assert!(row.contains("postgres") && row.contains("+50%"), "{row}");

    // The comment that carries the key is updated, not added.
    let server = Contract::start().await;
    server
        .on("GET", "/repos/octo/app/issues/5/comments")
        .times(1)
        .answer(ResponseTemplate::new(200).set_body_json(json!([
            comment(1, "LGTM"),
            comment(77, "<!-- stepkit:dashboard -->\nthe last comparison")
        ])))
        .await;
    server
        .on("PATCH", "/repos/octo/app/issues/comments/77")
        .times(1)
        .answer(ResponseTemplate::new(200).set_body_json(comment(77, "new")))
        .await;
    server.on("POST", "*").times(0).answer(ResponseTemplate::new(201)).await;
    let command =
        stepkit().current_dir(d).env("GITHUB_API_URL", server.uri()).env("GITHUB_TOKEN", TOKEN).args([
            "--format",
            "json",
            "github",
            "comment",
            "--repo",
            "octo/app",
            "--sha",
            "4f1c2b3a4d5e6f708192a3b4c5d6e7f8091a2b3c",
            "--pr",
            "5",
            "--sticky",
            "dashboard",
            "--body-file",
            "cmp.md",
        ]);
    let run = tokio::task::spawn_blocking(move || command.run()).await.unwrap().expect_code(0);
    assert!(!run.stdout.contains(TOKEN) && !run.stderr.contains(TOKEN));
    assert_eq!(run.json()["data"]["action"], "updated");
    let requests = server.requests().await;
    let patch = requests.iter().find(|r| r.method.as_str() == "PATCH").expect("the comment was updated");
    let sent: Value = serde_json::from_slice(&patch.body).unwrap();
    let body = sent["body"].as_str().unwrap();
    assert!(body.starts_with("<!-- stepkit:dashboard -->\n"), "{body}");
    assert!(body.contains(&row), "the comparison's regression row is in the comment:\n{body}");
    assert_no_markup(body);
}

/// The hostile names reach markdown only as literal text: escaped, or inside a code span (which GitHub
/// renders as text).
fn assert_no_markup(markdown: &str) {
    let mut outside = String::new();
    for (i, part) in markdown.split('`').enumerate() {
        if i % 2 == 0 {
            outside.push_str(part);
        }
    }
    for hostile in ["<script", "<img"] {
        assert!(!outside.contains(hostile), "{hostile} outside a code span:\n{markdown}");
    }
    assert!(markdown.contains("&lt;img src"), "the request name, escaped:\n{markdown}");
}

/// Debian's chromium, or `None` (after saying why) on a developer machine without it; CI must have it.
fn chromium() -> Option<PathBuf> {
    let path = std::env::var_os("STEPKIT_TEST_CHROMIUM")
        .map(PathBuf::from)
        .unwrap_or_else(|| "/usr/bin/chromium".into());
    if path.is_file() {
        return Some(path);
    }
    assert!(!in_ci(), "{} is required under CI=true (.ci/run installs Debian's chromium)", path.display());
    eprintln!("skipping the browser half: {} is not installed (apt-get install chromium)", path.display());
    None
}

/// Loads `page` from `file://` in headless Chromium with a fresh profile and returns its stdout and
/// stderr (console messages are logged there). The flags keep it off the network: this machine
/// refuses the background connections a first run would make.
fn browse(chromium: &Path, page: &Path, extra: &[&str]) -> (String, String) {
    let profile = tempfile::tempdir().unwrap();
    let child = Command::new(chromium)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--hide-scrollbars",
            "--enable-logging=stderr",
            "--v=0",
            "--window-size=1280,4200",
        ])
        .arg(format!("--user-data-dir={}", profile.path().display()))
        .args(extra)
        .arg(format!("file://{}", page.display()))
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("chromium starts");
    let pid = child.id();
    let (done, finished) = std::sync::mpsc::channel::<()>();
    std::thread::spawn(move || {
        if finished.recv_timeout(Duration::from_secs(120)).is_err() {
            // SAFETY: signalling the browser this test started, before it was reaped.
            unsafe { libc::kill(pid as i32, libc::SIGKILL) };
        }
    });
    let output = child.wait_with_output().expect("chromium finishes");
    drop(done);
    let (stdout, stderr) = (
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    );
    assert!(output.status.success(), "chromium failed ({}):\n{stderr}", output.status);
    (stdout, stderr)
}

/// What the page wrote to the console: Chromium logs every console message (and every CSP violation
/// and uncaught error) as `…:INFO:CONSOLE:1] "message", source: …`. The page has no script, so any
/// message at all is a fault.
fn console_messages(stderr: &str) -> Vec<String> {
    stderr.lines().filter(|l| l.contains(":CONSOLE")).map(str::to_string).collect()
}

/// A decoded screenshot.
struct Screenshot {
    rgb: Vec<(u8, u8, u8)>,
}

impl Screenshot {
    fn read(path: &Path) -> Screenshot {
        let decoder =
            png::Decoder::new(std::io::BufReader::new(std::fs::File::open(path).expect("a screenshot")));
        let mut reader = decoder.read_info().expect("a PNG");
        let mut buffer = vec![0; reader.output_buffer_size().expect("a sane size")];
        let info = reader.next_frame(&mut buffer).expect("a frame");
        let channels = match info.color_type {
            png::ColorType::Rgb => 3,
            png::ColorType::Rgba => 4,
            other => panic!("unexpected colour type {other:?}"),
        };
        assert_eq!(info.bit_depth, png::BitDepth::Eight);
        let rgb = buffer[..info.buffer_size()].chunks_exact(channels).map(|p| (p[0], p[1], p[2])).collect();
        Screenshot { rgb }
    }

    fn total(&self) -> usize {
        self.rgb.len()
    }

    fn non_white(&self) -> usize {
        self.rgb.iter().filter(|p| **p != (255, 255, 255)).count()
    }

    fn distinct(&self) -> usize {
        self.rgb.iter().collect::<std::collections::HashSet<_>>().len()
    }

    fn count(&self, rgb: (u8, u8, u8)) -> usize {
        self.rgb.iter().filter(|p| **p == rgb).count()
    }
}
