//! The evidence: every attempt as JSON, per-probe tallies and the last attempts as text and markdown
//! tables, and a container's last log lines made safe to print (no workflow commands, no escapes).

use super::answer::{ms, Verdict};
use super::probe::Attempt;
use crate::result::gate::AttemptData;

/// One attempt as the result file has it.
pub fn attempt_data(attempt: &Attempt, labels: &[String]) -> AttemptData {
    AttemptData {
        // 1-based, as in the tables.
        round: attempt.round.map(|r| r + 1),
        at_ms: attempt.at.as_millis() as u64,
        probe: labels[attempt.probe].clone(),
        outcome: attempt.verdict.word().to_string(),
        detail: attempt.verdict.detail().map(str::to_string),
        error_class: attempt.verdict.class().map(|c| c.as_str().to_string()),
        status: attempt.status,
        latency_ms: (attempt.latency.as_secs_f64() * 100_000.0).round() / 100.0,
    }
}

/// How one probe fared over the whole gate.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Tally {
    pub pass: usize,
    pub starting: usize,
    pub wrong: usize,
    pub error: usize,
    pub fatal: usize,
}

/// Per probe: counts of each kind of attempt.
pub fn tallies(attempts: &[Attempt], probes: usize) -> Vec<Tally> {
    let mut out = vec![Tally::default(); probes];
    for a in attempts {
        let t = &mut out[a.probe];
        match a.verdict {
            Verdict::Pass => t.pass += 1,
            Verdict::Starting(_) => t.starting += 1,
            Verdict::Wrong(_) => t.wrong += 1,
            Verdict::Error { .. } => t.error += 1,
            Verdict::Fatal(_) => t.fatal += 1,
        }
    }
    out
}

/// The result column: `pass`, `starting`, `wrong`, `error (refused)`, `fatal`.
fn result(verdict: &Verdict) -> String {
    match verdict.class() {
        Some(class) => format!("error ({})", class.as_str()),
        None => verdict.word().to_string(),
    }
}

fn last_of(attempts: &[Attempt], probe: usize) -> Option<&Attempt> {
    attempts.iter().rev().find(|a| a.probe == probe)
}

fn describe(a: &Attempt) -> String {
    let mut text = result(&a.verdict);
    if let Some(status) = a.status {
        text.push_str(&format!(" {status}"));
    }
    if let Some(detail) = a.verdict.detail() {
        text.push_str(&format!(": {detail}"));
    }
    text
}

/// What an attempt said, for headlines: `GET http://x/: error (refused): connection refused`.
pub fn one_line(a: &Attempt, labels: &[String]) -> String {
    format!("{}: {}", labels[a.probe], describe(a))
}

/// Columns padded to their widest cell; the last column is not padded.
fn aligned(rows: &[Vec<String>]) -> String {
    let columns = rows.iter().map(Vec::len).max().unwrap_or(0);
    let widths: Vec<usize> = (0..columns)
        .map(|c| rows.iter().filter_map(|r| r.get(c)).map(|s| s.chars().count()).max().unwrap_or(0))
        .collect();
    let mut out = String::new();
    for row in rows {
        let mut line = String::from("  ");
        for (c, cell) in row.iter().enumerate() {
            if c + 1 == row.len() {
                line.push_str(cell);
            } else {
                line.push_str(&format!("{cell:<width$}  ", width = widths[c]));
            }
        }
        out.push_str(line.trim_end());
        out.push('\n');
    }
    out
}

/// Per probe: attempts by kind and the last result.
pub fn probes_text(labels: &[String], attempts: &[Attempt]) -> String {
    let mut rows = vec![vec![
        "probe".into(),
        "pass".into(),
        "starting".into(),
        "wrong".into(),
        "error".into(),
        "last".into(),
    ]];
    for (i, (label, t)) in labels.iter().zip(tallies(attempts, labels.len())).enumerate() {
        let last = last_of(attempts, i).map(describe).unwrap_or_else(|| "not tried".into());
        rows.push(vec![
            label.clone(),
            t.pass.to_string(),
            t.starting.to_string(),
            t.wrong.to_string(),
            (t.error + t.fatal).to_string(),
            last,
        ]);
    }
    aligned(&rows)
}

/// The attempts given (usually the last few), oldest first.
pub fn attempts_text(labels: &[String], attempts: &[Attempt]) -> String {
    let mut rows = vec![vec![
        "at".into(),
        "round".into(),
        "probe".into(),
        "result".into(),
        "status".into(),
        "latency".into(),
        "detail".into(),
    ]];
    for a in attempts {
        rows.push(vec![
            format!("+{:.3}s", a.at.as_secs_f64()),
            a.round.map_or("-".into(), |r| (r + 1).to_string()),
            labels[a.probe].clone(),
            result(&a.verdict),
            a.status.map_or("-".into(), |s| s.to_string()),
            ms(a.latency),
            a.verdict.detail().unwrap_or_default().to_string(),
        ]);
    }
    aligned(&rows)
}

/// A markdown table cell: no pipes or newlines breaking the table.
fn cell(text: &str) -> String {
    text.replace('\\', "\\\\").replace('|', "\\|").replace(['\n', '\r'], " ")
}

/// Per probe, as a markdown table.
pub fn probes_markdown(labels: &[String], attempts: &[Attempt]) -> String {
    let mut out = String::from(
        "| Probe | Pass | Starting | Wrong | Error | Last result |\n|---|--:|--:|--:|--:|---|\n",
    );
    for (i, (label, t)) in labels.iter().zip(tallies(attempts, labels.len())).enumerate() {
        let last = last_of(attempts, i).map(describe).unwrap_or_else(|| "not tried".into());
        out.push_str(&format!(
            "| `{}` | {} | {} | {} | {} | {} |\n",
            cell(label).replace('`', "'"),
            t.pass,
            t.starting,
            t.wrong,
            t.error + t.fatal,
            cell(&last)
        ));
    }
    out
}

/// The attempts given, as a markdown table.
pub fn attempts_markdown(labels: &[String], attempts: &[Attempt]) -> String {
    let mut out = String::from(
        "| At | Round | Probe | Result | Status | Latency | Detail |\n|--:|--:|---|---|--:|--:|---|\n",
    );
    for a in attempts {
        out.push_str(&format!(
            "| +{:.3}s | {} | {} | {} | {} | {} | {} |\n",
            a.at.as_secs_f64(),
            a.round.map_or("-".into(), |r| (r + 1).to_string()),
            cell(&labels[a.probe]),
            result(&a.verdict),
            a.status.map_or("-".into(), |s| s.to_string()),
            ms(a.latency),
            cell(a.verdict.detail().unwrap_or_default()),
        ));
    }
    out
}

/// A log line as it may be printed: control characters (terminal escapes) dropped.
pub fn clean_line(line: &str) -> String {
    line.chars().filter(|c| !c.is_control() || *c == '\t').collect()
}

/// Log lines for the terminal, indented: a container cannot issue workflow commands (`::add-mask::`,
/// `::set-output`) through them, since those must start a line.
pub fn logs_text(name: &str, logs: &Result<Vec<String>, String>) -> String {
    match logs {
        Ok(lines) if lines.is_empty() => format!("container {name} wrote no log lines\n"),
        Ok(lines) => {
            let mut out = format!("last {} log lines of container {name}:\n", lines.len());
            for line in lines {
                out.push_str(&format!("  | {}\n", clean_line(line)));
            }
            out
        }
        Err(message) => format!("could not {message}\n"),
    }
}

/// Log lines in a fenced block longer than any backtick run inside them.
pub fn logs_markdown(name: &str, logs: &Result<Vec<String>, String>) -> String {
    match logs {
        Ok(lines) if lines.is_empty() => format!("Container `{name}` wrote no log lines.\n"),
        Ok(lines) => {
            let body: Vec<String> = lines.iter().map(|l| clean_line(l)).collect();
            let longest = body.iter().map(|l| crate::sanitize::longest_run(l, '`')).max().unwrap_or(0);
            let fence = "`".repeat(longest.max(2) + 1);
            format!("<details><summary>Last {} log lines of container <code>{name}</code></summary>\n\n{fence}\n{}\n{fence}\n\n</details>\n", lines.len(), body.join("\n"))
        }
        Err(message) => format!("Could not {}.\n", cell(message)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::steps::gate::answer::ErrorClass;
    use std::time::Duration;

    fn attempts() -> (Vec<String>, Vec<Attempt>) {
        let labels = vec!["GET http://127.0.0.1:8080/health".to_string(), "tcp db:5432".to_string()];
        let a = |round, probe, verdict, status| Attempt {
            round: Some(round),
            at: Duration::from_millis(round as u64 * 2000),
            probe,
            verdict,
            status,
            latency: Duration::from_millis(3),
        };
        let list = vec![
            a(
                0,
                0,
                Verdict::Error { class: ErrorClass::Refused, message: "connection refused".into() },
                None,
            ),
            a(0, 1, Verdict::Pass, None),
            a(1, 0, Verdict::Wrong("status 503 (expected 200-399); body: a|b".into()), Some(503)),
            a(1, 1, Verdict::Pass, None),
        ];
        (labels, list)
    }

    #[test]
    fn attempts_as_json_tell_errors_from_wrong_answers() {
        let (labels, list) = attempts();
        let first = serde_json::to_value(attempt_data(&list[0], &labels)).unwrap();
        assert_eq!(first["outcome"], "error");
        assert_eq!(first["error_class"], "refused");
        assert_eq!(first["status"], serde_json::Value::Null);
        let third = serde_json::to_value(attempt_data(&list[2], &labels)).unwrap();
        assert_eq!(
            (third["outcome"].as_str(), third["status"].as_u64(), third["at_ms"].as_u64()),
            (Some("wrong"), Some(503), Some(2000))
        );
        assert_eq!(third["error_class"], serde_json::Value::Null);
        assert_eq!(third["latency_ms"], 3.0);
    }

    #[test]
    fn tables_in_text_and_markdown() {
        let (labels, list) = attempts();
        assert_eq!(
            tallies(&list, 2),
            vec![Tally { wrong: 1, error: 1, ..Tally::default() }, Tally { pass: 2, ..Tally::default() }]
        );
        let text = attempts_text(&labels, &list);
        assert_eq!(text.lines().count(), 5);
        assert!(text.lines().nth(1).unwrap().contains("error (refused)"));
        let md = attempts_markdown(&labels, &list);
        assert!(md.contains("body: a\\|b"), "pipes escaped: {md}");
        assert_eq!(md.lines().count(), 6);
        let probes = probes_markdown(&labels, &list);
        assert!(probes.contains("| `tcp db:5432` | 2 | 0 | 0 | 0 | pass |"), "{probes}");
        assert!(probes_text(&labels, &list).contains("wrong 503: status 503"));
    }

    #[test]
    fn log_lines_cannot_issue_workflow_commands_or_escapes() {
        let logs = Ok(vec![
            "::add-mask::x".to_string(),
            "\u{1b}[31mred\u{1b}[0m".to_string(),
            "``` fence".to_string(),
        ]);
        let text = logs_text("web", &logs);
        assert!(text.lines().all(|l| !l.starts_with("::")), "{text}");
        assert!(text.contains("  | [31mred[0m"), "{text}");
        let md = logs_markdown("web", &logs);
        assert!(md.contains("````\n::add-mask::x"), "{md}");
        assert!(logs_text("web", &Err("read the logs of web: gone".into()))
            .starts_with("could not read the logs"));
    }
}
