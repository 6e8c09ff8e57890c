//! Turns plugin runs into the step's outcome: text, the markdown table, annotations, JSON and outputs.

use crate::plugin::contract::{self, Shape};
use crate::plugin::{sanitize, PluginRun, Severity, Verdict as CheckVerdict};
use crate::report::{Annotation, AnnotationLevel, Live, Outcome, Verdict};
use crate::result::check::{
    CheckData, InspectData, PluginData, PluginErrorData, CHECK_VERSION, INSPECT_VERSION,
};
use std::path::Path;

/// Findings listed per plugin in the step summary; the JSON has them all (up to the plugin's limit).
const SUMMARY_FINDINGS: usize = 50;

fn verdict_word(run: &PluginRun) -> &'static str {
    match &run.result {
        Ok(report) => match report.verdict {
            CheckVerdict::Pass => "pass",
            CheckVerdict::Warn => "warn",
            CheckVerdict::Fail => "fail",
            CheckVerdict::Skip => "skip",
            CheckVerdict::Error => "error",
        },
        Err(_) => "error",
    }
}

fn one_line(run: &PluginRun) -> String {
    match &run.result {
        Ok(report) => report.summary.clone(),
        Err(e) => format!("{} ({}): {}", e.kind.describe(), kebab(e.kind), e.message),
    }
}

fn kebab(kind: crate::plugin::PluginErrorKind) -> String {
    serde_json::to_value(kind).ok().and_then(|v| v.as_str().map(str::to_string)).unwrap_or_default()
}

/// The plugin's own lines (logs, stdout, stderr), printed as a block when it finishes.
pub fn stream(run: &PluginRun, live: &mut dyn Live) {
    let mut body = String::new();
    for line in &run.logs {
        body.push_str(&format!("[{}] {}\n", line.level, line.message));
    }
    if run.logs_dropped > 0 {
        body.push_str(&format!(
            "[stepkit] {} more log lines dropped (over the log limit)\n",
            run.logs_dropped
        ));
    }
    for line in &run.stdout {
        body.push_str(&format!("[stdout] {line}\n"));
    }
    for line in &run.stderr {
        body.push_str(&format!("[stderr] {line}\n"));
    }
    if run.output_dropped > 0 {
        body.push_str(&format!(
            "[stepkit] {} bytes of stdout/stderr dropped (over the output limit)\n",
            run.output_dropped
        ));
    }
    let title = format!("check {}: {} ({} ms)", run.name, verdict_word(run), run.duration_ms);
    if body.is_empty() {
        live.line(&title);
    } else {
        live.block(&title, &body);
    }
}

/// Whether this run fails the step: fail, error (its own or the host's), and warn under --strict.
fn fails(run: &PluginRun, strict: bool) -> bool {
    match &run.result {
        Ok(report) => {
            matches!(report.verdict, CheckVerdict::Fail | CheckVerdict::Error)
                || (strict && report.verdict == CheckVerdict::Warn)
        }
        Err(_) => true,
    }
}

/// The outcome of a `stepkit check` run.
pub fn build(runs: &[PluginRun], strict: bool) -> Outcome {
    let count = |word: &str| runs.iter().filter(|r| verdict_word(r) == word).count();
    let failing: Vec<&str> = runs.iter().filter(|r| fails(r, strict)).map(|r| r.name.as_str()).collect();
    let counts: Vec<String> = ["pass", "warn", "fail", "skip", "error"]
        .iter()
        .filter(|w| count(w) > 0)
        .map(|w| format!("{} {w}", count(w)))
        .collect();
    let counts = if counts.is_empty() { "none finished".to_string() } else { counts.join(", ") };
    let mut headline = format!("{} check{}: {counts}", runs.len(), if runs.len() == 1 { "" } else { "s" });
    if !failing.is_empty() {
        headline.push_str(&format!("; failing: {}", failing.join(", ")));
    }
    let verdict = if failing.is_empty() { Verdict::Passed } else { Verdict::Failed };
    let mut outcome = Outcome::new("check", verdict, headline);
    outcome.text = text(runs);
    outcome.markdown = markdown(runs);
    outcome.step_summary = true;
    outcome.annotations = annotations(runs);
    outcome.set_data(&CheckData {
        schema_version: CHECK_VERSION,
        strict,
        plugins: runs.iter().map(run_data).collect(),
    });
    outcome.outputs = vec![
        ("checks".into(), runs.len().to_string()),
        ("failed".into(), failing.len().to_string()),
        ("warned".into(), count("warn").to_string()),
    ];
    if strict && count("warn") > 0 {
        outcome.warnings.push("--strict: warn verdicts fail the step".into());
    }
    outcome
}

fn text(runs: &[PluginRun]) -> String {
    let mut out = String::new();
    let width = runs.iter().map(|r| r.name.chars().count()).max().unwrap_or(0);
    for run in runs {
        out.push_str(&format!("  {:<width$}  {:<5}  {}\n", run.name, verdict_word(run), one_line(run)));
        if let Ok(report) = &run.result {
            for f in &report.findings {
                let place = match (&f.file, f.line) {
                    (Some(file), Some(line)) => format!("{file}:{line}: "),
                    (Some(file), None) => format!("{file}: "),
                    _ => String::new(),
                };
                out.push_str(&format!(
                    "  {:<width$}    {}: {place}{}\n",
                    "",
                    severity_word(f.severity),
                    f.message
                ));
            }
            for m in &report.metrics {
                out.push_str(&format!("  {:<width$}    {} = {} {}\n", "", m.name, m.value, m.unit));
            }
            if report.dropped > 0 {
                out.push_str(&format!(
                    "  {:<width$}    ({} more findings/metrics dropped: over the limit)\n",
                    "", report.dropped
                ));
            }
        }
    }
    out
}

fn severity_word(s: Severity) -> &'static str {
    match s {
        Severity::Notice => "notice",
        Severity::Warning => "warning",
        Severity::Failure => "failure",
    }
}

fn markdown(runs: &[PluginRun]) -> String {
    let mut out = String::from("| Check | Verdict | Summary | Findings | Time |\n|---|---|---|---:|---:|\n");
    for run in runs {
        let findings = run.result.as_ref().map(|r| r.findings.len()).unwrap_or(0);
        out.push_str(&format!(
            "| {} | {} | {} | {findings} | {} ms |\n",
            sanitize::table_cell(&run.name, 100),
            verdict_word(run),
            sanitize::table_cell(&one_line(run), 300),
            run.duration_ms
        ));
    }
    for run in runs {
        let Ok(report) = &run.result else { continue };
        if report.findings.is_empty() {
            continue;
        }
        out.push_str(&format!("\n**{}**\n\n", sanitize::table_cell(&run.name, 100)));
        for f in report.findings.iter().take(SUMMARY_FINDINGS) {
            let place = f
                .file
                .as_ref()
                .map(|file| {
                    format!(
                        "{} ",
                        sanitize::code_span(
                            &format!("{file}{}", f.line.map(|l| format!(":{l}")).unwrap_or_default()),
                            300
                        )
                    )
                })
                .unwrap_or_default();
            out.push_str(&format!(
                "- {}: {place}{}\n",
                severity_word(f.severity),
                sanitize::table_cell(&f.message, 500)
            ));
        }
        if report.findings.len() > SUMMARY_FINDINGS {
            out.push_str(&format!(
                "- … {} more in the JSON result\n",
                report.findings.len() - SUMMARY_FINDINGS
            ));
        }
    }
    out
}

fn annotations(runs: &[PluginRun]) -> Vec<Annotation> {
    let mut out = Vec::new();
    for run in runs {
        match &run.result {
            Ok(report) => out.extend(report.findings.iter().map(|f| Annotation {
                level: match f.severity {
                    Severity::Failure => AnnotationLevel::Error,
                    Severity::Warning => AnnotationLevel::Warning,
                    Severity::Notice => AnnotationLevel::Notice,
                },
                title: Some(format!("check {}", run.name)),
                message: f.message.clone(),
                file: f.file.clone(),
                line: f.line,
            })),
            Err(e) => out.push(Annotation {
                level: AnnotationLevel::Error,
                title: Some(format!("check {}", run.name)),
                message: e.to_string(),
                file: None,
                line: None,
            }),
        }
    }
    out
}

fn run_data(run: &PluginRun) -> PluginData<'_> {
    let (report, error) = match &run.result {
        Ok(report) => (Some(report), None),
        Err(e) => (None, Some(PluginErrorData { kind: e.kind, message: e.message.clone() })),
    };
    PluginData { verdict: verdict_word(run), report, error, run }
}

/// The outcome of `stepkit plugin inspect`: passed when this host can run the component.
pub fn inspected(file: &Path, shape: &Shape) -> Outcome {
    let compatible = contract::check_compatible(shape);
    let headline = match (&compatible, &shape.contract) {
        (Ok(()), Some(version)) => {
            format!("{} speaks stepkit:check {version}; this host runs it", file.display())
        }
        (Err((_, why)), _) => format!("{} cannot run here: {why}", file.display()),
        (Ok(()), None) => unreachable!("a compatible shape has a contract"),
    };
    let verdict = if compatible.is_ok() { Verdict::Passed } else { Verdict::Failed };
    let mut outcome = Outcome::new("plugin inspect", verdict, headline);
    let mut text = format!("contract: {}\nexports:\n", shape.contract.as_deref().unwrap_or("none"));
    for e in &shape.exports {
        text.push_str(&format!("  {}{}\n", e.name, functions(&e.functions)));
    }
    text.push_str("imports (what it asks for, and what stepkit grants):\n");
    for i in &shape.imports {
        text.push_str(&format!(
            "  {}{}\n      {}\n",
            i.name,
            functions(&i.functions),
            i.capability.as_deref().unwrap_or("")
        ));
    }
    outcome.text = text;
    outcome.set_data(&InspectData {
        schema_version: INSPECT_VERSION,
        file: file.to_path_buf(),
        contract: shape.contract.clone(),
        compatible: compatible.is_ok(),
        exports: shape.exports.clone(),
        imports: shape.imports.clone(),
    });
    outcome
}

fn functions(names: &[String]) -> String {
    if names.is_empty() {
        String::new()
    } else {
        format!(": {}", names.join(", "))
    }
}
