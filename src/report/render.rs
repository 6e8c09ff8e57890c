//! Renderers for an `Outcome`: human text (stderr), JSON (stdout, result file), markdown (step summary).

use super::{Outcome, Verdict};
use crate::result::{Finished, Stopped};
use crate::sanitize;
use anstyle::{AnsiColor, Style};
use serde_json::Value;

fn verdict_style(verdict: Verdict) -> Style {
    let color = match verdict {
        Verdict::Passed => AnsiColor::Green,
        Verdict::Failed | Verdict::TimedOut | Verdict::Interrupted | Verdict::Terminated => AnsiColor::Red,
        Verdict::NothingRan => AnsiColor::Yellow,
    };
    Style::new().fg_color(Some(color.into())).bold()
}

fn verdict_word(verdict: Verdict) -> &'static str {
    match verdict {
        Verdict::Passed => "passed",
        Verdict::Failed => "failed",
        Verdict::NothingRan => "nothing ran",
        Verdict::TimedOut => "timed out",
        Verdict::Interrupted | Verdict::Terminated => "interrupted",
    }
}

/// Human text: the detail block, warnings, then `stepkit <command>: <verdict>: <headline>`.
/// Styles are always emitted; the stream they go through (anstream) strips them when colour is off.
/// Every part a step filled in is sanitized here, before the styles are added: steps quote untrusted
/// text (test reports, plugin output), and this is the one place it all passes on its way to the log.
pub fn render_human(outcome: &Outcome) -> String {
    let mut out = String::new();
    if !outcome.text.is_empty() {
        out.push_str(&sanitize::text(&outcome.text));
        if !outcome.text.ends_with('\n') {
            out.push('\n');
        }
    }
    let warn = Style::new().fg_color(Some(AnsiColor::Yellow.into())).bold();
    for warning in &outcome.warnings {
        out.push_str(&format!("{warn}warning{warn:#}: {}\n", sanitize::text(warning)));
    }
    let style = verdict_style(outcome.verdict);
    out.push_str(&format!(
        "stepkit {}: {style}{}{style:#}: {}\n",
        outcome.command,
        verdict_word(outcome.verdict),
        sanitize::text(&outcome.headline)
    ));
    out
}

/// The machine-readable form, printed by `--format json` and written to the result file.
pub fn render_json(outcome: &Outcome) -> Value {
    let written = Finished {
        command: &outcome.command,
        verdict: outcome.verdict,
        exit_code: outcome.exit_code(),
        headline: &outcome.headline,
        warnings: &outcome.warnings,
        annotations: &outcome.annotations,
        // Later outputs of the same name win, as they do in $GITHUB_OUTPUT.
        outputs: outcome.outputs.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect(),
        data: &outcome.data,
    };
    serde_json::to_value(written).unwrap_or_default()
}

/// The JSON form of an error that stopped a command before it produced an outcome.
pub fn render_error_json(command: &str, exit_code: i32, message: &str) -> Value {
    serde_json::to_value(Stopped { command, verdict: "error", exit_code, error: message }).unwrap_or_default()
}

/// Markdown: a heading with the verdict, the headline, then the step's own markdown detail.
/// Steps escape what they quote (sanitize::table_cell, code_span, code_block); the headline and the
/// warnings are escaped here, and a last pass over the whole text escapes controls and breaks workflow
/// commands (`--format markdown` prints it on stdout, which the runner reads for commands too).
pub fn render_markdown(outcome: &Outcome) -> String {
    let icon = match outcome.verdict {
        Verdict::Passed => "✅",
        Verdict::NothingRan => "⚠️",
        _ => "❌",
    };
    let mut out = format!(
        "### {icon} stepkit {}: {}\n\n{}\n",
        outcome.command,
        verdict_word(outcome.verdict),
        sanitize::table_cell(&outcome.headline, HEADLINE_MAX)
    );
    if !outcome.markdown.is_empty() {
        out.push('\n');
        out.push_str(&outcome.markdown);
        if !outcome.markdown.ends_with('\n') {
            out.push('\n');
        }
    }
    for warning in &outcome.warnings {
        out.push_str(&format!("\n> **Warning:** {}\n", sanitize::table_cell(warning, HEADLINE_MAX)));
    }
    sanitize::text(&out)
}

/// Longest headline or warning shown in markdown (the JSON keeps them whole).
const HEADLINE_MAX: usize = 2000;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_carries_exit_code_and_outputs() {
        let mut o = Outcome::new("junit summary", Verdict::Failed, "1 failed");
        o.outputs.push(("failed".into(), "1".into()));
        let v = render_json(&o);
        assert_eq!(v["exit_code"], 1);
        assert_eq!(v["verdict"], "failed");
        assert_eq!(v["outputs"]["failed"], "1");
        let read: crate::result::ResultFile<Value> = crate::result::parse(v).unwrap();
        assert_eq!(
            (read.verdict.as_str(), read.exit_code, read.headline.as_deref()),
            ("failed", Some(1), Some("1 failed"))
        );
        let error = render_error_json("gate", 2, "use --url");
        let keys: Vec<_> = error.as_object().unwrap().keys().cloned().collect();
        assert_eq!(
            keys,
            ["command", "error", "exit_code", "verdict"],
            "an error result has no headline or data"
        );
        let read: crate::result::ResultFile<Value> = crate::result::parse(error).unwrap();
        assert_eq!((read.error.as_deref(), read.data), (Some("use --url"), None));
    }

    #[test]
    fn untrusted_parts_are_sanitized_on_the_way_out() {
        let mut o = Outcome::new("junit summary", Verdict::Failed, "1 failed: \u{202e}x ::error::h");
        o.text = "FAIL t\n      ::add-mask::hunter2\n\u{1b}[2J##[error]x\n".into();
        o.warnings.push("::stop-commands::tok3n".into());
        o.markdown = "| `a` |\n::set-output name=a::b\n".into();
        let human = render_human(&o);
        assert!(human.contains("      : :add-mask::hunter2\n\\x1b[2J# #[error]x\n"), "{human}");
        assert!(
            human.contains(": :stop-commands::tok3n") && human.contains("\\u{202e}x ::error::h"),
            "{human}"
        );
        for line in human.lines() {
            assert!(!line.trim_start().starts_with("::") && !line.contains("##["), "{line}");
        }
        let markdown = render_markdown(&o);
        assert!(markdown.contains("\n: :set-output name=a::b\n"), "{markdown}");
        assert!(!markdown.contains('\u{1b}') && !markdown.contains('\u{202e}'), "{markdown}");
    }

    #[test]
    fn human_ends_with_headline_line() {
        let o = Outcome::new("junit merge", Verdict::Passed, "3 tests");
        let text = render_human(&o);
        assert!(text.contains("stepkit junit merge:"));
        assert!(text.trim_end().ends_with("3 tests"));
    }
}
