//! {{name}}: a stepkit check plugin. It fails when a change touches more files than `max-files`.

use stepkit_plugin::{log, Check, CheckError, Context, Finding, Report};

struct Plugin;

impl Check for Plugin {
    fn run(ctx: &Context) -> Result<Report, CheckError> {
        // Config comes from `--set max-files=N` or the `config` table of the [[check]] in stepkit.toml.
        let max_files: usize = ctx.parse_or("max-files", 50)?;
        let changed = ctx.changed_files();
        log::info(format!("{} changed files", changed.len()));

        if changed.is_empty() {
            return Ok(Report::skip("no changed files known"));
        }
        let summary = format!("{} files changed (at most {max_files})", changed.len());
        let report = if changed.len() > max_files {
            Report::fail(summary).with_finding(Finding::failure("split this change into smaller ones"))
        } else {
            Report::pass(summary)
        };
        Ok(report.with_metric("changed files", changed.len() as f64, "count"))
    }
}

stepkit_plugin::export!(Plugin);
