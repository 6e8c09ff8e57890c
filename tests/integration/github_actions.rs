//! Running inside GitHub Actions: annotations, step outputs, step summary, result file.

use crate::support::{stepkit, write};

fn failing_report(failures: usize) -> String {
    let mut xml = String::from("<testsuite name=\"s\">");
    for i in 0..failures {
        xml.push_str(&format!(
            "<testcase classname=\"C\" name=\"t{i}\" file=\"/work/repo/tests/c_test.py\" line=\"{}\"><failure message=\"50%, a:b, done\">multi\nline</failure></testcase>",
            i + 1
        ));
    }
    xml.push_str("<testcase classname=\"C\" name=\"ok\"/></testsuite>");
    xml
}

#[test]
fn summary_writes_annotations_outputs_and_step_summary() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "r.xml", failing_report(15));
    let outputs = write(dir.path(), "github_output", "");
    let summary = write(dir.path(), "step_summary", "");
    let run = stepkit()
        .current_dir(dir.path())
        .env("GITHUB_ACTIONS", "true")
        .env("GITHUB_OUTPUT", &outputs)
        .env("GITHUB_STEP_SUMMARY", &summary)
        .env("GITHUB_WORKSPACE", "/work/repo")
        .env("GITHUB_REPOSITORY", "octo/repo")
        .env("GITHUB_SHA", "0123456789abcdef0123456789abcdef01234567")
        .args(["junit", "summary", "r.xml", "--result-file", "result.json"])
        .run()
        .expect_code(1);

    let annotations: Vec<&str> = run.stderr.lines().filter(|l| l.starts_with("::error ")).collect();
    assert_eq!(
        annotations.len(),
        10,
        "GitHub shows 10 errors per step; the rest are summarised\n{}",
        run.stderr
    );
    // Path made relative to the workspace; property values and data escaped.
    assert!(annotations[0].starts_with("::error file=tests/c_test.py,line=1,title=Failed%3A C%3A%3At0::50%25, a:b, done%0A%0Amulti%0Aline"), "{}", annotations[0]);
    assert!(run.stderr.contains("5 more error"), "the dropped annotations are summarised:\n{}", run.stderr);

    let outputs = std::fs::read_to_string(&outputs).unwrap();
    assert!(outputs.contains("failures<<"), "{outputs}");
    assert!(outputs.contains("\n15\n"), "{outputs}");
    let summary = std::fs::read_to_string(&summary).unwrap();
    assert!(summary.contains("| 16 | 1 | 15 | 0 | 0 | 0 |"), "{summary}");

    let result: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.path().join("result.json")).unwrap()).unwrap();
    assert_eq!(result["exit_code"], 1);
    assert_eq!(result["data"]["summary"]["counts"]["failures"], 15);
}

#[test]
fn outside_github_no_workflow_commands_are_printed() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "r.xml", failing_report(2));
    let run = stepkit().current_dir(dir.path()).args(["junit", "summary", "r.xml"]).run().expect_code(1);
    assert!(!run.stderr.contains("::error"), "{}", run.stderr);
}

#[test]
fn step_summary_stays_under_one_mebibyte() {
    let dir = tempfile::tempdir().unwrap();
    // Long failure texts: each failed test's details go into the summary.
    let mut xml = String::from("<testsuite name=\"s\">");
    let body = "x".repeat(4000);
    for i in 0..400 {
        xml.push_str(&format!(
            "<testcase classname=\"C\" name=\"t{i}\"><failure message=\"m\">{body}</failure></testcase>"
        ));
    }
    xml.push_str("</testsuite>");
    write(dir.path(), "r.xml", xml);
    let summary = write(dir.path(), "step_summary", "");
    stepkit()
        .current_dir(dir.path())
        .env("GITHUB_ACTIONS", "true")
        .env("GITHUB_STEP_SUMMARY", &summary)
        .args(["junit", "summary", "r.xml"])
        .run()
        .expect_code(1);
    let size = std::fs::metadata(&summary).unwrap().len();
    assert!(size > 500_000 && size <= 1024 * 1024, "summary size {size}");
    assert!(std::fs::read_to_string(&summary).unwrap().contains("truncated"));
}
