//! The deploy's `Outcome`: verdict and headline from how the swap ended, the duration (and its delta
//! from the previous deploy), both gates' evidence (the gate's own JSON), step outputs (the caller
//! redacts secrets, redact.rs).

use super::docker::{short, Found};
use super::swap::{Ending, Plan, Swap};
use super::traffic::ProxySettings;
use crate::report::{Annotation, AnnotationLevel, Outcome, Verdict};
use crate::result::deploy::{
    DeployData, DeployedData, DurationDelta, GateEvidence, Interrupted, PreviousData, ProxyData,
    RollbackData, RolledBackData, SwapData, SCHEMA_VERSION,
};
use chrono::{DateTime, Utc};
use std::path::Path;
use std::time::Duration;

/// What a deploy and a rollback both hand over once their swap ran: the image swapped in and how.
pub struct Swapped<'a> {
    /// What the swap was asked to do: the app, and the proxy traffic moves through.
    pub plan: &'a Plan<'a>,
    pub environment: Option<&'a str>,
    /// The candidate: the image deployed, or the kept version a rollback brings back.
    pub image: &'a str,
    pub digest: &'a str,
    pub swap: Swap,
    pub duration: Duration,
    pub kept: Vec<String>,
    pub removed: Vec<String>,
    pub warnings: Vec<String>,
}

/// A finished `stepkit deploy`.
pub struct Deployed<'a> {
    pub swapped: Swapped<'a>,
    pub at: DateTime<Utc>,
    /// The previous deploy's duration from `--previous-result`: found, absent, or why it could not be read.
    pub baseline: Option<Result<Option<u64>, String>>,
    /// What the deploy did about each companion (all ready, or the app would not have been touched).
    pub companions: Vec<super::companion::Ensured>,
    /// Why an after-switch hook failed: the deploy fails, the new version stays.
    pub after_failure: Option<String>,
}

/// A finished `stepkit deploy rollback`.
pub struct RolledBack<'a> {
    pub swapped: Swapped<'a>,
    /// The kept version brought back (its image is `swapped.image`).
    pub target: &'a Found,
}

impl Swapped<'_> {
    /// The data both commands report about their swap. `result` is the command's word for how it
    /// ended; `kept_as` the previous version's name now, when it is no longer the app's.
    fn data(&self, result: &str, rolled_back: bool, kept_as: Option<&str>) -> SwapData {
        let swap = &self.swap;
        // The candidate is live when the swap passed, even if a signal came right after.
        let live = matches!(swap.ending, Ending::Passed | Ending::Interrupted { after_pass: true, .. });
        SwapData {
            schema_version: SCHEMA_VERSION,
            app: self.plan.app.into(),
            environment: self.environment.map(Into::into),
            image: self.image.into(),
            digest: self.digest.into(),
            container: self.plan.app.into(),
            container_id: swap.candidate_id.clone().filter(|_| live),
            result: result.into(),
            rolled_back,
            strategy: if swap.stop_first { "stop-first" } else { "start-first" }.into(),
            previous: previous_data(&swap.previous, kept_as),
            duration_ms: millis(self.duration),
            downtime_ms: swap.downtime.map(millis),
            proxy: proxy_data(self.plan.proxy, swap),
            gate: gate_evidence(&swap.gate),
            restore_gate: gate_evidence(&swap.restore_gate),
            failure: swap.failure.clone(),
            problems: swap.problems.clone(),
            kept: self.kept.clone(),
            removed: self.removed.clone(),
        }
    }
}

fn millis(d: Duration) -> u64 {
    d.as_millis() as u64
}

fn secs(d: Duration) -> String {
    crate::steps::gate::answer::ms(d)
}

/// `data.duration_ms` of an earlier deploy result file of the same app.
pub fn read_previous_duration(path: &Path, app: &str) -> Result<Option<u64>, String> {
    let read = crate::result::read_if_present(path);
    let Some(doc) = read.map_err(|e| format!("could not read --previous-result {}: {e}", path.display()))?
    else {
        return Ok(None);
    };
    let data = &doc["data"];
    if data["app"].as_str().is_some_and(|a| a != app) {
        return Err(format!(
            "--previous-result {} is a deploy of {}, not {app}: no duration delta",
            path.display(),
            data["app"].as_str().unwrap_or_default()
        ));
    }
    // A failed or interrupted deploy's duration is not a fair baseline.
    if doc["verdict"] != "passed" {
        return Ok(None);
    }
    Ok(data["duration_ms"].as_u64())
}

/// The gate's outcome as evidence: its verdict and headline beside its data.
fn gate_evidence(gate: &Option<Outcome>) -> Option<GateEvidence> {
    gate.as_ref().map(|o| GateEvidence {
        verdict: o.verdict,
        headline: o.headline.clone(),
        data: o.data.as_object().cloned().unwrap_or_default(),
    })
}

fn previous_data(p: &Option<Found>, kept_as: Option<&str>) -> Option<PreviousData> {
    p.as_ref().map(|p| PreviousData {
        name: kept_as.unwrap_or(&p.name).to_string(),
        id: p.id.clone(),
        image: p.image.clone(),
        digest: p.digest.clone(),
        deployed_at: p.deployed_at.clone(),
    })
}

/// The evidence of both gates, for text and markdown.
fn evidence(outcome: &mut Outcome, swap: &Swap) {
    for (title, gate) in
        [("the new version's gate", &swap.gate), ("the restored version's gate", &swap.restore_gate)]
    {
        if let Some(g) = gate {
            outcome.text.push_str(&format!("{title}: {}\n{}", g.headline, g.text));
            outcome.markdown.push_str(&format!(
                "\n**{}:** {}\n\n{}",
                capitalise(title),
                g.headline,
                g.markdown
            ));
        }
    }
    for hook in &swap.hooks {
        outcome.text.push_str(&hook.text());
        outcome.markdown.push_str(&format!(
            "\n**{} hook** `{}`: {}\n\n{}",
            hook.phase.name(),
            hook.command(),
            if hook.passed() { "passed".to_string() } else { hook.failure() },
            crate::sanitize::code_block(&hook.output, "text")
        ));
    }
    for problem in &swap.problems {
        outcome.text.push_str(&format!("problem: {problem}\n"));
        outcome.markdown.push_str(&format!("\n> ⚠️ {problem}\n"));
    }
}

fn capitalise(s: &str) -> String {
    let mut c = s.chars();
    c.next().map(|f| f.to_uppercase().collect::<String>() + c.as_str()).unwrap_or_default()
}

/// What happened to the previous version after a failure, for headlines.
fn after_failure(swap: &Swap, what: &str) -> String {
    match (&swap.previous, swap.problems.first(), &swap.restore_gate) {
        (None, _, _) => format!("there was no previous version: {what} is not running"),
        (Some(_), Some(problem), _) => format!("the previous version could NOT be restored: {problem}"),
        (Some(p), None, Some(g)) if g.verdict == Verdict::Passed => {
            format!("rolled back to {} ({}), which passed its gate again", p.image, short(&p.digest))
        }
        (Some(p), None, Some(g)) => {
            format!("rolled back to {}, which is running but failed its gate too: {}", p.image, g.headline)
        }
        (Some(p), None, None) => format!("rolled back to {} (running; its gate was not run again)", p.image),
    }
}

fn fail_annotation(outcome: &mut Outcome, title: &str) {
    outcome.annotations.push(Annotation {
        level: AnnotationLevel::Error,
        title: Some(title.into()),
        message: outcome.headline.clone(),
        file: None,
        line: None,
    });
}

/// The verdict, headline and `result` word for how the swap ended; `passed` names what now runs.
fn ending(swap: &Swap, app: &str, passed: String, failed_what: &str) -> (Verdict, String, &'static str) {
    match swap.ending {
        Ending::Passed => (Verdict::Passed, passed, "deployed"),
        Ending::Reverted => {
            let why = swap.failure.clone().unwrap_or_default();
            let result =
                if swap.previous.is_some() && swap.problems.is_empty() { "rolled-back" } else { "failed" };
            (Verdict::Failed, format!("{failed_what} failed {why}; {}", after_failure(swap, app)), result)
        }
        Ending::Interrupted { signal, after_pass: true } => (
            signal.verdict(),
            format!("{} received after the new version passed its gate: {passed}", signal.name()),
            "deployed",
        ),
        Ending::Interrupted { signal, after_pass: false } => {
            let state = match (&swap.previous, swap.problems.first()) {
                (_, Some(problem)) => format!("the previous version could NOT be restored: {problem}"),
                (Some(p), None) => format!("the previous version {} is back and running as {app}", p.image),
                (None, None) => {
                    format!("there was no previous version; the new one was removed: {app} is not running")
                }
            };
            (
                signal.verdict(),
                format!("{} received before {failed_what} passed its gate; {state}", signal.name()),
                "interrupted",
            )
        }
    }
}

/// A signal while waiting for another deploy's lock: nothing was looked at or changed.
pub fn interrupted_waiting(command: &str, app: &str, signal: crate::signals::Signal) -> Outcome {
    let mut outcome = Outcome::new(
        command,
        signal.verdict(),
        format!(
            "{} received while waiting for another deploy of {app} to finish; nothing was changed",
            signal.name()
        ),
    );
    outcome.set_data(&interrupted(app));
    outcome
}

/// The data of a command a signal stopped before it changed anything.
pub fn interrupted(app: &str) -> Interrupted {
    Interrupted {
        schema_version: SCHEMA_VERSION,
        app: app.to_string(),
        result: "interrupted".into(),
        rolled_back: false,
        github_deployment: None,
    }
}

/// The proxy traffic moved through, and how: `switched` false when it did not (a failure undone).
fn proxy_data(proxy: Option<&ProxySettings>, swap: &Swap) -> Option<ProxyData> {
    proxy.map(|proxy| ProxyData {
        kind: "haproxy".into(),
        socket: proxy.socket.clone(),
        backend: proxy.backend.clone(),
        upstream_port: proxy.upstream_port,
        switched: swap.switched.is_some(),
        drain_ms: swap.switched.as_ref().map(|s| millis(s.drain)),
        cut: swap.switched.as_ref().map(|s| s.cut),
    })
}

/// The deploy's duration against the passed one in `--previous-result`; why that file could not be
/// read is a warning, not a failure.
fn duration_delta(
    duration: Duration,
    baseline: Option<Result<Option<u64>, String>>,
    warnings: &mut Vec<String>,
) -> DurationDelta {
    let previous = match baseline {
        Some(Ok(ms)) => ms,
        Some(Err(message)) => {
            warnings.push(message);
            None
        }
        None => None,
    };
    DurationDelta {
        previous_duration_ms: previous,
        duration_delta_ms: previous.map(|ms| millis(duration) as i64 - ms as i64),
    }
}

pub fn deploy_outcome(d: Deployed) -> Outcome {
    let Deployed { swapped: mut s, at, baseline, companions, after_failure } = d;
    let swap = &s.swap;
    let opened = swap.gate.as_ref().and_then(|g| g.data["opened_after_ms"].as_u64());
    let mut passed = format!("{} runs {} ({})", s.plan.app, s.image, short(s.digest));
    if let Some(ms) = opened {
        passed.push_str(&format!(": the gate opened after {}", secs(Duration::from_millis(ms))));
    }
    match (&swap.previous, s.kept.first()) {
        (Some(p), Some(kept)) => passed.push_str(&format!("; previous {} kept as {kept}", p.image)),
        (Some(p), None) => passed.push_str(&format!("; previous {} removed (--keep 0)", p.image)),
        (None, _) => passed.push_str("; first deploy"),
    }
    passed.push_str(&format!("; took {}", secs(s.duration)));
    let (mut verdict, mut headline, result) =
        ending(swap, s.plan.app, passed, &format!("{} ({})", s.image, short(s.digest)));
    if let (Some(why), Verdict::Passed) = (&after_failure, verdict) {
        verdict = Verdict::Failed;
        headline = format!(
            "{headline}; but {why}: the new version stays live (stepkit deploy rollback puts the previous one back)"
        );
    }

    let mut warnings = std::mem::take(&mut s.warnings);
    let against_previous = duration_delta(s.duration, baseline, &mut warnings);
    let duration_delta_ms = against_previous.duration_delta_ms;
    let mut outcome = Outcome::new("deploy", verdict, headline);
    outcome.warnings = warnings;
    // The gates' own warnings (a missing --baseline file, say) would otherwise be lost inside the deploy.
    for gate in [&swap.gate, &swap.restore_gate].into_iter().flatten() {
        outcome.warnings.extend(gate.warnings.iter().cloned());
    }
    outcome.warnings.extend(swap.problems.iter().filter(|_| verdict == Verdict::Passed).cloned());
    evidence(&mut outcome, swap);
    outcome.step_summary = true;
    let rolled_back = result == "rolled-back"
        || (matches!(swap.ending, Ending::Interrupted { after_pass: false, .. })
            && swap.previous.is_some()
            && swap.problems.is_empty());
    // After a failure the previous version is `APP` again; after a success it carries its kept name.
    let retired = if result == "deployed" { s.kept.first().cloned() } else { None };
    let mut data = s.data(result, rolled_back, retired.as_deref());
    // An after-switch hook's failure fails the deploy though the swap itself passed.
    data.failure = data.failure.or(after_failure);
    outcome.set_data(&DeployData::Swapped(Box::new(DeployedData {
        swap: data,
        deployed_at: at.to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
        against_previous,
        hooks: swap.hooks.iter().map(super::hooks::HookRun::data).collect(),
        companions: companions.iter().map(super::companion::Ensured::data).collect(),
        github_deployment: None,
    })));
    outcome.outputs = vec![
        ("result".into(), result.into()),
        ("rolled-back".into(), rolled_back.to_string()),
        ("digest".into(), s.digest.into()),
        ("duration-ms".into(), millis(s.duration).to_string()),
    ];
    if let Some(id) = swap.candidate_id.as_ref().filter(|_| result == "deployed") {
        outcome.outputs.push(("container-id".into(), id.clone()));
    }
    if let Some(p) = &swap.previous {
        outcome.outputs.push(("previous-image".into(), p.image.clone()));
    }
    if let Some(delta) = duration_delta_ms {
        outcome.outputs.push(("duration-delta-ms".into(), delta.to_string()));
    }
    if verdict != Verdict::Passed {
        fail_annotation(
            &mut outcome,
            if rolled_back { "deploy failed: rolled back" } else { "deploy failed" },
        );
    }
    outcome
}

pub fn rollback_outcome(r: RolledBack) -> Outcome {
    let RolledBack { swapped: mut s, target } = r;
    let swap = &s.swap;
    let mut passed = format!("{} runs {} ({}) again", s.plan.app, s.image, short(s.digest));
    if let Some(p) = &swap.previous {
        passed.push_str(&format!("; {} removed", p.image));
    }
    passed.push_str(&format!("; took {}", secs(s.duration)));
    let (verdict, headline, result) =
        ending(swap, s.plan.app, passed, &format!("the kept version {}", s.image));
    let result = match result {
        "deployed" => "rolled-back",
        "rolled-back" => "restored-current",
        other => other,
    };
    let mut outcome = Outcome::new("deploy rollback", verdict, headline);
    outcome.warnings = std::mem::take(&mut s.warnings);
    evidence(&mut outcome, swap);
    outcome.step_summary = true;
    outcome.set_data(&RollbackData::Swapped(Box::new(RolledBackData {
        swap: s.data(result, result == "rolled-back", None),
        restored_from: target.name.clone(),
    })));
    outcome.outputs = vec![
        ("result".into(), result.into()),
        ("image".into(), s.image.into()),
        ("duration-ms".into(), millis(s.duration).to_string()),
    ];
    if verdict != Verdict::Passed {
        fail_annotation(&mut outcome, "rollback failed");
    }
    outcome
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::steps::gate::GateSettings;
    use serde_json::Value;

    fn found(name: &str, image: &str) -> Found {
        Found {
            id: format!("{name}-id"),
            name: name.into(),
            running: true,
            image: image.into(),
            digest: format!("{image}-digest"),
            deployed_at: Some("2026-01-01T00:00:00.000Z".into()),
            host_ports: Vec::new(),
            secrets: Vec::new(),
        }
    }

    /// A start-first swap that passed: `candidate_id` is live, `previous` retired.
    fn passed(previous: Found, candidate_id: &str) -> Swap {
        let mut swap = Swap::new(Some(previous), false);
        swap.candidate_id = Some(candidate_id.into());
        swap
    }

    /// The keys of `data` in a real run's snapshot (tests/fixtures/results/NAME.json).
    fn snapshot_keys(name: &str) -> Vec<String> {
        let path = format!("{}/tests/fixtures/results/{name}.json", env!("CARGO_MANIFEST_DIR"));
        let doc: Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
        doc["data"].as_object().unwrap().keys().cloned().collect()
    }

    fn picked(data: &Value, keys: &[&str]) -> Vec<Value> {
        keys.iter().map(|k| data[*k].clone()).collect()
    }

    fn keys(data: &Value) -> Vec<String> {
        data.as_object().unwrap().keys().cloned().collect()
    }

    #[test]
    fn a_deploy_and_a_rollback_report_the_keys_of_their_snapshots_with_their_own_values() {
        let gate = GateSettings::new(Vec::new());
        let target = found("web-prev-1", "web:1");
        let plan = Plan {
            app: "web",
            candidate: super::super::swap::Candidate::Kept(target.clone()),
            retire_as: "web-prev-2".into(),
            stop_timeout: Duration::from_secs(1),
            gate: &gate,
            proxy: None,
            hooks: None,
        };
        let swapped = |image: &'static str, swap: Swap, kept: &[&str], removed: &[&str]| Swapped {
            plan: &plan,
            environment: Some("prod"),
            image,
            digest: "sha256:new",
            swap,
            duration: Duration::from_millis(1500),
            kept: kept.iter().map(|k| k.to_string()).collect(),
            removed: removed.iter().map(|r| r.to_string()).collect(),
            warnings: Vec::new(),
        };

        let deployed = deploy_outcome(Deployed {
            swapped: swapped("web:2", passed(found("web", "web:1"), "new-id"), &["web-prev-2"], &[]),
            at: DateTime::parse_from_rfc3339("2026-01-02T03:04:05Z").unwrap().with_timezone(&Utc),
            baseline: Some(Ok(Some(1000))),
            companions: Vec::new(),
            after_failure: None,
        })
        .data;
        assert_eq!(keys(&deployed), snapshot_keys("deploy"));
        let app_keys = ["app", "container", "environment", "result", "strategy", "deployed_at"];
        assert_eq!(
            picked(&deployed, &app_keys),
            ["web", "web", "prod", "deployed", "start-first", "2026-01-02T03:04:05.000Z"]
        );
        assert_eq!(picked(&deployed, &["image", "container_id"]), ["web:2", "new-id"]);
        assert_eq!(deployed["previous"]["name"], "web-prev-2", "a success reports the kept name");
        assert_eq!(
            (&deployed["duration_ms"], &deployed["previous_duration_ms"]),
            (&1500.into(), &1000.into())
        );
        assert_eq!(deployed["duration_delta_ms"], 500);
        assert_eq!(deployed["rolled_back"], false);

        let mut reverted = passed(found("web", "web:1"), "new-id");
        reverted.ending = Ending::Reverted;
        reverted.failure = Some("its gate: closed".into());
        let failed = deploy_outcome(Deployed {
            swapped: swapped("web:2", reverted, &[], &[]),
            at: Utc::now(),
            baseline: Some(Err("no such file".into())),
            companions: Vec::new(),
            after_failure: None,
        });
        assert_eq!(
            (&failed.data["result"], &failed.data["rolled_back"]),
            (&"rolled-back".into(), &true.into())
        );
        assert_eq!(failed.data["container_id"], Value::Null, "the candidate is gone");
        assert_eq!(failed.data["previous"]["name"], "web", "the previous version is the app again");
        assert_eq!(failed.data["duration_delta_ms"], Value::Null);
        assert!(failed.warnings.contains(&"no such file".to_string()), "{:?}", failed.warnings);

        let rolled_back = rollback_outcome(RolledBack {
            swapped: swapped("web:1", passed(found("web", "web:2"), "web-prev-1-id"), &[], &["x"]),
            target: &target,
        })
        .data;
        assert_eq!(keys(&rolled_back), snapshot_keys("deploy-rollback"));
        let swapped_in = ["image", "container_id", "result", "restored_from"];
        assert_eq!(
            picked(&rolled_back, &swapped_in),
            ["web:1", "web-prev-1-id", "rolled-back", "web-prev-1"]
        );
        assert_eq!(
            (&rolled_back["rolled_back"], &rolled_back["removed"]),
            (&true.into(), &serde_json::json!(["x"]))
        );
        assert_eq!(rolled_back["previous"]["name"], "web", "a rollback reports the previous version's name");
    }

    #[test]
    fn a_signal_while_waiting_for_the_lock_has_the_small_data_it_always_had() {
        let o = interrupted_waiting("deploy rollback", "web", crate::signals::Signal::Term);
        assert_eq!(
            o.data.to_string(),
            r#"{"app":"web","result":"interrupted","rolled_back":false,"schema_version":1}"#,
            "the same keys as before plus schema_version; no github_deployment unless GitHub was told"
        );
    }

    #[test]
    fn the_previous_duration_comes_from_a_passed_deploy_of_the_same_app() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("last.json");
        std::fs::write(&file, r#"{"verdict":"passed","data":{"app":"web","duration_ms":4200}}"#).unwrap();
        assert_eq!(read_previous_duration(&file, "web"), Ok(Some(4200)));
        assert!(read_previous_duration(&file, "api").unwrap_err().contains("not api"));
        std::fs::write(&file, r#"{"verdict":"failed","data":{"app":"web","duration_ms":4200}}"#).unwrap();
        assert_eq!(read_previous_duration(&file, "web"), Ok(None));
        assert_eq!(read_previous_duration(&dir.path().join("missing.json"), "web"), Ok(None));
        std::fs::write(&file, "not json").unwrap();
        assert!(read_previous_duration(&file, "web").is_err());
    }
}
