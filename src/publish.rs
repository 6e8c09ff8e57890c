//! Publishing an outcome: human text to stderr, JSON/markdown to stdout, CI sinks, the result file, the exit code.

use crate::ci::{write_result_file, Provider, Sinks};
use crate::error::Error;
use crate::exit;
use crate::report::Live;
use crate::report::{render_error_json, render_human, render_json, render_markdown, Outcome};
use crate::sanitize;
use crate::settings::{Format, GlobalSettings};
use std::io::Write;

/// Publishes what a command produced and returns the process exit code.
pub fn publish(
    command: &str,
    result: Result<Outcome, Error>,
    global: &GlobalSettings,
    sinks: &mut Sinks,
) -> i32 {
    match result {
        Ok(outcome) => publish_outcome(&outcome, global, sinks),
        Err(err) => {
            let code = err.exit_code();
            report_error(command, &err.to_string(), code, global.format == Format::Json);
            if let Some(path) = &global.result_file {
                if let Err(e) = write_result_file(path, &render_error_json(command, code, &err.to_string())) {
                    anstream::eprintln!("error: failed to {e}");
                }
            }
            code
        }
    }
}

/// Reports an error that happened before settings existed (bad config, bad env var).
pub fn early_error(command: &str, err: &Error) -> i32 {
    let code = err.exit_code();
    report_error(command, &err.to_string(), code, false);
    code
}

fn report_error(command: &str, message: &str, code: i32, json: bool) {
    // An error can quote what it could not read (a report, a plugin, a path): untrusted text.
    anstream::eprintln!("error: failed to {}", sanitize::text(message));
    if json {
        println!("{}", render_error_json(command, code, message));
    }
}

fn publish_outcome(outcome: &Outcome, global: &GlobalSettings, sinks: &mut Sinks) -> i32 {
    let mut code = outcome.exit_code();
    let mut sink_failed = |what: String| {
        anstream::eprintln!("error: failed to {}", sanitize::text(&what));
        code = code.max(exit::ENVIRONMENT);
    };
    if let Err(e) = sinks.annotate(&outcome.annotations) {
        sink_failed(format!("write annotations: {e}"));
    }
    if let Err(e) = sinks.set_outputs(&outcome.outputs) {
        sink_failed(e.to_string());
    }
    if outcome.step_summary {
        if let Err(e) = sinks.write_step_summary(&render_markdown(outcome)) {
            sink_failed(e.to_string());
        }
    }
    if let Some(path) = &global.result_file {
        if let Err(e) = write_result_file(path, &render_json(outcome)) {
            sink_failed(e.to_string());
        }
    }

    let human = render_human(outcome);
    let human =
        if global.quiet { human.lines().last().map(|l| format!("{l}\n")).unwrap_or_default() } else { human };
    let mut stdout = std::io::stdout().lock();
    let written = match global.format {
        Format::Json => {
            writeln!(stdout, "{}", serde_json::to_string_pretty(&render_json(outcome)).unwrap_or_default())
        }
        // The runner reads workflow commands on stdout too; render_markdown has sanitized its text.
        Format::Markdown => write!(stdout, "{}", render_markdown(outcome)),
        Format::Text => match &outcome.stdout {
            Some(raw) => write!(stdout, "{raw}"),
            None => Ok(()),
        },
    };
    let _ = stdout.flush();
    // Raw stdout payloads (completions, man) are the whole point; skip the human line so
    // `stepkit completions bash > file` stays quiet.
    if outcome.stdout.is_none() || global.format != Format::Text {
        anstream::eprint!("{human}");
    }
    if let Err(e) = written {
        // A closed pipe (`| head`) is not worth a second error.
        if e.kind() != std::io::ErrorKind::BrokenPipe {
            anstream::eprintln!("error: failed to write to stdout: {e}");
            code = code.max(exit::ENVIRONMENT);
        }
    }
    code
}

/// Longest group title shown (a title can carry a test file's or a plugin's name).
const TITLE_MAX: usize = 300;

/// Live output of a running step: status lines and whole blocks on stderr, blocks folded into a
/// group where the CI supports it.
pub struct StderrLive<'a> {
    pub sinks: &'a mut Sinks,
    pub quiet: bool,
}

impl Live for StderrLive<'_> {
    fn line(&mut self, text: &str) {
        if !self.quiet {
            anstream::eprintln!("{}", sanitize::text(text));
        }
    }

    fn group_start(&mut self, title: &str) {
        self.sinks.group_start(title);
        if matches!(self.sinks.provider(), Provider::Jenkins | Provider::Local) && !self.quiet {
            anstream::eprintln!("──── {} ────", sanitize::line(title, TITLE_MAX));
        }
    }

    fn group_end(&mut self) {
        self.sinks.group_end();
    }

    fn mask(&mut self, secret: &str) {
        self.sinks.mask(secret);
    }

    fn block(&mut self, title: &str, body: &str) {
        self.sinks.group_start(title);
        // One write for the whole block, so a heartbeat line cannot land in the middle of it.
        let mut text = String::new();
        if matches!(self.sinks.provider(), Provider::Jenkins | Provider::Local) {
            text.push_str(&format!("──── {} ────\n", sanitize::line(title, TITLE_MAX)));
        }
        // A block is a test's or a plugin's own output: untrusted, every line of it.
        let body = sanitize::text(body);
        text.push_str(&body);
        if !body.ends_with('\n') {
            text.push('\n');
        }
        let mut stderr = std::io::stderr().lock();
        let _ = stderr.write_all(text.as_bytes());
        let _ = stderr.flush();
        drop(stderr);
        self.sinks.group_end();
    }
}
