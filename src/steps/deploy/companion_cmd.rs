//! `stepkit deploy companion restart|remove NAME`, and the outcome of a deploy that stopped at its
//! companions (one failed its gate, or a signal came) before the app was touched.

use super::companion::{self, CompanionSettings, Companions, Ensured};
use super::lock::{self, LockSettings};
use super::pull::PullSettings;
use super::redact::{RedactedLive, Redactor};
use super::{connect, outcome, DeployError};
use crate::report::{Annotation, AnnotationLevel, Live, Outcome, Verdict};
use crate::result::deploy::{CompanionStopped, CompanionsData, SCHEMA_VERSION};
use crate::signals::Signals;
use std::time::{Duration, Instant};

/// Which of the two.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CompanionAction {
    Restart,
    Remove,
}

/// Resolved `stepkit deploy companion restart|remove NAME`.
#[derive(Debug, Clone)]
pub struct CompanionCommandSettings {
    pub action: CompanionAction,
    pub environment: Option<String>,
    pub app: String,
    pub companion: CompanionSettings,
    pub stop_timeout: Duration,
    pub lock: LockSettings,
    pub pull: PullSettings,
}

impl CompanionCommandSettings {
    /// The command's name, for the outcome and the lock's holder.
    pub fn command(&self) -> &'static str {
        match self.action {
            CompanionAction::Restart => "deploy companion restart",
            CompanionAction::Remove => "deploy companion remove",
        }
    }
}

/// Runs the command under the app's deploy lock (a deploy in flight must not meet a companion going).
pub async fn companion_command(
    settings: &CompanionCommandSettings,
    live: &mut dyn Live,
) -> Result<Outcome, DeployError> {
    let mut signals = Signals::install();
    let name = settings.command();
    let holder = format!("stepkit {name} {} --name {}", settings.companion.name, settings.app);
    let _lock = match lock::acquire(&settings.lock, &settings.app, &holder, &mut signals, live).await? {
        Ok(lock) => lock,
        Err(signal) => return Ok(outcome::interrupted_waiting(name, &settings.app, signal)),
    };
    let start = Instant::now();
    let docker = connect().await?;
    let c = &settings.companion;
    let redactor = Redactor::new(c.secrets().chain(settings.pull.password.as_ref()).map(|s| s.expose()));
    redactor.mask(live);
    let live = &mut RedactedLive { inner: live, redactor: &redactor };
    let env = settings.environment.as_deref();
    let mut outcome = match settings.action {
        CompanionAction::Restart => {
            // The old container goes first: the new one takes its name, its alias and its volumes.
            companion::remove(&docker, c, settings.stop_timeout, live).await?;
            let mut done = companion::ensure(
                &docker,
                &settings.app,
                env,
                std::slice::from_ref(c),
                &settings.pull,
                &mut signals,
                live,
            )
            .await?;
            if let Companions::Ready(done) | Companions::Failed(done, _) = &mut done {
                done.iter_mut().for_each(|e| e.action = "restarted");
            }
            match done {
                Companions::Ready(done) => {
                    let mut o = Outcome::new(
                        name,
                        Verdict::Passed,
                        format!(
                            "companion {} runs {} again and passed its gate; its volumes were kept",
                            c.container, c.image
                        ),
                    );
                    o.set_data(&data(&settings.app, env, &done, "restarted", start.elapsed()));
                    o
                }
                stopped => before_app(name, &settings.app, env, &c.image, stopped, start.elapsed()),
            }
        }
        CompanionAction::Remove => {
            let removed = companion::remove(&docker, c, settings.stop_timeout, live).await?;
            let headline = match &removed {
                Some(_) => format!(
                    "companion {} removed; its named volumes were kept ({})",
                    c.container,
                    shown_volumes(c)
                ),
                None => format!("companion {} was not there; nothing to remove", c.container),
            };
            let mut o = Outcome::new(name, Verdict::Passed, headline);
            let result = if removed.is_some() { "removed" } else { "absent" };
            o.set_data(&data(&settings.app, env, removed.as_slice(), result, start.elapsed()));
            o
        }
    };
    redactor.outcome(&mut outcome);
    Ok(outcome)
}

fn shown_volumes(c: &CompanionSettings) -> String {
    let named = c.spec.named_volumes();
    if named.is_empty() {
        "it has none".into()
    } else {
        format!("docker volume rm {} deletes them", named.join(" "))
    }
}

fn data(
    app: &str,
    environment: Option<&str>,
    done: &[Ensured],
    result: &str,
    took: Duration,
) -> CompanionsData {
    CompanionsData {
        schema_version: SCHEMA_VERSION,
        app: app.into(),
        environment: environment.map(Into::into),
        result: result.into(),
        duration_ms: took.as_millis() as u64,
        companions: done.iter().map(Ensured::data).collect(),
    }
}

/// A deploy (or a restart) that stopped at a companion: failed (exit 1) or interrupted, with the
/// app as it was. `command` is `deploy` or `deploy companion restart`.
pub fn before_app(
    command: &str,
    app: &str,
    environment: Option<&str>,
    image: &str,
    stopped: Companions,
    took: Duration,
) -> Outcome {
    let (verdict, headline, result, done) = match stopped {
        Companions::Failed(done, why) => (
            Verdict::Failed,
            format!("{why}; {app} was not touched ({image} was not started)"),
            "companion-failed",
            done,
        ),
        Companions::Interrupted(done, signal) => (
            signal.verdict(),
            format!("{} received while starting the companions; {app} was not touched", signal.name()),
            "interrupted",
            done,
        ),
        Companions::Ready(done) => {
            (Verdict::Passed, format!("the companions of {app} are ready"), "ready", done)
        }
    };
    let mut outcome = Outcome::new(command, verdict, headline);
    for e in &done {
        if let Some(g) = &e.gate {
            outcome.text.push_str(&format!("companion {}: {}\n{}", e.container, g.headline, g.text));
            outcome
                .markdown
                .push_str(&format!("\n**Companion {}:** {}\n\n{}", e.container, g.headline, g.markdown));
        }
    }
    outcome.set_data(&CompanionStopped {
        companions: data(app, environment, &done, result, took),
        image: image.into(),
        rolled_back: false,
        github_deployment: None,
    });
    outcome.outputs = vec![("result".into(), result.into())];
    if verdict == Verdict::Failed {
        outcome.annotations.push(Annotation {
            level: AnnotationLevel::Error,
            title: Some("deploy failed: a companion".into()),
            message: outcome.headline.clone(),
            file: None,
            line: None,
        });
    }
    outcome
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_restart_stopped_at_its_companion_says_it_was_a_restart() {
        let cache = Ensured {
            name: "cache".into(),
            container: "web-cache".into(),
            id: "c0ffee".into(),
            image: "redis:7".into(),
            action: "restarted",
            gate: Some(Outcome::new("gate", Verdict::Failed, "closed after 2s")),
            drift: None,
        };
        let stopped = Companions::Failed(vec![cache], "companion web-cache failed its gate".into());
        let o =
            before_app("deploy companion restart", "web", Some("stage"), "web:2", stopped, Duration::ZERO);
        assert_eq!((o.command.as_str(), o.verdict), ("deploy companion restart", Verdict::Failed));
        let data = &o.data;
        assert_eq!(
            (data["result"].as_str(), data["image"].as_str()),
            (Some("companion-failed"), Some("web:2"))
        );
        assert_eq!((data["schema_version"].as_u64(), data["rolled_back"].as_bool()), (Some(1), Some(false)));
        assert_eq!(data["companions"][0]["gate"]["verdict"], "failed", "{data}");
        assert!(data.get("github_deployment").is_none(), "only a deploy reported to GitHub has one");
    }
}
