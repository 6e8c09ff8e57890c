//! The swap, as a small state machine: start the candidate under a name of its own (stopping the live
//! version first only when the candidate needs its host ports), gate it, and only then move the name
//! `APP` to it (the live version takes its kept name); on a failure or a signal the candidate goes and
//! the live version, which kept `APP` all along, runs again. Never zero running versions.

use super::docker::{self, Found, Spec};
use super::hooks::{self, HookRun, HookSettings, Phase};
use super::proxy::{Switched, Upstream};
use super::traffic::{self, ProxySettings};
use super::DeployError;
use crate::report::{Live, Outcome, Verdict};
use crate::signals::{Signal, Signals};
use crate::steps::gate::{self, GateSettings, Probe};
use bollard::Docker;
use std::time::{Duration, Instant};

/// The longest a revert after a signal may take: DESIGN.md gives the whole step 5 s.
const REVERT_BUDGET: Duration = Duration::from_millis(4000);

/// The proxy's part of a revert after a signal, before [`REVERT_BUDGET`]: putting the previous
/// version back into the proxy is one command, taking the candidate out the rest.
const UNDO_BUDGET: Duration = Duration::from_millis(1000);

/// What takes the place of the live version.
#[derive(Debug, Clone)]
pub enum Candidate {
    /// A new container (`stepkit deploy`), created as `spec.name` (`APP-next-<time>`).
    New(Box<Spec>),
    /// A kept version (`stepkit deploy rollback`), started under its kept name.
    Kept(Found),
}

impl Candidate {
    /// Its name while it is gated: never `APP`.
    fn gated_name(&self) -> &str {
        match self {
            Candidate::New(spec) => &spec.name,
            Candidate::Kept(found) => &found.name,
        }
    }
}

/// What to swap and how.
pub struct Plan<'a> {
    pub app: &'a str,
    pub candidate: Candidate,
    /// The name the live version takes once the candidate has passed its gate.
    pub retire_as: String,
    pub stop_timeout: Duration,
    pub gate: &'a GateSettings,
    /// Traffic moves through this proxy once the candidate passed, before the renames.
    pub proxy: Option<&'a ProxySettings>,
    /// Its before-switch hooks run between the candidate's gate and the switch (a new version only).
    pub hooks: Option<&'a HookSettings>,
}

/// How the swap ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ending {
    /// The candidate passed its gate and is `APP`; the previous version is kept, stopped.
    Passed,
    /// The candidate failed and is gone (or kept again, for a rollback); the previous version is back.
    Reverted,
    /// A signal: before the candidate passed (reverted) or after (the candidate stays).
    Interrupted { signal: Signal, after_pass: bool },
}

/// Everything that happened, for the outcome.
pub struct Swap {
    /// The live version at the start.
    pub previous: Option<Found>,
    /// The candidate needed the previous version's host ports, so it was stopped before the candidate started.
    pub stop_first: bool,
    pub candidate_id: Option<String>,
    /// The candidate's gate.
    pub gate: Option<Outcome>,
    /// Why the candidate failed, to follow "failed": `its gate: closed ...`, `to start container ...`.
    pub failure: Option<String>,
    /// The previous version's gate after it was put back.
    pub restore_gate: Option<Outcome>,
    pub ending: Ending,
    /// What went wrong while putting the previous version back.
    pub problems: Vec<String>,
    /// Stop-first only: from the previous version's stop to the candidate's gate opening (or the revert).
    pub downtime: Option<Duration>,
    /// With a proxy: how the switch went, once it did.
    pub switched: Option<Switched>,
    /// With a proxy: the servers of a switch that began (new, old), for its undo.
    switching: Option<(Upstream, Option<Upstream>)>,
    /// The hooks that ran (before-switch here; the deploy adds its after-switch ones).
    pub hooks: Vec<HookRun>,
    /// The hook container of a hook under way, removed when a signal cuts it off.
    hook_container: Option<String>,
}

impl Swap {
    /// A swap about to start: nothing done yet (`ending` holds until the swap says otherwise).
    pub(super) fn new(previous: Option<Found>, stop_first: bool) -> Swap {
        Swap {
            previous,
            stop_first,
            candidate_id: None,
            gate: None,
            failure: None,
            restore_gate: None,
            ending: Ending::Passed,
            problems: Vec::new(),
            downtime: None,
            switched: None,
            switching: None,
            hooks: Vec::new(),
            hook_container: None,
        }
    }
}

enum Halt {
    Failed(String),
    Signal(Signal),
}

impl From<DeployError> for Halt {
    fn from(e: DeployError) -> Self {
        Halt::Failed(format!("to {e}"))
    }
}

impl From<Signal> for Halt {
    fn from(signal: Signal) -> Self {
        Halt::Signal(signal)
    }
}

/// Runs `step` unless a signal comes first.
pub(super) async fn guarded<T>(
    signals: &mut Signals,
    step: impl std::future::Future<Output = T>,
) -> Result<T, Signal> {
    tokio::select! {
        biased;
        signal = signals.recv() => Err(signal),
        value = step => Ok(value),
    }
}

/// Swaps the candidate in. Errors only before anything changed; after that every failure ends in a revert.
pub async fn swap(
    docker: &Docker,
    plan: &Plan<'_>,
    live: &mut dyn Live,
    signals: &mut Signals,
) -> Result<Swap, DeployError> {
    let previous = docker::find(docker, plan.app).await?;
    let wanted: Vec<String> = match &plan.candidate {
        Candidate::New(spec) => {
            spec.publish.iter().map(|p| format!("{}/{}", p.host_port, p.protocol)).collect()
        }
        Candidate::Kept(found) => found.host_ports.clone(),
    };
    // Behind a proxy the versions need no host ports of their own: always start-first.
    let stop_first = plan.proxy.is_none() && previous.as_ref().is_some_and(|p| needs_stop_first(p, &wanted));
    let mut s = Swap::new(previous, stop_first);
    let mut stop_issued = None;
    let forward = forward(docker, plan, live, signals, &mut s, &mut stop_issued).await;
    match forward {
        Ok(()) => {
            s.downtime = stop_issued.map(|t: Instant| t.elapsed());
            if let Some(prev) = s.previous.as_ref().filter(|p| p.running && !s.stop_first) {
                live.line(&format!(
                    "stepkit deploy: stopping the previous version {} (kept as {})",
                    prev.image, plan.retire_as
                ));
                let stopped = guarded(signals, docker::stop(docker, &prev.id, plan.stop_timeout)).await;
                match stopped {
                    Ok(Ok(())) => {}
                    Ok(Err(e)) => s.problems.push(format!(
                        "the new version runs, but the previous one could not be stopped: {e}"
                    )),
                    Err(signal) => {
                        // The new version passed: finish its side of the swap, quickly.
                        let _ = tokio::time::timeout(REVERT_BUDGET, docker::kill(docker, &prev.id)).await;
                        s.ending = Ending::Interrupted { signal, after_pass: true };
                    }
                }
            }
        }
        Err(Halt::Failed(why)) => {
            live.line(&format!("stepkit deploy: the new version failed {why}"));
            s.failure = Some(why);
            s.problems = drop_hook(docker, &mut s).await;
            let undone = undo_switch(plan, &mut s, live).await;
            s.problems.extend(undone);
            s.problems.extend(revert(docker, plan, &s, stop_issued.is_some(), false, live).await);
            s.downtime = stop_issued.map(|t| t.elapsed());
            s.ending = Ending::Reverted;
            if s.previous.is_some() && s.problems.is_empty() {
                live.line("stepkit deploy: gating the restored previous version");
                match guarded(signals, gate::run(plan.gate, live)).await {
                    Ok(Ok(outcome)) => s.restore_gate = Some(outcome),
                    Ok(Err(e)) => s
                        .problems
                        .push(format!("the previous version is back, but its gate could not run: {e}")),
                    Err(signal) => s.ending = Ending::Interrupted { signal, after_pass: false },
                }
            }
        }
        Err(Halt::Signal(signal)) => {
            live.line(&format!(
                "stepkit deploy: {} received; putting the previous version back",
                signal.name()
            ));
            let hook = s.hook_container.clone();
            let mut hook_problems =
                tokio::time::timeout(UNDO_BUDGET, drop_hook(docker, &mut s)).await.unwrap_or_default();
            // Traffic first, while the previous version still runs: never zero versions serving.
            let undone = undo_switch(plan, &mut s, live);
            let mut problems = tokio::time::timeout(UNDO_BUDGET, undone).await.unwrap_or_else(|_| {
                vec!["putting traffic back on the previous version took too long; check the proxy".into()]
            });
            problems.extend(match tokio::time::timeout(REVERT_BUDGET, revert(docker, plan, &s, stop_issued.is_some(), true, live)).await {
                Ok(problems) => problems,
                Err(_) => vec![format!("putting the previous version back took longer than {} s; check `docker ps -a --filter name={}`", REVERT_BUDGET.as_secs(), plan.app)],
            });
            if let Some(name) = hook {
                // A create the signal cut off may land after the first removal.
                hook_problems = match docker::remove(docker, &name).await {
                    Ok(()) => Vec::new(),
                    Err(e) => vec![format!("the hook container {name} could not be removed: {e}")],
                };
            }
            problems.extend(hook_problems);
            s.problems = problems;
            s.ending = Ending::Interrupted { signal, after_pass: false };
        }
    }
    Ok(s)
}

/// A running version must stop before the candidate starts when they publish the same host port
/// (`PORT/proto`; the host IP is ignored: `0.0.0.0:8080` and `127.0.0.1:8080` collide too).
fn needs_stop_first(previous: &Found, wanted: &[String]) -> bool {
    previous.running && previous.host_ports.iter().any(|h| wanted.contains(h))
}

/// Start, gate, and only then move the name. `Ok` means the candidate passed and is `APP`.
async fn forward(
    docker: &Docker,
    plan: &Plan<'_>,
    live: &mut dyn Live,
    signals: &mut Signals,
    s: &mut Swap,
    stop_issued: &mut Option<Instant>,
) -> Result<(), Halt> {
    if let Some(prev) = s.previous.as_ref().filter(|_| s.stop_first) {
        live.line(&format!(
            "stepkit deploy: stopping {} ({}) first: the new version needs its host port(s) {}",
            plan.app,
            prev.image,
            prev.host_ports.join(", ")
        ));
        *stop_issued = Some(Instant::now());
        guarded(signals, docker::stop(docker, &prev.id, plan.stop_timeout)).await??;
    }
    let id = match &plan.candidate {
        Candidate::New(spec) => {
            let id = guarded(signals, docker::create(docker, spec)).await??;
            s.candidate_id = Some(id.clone());
            id
        }
        Candidate::Kept(found) => {
            s.candidate_id = Some(found.id.clone());
            found.id.clone()
        }
    };
    let gated_name = plan.candidate.gated_name();
    live.line(&format!(
        "stepkit deploy: starting {gated_name} ({}); it becomes {} only once it passes its gate",
        docker::short(&id),
        plan.app
    ));
    guarded(signals, docker::start(docker, &id)).await??;
    let outcome = match guarded(signals, gate::run(&candidate_gate(plan.gate, plan.app, &id), live)).await? {
        Ok(outcome) => outcome,
        Err(e) => return Err(Halt::Failed(format!("to run its gate: {e}"))),
    };
    let passed = outcome.verdict == Verdict::Passed;
    let headline = outcome.headline.clone();
    s.gate = Some(outcome);
    if !passed {
        return Err(Halt::Failed(format!("its gate: {headline}")));
    }
    if let (Some(settings), Candidate::New(spec)) = (plan.hooks, &plan.candidate) {
        before_switch(docker, plan.app, settings, spec, signals, s, live).await?;
    }
    if let Some(proxy) = plan.proxy {
        switch_traffic(docker, proxy, signals, s, &id, live).await?;
    }
    // Docker's DNS follows a rename (running or not), so the name is the whole switch: until here
    // everything that finds the app by name reached the previous version.
    if let Some(prev) = &s.previous {
        live.line(&format!("stepkit deploy: keeping {} ({}) as {}", plan.app, prev.image, plan.retire_as));
        guarded(signals, docker::rename(docker, &prev.id, &plan.retire_as)).await??;
    }
    live.line(&format!("stepkit deploy: {gated_name} takes the name {}", plan.app));
    guarded(signals, docker::rename(docker, &id, plan.app)).await??;
    Ok(())
}

/// The before-switch hooks, in order: the first that fails halts the swap (the candidate goes, the
/// previous version never lost the name or its traffic).
async fn before_switch(
    docker: &Docker,
    app: &str,
    settings: &HookSettings,
    app_spec: &Spec,
    signals: &mut Signals,
    s: &mut Swap,
    live: &mut dyn Live,
) -> Result<(), Halt> {
    for (n, argv) in settings.before_switch.iter().enumerate() {
        let name = hooks::container_name(app, Phase::BeforeSwitch, chrono::Utc::now(), n + 1);
        let spec = hooks::spec(app_spec, name.clone(), argv, Phase::BeforeSwitch);
        // Recorded before the create: a signal may cut it off after the container exists.
        s.hook_container = Some(name);
        let run =
            guarded(signals, hooks::run(docker, &spec, Phase::BeforeSwitch, argv, settings.timeout, live))
                .await??;
        s.hook_container = None;
        let failed = (!run.passed()).then(|| run.failure());
        s.hooks.push(run);
        if let Some(why) = failed {
            return Err(Halt::Failed(why));
        }
    }
    Ok(())
}

/// Removes the container of a hook a signal cut off (also one whose create lands after the signal).
async fn drop_hook(docker: &Docker, s: &mut Swap) -> Vec<String> {
    let Some(name) = s.hook_container.take() else { return Vec::new() };
    match docker::remove(docker, &name).await {
        Ok(()) => Vec::new(),
        Err(e) => vec![format!("the hook container {name} could not be removed: {e}")],
    }
}

/// Adds the gated candidate to the proxy and drains and removes the previous version's server.
async fn switch_traffic(
    docker: &Docker,
    proxy: &ProxySettings,
    signals: &mut Signals,
    s: &mut Swap,
    id: &str,
    live: &mut dyn Live,
) -> Result<(), Halt> {
    let to = guarded(signals, traffic::upstream(docker, id, proxy.upstream_port)).await??;
    let from = guarded(signals, traffic::from(docker, s.previous.as_ref(), proxy.upstream_port)).await??;
    live.line(&format!(
        "stepkit deploy: moving traffic to {} ({}) through {}{}",
        to.name,
        to.addr,
        proxy.shown(),
        from.as_ref()
            .map(|f| format!(", draining {} for up to {:?}", f.name, proxy.drain_timeout))
            .unwrap_or_default()
    ));
    // Recorded before the first command: a signal may land in the middle, and the undo must know.
    s.switching = Some((to.clone(), from.clone()));
    let switched = guarded(signals, traffic::switch(proxy, &to, from.as_ref()))
        .await?
        .map_err(|e| Halt::Failed(format!("to switch traffic: {e}")))?;
    live.line(&format!(
        "stepkit deploy: traffic moved; the drain took {:?}, {} request(s) cut",
        switched.drain, switched.cut
    ));
    s.switched = Some(switched);
    Ok(())
}

/// Undoes a switch that began (traffic back on the previous version, the candidate out of the proxy).
async fn undo_switch(plan: &Plan<'_>, s: &mut Swap, live: &mut dyn Live) -> Vec<String> {
    let (Some(proxy), Some((to, from))) = (plan.proxy, s.switching.take()) else { return Vec::new() };
    let problems = traffic::undo(proxy, &to, from.as_ref()).await;
    if problems.is_empty() {
        live.line("stepkit deploy: traffic is back on the previous version");
    }
    s.switched = None;
    problems
}

/// The candidate's gate: the probes of the container `APP` watch the candidate (by id) instead, and
/// still call it `APP` in the evidence.
fn candidate_gate(gate: &GateSettings, app: &str, id: &str) -> GateSettings {
    let mut gate = gate.clone();
    for probe in &mut gate.probes {
        if let Probe::Container { name, target } = probe {
            if name == app {
                *target = Some(id.to_string());
            }
        }
    }
    gate
}

/// How long after a revert that a signal caused it is checked again: a request the signal cut off
/// (a create, a rename, a stop) may still land at the daemon after the revert's own.
const SETTLE: Duration = Duration::from_millis(300);

/// Puts the previous version back under `APP`, running, from whatever state the swap reached (it
/// looks at the engine, not at what it meant to do: a request cut off by a signal may have landed).
/// `interrupted`: requests may still be in flight, so the result is checked again after [`SETTLE`].
/// Returns what could not be done.
async fn revert(
    docker: &Docker,
    plan: &Plan<'_>,
    s: &Swap,
    stop_issued: bool,
    interrupted: bool,
    live: &mut dyn Live,
) -> Vec<String> {
    let mut problems = Vec::new();
    // A create cut off by a signal can still land a moment later, hence a few tries.
    for attempt in 0..3 {
        problems.clear();
        if attempt > 0 {
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
        match drop_candidate(docker, plan, s).await {
            Ok(true) => live.line(&format!(
                "stepkit deploy: {} the failed version",
                if matches!(plan.candidate, Candidate::New(_)) { "removed" } else { "stopped and re-kept" }
            )),
            Ok(false) => {}
            Err(e) => {
                problems.push(e.to_string());
                continue;
            }
        }
        let Some(prev) = &s.previous else {
            if interrupted && !settled(docker, plan, None).await {
                problems.push(format!("a new container took the name {} after the signal", plan.app));
                continue;
            }
            return problems;
        };
        let restored = async {
            // Only when the swap got as far as the rename: otherwise it never lost the name.
            if docker::find(docker, &prev.id).await?.is_some_and(|p| p.name != plan.app) {
                docker::rename(docker, &prev.id, plan.app).await?;
            }
            if stop_issued {
                // A stop may still be under way; end it so the start below is not undone by it.
                docker::kill(docker, &prev.id).await?;
            }
            docker::start(docker, &prev.id).await
        };
        match restored.await {
            Ok(()) if interrupted && !settled(docker, plan, Some(&prev.id)).await => {
                // A late stop stopped it again, or a late create or rename took a name: once more.
                problems.push(format!(
                    "the previous version was not running as {} a moment after it was restored",
                    plan.app
                ));
            }
            Ok(()) => {
                live.line(&format!(
                    "stepkit deploy: restored the previous version {} ({}) as {}",
                    prev.image,
                    docker::short(&prev.id),
                    plan.app
                ));
                return Vec::new();
            }
            Err(e) => problems.push(e.to_string()),
        }
    }
    problems
}

/// Takes the candidate out, whatever name it reached: a new one is removed, a kept one is stopped and
/// gets its kept name back. Looked up by id, by its gated name (a create cut off by a signal can land
/// later, its id unknown) and as the holder of `APP`. Whether there was anything to do.
async fn drop_candidate(docker: &Docker, plan: &Plan<'_>, s: &Swap) -> Result<bool, DeployError> {
    let previous_id = s.previous.as_ref().map(|p| p.id.as_str());
    let mut found: Vec<Found> = Vec::new();
    let names = [Some(plan.app), Some(plan.candidate.gated_name()), s.candidate_id.as_deref()];
    for name in names.into_iter().flatten() {
        if let Some(c) = docker::find(docker, name).await? {
            if Some(c.id.as_str()) != previous_id && !found.iter().any(|f| f.id == c.id) {
                found.push(c);
            }
        }
    }
    let mut did = false;
    for c in found {
        match &plan.candidate {
            Candidate::New(_) => {
                docker::remove(docker, &c.id).await?;
                did = true;
            }
            Candidate::Kept(kept) if c.id == kept.id => {
                docker::kill(docker, &c.id).await?;
                if c.name != kept.name {
                    docker::rename(docker, &c.id, &kept.name).await?;
                }
                did |= c.running || c.name != kept.name;
            }
            // Not the kept version: nothing a rollback made.
            Candidate::Kept(_) => {}
        }
    }
    Ok(did)
}

/// After [`SETTLE`]: `APP` is held by `expected`, running (or by nothing, when `None`), and no late
/// create left a new version under its gated name.
async fn settled(docker: &Docker, plan: &Plan<'_>, expected: Option<&str>) -> bool {
    tokio::time::sleep(SETTLE).await;
    let held = match (docker::find(docker, plan.app).await, expected) {
        (Ok(None), None) => true,
        (Ok(Some(holder)), Some(id)) => holder.id == id && holder.running,
        _ => false,
    };
    held && match &plan.candidate {
        Candidate::New(spec) => matches!(docker::find(docker, &spec.name).await, Ok(None)),
        Candidate::Kept(_) => true,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn found(running: bool, ports: &[&str]) -> Found {
        Found {
            id: "id".into(),
            name: "web".into(),
            running,
            image: "web:1".into(),
            digest: "d".into(),
            deployed_at: None,
            host_ports: ports.iter().map(|p| p.to_string()).collect(),
            secrets: vec![],
        }
    }

    #[test]
    fn stop_first_only_when_a_running_version_holds_a_wanted_host_port() {
        let wanted = vec!["8080/tcp".to_string(), "53/udp".to_string()];
        assert!(needs_stop_first(&found(true, &["8080/tcp"]), &wanted));
        assert!(needs_stop_first(&found(true, &["9000/tcp", "53/udp"]), &wanted));
        assert!(!needs_stop_first(&found(false, &["8080/tcp"]), &wanted), "a stopped version holds no port");
        assert!(!needs_stop_first(&found(true, &["8080/udp", "9090/tcp"]), &wanted));
        assert!(!needs_stop_first(&found(true, &[]), &wanted));
        assert!(!needs_stop_first(&found(true, &["8080/tcp"]), &[]));
    }
}
