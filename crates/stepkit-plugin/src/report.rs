//! Builders for reports, findings, metrics and errors, so plugins read as what they check.

use crate::{CheckError, Finding, Metric, Report, Severity, Verdict};

impl Report {
    /// A report with no findings or metrics yet.
    pub fn new(verdict: Verdict, summary: impl Into<String>) -> Self {
        Report { verdict, summary: summary.into(), findings: Vec::new(), metrics: Vec::new() }
    }

    /// Everything is fine.
    pub fn pass(summary: impl Into<String>) -> Self {
        Self::new(Verdict::Pass, summary)
    }

    /// Worth a look; does not fail the step unless the host runs with `--strict`.
    pub fn warn(summary: impl Into<String>) -> Self {
        Self::new(Verdict::Warn, summary)
    }

    /// The check failed.
    pub fn fail(summary: impl Into<String>) -> Self {
        Self::new(Verdict::Fail, summary)
    }

    /// The check did not apply (nothing to look at).
    pub fn skip(summary: impl Into<String>) -> Self {
        Self::new(Verdict::Skip, summary)
    }

    /// A report whose verdict follows its worst finding (see [`Verdict::from_findings`]).
    pub fn from_findings(summary: impl Into<String>, findings: Vec<Finding>) -> Self {
        Report { verdict: Verdict::from_findings(&findings), findings, ..Self::new(Verdict::Pass, summary) }
    }

    /// Add one finding (the verdict stays as it is).
    pub fn with_finding(mut self, finding: Finding) -> Self {
        self.findings.push(finding);
        self
    }

    /// Add one metric.
    pub fn with_metric(mut self, name: impl Into<String>, value: f64, unit: impl Into<String>) -> Self {
        self.metrics.push(Metric::new(name, value, unit));
        self
    }
}

impl Verdict {
    /// `Fail` if any finding is a failure, `Warn` if any is a warning, else `Pass`.
    pub fn from_findings(findings: &[Finding]) -> Self {
        let worst = findings.iter().map(|f| f.severity).max_by_key(|s| severity_rank(*s));
        match worst {
            Some(Severity::Failure) => Verdict::Fail,
            Some(Severity::Warning) => Verdict::Warn,
            Some(Severity::Notice) | None => Verdict::Pass,
        }
    }
}

fn severity_rank(severity: Severity) -> u8 {
    match severity {
        Severity::Notice => 0,
        Severity::Warning => 1,
        Severity::Failure => 2,
    }
}

impl Finding {
    /// A finding not tied to a file yet; add a place with [`Finding::at`] or [`Finding::in_file`].
    pub fn new(severity: Severity, message: impl Into<String>) -> Self {
        Finding { message: message.into(), file: None, line: None, severity }
    }

    /// Informational (a GitHub `notice` annotation).
    pub fn notice(message: impl Into<String>) -> Self {
        Self::new(Severity::Notice, message)
    }

    /// A `warning` annotation.
    pub fn warning(message: impl Into<String>) -> Self {
        Self::new(Severity::Warning, message)
    }

    /// An `error` annotation.
    pub fn failure(message: impl Into<String>) -> Self {
        Self::new(Severity::Failure, message)
    }

    /// Point at a line of a file (relative to the workspace root, forward slashes).
    pub fn at(mut self, file: impl Into<String>, line: u32) -> Self {
        self.file = Some(file.into());
        self.line = Some(line);
        self
    }

    /// Point at a whole file.
    pub fn in_file(mut self, file: impl Into<String>) -> Self {
        self.file = Some(file.into());
        self
    }
}

impl Metric {
    /// One measured number; `unit` is free text such as `%`, `ms` or `count`.
    pub fn new(name: impl Into<String>, value: f64, unit: impl Into<String>) -> Self {
        Metric { name: name.into(), value, unit: unit.into() }
    }
}

impl CheckError {
    /// A config value is missing or malformed; `key` is named in the text.
    pub fn config(key: &str, why: impl std::fmt::Display) -> Self {
        CheckError::InvalidConfig(format!("`{key}`: {why}"))
    }

    /// Reading `path` failed.
    pub fn io(path: impl std::fmt::Display, err: impl std::fmt::Display) -> Self {
        CheckError::Io(format!("{path}: {err}"))
    }

    /// Anything else.
    pub fn other(message: impl Into<String>) -> Self {
        CheckError::Other(message.into())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn verdict_follows_the_worst_finding() {
        assert_eq!(Verdict::from_findings(&[]), Verdict::Pass);
        let mixed =
            vec![Finding::notice("a"), Finding::failure("b").at("src/x.rs", 3), Finding::warning("c")];
        let report = Report::from_findings("3 things", mixed).with_metric("n", 3.0, "count");
        assert_eq!(report.verdict, Verdict::Fail);
        assert_eq!(report.findings[1].file.as_deref(), Some("src/x.rs"));
        assert_eq!(report.metrics[0].unit, "count");
        assert_eq!(Verdict::from_findings(&[Finding::warning("w")]), Verdict::Warn);
    }
}
