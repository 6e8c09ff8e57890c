//! One worker per target: takes the target's oldest queued job (after the quiet period), checks out
//! its commit, runs its steps as child processes of this binary, records how it ended. A shutdown
//! lets the running job finish within the grace period, then stops its process group.

use super::checkout;
use super::store::{now_ms, Job};
use super::writer::StoreHandle;
use serde::Serialize;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::{watch, Notify};

/// The version of the job record's layout (`jobs/<id>/job.json` and the store's result column).
pub const JOB_SCHEMA_VERSION: u32 = 1;

/// What every worker shares.
pub struct Runner {
    pub store: StoreHandle,
    /// This binary: steps run as `stepkit <argv...>`.
    pub exe: PathBuf,
    /// Checkouts go to `<state>/checkouts/job-<id>`, records and logs to `<state>/jobs/<id>/`.
    pub state_dir: PathBuf,
    /// Variables the children must not inherit (the webhook secret).
    pub env_remove: Vec<String>,
    /// Lines for the server's log.
    pub log: tokio::sync::mpsc::UnboundedSender<String>,
}

/// One target's queue policy.
#[derive(Debug, Clone)]
pub struct TargetPolicy {
    /// Wait this long after a job was queued before starting it, so a burst of pushes coalesces.
    pub quiet: Duration,
}

/// A step as run.
#[derive(Debug, Clone, Serialize)]
pub struct StepRecord {
    pub argv: Vec<String>,
    /// None when it could not start or was killed by a signal.
    pub exit_code: Option<i32>,
    pub duration_ms: u64,
    pub result_file: PathBuf,
    pub log_file: PathBuf,
}

/// A job as run, written to `jobs/<id>/job.json` and kept in the store.
#[derive(Debug, Clone, Serialize)]
pub struct JobRecord {
    pub schema_version: u32,
    pub job: i64,
    pub target: String,
    pub rule: String,
    pub repository: String,
    pub event: String,
    #[serde(rename = "ref")]
    pub git_ref: String,
    /// The commit checked out.
    pub sha: Option<String>,
    /// succeeded, failed, or interrupted (queued again).
    pub state: String,
    pub duration_ms: u64,
    /// Why the job could not run its steps (the checkout failed), if so.
    pub error: Option<String>,
    pub steps: Vec<StepRecord>,
    /// The rule's report steps, run after `steps`; they do not change `state`.
    pub report: Vec<StepRecord>,
}

/// Runs `target`'s jobs until `shutdown` turns true; `hard_stop` turning true stops a running job.
pub async fn run_target(
    runner: Arc<Runner>,
    target: String,
    policy: TargetPolicy,
    wake: Arc<Notify>,
    mut shutdown: watch::Receiver<bool>,
    hard_stop: watch::Receiver<bool>,
) {
    loop {
        if *shutdown.borrow() {
            return;
        }
        let wanted = target.clone();
        let next = runner.store.call(move |s| s.next_job(&wanted)).await;
        let job = match next {
            Ok(Some(job)) => job,
            Ok(None) => {
                // The poll picks up jobs queued by `stepkit hook replay` from another process.
                tokio::select! {
                    _ = wake.notified() => {}
                    _ = tokio::time::sleep(Duration::from_secs(1)) => {}
                    _ = shutdown.changed() => {}
                }
                continue;
            }
            Err(e) => {
                let _ = runner.log.send(format!("hook: target {target}: {e}"));
                tokio::time::sleep(Duration::from_secs(1)).await;
                continue;
            }
        };
        let waited = Duration::from_millis((now_ms() - job.created_ms).max(0) as u64);
        if waited < policy.quiet {
            // A newer push during the quiet period supersedes this job; look again afterwards.
            tokio::select! {
                _ = tokio::time::sleep(policy.quiet - waited) => {}
                _ = shutdown.changed() => {}
            }
            continue;
        }
        let id = job.id;
        if !runner.store.call(move |s| s.start_job(id)).await.unwrap_or(false) {
            continue;
        }
        let _ = runner.log.send(format!(
            "hook: job {} started: target {target}, {} at {}",
            job.id,
            job.git_ref,
            job.sha.as_deref().unwrap_or("(resolved by fetch)")
        ));
        let record = run_job(&runner, &job, hard_stop.clone()).await;
        let value = serde_json::to_value(&record).unwrap_or_default();
        let dir = runner.state_dir.join("jobs").join(job.id.to_string());
        if let Err(e) = crate::ci::write_result_file(&dir.join("job.json"), &value) {
            let _ = runner.log.send(format!("hook: job {}: {e}", job.id));
        }
        // An interrupted job goes back to the queue: it runs again after the restart.
        let state = if record.state == "interrupted" { "queued" } else { record.state.as_str() };
        let (id, state) = (job.id, state.to_string());
        if let Err(e) = runner.store.call(move |s| s.finish_job(id, &state, &value)).await {
            let _ = runner.log.send(format!("hook: job {}: {e}", job.id));
        }
        let _ = runner.log.send(format!(
            "hook: job {} {} in {:.1}s{}",
            job.id,
            record.state,
            record.duration_ms as f64 / 1000.0,
            record.error.as_deref().map(|e| format!(": {e}")).unwrap_or_default()
        ));
    }
}

async fn run_job(runner: &Runner, job: &Job, mut hard_stop: watch::Receiver<bool>) -> JobRecord {
    let start = Instant::now();
    let jobs_dir = runner.state_dir.join("jobs").join(job.id.to_string());
    let checkout_dir = runner.state_dir.join("checkouts").join(format!("job-{}", job.id));
    let mut record = JobRecord {
        schema_version: JOB_SCHEMA_VERSION,
        job: job.id,
        target: job.target.clone(),
        rule: job.rule.clone(),
        repository: job.repository.clone(),
        event: job.event.clone(),
        git_ref: job.git_ref.clone(),
        sha: job.sha.clone(),
        state: "failed".into(),
        duration_ms: 0,
        error: None,
        steps: Vec::new(),
        report: Vec::new(),
    };
    let prepared = async {
        std::fs::create_dir_all(&jobs_dir).map_err(|e| format!("create {}: {e}", jobs_dir.display()))?;
        checkout::checkout(&job.clone, &job.git_ref, job.sha.as_deref(), &checkout_dir).await
    };
    match prepared.await {
        Ok(sha) => {
            record.sha = Some(sha);
            record.state = "succeeded".into();
            let mut results = Vec::new();
            for (n, argv) in job.steps.iter().enumerate() {
                let stem = step_stem(n + 1, argv);
                let dirs = (checkout_dir.as_path(), jobs_dir.as_path());
                let step = run_step(runner, job, &record, &stem, argv, dirs, &results, &mut hard_stop).await;
                let ok = step.exit_code == Some(0);
                results.push(step.result_file.clone());
                record.steps.push(step);
                if *hard_stop.borrow() {
                    record.state = "interrupted".into();
                    break;
                }
                if !ok {
                    record.state = "failed".into();
                    break;
                }
            }
            // An interrupted job runs again after the restart and reports then; a finished one
            // reports what its steps concluded, a failure included (the steps' result files).
            if record.state != "interrupted" {
                for (n, argv) in job.report.iter().enumerate() {
                    let stem = format!("report-{}", step_stem(n + 1, argv));
                    let dirs = (checkout_dir.as_path(), jobs_dir.as_path());
                    let step =
                        run_step(runner, job, &record, &stem, argv, dirs, &results, &mut hard_stop).await;
                    record.report.push(step);
                    if *hard_stop.borrow() {
                        break;
                    }
                }
            }
            checkout::remove(&job.clone, &checkout_dir).await;
        }
        Err(e) => record.error = Some(e),
    }
    record.duration_ms = start.elapsed().as_millis() as u64;
    record
}

/// A file name for step `n`: its number and command words, nothing from the payload.
fn step_stem(n: usize, argv: &[String]) -> String {
    let words: Vec<&str> = argv
        .iter()
        .take_while(|a| !a.starts_with('-'))
        .take(2)
        .map(String::as_str)
        .filter(|w| w.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-'))
        .collect();
    format!("{n:02}-{}", words.join("-"))
}

/// Runs one step as `stepkit <argv>` in `dirs.0` (the checkout), its result file and log in
/// `dirs.1`; `earlier` are the result files of the job's steps before it.
#[allow(clippy::too_many_arguments)]
async fn run_step(
    runner: &Runner,
    job: &Job,
    record: &JobRecord,
    stem: &str,
    argv: &[String],
    (dir, jobs_dir): (&Path, &Path),
    earlier: &[PathBuf],
    hard_stop: &mut watch::Receiver<bool>,
) -> StepRecord {
    let result_file = jobs_dir.join(format!("{stem}.json"));
    let log_file = jobs_dir.join(format!("{stem}.log"));
    let start = Instant::now();
    let mut step = StepRecord {
        argv: argv.to_vec(),
        exit_code: None,
        duration_ms: 0,
        result_file: result_file.clone(),
        log_file: log_file.clone(),
    };
    let log = match std::fs::File::create(&log_file).and_then(|f| Ok((f.try_clone()?, f))) {
        Ok(files) => files,
        Err(e) => {
            let _ = runner.log.send(format!("hook: job {}: create {}: {e}", job.id, log_file.display()));
            return step;
        }
    };
    // Payload values reach the step as argv elements and environment variables only, never a shell.
    let mut command = tokio::process::Command::new(&runner.exe);
    command
        .args(argv)
        .current_dir(dir)
        .env("STEPKIT_RESULT_FILE", &result_file)
        .env("STEPKIT_HOOK_JOB", job.id.to_string())
        .env("STEPKIT_HOOK_TARGET", &job.target)
        .env("STEPKIT_HOOK_RULE", &job.rule)
        .env("STEPKIT_HOOK_REPOSITORY", &job.repository)
        .env("STEPKIT_HOOK_EVENT", &job.event)
        .env("STEPKIT_HOOK_REF", &job.git_ref)
        .env("STEPKIT_HOOK_SHA", record.sha.as_deref().unwrap_or_default())
        .env("STEPKIT_HOOK_RESULTS", jobs_dir)
        // What `notify` and `github` read when given no --result (PATH-style list).
        .env("STEPKIT_HOOK_RESULT_FILES", std::env::join_paths(earlier).unwrap_or_default())
        .stdin(Stdio::null())
        .stdout(log.0)
        .stderr(log.1)
        .process_group(0)
        .kill_on_drop(true);
    for name in &runner.env_remove {
        command.env_remove(name);
    }
    let mut child = match command.spawn() {
        Ok(child) => child,
        Err(e) => {
            let _ = std::fs::write(&log_file, format!("could not start {}: {e}\n", runner.exe.display()));
            return step;
        }
    };
    let status = tokio::select! {
        status = child.wait() => status.ok(),
        // The guard wait_for returns must not live across the await below (it is not Send).
        _ = async { drop(hard_stop.wait_for(|stop| *stop).await) } => stop_group(&mut child).await,
    };
    step.exit_code = status.and_then(|s| s.code());
    step.duration_ms = start.elapsed().as_millis() as u64;
    step
}

/// SIGTERM to the step's process group, SIGKILL after 5 s.
async fn stop_group(child: &mut tokio::process::Child) -> Option<std::process::ExitStatus> {
    let pid = child.id()? as i32;
    // SAFETY: kill(2) on the step's own process group, which it leads (process_group(0)).
    unsafe { libc::kill(-pid, libc::SIGTERM) };
    match tokio::time::timeout(Duration::from_secs(5), child.wait()).await {
        Ok(status) => status.ok(),
        Err(_) => {
            // SAFETY: as above.
            unsafe { libc::kill(-pid, libc::SIGKILL) };
            child.wait().await.ok()
        }
    }
}
