//! Hostile and broken JUnit: clear errors naming file and position, no hang, bounded memory.

use crate::support::{stepkit, write};
use std::io::Write;

/// Runs `junit summary --format json` on one file and returns the problem message it reported.
fn problem_for(name: &str, content: &[u8]) -> String {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), name, content);
    let run = stepkit().current_dir(dir.path()).args(["--format", "json", "junit", "summary", name]).run();
    assert_eq!(run.code, 1, "an unreadable report is an error case, so the summary fails\n{}", run.stderr);
    let json = run.json();
    let problems = json["data"]["problems"].as_array().unwrap().clone();
    assert_eq!(problems.len(), 1, "{json}");
    let message = problems[0].as_str().unwrap().to_string();
    assert!(message.contains(name), "the message names the file: {message}");
    message
}

#[test]
fn billion_laughs_is_refused_without_expanding() {
    let bomb = r#"<?xml version="1.0"?>
<!DOCTYPE lolz [
 <!ENTITY lol "lol">
 <!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
 <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
 <!ENTITY lol9 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">
]>
<testsuite name="&lol9;"><testcase name="a"/></testsuite>"#;
    let message = problem_for("bomb.xml", bomb.as_bytes());
    assert!(message.contains("entities"), "{message}");
}

#[test]
fn an_undeclared_entity_is_an_error_with_a_position() {
    let message = problem_for(
        "ent.xml",
        b"<testsuite name=\"s\">\n<testcase name=\"a\">&custom;</testcase></testsuite>",
    );
    assert!(message.contains("line 2"), "{message}");
}

#[test]
fn invalid_utf8_names_the_position() {
    let mut bytes = b"<testsuite name=\"s\">\n  <testcase name=\"caf".to_vec();
    bytes.extend_from_slice(&[0xff, 0xfe]);
    bytes.extend_from_slice(b"\"/></testsuite>");
    let message = problem_for("latin.xml", &bytes);
    assert!(message.contains("UTF-8") && message.contains("line 2"), "{message}");
}

#[test]
fn truncated_file_says_so() {
    let message = problem_for(
        "cut.xml",
        b"<testsuites><testsuite name=\"s\"><testcase name=\"a\"/><testcase name=\"b\">",
    );
    assert!(message.contains("truncated"), "{message}");
}

#[test]
fn non_junit_xml_is_named() {
    let message = problem_for("page.xml", b"<html><body>502 Bad Gateway</body></html>");
    assert!(message.contains("<html>") && message.contains("not a JUnit report"), "{message}");
}

#[test]
fn not_xml_at_all() {
    let message = problem_for("junk.xml", b"{\"tests\": 3}");
    assert!(message.contains("junk.xml"), "{message}");
}

#[test]
fn a_500_mb_attribute_is_refused_with_bounded_memory() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("huge.xml");
    let mut file = std::io::BufWriter::new(std::fs::File::create(&path).unwrap());
    file.write_all(b"<testsuite name=\"s\"><testcase name=\"").unwrap();
    let chunk = vec![b'a'; 1 << 20];
    for _ in 0..500 {
        file.write_all(&chunk).unwrap();
    }
    file.write_all(b"\"/></testsuite>").unwrap();
    drop(file);
    // GNU time reports the peak RSS when it is there; without it the run still proves no crash.
    let run = match summary_under_gnu_time(&path) {
        Some((peak, stdout)) => {
            assert!(peak < 160 * 1024, "peak memory {peak} KiB must stay far below the 500 MB input");
            stdout
        }
        None => stepkit().args(["--format", "json", "junit", "summary"]).args([&path]).run().stdout,
    };
    assert!(run.contains("larger than 64 MiB"), "{run}");
}

#[test]
fn deep_nesting_is_bounded() {
    let depth = 10_000;
    let xml = format!("{}{}", "<testsuite name=\"s\">".repeat(depth), "</testsuite>".repeat(depth));
    let message = problem_for("deep.xml", xml.as_bytes());
    assert!(message.contains("nested more than"), "{message}");
}

/// Peak RSS in KiB and stdout of `stepkit --format json junit summary --no-fail FILE`, from GNU
/// time; None (after saying why) without it.
fn summary_under_gnu_time(path: &std::path::Path) -> Option<(u64, String)> {
    let time = std::path::Path::new("/usr/bin/time");
    if !time.exists() {
        assert!(!crate::support::in_ci(), "GNU time (/usr/bin/time) is required under CI=true");
        eprintln!("skipping the memory check: /usr/bin/time is not installed");
        return None;
    }
    let out = std::process::Command::new(time)
        .args(["-f", "peak_kib=%M"])
        .arg(env!("CARGO_BIN_EXE_stepkit"))
        .args(["--format", "json", "junit", "summary", "--no-fail"])
        .arg(path)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    let peak = stderr.lines().find_map(|l| l.strip_prefix("peak_kib=")).and_then(|v| v.trim().parse().ok());
    Some((
        peak.unwrap_or_else(|| panic!("no peak from GNU time: {stderr}")),
        String::from_utf8_lossy(&out.stdout).into_owned(),
    ))
}

#[test]
fn many_small_cases_with_small_attributes_read_near_twice_their_size() {
    // googletest/PHPUnit shape: ~180 bytes per case, a handful of short attributes each. Each
    // attribute as two owned strings (and a detail block per case) once took 9x the file size.
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("small.xml");
    let mut file = std::io::BufWriter::new(std::fs::File::create(&path).unwrap());
    file.write_all(b"<testsuites name=\"AllTests\">\n").unwrap();
    let cases = 200_000;
    for suite in 0..cases / 100 {
        writeln!(
            file,
            "<testsuite name=\"pkg.Module{}Test.S{suite}\" timestamp=\"2024-05-01T10:00:00\">",
            suite % 50
        )
        .unwrap();
        for i in 0..100 {
            let n = suite * 100 + i;
            writeln!(
                file,
                "<testcase name=\"t{n}\" classname=\"pkg.Module{}Test\" file=\"tests/m{}.cc\" line=\"{}\" time=\"0.{:03}\" status=\"run\" result=\"completed\" assertions=\"{}\" a=\"{}\" b=\"x{}\"/>",
                suite % 50,
                suite % 50,
                i * 7 + 3,
                n % 1000,
                n % 10,
                n % 100,
                n % 7
            )
            .unwrap();
        }
        file.write_all(b"</testsuite>\n").unwrap();
    }
    file.write_all(b"</testsuites>\n").unwrap();
    drop(file);
    let size_kib = std::fs::metadata(&path).unwrap().len() / 1024;
    let Some((peak, stdout)) = summary_under_gnu_time(&path) else { return };
    let json: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(json["data"]["problems"], serde_json::json!([]), "the file reads");
    assert_eq!(json["data"]["summary"]["counts"]["tests"], cases);
    // The process itself (a debug binary with wasmtime mapped) is measured on a tiny report first.
    let tiny = dir.path().join("tiny.xml");
    std::fs::write(&tiny, "<testsuite name=\"s\"><testcase name=\"a\"/></testsuite>").unwrap();
    let (baseline, _) = summary_under_gnu_time(&tiny).unwrap();
    let used = peak.saturating_sub(baseline);
    assert!(used < size_kib * 5 / 2, "reading a {size_kib} KiB report took {used} KiB above the {baseline} KiB baseline: more than 2.5x its size");
}
