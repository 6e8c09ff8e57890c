//! Forbidden-pattern plugin: scans the changed files for patterns such as TODO or FIXME and
//! reports each match with file and line.
//!
//! Config: `pattern` (a regex, repeatable; default `TODO|FIXME`), `severity` (warning or failure,
//! default warning), `files` (comma-separated paths to scan when the host knows no changed files),
//! `max-findings` (default 200). Files are read through the granted directories.

use regex::Regex;
use stepkit_plugin::{log, Check, CheckError, Context, Finding, Report, Severity};

struct ForbiddenPatterns;

impl Check for ForbiddenPatterns {
    fn run(ctx: &Context) -> Result<Report, CheckError> {
        let patterns = compile_patterns(ctx)?;
        let severity = match ctx.config_or("severity", "warning") {
            "warning" => Severity::Warning,
            "failure" => Severity::Failure,
            other => {
                return Err(CheckError::config(
                    "severity",
                    format!("expected warning or failure, got {other:?}"),
                ))
            }
        };
        let max_findings: usize = ctx.parse_or("max-findings", 200)?;

        let listed: Vec<String> = ctx
            .config("files")
            .map(|list| list.split(',').map(str::trim).filter(|f| !f.is_empty()).map(String::from).collect())
            .unwrap_or_default();
        let files = if ctx.changed_files().is_empty() { &listed[..] } else { ctx.changed_files() };
        if files.is_empty() {
            return Ok(Report::skip("no changed files to scan"));
        }

        let mut findings = Vec::new();
        let mut matches = 0usize;
        let mut scanned = 0usize;
        for file in files {
            // Deleted files and binaries are part of many changes; they simply hold no text to scan.
            let text = match ctx.read_to_string(file) {
                Ok(text) => text,
                Err(why) => {
                    log::debug(format!("skipped: {why:?}"));
                    continue;
                }
            };
            scanned += 1;
            for hit in scan(&text, &patterns) {
                matches += 1;
                if findings.len() < max_findings {
                    let message = format!("forbidden pattern `{}`: {}", hit.matched, hit.line_text);
                    findings.push(Finding::new(severity, message).at(file.as_str(), hit.line));
                }
            }
        }

        let shown = patterns.iter().map(Regex::as_str).collect::<Vec<_>>().join(", ");
        let mut summary = format!("{matches} matches of {shown} in {scanned} of {} files", files.len());
        if matches > findings.len() {
            summary.push_str(&format!(" (first {} shown)", findings.len()));
        }
        Ok(Report::from_findings(summary, findings)
            .with_metric("matches", matches as f64, "count")
            .with_metric("files scanned", scanned as f64, "count"))
    }
}

/// One match: 1-based line number, the matched text and the trimmed line.
struct Hit<'a> {
    line: u32,
    matched: &'a str,
    line_text: &'a str,
}

/// Every (line, pattern) pair that matches, in line order; a line matching two patterns counts twice.
fn scan<'a>(text: &'a str, patterns: &'a [Regex]) -> impl Iterator<Item = Hit<'a>> + 'a {
    text.lines().enumerate().flat_map(move |(index, line)| {
        patterns.iter().filter_map(move |pattern| {
            let found = pattern.find(line)?;
            Some(Hit { line: index as u32 + 1, matched: found.as_str(), line_text: line.trim() })
        })
    })
}

fn compile_patterns(ctx: &Context) -> Result<Vec<Regex>, CheckError> {
    let mut sources: Vec<&str> = ctx.config_all("pattern").collect();
    if sources.is_empty() {
        sources.push(r"\b(TODO|FIXME)\b");
    }
    sources
        .into_iter()
        .map(|source| {
            Regex::new(source).map_err(|e| CheckError::config("pattern", format!("{source:?}: {e}")))
        })
        .collect()
}

stepkit_plugin::export!(ForbiddenPatterns);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reports_line_numbers_and_whole_words_only() {
        let patterns = vec![Regex::new(r"\b(TODO|FIXME)\b").unwrap()];
        let text = "fn a() {}\n  // TODO: later\nlet TODOS = 1;\n// FIXME and TODO\n";
        let hits: Vec<_> = scan(text, &patterns).map(|h| (h.line, h.matched, h.line_text)).collect();
        assert_eq!(hits, [(2, "TODO", "// TODO: later"), (4, "FIXME", "// FIXME and TODO")]);
    }
}
