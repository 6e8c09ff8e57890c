//! How a JUnit summary is shown: the counts in one line and as step outputs, failures for people
//! (text), for the step summary (markdown, every report string quoted) and as annotations. Shared by
//! `junit summary`, `junit merge` and `test`.

use super::{Counts, FailedTest, Summary};
use crate::report::{Annotation, AnnotationLevel};
use crate::sanitize;
use std::fmt::Write;
use std::path::Path;

/// Lines of failure text shown per failed test in human output (the JUnit file has them all).
const TEXT_LINES: usize = 12;

/// "12 tests: 9 passed, 1 failed, 1 error, 1 skipped, 1 flaky".
pub fn describe_counts(c: &Counts) -> String {
    let mut text = format!(
        "{} test{}: {} passed, {} failed, {} error{}, {} skipped",
        c.tests,
        plural(c.tests),
        c.passed,
        c.failures,
        c.errors,
        plural(c.errors),
        c.skipped
    );
    if c.flaky > 0 {
        text.push_str(&format!(" ({} flaky)", c.flaky));
    }
    text
}

/// The step outputs every junit command sets.
pub fn count_outputs(c: &Counts) -> Vec<(String, String)> {
    [
        ("tests", c.tests),
        ("passed", c.passed),
        ("failures", c.failures),
        ("errors", c.errors),
        ("skipped", c.skipped),
        ("flaky", c.flaky),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect()
}

pub fn plural(n: u64) -> &'static str {
    if n == 1 {
        ""
    } else {
        "s"
    }
}

/// `file` relative to the workspace when it is under it: annotations need checkout-relative paths.
pub fn relative(file: &str, workspace: Option<&Path>) -> String {
    match workspace.and_then(|w| Path::new(file).strip_prefix(w).ok()) {
        Some(rel) => rel.display().to_string(),
        None => file.to_string(),
    }
}

fn location(f: &FailedTest) -> Option<String> {
    match (&f.file, f.line) {
        (Some(file), Some(line)) => Some(format!("{file}:{line}")),
        (Some(file), None) => Some(file.clone()),
        _ => None,
    }
}

/// Failures, flaky and slowest tests for people.
pub fn human(s: &Summary) -> String {
    let mut out = String::new();
    for f in &s.failed {
        let label = if f.kind == "error" { "ERROR" } else { "FAIL " };
        let _ = writeln!(out, "{label} {}", f.id);
        if let Some(loc) = location(f) {
            let _ = writeln!(out, "      at {loc}");
        }
        if let Some(message) = &f.message {
            for line in message.lines().take(TEXT_LINES) {
                let _ = writeln!(out, "      {line}");
            }
        }
        if let Some(details) = &f.details {
            let lines: Vec<&str> = details.lines().filter(|l| !l.trim().is_empty()).collect();
            for line in lines.iter().take(TEXT_LINES) {
                let _ = writeln!(out, "      | {line}");
            }
            if lines.len() > TEXT_LINES {
                let _ =
                    writeln!(out, "      | … {} more lines in the JUnit report", lines.len() - TEXT_LINES);
            }
        }
    }
    for id in &s.flaky {
        let _ = writeln!(out, "FLAKY {id}");
    }
    if !s.slowest.is_empty() {
        let _ = writeln!(out, "Slowest tests:");
        for t in &s.slowest {
            let _ = writeln!(out, "  {:>9.3}s  {}", t.time, t.id);
        }
    }
    out
}

/// Longest test id or location quoted in markdown (the JUnit file and the JSON keep them whole).
const ID_MAX: usize = 500;

/// The step summary. Every string from the report is quoted so it renders literally: HTML-escaped
/// inside `<summary>`, in code spans and fenced blocks longer than any backtick run it contains, so a
/// message cannot close its block and render a link, an image or HTML.
pub fn markdown(s: &Summary) -> String {
    let c = &s.counts;
    let mut out = String::new();
    let _ = writeln!(out, "| Tests | Passed | Failed | Errors | Skipped | Flaky | Time |");
    let _ = writeln!(out, "|---:|---:|---:|---:|---:|---:|---:|");
    let _ = writeln!(
        out,
        "| {} | {} | {} | {} | {} | {} | {:.3}s |\n",
        c.tests, c.passed, c.failures, c.errors, c.skipped, c.flaky, c.time
    );
    if !s.failed.is_empty() {
        let _ = writeln!(out, "#### Failed tests\n");
        for f in &s.failed {
            // Markdown is not parsed inside this raw HTML line, so HTML escaping is what it needs.
            let loc = location(f)
                .map(|l| format!(" — <code>{}</code>", sanitize::html(&l, ID_MAX)))
                .unwrap_or_default();
            let _ = writeln!(
                out,
                "<details><summary><code>{}</code>{}</summary>\n",
                sanitize::html(&f.id, ID_MAX),
                loc
            );
            if let Some(message) = &f.message {
                let _ = writeln!(out, "{}", sanitize::code_block(message, "text"));
            }
            if let Some(details) = &f.details {
                let _ = writeln!(out, "{}", sanitize::code_block(details, "text"));
            }
            let _ = writeln!(out, "</details>\n");
        }
    }
    if !s.flaky.is_empty() {
        let _ = writeln!(out, "#### Flaky tests (passed on retry)\n");
        for id in &s.flaky {
            let _ = writeln!(out, "- {}", sanitize::code_span(id, ID_MAX));
        }
        out.push('\n');
    }
    if !s.slowest.is_empty() {
        let _ = writeln!(out, "#### Slowest tests\n\n| Time | Test |\n|---:|---|");
        for t in &s.slowest {
            let _ = writeln!(out, "| {:.3}s | {} |", t.time, sanitize::code_span(&t.id, ID_MAX));
        }
    }
    out
}

/// One annotation per failure and flaky test, and one per unreadable report.
pub fn annotations(s: &Summary, problems: &[String]) -> Vec<Annotation> {
    let mut out: Vec<Annotation> = s
        .failed
        .iter()
        .map(|f| {
            let mut message = f.message.clone().unwrap_or_default();
            if let Some(details) = &f.details {
                if !message.is_empty() {
                    message.push_str("\n\n");
                }
                message.push_str(details);
            }
            Annotation {
                level: AnnotationLevel::Error,
                title: Some(format!("{} {}", if f.kind == "error" { "Error in" } else { "Failed:" }, f.id)),
                message: if message.is_empty() { "test failed".into() } else { message },
                file: f.file.clone(),
                line: f.line,
            }
        })
        .collect();
    out.extend(s.flaky.iter().map(|id| Annotation {
        level: AnnotationLevel::Warning,
        title: Some(format!("Flaky: {id}")),
        message: "failed, then passed on a retry".into(),
        file: None,
        line: None,
    }));
    out.extend(problems.iter().map(|p| Annotation {
        level: AnnotationLevel::Warning,
        title: Some("Unreadable JUnit report".into()),
        message: p.clone(),
        file: None,
        line: None,
    }));
    out
}
