//! `Outcome`: what a step concluded, plus everything the sinks need to publish it.

use crate::exit;
use serde::{Deserialize, Serialize};

/// The step's verdict; it decides the exit code (see docs/exit-codes.md).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, schemars::JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum Verdict {
    /// Everything the step checked is fine.
    Passed,
    /// The step ran and its verdict is "failed" (tests failed, gate closed, check failed).
    Failed,
    /// Nothing ran (for example no tests were found).
    NothingRan,
    /// The step's deadline passed.
    TimedOut,
    /// SIGINT stopped the step.
    Interrupted,
    /// SIGTERM stopped the step (Jenkins abort, GitHub cancel).
    Terminated,
}

impl Verdict {
    /// The documented process exit code for this verdict.
    pub fn exit_code(self) -> i32 {
        match self {
            Verdict::Passed => exit::OK,
            Verdict::Failed => exit::FAILED,
            Verdict::NothingRan => exit::NOTHING_RAN,
            Verdict::TimedOut => exit::TIMED_OUT,
            Verdict::Interrupted => exit::INTERRUPTED,
            Verdict::Terminated => exit::TERMINATED,
        }
    }
}

/// Severity of a CI annotation.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize, schemars::JsonSchema,
)]
#[serde(rename_all = "lowercase")]
pub enum AnnotationLevel {
    Error,
    Warning,
    Notice,
}

/// A message attached to a file/line, shown inline by GitHub (`::error file=..::`).
/// Deserialize reads it back from a result file (`stepkit notify`, `stepkit github`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Annotation {
    pub level: AnnotationLevel,
    pub title: Option<String>,
    pub message: String,
    pub file: Option<String>,
    pub line: Option<u32>,
}

/// What a step concluded. Steps build it; `lib.rs` renders and publishes it.
#[derive(Debug, Clone, Serialize)]
pub struct Outcome {
    /// The command that produced it, e.g. `junit summary`.
    pub command: String,
    pub verdict: Verdict,
    /// One line that says what happened.
    pub headline: String,
    /// Step-specific details for `--format json` and the result file.
    pub data: serde_json::Value,
    /// Human detail block printed before the headline (may be empty).
    #[serde(skip)]
    pub text: String,
    /// Markdown detail for the step summary and `--format markdown` (may be empty).
    #[serde(skip)]
    pub markdown: String,
    pub annotations: Vec<Annotation>,
    /// Step outputs (`$GITHUB_OUTPUT`), name -> value.
    pub outputs: Vec<(String, String)>,
    /// Things the user should know that did not change the verdict.
    pub warnings: Vec<String>,
    /// Whether the markdown goes to the CI step summary (`$GITHUB_STEP_SUMMARY`).
    #[serde(skip)]
    pub step_summary: bool,
    /// Raw text for stdout in text format (a completion script, a man page).
    #[serde(skip)]
    pub stdout: Option<String>,
}

impl Outcome {
    /// A new outcome with empty detail.
    pub fn new(command: &str, verdict: Verdict, headline: impl Into<String>) -> Self {
        Outcome {
            command: command.to_string(),
            verdict,
            headline: headline.into(),
            data: serde_json::Value::Null,
            text: String::new(),
            markdown: String::new(),
            annotations: Vec::new(),
            outputs: Vec::new(),
            warnings: Vec::new(),
            step_summary: false,
            stdout: None,
        }
    }

    /// Sets `data` from the step's typed result (src/result/), the one way steps fill it.
    pub fn set_data<T: Serialize>(&mut self, data: &T) {
        // Serializing plain structs of strings, numbers and paths cannot fail; a path that is not
        // UTF-8 is the one case, and then an empty `data` beats losing the whole result.
        self.data = serde_json::to_value(data).unwrap_or_default();
    }

    /// The process exit code this outcome maps to.
    pub fn exit_code(&self) -> i32 {
        self.verdict.exit_code()
    }
}
