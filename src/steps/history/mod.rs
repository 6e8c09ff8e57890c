//! `stepkit history record|query`: every run's results kept in a store (one SQLite file by default,
//! PostgreSQL when a team shares it), keyed by repository, branch, commit, CI run, step, environment,
//! target and version, and read back as latest-against-previous deltas; `dashboard` draws them.

pub mod dashboard;
mod ingest;
mod postgres;
pub mod query;
mod sqlite;
pub mod store;

pub use query::{Against, QuerySettings};
pub use store::{Counts, Filter, Store, SCHEMA_VERSION};

use crate::report::{Outcome, Verdict};
use crate::result::history::{RecordData, RecordedRun, RECORD_VERSION};
use std::fmt;
use std::path::{Path, PathBuf};

/// Where the history is kept.
#[derive(Clone)]
pub enum Location {
    /// A SQLite file (created with its directory when absent).
    Sqlite(PathBuf),
    /// A PostgreSQL database.
    Postgres(Box<PgLocation>),
}

/// A PostgreSQL database: the parsed URL (its password, if any, included) and the URL as shown.
#[derive(Clone)]
pub struct PgLocation {
    pub config: ::postgres::Config,
    /// The URL without its password.
    pub shown: String,
}

impl Location {
    /// The PostgreSQL password, to keep out of every output.
    pub fn password(&self) -> Option<&str> {
        match self {
            Location::Postgres(pg) => {
                pg.config.get_password().and_then(|p| std::str::from_utf8(p).ok()).filter(|p| !p.is_empty())
            }
            Location::Sqlite(_) => None,
        }
    }
}

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Location::Sqlite(path) => write!(f, "{}", path.display()),
            Location::Postgres(pg) => f.write_str(&pg.shown),
        }
    }
}

impl fmt::Debug for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Location::Sqlite(path) => write!(f, "Sqlite({})", path.display()),
            Location::Postgres(pg) => write!(f, "Postgres({})", pg.shown),
        }
    }
}

/// The key parts every recorded run gets. `step` and `target` override what the input says.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Keys {
    pub repository: String,
    pub branch: String,
    pub commit: String,
    pub ci_run: String,
    pub environment: String,
    pub version: String,
    pub step: Option<String>,
    pub target: Option<String>,
}

/// `stepkit history record`.
#[derive(Debug, Clone)]
pub struct RecordSettings {
    pub store: Location,
    pub inputs: Vec<PathBuf>,
    pub keys: Keys,
    /// Keep the newest N runs of each series; `None` keeps everything.
    pub keep_runs: Option<u64>,
    /// Where relative paths inside result files (a test run's JUnit report) are looked for first.
    pub cwd: PathBuf,
}

/// A step recording its own result (`--history` on any step).
#[derive(Debug, Clone)]
pub struct SelfRecord {
    pub store: Location,
    pub keys: Keys,
    pub keep_runs: Option<u64>,
}

/// What stopped a history command.
#[derive(Debug, thiserror::Error)]
pub enum HistoryError {
    #[error("read {path}: {message}")]
    Input { path: PathBuf, message: String },
    #[error("use the history store {store}: {what}: {message}")]
    Store { store: String, what: String, message: String },
    #[error("use the history store {store}: it is at schema version {version}, newer than this stepkit's {SCHEMA_VERSION}; use a newer stepkit")]
    NewerSchema { store: String, version: i64 },
    #[error("write {path}: {message}")]
    Output { path: PathBuf, message: String },
}

impl crate::error::ModuleError for HistoryError {
    /// True when the user's input is at fault (exit 2) rather than the store (exit 3).
    fn is_usage(&self) -> bool {
        matches!(self, HistoryError::Input { .. })
    }
}

/// One recorded run, as the outcome lists it.
fn recorded(id: i64, run: &store::NewRun) -> RecordedRun {
    RecordedRun {
        id,
        source: run.source.clone(),
        step: run.key.step.clone(),
        target: run.key.target.clone(),
        environment: run.key.environment.clone(),
        version: run.key.version.clone(),
        verdict: run.verdict.clone(),
        metrics: run.metrics.len(),
        tests: run.tests.len(),
    }
}

/// `stepkit history record RESULT...`: every input read first (one unreadable input records nothing),
/// then all runs in one transaction, then retention.
pub fn record(settings: &RecordSettings) -> Result<Outcome, HistoryError> {
    let now = store::now_ms();
    let mut runs = Vec::new();
    let mut warnings = Vec::new();
    for path in &settings.inputs {
        let ingested = ingest::read_input(path, &settings.keys, &settings.cwd, now)
            .map_err(|message| HistoryError::Input { path: path.clone(), message })?;
        warnings.extend(ingested.warnings);
        runs.push(ingested.run);
    }
    let mut store = Store::open(&settings.store)?;
    let ids = store.record(&runs)?;
    let pruned = match settings.keep_runs {
        Some(keep) => store.prune(keep)?,
        None => 0,
    };
    let tests: usize = runs.iter().map(|r| r.tests.len()).sum();
    let mut headline = format!(
        "recorded {} run{} ({} test result{}) in {}",
        runs.len(),
        if runs.len() == 1 { "" } else { "s" },
        tests,
        if tests == 1 { "" } else { "s" },
        settings.store
    );
    if pruned > 0 {
        headline.push_str(&format!(
            "; removed {pruned} older run{} (--keep-runs)",
            if pruned == 1 { "" } else { "s" }
        ));
    }
    let mut outcome = Outcome::new("history record", Verdict::Passed, headline);
    outcome.warnings = warnings;
    outcome.text = runs
        .iter()
        .zip(&ids)
        .map(|(r, id)| {
            format!(
                "  #{id} {} {}{} {} from {}\n",
                r.key.step,
                r.key.version,
                if r.key.target.is_empty() { String::new() } else { format!(" [{}]", r.key.target) },
                r.verdict,
                r.source
            )
        })
        .collect();
    outcome.outputs = vec![("runs".into(), ids.iter().map(i64::to_string).collect::<Vec<_>>().join(" "))];
    // The result's own version, not the store's (SCHEMA_VERSION): the two change for different reasons.
    outcome.set_data(&RecordData {
        schema_version: RECORD_VERSION,
        store: settings.store.to_string(),
        runs: runs.iter().zip(&ids).map(|(r, id)| recorded(*id, r)).collect(),
        pruned,
    });
    Ok(outcome)
}

/// Records a step's own result (its `render_json`) after it ran; returns one line for the log.
pub fn record_self(
    settings: &SelfRecord,
    result: &serde_json::Value,
    cwd: &Path,
) -> Result<(String, Vec<String>), HistoryError> {
    let command = result.get("command").and_then(|c| c.as_str()).unwrap_or("step").to_string();
    let source = format!("stepkit {command} --history");
    let ingested = ingest::from_result(result, &source, &settings.keys, &[cwd], store::now_ms())
        .map_err(|message| HistoryError::Input { path: PathBuf::from(&source), message })?;
    let mut store = Store::open(&settings.store)?;
    let ids = store.record(std::slice::from_ref(&ingested.run))?;
    if let Some(keep) = settings.keep_runs {
        store.prune(keep)?;
    }
    let id = ids.first().copied().unwrap_or_default();
    Ok((format!("recorded this run as #{id} in {}", settings.store), ingested.warnings))
}

/// `stepkit history query`: the answer as JSON on stdout, a summary for people.
pub fn query(location: &Location, settings: &QuerySettings) -> Result<Outcome, HistoryError> {
    let answer = query::read(location, settings)?;
    let runs: usize = answer.series.iter().map(|s| s.runs.len()).sum();
    let headline = match answer.series.len() {
        0 => format!("no runs in {} match", location),
        n => format!("{n} series, {runs} runs from {location}"),
    };
    let mut outcome = Outcome::new("history query", Verdict::Passed, headline);
    outcome.text = query::text(&answer);
    outcome.markdown = query::markdown(&answer);
    outcome.data = serde_json::to_value(&answer).unwrap_or_default();
    // From the structs, not the Value: the fields keep their documented order.
    let mut stdout = serde_json::to_string_pretty(&answer).unwrap_or_default();
    stdout.push('\n');
    outcome.stdout = Some(stdout);
    Ok(outcome)
}
