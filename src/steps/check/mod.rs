//! `stepkit check`: run sandboxed WebAssembly check plugins concurrently, each on a blocking thread,
//! and turn their reports into one outcome (annotations, summary table, JSON, exit code).

mod outcome;
pub mod scaffold;

pub use scaffold::{scaffold, Lang, ScaffoldError, ScaffoldSettings};

use crate::plugin::{self, CheckInput, PluginEngine, PluginErrorKind, PluginRun, PluginSpec};
use crate::report::{Live, Outcome, Verdict};
use std::path::PathBuf;
use std::sync::Arc;

/// Resolved settings for `stepkit check`.
#[derive(Debug, Clone)]
pub struct CheckSettings {
    pub plugins: Vec<PluginSpec>,
    /// A warn verdict fails the step too.
    pub strict: bool,
    /// Where compiled components are kept (None: compile every time).
    pub cache_dir: Option<PathBuf>,
    /// What every plugin receives besides its config.
    pub input: CheckInput,
    /// Plugins run at the same time.
    pub jobs: usize,
}

/// `stepkit check` / `stepkit plugin inspect` could not start (a failing or misbehaving plugin is an outcome).
#[derive(Debug, thiserror::Error)]
pub enum CheckError {
    #[error(
        "run checks: none are configured; give --plugin FILE.wasm or add [[check]] tables to stepkit.toml"
    )]
    NoPlugins,
    #[error("set up the WebAssembly engine: {0}")]
    Engine(String),
    #[error(transparent)]
    Plugin(#[from] plugin::PluginError),
    #[error(transparent)]
    Scaffold(#[from] ScaffoldError),
}

impl crate::error::ModuleError for CheckError {
    /// Usage problems exit 2; the rest is environment (3).
    fn is_usage(&self) -> bool {
        match self {
            CheckError::NoPlugins => true,
            CheckError::Engine(_) => false,
            CheckError::Plugin(e) => !matches!(
                e.kind,
                PluginErrorKind::Io | PluginErrorKind::Resources | PluginErrorKind::Internal
            ),
            CheckError::Scaffold(e) => e.is_usage(),
        }
    }
}

/// Runs every plugin (at most `jobs` at a time) and builds the outcome. Must be called inside a tokio runtime.
pub async fn run(settings: &CheckSettings, live: &mut dyn Live) -> Result<Outcome, CheckError> {
    if settings.plugins.is_empty() {
        return Err(CheckError::NoPlugins);
    }
    let engine = Arc::new(PluginEngine::new(settings.cache_dir.clone()).map_err(CheckError::Engine)?);
    let permits = Arc::new(tokio::sync::Semaphore::new(settings.jobs.max(1)));
    let mut tasks = tokio::task::JoinSet::new();
    // Which plugin each task runs, so a task that panics still reports as that plugin's failure.
    let mut task_plugins = std::collections::HashMap::new();
    for (index, spec) in settings.plugins.iter().cloned().enumerate() {
        let identity = (index, spec.name.clone(), spec.file.clone());
        let (engine, input, permits) = (engine.clone(), settings.input.clone(), permits.clone());
        let handle = tokio::runtime::Handle::current();
        let spawned_task = tasks.spawn(async move {
            let _permit = permits.acquire_owned().await;
            let (name, file, timeout) = (spec.name.clone(), spec.file.clone(), spec.limits.timeout);
            let started = std::time::Instant::now();
            // A plain thread, not tokio's blocking pool: a run that gets abandoned (below) must not hold
            // this runtime's context, or its WASI timers panic when the runtime shuts down before exit.
            let (sender, mut receiver) = tokio::sync::oneshot::channel();
            let (start_sender, start_receiver) = tokio::sync::oneshot::channel();
            let spawned = std::thread::Builder::new().name(format!("plugin {name}")).spawn(move || {
                let on_start = move || {
                    let _ = start_sender.send(());
                };
                let _ = sender.send(plugin::run(&engine, &spec, &input, Some(handle), on_start));
            });
            if let Err(e) = spawned {
                return (
                    index,
                    host_failure(
                        name,
                        file,
                        PluginErrorKind::Trap,
                        format!("start its thread: {e}"),
                        started,
                    ),
                );
            }
            // Loading (a cold compile takes seconds, a Python component tens of them) is not the plugin's
            // time: the abandon clock starts with the plugin's own deadline, when the run signals it.
            let finished = tokio::select! {
                biased;
                finished = &mut receiver => Some(finished),
                _ = start_receiver => None,
            };
            // Epochs stop wasm code, not a thread blocked inside a WASI call (a long poll, a huge read).
            // Past the deadline plus a grace period such a run is abandoned: reported now, its thread
            // left to finish or die with the process.
            let finished = match finished {
                Some(finished) => Ok(finished),
                None => tokio::time::timeout(timeout.saturating_add(ABANDON_GRACE), receiver).await,
            };
            let run = match finished {
                Ok(Ok(run)) => run,
                Ok(Err(_)) => host_failure(
                    name,
                    file,
                    PluginErrorKind::Internal,
                    "its host thread died before it reported (a stepkit bug; the run fails)".into(),
                    started,
                ),
                Err(_) => host_failure(
                    name,
                    file,
                    PluginErrorKind::Timeout,
                    format!(
                        "it was abandoned {} after its limit, blocked in a host call",
                        humantime::format_duration(ABANDON_GRACE)
                    ),
                    started,
                ),
            };
            (index, run)
        });
        task_plugins.insert(spawned_task.id(), identity);
    }
    let mut runs: Vec<(usize, PluginRun)> = Vec::with_capacity(settings.plugins.len());
    let mut signals = crate::signals::Signals::install();
    let mut stopped_by = None;
    loop {
        tokio::select! {
            joined = tasks.join_next() => match joined {
                Some(Ok((index, run))) => {
                    outcome::stream(&run, live);
                    runs.push((index, run));
                }
                Some(Err(joined)) => {
                    let (index, run) = failed_task(joined, &task_plugins);
                    outcome::stream(&run, live);
                    runs.push((index, run));
                }
                None => break,
            },
            signal = signals.recv() => {
                let verdict = signal.verdict();
                // Keep what finished (partial reports are still written); the rest stop with the process.
                stopped_by = Some(verdict);
                break;
            }
        }
    }
    if stopped_by.is_none() {
        // Every plugin has a row: one without a report is a failure, never a silent pass.
        for (index, name, file) in task_plugins.into_values() {
            if !runs.iter().any(|(i, _)| *i == index) {
                let message = "it never reported (a stepkit bug; the run fails)".to_string();
                runs.push((
                    index,
                    host_failure(name, file, PluginErrorKind::Internal, message, std::time::Instant::now()),
                ));
            }
        }
    }
    // Report in the order the plugins were given, whatever order they finished in.
    runs.sort_by_key(|(index, _)| *index);
    let runs: Vec<PluginRun> = runs.into_iter().map(|(_, run)| run).collect();
    let mut outcome = outcome::build(&runs, settings.strict);
    if let Some(verdict) = stopped_by {
        let signal = if verdict == Verdict::Interrupted { "SIGINT" } else { "SIGTERM" };
        outcome.verdict = verdict;
        outcome.headline = format!(
            "stopped by {signal} after {} of {} plugins: {}",
            runs.len(),
            settings.plugins.len(),
            outcome.headline
        );
    }
    if let Some(problem) = &engine.cache_problem {
        outcome.warnings.push(problem.clone());
    }
    outcome.warnings.extend(engine.notes());
    Ok(outcome)
}

type TaskPlugins = std::collections::HashMap<tokio::task::Id, (usize, String, PathBuf)>;

/// A plugin task that panicked or was cancelled: an `internal` error row for its plugin, with the panic's
/// message, so the run fails instead of leaving the plugin out (which read as a pass).
fn failed_task(joined: tokio::task::JoinError, task_plugins: &TaskPlugins) -> (usize, PluginRun) {
    let (index, name, file) =
        task_plugins.get(&joined.id()).cloned().unwrap_or_else(|| (usize::MAX, "?".into(), PathBuf::new()));
    let why = if joined.is_panic() {
        let payload = joined.into_panic();
        let text = payload
            .downcast_ref::<&str>()
            .map(|s| s.to_string())
            .or_else(|| payload.downcast_ref::<String>().cloned())
            .unwrap_or_default();
        format!(
            "stepkit panicked while running it ({}); the run fails. Please report this bug",
            plugin::sanitize::line(&text, 500)
        )
    } else {
        "stepkit cancelled it before it reported; the run fails".to_string()
    };
    (index, host_failure(name, file, PluginErrorKind::Internal, why, std::time::Instant::now()))
}

/// How long past its deadline a run that is stuck in a host call is waited for.
const ABANDON_GRACE: std::time::Duration = std::time::Duration::from_secs(2);

/// A run that never came back (stuck in a host call, or its thread died): still one row in the report.
fn host_failure(
    name: String,
    file: PathBuf,
    kind: PluginErrorKind,
    message: String,
    started: std::time::Instant,
) -> PluginRun {
    PluginRun {
        name: name.clone(),
        file: file.clone(),
        result: Err(plugin::PluginError { name, file, kind, message }),
        logs: Vec::new(),
        logs_dropped: 0,
        stdout: Vec::new(),
        stderr: Vec::new(),
        output_dropped: 0,
        duration_ms: u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX),
        timings: plugin::Timings::default(),
        cache: plugin::CacheUse::Off,
    }
}

/// `stepkit plugin inspect`: what a component exports and which capabilities it would use.
pub fn inspect(file: &std::path::Path, cache_dir: Option<PathBuf>) -> Result<Outcome, CheckError> {
    let engine = PluginEngine::new(cache_dir).map_err(CheckError::Engine)?;
    let shape = plugin::inspect(&engine, file, &plugin::Limits::default())?;
    Ok(outcome::inspected(file, &shape))
}

/// The outcome of `stepkit plugin new`: the files written and how to build the project.
pub fn scaffolded(settings: &ScaffoldSettings, written: &[PathBuf]) -> Outcome {
    let dir = settings.dir.display();
    let build = match settings.lang {
        Lang::Rust => "cargo build --release --target wasm32-wasip2".to_string(),
        Lang::Python => format!(
            "componentize-py --wit-path wit --world plugin componentize app -o {}.wasm",
            settings.name
        ),
    };
    let mut outcome = Outcome::new(
        "plugin new",
        crate::report::Verdict::Passed,
        format!("created plugin {} in {dir}", settings.name),
    );
    let mut text: String = written.iter().map(|f| format!("  {}\n", f.display())).collect();
    text.push_str(&format!("next: cd {dir} && {build}, then: stepkit plugin inspect <the .wasm>\n"));
    outcome.text = text;
    outcome.set_data(&crate::result::check::NewData {
        schema_version: crate::result::check::NEW_VERSION,
        name: settings.name.clone(),
        dir: settings.dir.clone(),
        files: written.to_vec(),
        build,
    });
    outcome
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_panicking_plugin_task_fails_the_run() {
        let mut tasks = tokio::task::JoinSet::new();
        let handle = tasks.spawn(async { panic!("deadline overflow") });
        let plugins: TaskPlugins =
            [(handle.id(), (0, "coverage".to_string(), PathBuf::from("c.wasm")))].into();
        let joined = tasks.join_next().await.unwrap().unwrap_err();
        let (index, run) = failed_task(joined, &plugins);
        assert_eq!((index, run.name.as_str()), (0, "coverage"));
        let error = run.result.as_ref().unwrap_err();
        assert_eq!(error.kind, PluginErrorKind::Internal);
        assert!(error.message.contains("deadline overflow"), "{}", error.message);
        let outcome = outcome::build(&[run], false);
        assert_eq!(outcome.verdict, Verdict::Failed);
        // The result's plugin entry: the run's fields, its verdict, and the error in place of a report.
        let entry = &outcome.data["plugins"][0];
        let mut keys: Vec<_> = entry.as_object().unwrap().keys().cloned().collect();
        keys.sort();
        assert_eq!(
            keys,
            [
                "cache",
                "duration_ms",
                "error",
                "file",
                "logs",
                "logs_dropped",
                "name",
                "output_dropped",
                "report",
                "stderr",
                "stdout",
                "timings",
                "verdict"
            ]
        );
        assert_eq!((entry["verdict"].as_str(), entry["report"].is_null()), (Some("error"), true));
        assert_eq!(entry["error"]["kind"], "internal");
        assert_eq!(outcome.data["schema_version"], crate::result::check::CHECK_VERSION);
    }
}
