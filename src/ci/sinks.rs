//! `Sinks`: where a run publishes to its CI system (masks, log groups, annotations, step outputs, step summary).

use std::collections::HashMap;
use std::io::Write;
use std::path::PathBuf;
use std::time::{SystemTime, UNIX_EPOCH};

use super::annotations::{escape_data, format_annotation, limit_annotations};
use super::github_files::{append_outputs, append_summary};
use super::{CiError, Context, Env, Provider};
use crate::report::{Annotation, AnnotationLevel};

/// The per-run output sinks; each method does what the current provider understands and nothing elsewhere.
pub struct Sinks {
    provider: Provider,
    /// Workflow commands and section markers go here (the lead passes stderr; stdout is kept for JSON).
    out: Box<dyn Write + Send>,
    github_output: Option<PathBuf>,
    step_summary: Option<PathBuf>,
    /// Open groups, innermost last: GitLab section ids (GitLab nests sections; GitHub does not, see group_start).
    open_groups: Vec<String>,
    /// How often each GitLab section id was used, to keep ids unique within the job log.
    section_ids: HashMap<String, usize>,
}

impl Sinks {
    /// Sinks for `ctx`'s provider; on GitHub the `GITHUB_OUTPUT` and `GITHUB_STEP_SUMMARY` files come from `env`.
    pub fn new(ctx: &Context, env: &Env, out: Box<dyn Write + Send>) -> Sinks {
        let on_github = ctx.provider == Provider::GitHubActions;
        let github_file = |key| env.get(key).filter(|_| on_github).map(PathBuf::from);
        Sinks {
            provider: ctx.provider,
            out,
            github_output: github_file("GITHUB_OUTPUT"),
            step_summary: github_file("GITHUB_STEP_SUMMARY"),
            open_groups: Vec::new(),
            section_ids: HashMap::new(),
        }
    }

    /// The provider these sinks publish to.
    pub fn provider(&self) -> Provider {
        self.provider
    }

    /// Ask the CI system to hide `secret` in all later log output (GitHub `::add-mask::`; elsewhere a no-op).
    pub fn mask(&mut self, secret: &str) {
        if self.provider != Provider::GitHubActions {
            return;
        }
        // The runner masks log lines one at a time, so a multi-line secret only stays hidden if every line is
        // registered too. Blank lines are skipped: masking " " would star out every space in the log.
        let mut values = vec![secret];
        if secret.contains(['\n', '\r']) {
            values.extend(secret.split('\n').map(|l| l.trim_end_matches('\r')));
        }
        let mut text = String::new();
        for value in values.into_iter().filter(|v| !v.trim().is_empty()) {
            text.push_str(&format!("::add-mask::{}\n", escape_data(value)));
        }
        self.emit(&text);
    }

    /// Start a collapsible log group (GitHub `::group::`, GitLab section); a no-op on Jenkins and locally.
    pub fn group_start(&mut self, title: &str) {
        // A title can name a test file or a plugin: no controls (GitLab's markers are ESC sequences).
        let title = &crate::sanitize::line(title, 300);
        match self.provider {
            Provider::GitHubActions => {
                // GitHub cannot nest groups: a second ::group:: silently ends the first. Inner groups are folded
                // into the outermost one, which stays open until its own group_end.
                if self.open_groups.is_empty() {
                    self.emit(&format!("::group::{}\n", escape_data(title)));
                }
                self.open_groups.push(String::new());
            }
            Provider::GitLab => {
                let id = self.section_id(title);
                let title = title.replace(['\r', '\n'], " ");
                let line =
                    format!("\x1b[0Ksection_start:{}:{id}[collapsed=true]\r\x1b[0K{title}\n", unix_time());
                self.open_groups.push(id);
                self.emit(&line);
            }
            Provider::Jenkins | Provider::Local => {}
        }
    }

    /// End the innermost group started by `group_start`; extra calls are ignored.
    pub fn group_end(&mut self) {
        let Some(id) = self.open_groups.pop() else { return };
        match self.provider {
            Provider::GitHubActions if self.open_groups.is_empty() => self.emit("::endgroup::\n"),
            Provider::GitLab => self.emit(&format!("\x1b[0Ksection_end:{}:{id}\r\x1b[0K\n", unix_time())),
            _ => {}
        }
    }

    /// Publish annotations (GitHub only: elsewhere the human output already lists the problems).
    ///
    /// GitHub shows 10 per level per step, so the rest are summarised in one notice (see `limit_annotations`).
    pub fn annotate(&mut self, annotations: &[Annotation]) -> std::io::Result<()> {
        if self.provider != Provider::GitHubActions || annotations.is_empty() {
            return Ok(());
        }
        let (kept, summary) = limit_annotations(annotations);
        let mut text = String::new();
        for a in &kept {
            text.push_str(&format_annotation(a));
            text.push('\n');
        }
        if let Some(message) = summary {
            let notice =
                Annotation { level: AnnotationLevel::Notice, title: None, message, file: None, line: None };
            text.push_str(&format_annotation(&notice));
            text.push('\n');
        }
        self.out.write_all(text.as_bytes())?;
        self.out.flush()
    }

    /// Append step outputs to `$GITHUB_OUTPUT`; a no-op off GitHub or when the variable is unset.
    pub fn set_outputs(&mut self, outputs: &[(String, String)]) -> Result<(), CiError> {
        match &self.github_output {
            Some(path) => append_outputs(path, outputs),
            None => Ok(()),
        }
    }

    /// Append markdown to `$GITHUB_STEP_SUMMARY`, truncated to stay under GitHub's 1 MiB; a no-op off GitHub.
    pub fn write_step_summary(&mut self, markdown: &str) -> Result<(), CiError> {
        match &self.step_summary {
            Some(path) => append_summary(path, markdown),
            None => Ok(()),
        }
    }

    /// Write a control line. Failures are ignored: when stderr is gone there is nobody left to tell, and a
    /// missing group marker must not fail the step.
    fn emit(&mut self, text: &str) {
        if text.is_empty() {
            return;
        }
        let _ = self.out.write_all(text.as_bytes());
        let _ = self.out.flush();
    }

    /// A GitLab section id from the title: lowercase ASCII letters, digits and `_`, unique within this run.
    fn section_id(&mut self, title: &str) -> String {
        let mut id: String = title
            .chars()
            .map(|c| if c.is_ascii_alphanumeric() { c.to_ascii_lowercase() } else { '_' })
            .collect();
        // Collapse runs of '_' so "Build & push" gives "build_push", not "build___push".
        while id.contains("__") {
            id = id.replace("__", "_");
        }
        let id = match id.trim_matches('_') {
            "" => "section".to_string(),
            trimmed => trimmed.to_string(),
        };
        let uses = self.section_ids.entry(id.clone()).or_insert(0);
        *uses += 1;
        // GitLab pairs start and end markers by id, so a repeated title needs its own id.
        if *uses == 1 {
            id
        } else {
            format!("{id}_{uses}")
        }
    }
}

impl Drop for Sinks {
    /// Close groups left open by an early return, so the error that follows is not folded away in the log.
    fn drop(&mut self) {
        while !self.open_groups.is_empty() {
            self.group_end();
        }
    }
}

fn unix_time() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ci::test_support::SharedBuf;

    fn sinks(provider: Provider, env: &[(&str, &str)]) -> (Sinks, SharedBuf) {
        let buf = SharedBuf::default();
        let env = Env::from_pairs(env.iter().copied());
        (Sinks::new(&Context::new(provider), &env, Box::new(buf.clone())), buf)
    }

    fn ann(level: AnnotationLevel, message: &str) -> Annotation {
        Annotation {
            level,
            title: None,
            message: message.to_string(),
            file: Some("a.rs".into()),
            line: Some(1),
        }
    }

    #[test]
    fn masks_on_github_with_every_line_of_a_multiline_secret() {
        let (mut s, buf) = sinks(Provider::GitHubActions, &[]);
        s.mask("hunter2");
        s.mask("");
        s.mask("-----BEGIN KEY-----\r\nabc%def\r\n\r\n-----END KEY-----");
        assert_eq!(
            buf.text(),
            "::add-mask::hunter2\n\
             ::add-mask::-----BEGIN KEY-----%0D%0Aabc%25def%0D%0A%0D%0A-----END KEY-----\n\
             ::add-mask::-----BEGIN KEY-----\n\
             ::add-mask::abc%25def\n\
             ::add-mask::-----END KEY-----\n"
        );
    }

    #[test]
    fn other_providers_write_nothing() {
        for provider in [Provider::Jenkins, Provider::Local] {
            let (mut s, buf) = sinks(provider, &[("GITHUB_OUTPUT", "/nonexistent/out")]);
            s.mask("secret");
            s.group_start("Build");
            s.group_end();
            s.annotate(&[ann(AnnotationLevel::Error, "boom")]).unwrap();
            s.set_outputs(&[("a".into(), "b".into())]).unwrap();
            s.write_step_summary("# hi").unwrap();
            drop(s);
            assert_eq!(buf.text(), "", "{provider:?}");
        }
    }

    #[test]
    fn github_groups_do_not_nest() {
        let (mut s, buf) = sinks(Provider::GitHubActions, &[]);
        s.group_start("Build image: app\nv1");
        s.group_start("inner");
        s.group_end();
        s.group_end();
        s.group_end();
        // A title is one line: a break in it is shown, escaped, rather than ending the command.
        assert_eq!(buf.text(), "::group::Build image: app\\x0av1\n::endgroup::\n");
    }

    #[test]
    fn drop_closes_open_groups() {
        let (mut s, buf) = sinks(Provider::GitHubActions, &[]);
        s.group_start("Run tests");
        drop(s);
        assert_eq!(buf.text(), "::group::Run tests\n::endgroup::\n");
    }

    #[test]
    fn gitlab_sections_nest_with_unique_ids() {
        let (mut s, buf) = sinks(Provider::GitLab, &[]);
        s.group_start("Build & push image");
        s.group_start("Build & push image");
        s.group_end();
        s.group_end();
        s.group_start("!!!");
        drop(s);
        let text = buf.text();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 6, "{text:?}");
        let strip_ts = |line: &str| {
            let (head, rest) = line.split_once(':').unwrap();
            let (_ts, rest) = rest.split_once(':').unwrap();
            format!("{head}:<ts>:{rest}")
        };
        assert_eq!(
            strip_ts(lines[0]),
            "\x1b[0Ksection_start:<ts>:build_push_image[collapsed=true]\r\x1b[0KBuild & push image"
        );
        assert_eq!(
            strip_ts(lines[1]),
            "\x1b[0Ksection_start:<ts>:build_push_image_2[collapsed=true]\r\x1b[0KBuild & push image"
        );
        assert_eq!(strip_ts(lines[2]), "\x1b[0Ksection_end:<ts>:build_push_image_2\r\x1b[0K");
        assert_eq!(strip_ts(lines[3]), "\x1b[0Ksection_end:<ts>:build_push_image\r\x1b[0K");
        assert!(strip_ts(lines[4]).starts_with("\x1b[0Ksection_start:<ts>:section[collapsed=true]"));
        assert_eq!(strip_ts(lines[5]), "\x1b[0Ksection_end:<ts>:section\r\x1b[0K");
        let ts: u64 = lines[0].split(':').nth(1).unwrap().parse().unwrap();
        assert!(ts > 1_600_000_000, "a unix timestamp in seconds: {ts}");
    }

    #[test]
    fn annotate_limits_and_adds_the_summary_notice() {
        let (mut s, buf) = sinks(Provider::GitHubActions, &[]);
        let all: Vec<Annotation> = (0..12).map(|i| ann(AnnotationLevel::Error, &format!("e{i}"))).collect();
        s.annotate(&all).unwrap();
        let text = buf.text();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 11);
        assert_eq!(lines[0], "::error file=a.rs,line=1::e0");
        assert_eq!(lines[10], "::notice::2 more errors not shown as annotations; see the step summary");
    }

    #[test]
    fn outputs_and_summary_go_to_the_files_named_in_env() {
        let dir = tempfile::tempdir().unwrap();
        let output = dir.path().join("output");
        let summary = dir.path().join("summary");
        let (mut s, buf) = sinks(
            Provider::GitHubActions,
            &[
                ("GITHUB_OUTPUT", output.to_str().unwrap()),
                ("GITHUB_STEP_SUMMARY", summary.to_str().unwrap()),
            ],
        );
        s.set_outputs(&[("digest".into(), "sha256:abc".into())]).unwrap();
        s.write_step_summary("## Tests\n").unwrap();
        let written = std::fs::read_to_string(&output).unwrap();
        assert!(
            written.starts_with("digest<<ghadelimiter_") && written.contains("\nsha256:abc\nghadelimiter_")
        );
        assert_eq!(std::fs::read_to_string(&summary).unwrap(), "## Tests\n");
        assert_eq!(buf.text(), "");
    }

    #[test]
    fn sinks_can_move_to_another_thread() {
        fn assert_send<T: Send>() {}
        assert_send::<Sinks>();
    }

    #[test]
    fn github_without_files_is_a_no_op() {
        let (mut s, _) = sinks(Provider::GitHubActions, &[("GITHUB_OUTPUT", "")]);
        s.set_outputs(&[("a".into(), "b".into())]).unwrap();
        s.write_step_summary("x").unwrap();
        assert_eq!(s.provider(), Provider::GitHubActions);
    }
}
