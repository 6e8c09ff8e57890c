//! `stepkit hook list|show|replay`: the store read back as outcomes, and a delivery queued again.

use super::server::{new_job, QueuePolicy};
use super::store::{Delivery, Job, Store};
use super::{event, rules, store_path, verify, HookError, LogSettings};
use crate::report::{Outcome, Verdict};
use crate::result::hook::{ListData, ReplayData, ShowData, SCHEMA_VERSION};
use std::collections::BTreeMap;

fn time(ms: i64) -> String {
    chrono::DateTime::from_timestamp_millis(ms)
        .map(|t| t.format("%Y-%m-%d %H:%M:%S").to_string())
        .unwrap_or_default()
}

fn job_line(job: &Job) -> String {
    let sha = job.sha.as_deref().map(|s| &s[..s.len().min(12)]).unwrap_or("-");
    let mut line = format!(
        "  job {:>5}  {:<10} {:<8} {} {} ({})",
        job.id, job.state, job.target, job.git_ref, sha, job.rule
    );
    if let Some(by) = job.superseded_by {
        line.push_str(&format!(" superseded by job {by}"));
    }
    line
}

fn delivery_line(d: &Delivery) -> String {
    format!(
        "  delivery {:>5}  {}  {} {:<7} {:<14} {}",
        d.id,
        time(d.received_ms),
        d.status,
        d.provider.as_deref().unwrap_or("-"),
        d.event,
        crate::sanitize::line(&d.verdict, 200)
    )
}

/// The newest deliveries and jobs.
pub fn list(settings: &LogSettings) -> Result<Outcome, HookError> {
    let store = Store::open(&store_path(&settings.state_dir))?;
    let deliveries = store.recent_deliveries(settings.limit)?;
    let jobs = store.recent_jobs(settings.limit)?;
    let mut outcome = Outcome::new(
        "hook list",
        Verdict::Passed,
        format!("{} deliveries and {} jobs (newest first)", deliveries.len(), jobs.len()),
    );
    let mut text = vec!["deliveries:".to_string()];
    text.extend(deliveries.iter().map(delivery_line));
    text.push("jobs:".into());
    text.extend(jobs.iter().map(job_line));
    outcome.text = text.join("\n");
    outcome.set_data(&ListData { schema_version: SCHEMA_VERSION, deliveries, jobs });
    Ok(outcome)
}

/// One delivery with its jobs, or one job (`--job`), with each step's exit code and log tail.
pub fn show(settings: &LogSettings, id: i64, job: bool) -> Result<Outcome, HookError> {
    let path = store_path(&settings.state_dir);
    let store = Store::open(&path)?;
    let (delivery, jobs) = if job {
        let found = store.job(id)?.ok_or(HookError::NoJob { id, store: path.clone() })?;
        let delivery = store.delivery(found.delivery)?.map(|(d, _)| d);
        (delivery, vec![found])
    } else {
        let (delivery, _) = store.delivery(id)?.ok_or(HookError::NoDelivery { id, store: path.clone() })?;
        (Some(delivery), store.jobs_of(id)?)
    };
    let mut text = Vec::new();
    if let Some(d) = &delivery {
        text.push(delivery_line(d));
        text.push(format!("    from {}, delivery id {}", d.remote, d.delivery_id.as_deref().unwrap_or("-")));
    }
    for job in &jobs {
        text.push(job_line(job));
        let steps = job.result.as_ref().and_then(|r| r.get("steps")).and_then(|s| s.as_array());
        for step in steps.into_iter().flatten() {
            let argv: Vec<&str> =
                step["argv"].as_array().into_iter().flatten().filter_map(|a| a.as_str()).collect();
            text.push(format!(
                "    step `{}`: exit {} in {} ms; log {}",
                argv.join(" "),
                step["exit_code"].as_i64().map(|c| c.to_string()).unwrap_or_else(|| "-".into()),
                step["duration_ms"].as_u64().unwrap_or(0),
                step["log_file"].as_str().unwrap_or("-")
            ));
        }
        if let Some(error) = job.result.as_ref().and_then(|r| r["error"].as_str()) {
            text.push(format!("    error: {error}"));
        }
    }
    let subject = if job { format!("job {id}") } else { format!("delivery {id}") };
    let mut outcome = Outcome::new("hook show", Verdict::Passed, format!("{subject}: {} jobs", jobs.len()));
    outcome.text = crate::sanitize::text(&text.join("\n"));
    outcome.set_data(&ShowData { schema_version: SCHEMA_VERSION, delivery, jobs });
    Ok(outcome)
}

/// Queues the jobs today's rules give an accepted delivery; a running server picks them up.
pub fn replay(settings: &LogSettings, id: i64) -> Result<Outcome, HookError> {
    let path = store_path(&settings.state_dir);
    let mut store = Store::open(&path)?;
    let (delivery, body) = store.delivery(id)?.ok_or(HookError::NoDelivery { id, store: path.clone() })?;
    let refused = |why: &str| HookError::Replay { id, why: why.into() };
    let body = body.ok_or_else(|| refused("it was refused when it arrived, so its body was not kept"))?;
    let provider = match delivery.provider.as_deref() {
        Some("github") => verify::Provider::Github,
        Some("gitlab") => verify::Provider::Gitlab,
        Some("gitea") => verify::Provider::Gitea,
        _ => return Err(refused("it names no provider")),
    };
    let event = match event::parse(provider, &delivery.event, &body) {
        Ok(event) => event,
        Err(event::Unusable::Ignored(why) | event::Unusable::Malformed(why)) => {
            return Err(refused(&format!("nothing to run ({why})")))
        }
    };
    let queues: BTreeMap<String, QueuePolicy> =
        settings.targets.iter().map(|(name, t)| (name.clone(), t.queue.clone())).collect();
    let jobs: Vec<_> =
        rules::matching(&settings.rules, &event).into_iter().map(|r| new_job(&queues, r, &event)).collect();
    if jobs.is_empty() {
        return Err(refused(&format!(
            "no rule in stepkit.toml matches {} {}",
            event.kind.name(),
            event.git_ref
        )));
    }
    let ids = store.requeue_delivery(id, &jobs)?;
    let mut outcome =
        Outcome::new("hook replay", Verdict::Passed, format!("delivery {id} replayed: jobs {ids:?} queued"));
    outcome.set_data(&ReplayData { schema_version: SCHEMA_VERSION, delivery: id, jobs: ids });
    Ok(outcome)
}
