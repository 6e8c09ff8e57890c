//! `data` of the `stepkit deploy`, `deploy rollback` and `deploy companion restart|remove` results:
//! what runs now, how the swap went, both gates' evidence, hooks, companions and the GitHub deployment.
//! Each command's data is one of a few shapes (untagged): the finished swap, a deploy that stopped at a
//! companion, or a signal while waiting for another deploy's lock.

use super::gate::GateData;
use crate::report::Verdict;
use schemars::JsonSchema;
use serde::Serialize;

/// Bumped when a field of these commands' data changes meaning or goes away; new fields keep it.
pub const SCHEMA_VERSION: u32 = 1;

/// `data` of a `stepkit deploy` result.
#[derive(Debug, Clone, Serialize, JsonSchema)]
#[serde(untagged)]
pub enum DeployData {
    /// The swap ran: the new version is live, or it failed and the previous one is back.
    Swapped(Box<DeployedData>),
    /// A companion failed its gate (or a signal came while ensuring them): the app was not touched.
    CompanionStopped(CompanionStopped),
    /// A signal before anything was looked at.
    Interrupted(Interrupted),
}

/// `data` of a `stepkit deploy rollback` result.
#[derive(Debug, Clone, Serialize, JsonSchema)]
#[serde(untagged)]
pub enum RollbackData {
    Swapped(Box<RolledBackData>),
    Interrupted(Interrupted),
}

/// `data` of a `stepkit deploy companion restart|remove` result.
#[derive(Debug, Clone, Serialize, JsonSchema)]
#[serde(untagged)]
pub enum CompanionCommandData {
    Done(CompanionsData),
    /// A restarted companion that failed its gate (or a signal while it started).
    CompanionStopped(CompanionStopped),
    Interrupted(Interrupted),
}

/// What a deploy and a rollback both report once their swap ran: what runs now, how the swap went,
/// both gates' evidence and the versions kept. Flattened into each command's data.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct SwapData {
    pub schema_version: u32,
    pub app: String,
    pub environment: Option<String>,
    /// The image the swap made live: the one deployed, or the kept version a rollback brings back.
    pub image: String,
    pub digest: String,
    /// The live container's name: the app's.
    pub container: String,
    /// The swapped-in image's container id, when it is live (`deployed`; `rolled-back` after a rollback).
    pub container_id: Option<String>,
    /// Deploy: `deployed`, `rolled-back`, `failed` or `interrupted`; rollback: `rolled-back`,
    /// `restored-current`, `failed` or `interrupted`.
    pub result: String,
    /// The older version is live again: a failed deploy undone, or a rollback done.
    pub rolled_back: bool,
    /// `start-first` or `stop-first` (the candidate needed the previous version's host ports).
    pub strategy: String,
    /// The version that was live before the swap; null when there was none (a first deploy).
    pub previous: Option<PreviousData>,
    pub duration_ms: u64,
    /// Stop-first only: from the previous version's stop to the candidate's gate opening (or the revert).
    pub downtime_ms: Option<u64>,
    /// The proxy traffic moved through; null without one.
    pub proxy: Option<ProxyData>,
    /// The candidate's gate; null when it did not run.
    pub gate: Option<GateEvidence>,
    /// The previous version's gate after it was put back.
    pub restore_gate: Option<GateEvidence>,
    /// Why the command failed.
    pub failure: Option<String>,
    /// What went wrong while undoing a failure (the previous version not restored, ...).
    pub problems: Vec<String>,
    /// Earlier versions kept (stopped) for a rollback, newest first.
    pub kept: Vec<String>,
    /// Earlier versions removed: beyond `--keep`, or the version a rollback rolled back from.
    pub removed: Vec<String>,
}

/// A deploy whose swap ran.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct DeployedData {
    #[serde(flatten)]
    pub swap: SwapData,
    /// When the deploy started (RFC 3339, UTC, milliseconds).
    pub deployed_at: String,
    #[serde(flatten)]
    pub against_previous: DurationDelta,
    pub hooks: Vec<HookData>,
    pub companions: Vec<CompanionData>,
    /// The GitHub deployment, when `[deploy.github]` is set.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub github_deployment: Option<Box<GithubDeploymentData>>,
}

/// A deploy's duration against the one in `--previous-result`; both null without a passed one.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct DurationDelta {
    /// The duration of the deploy in `--previous-result`, when it passed.
    pub previous_duration_ms: Option<u64>,
    /// `duration_ms` minus `previous_duration_ms`.
    pub duration_delta_ms: Option<i64>,
}

/// A rollback whose swap ran.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct RolledBackData {
    #[serde(flatten)]
    pub swap: SwapData,
    /// The kept container's name before it became the app again.
    pub restored_from: String,
}

/// The companions a command ensured, restarted or removed.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct CompanionsData {
    pub schema_version: u32,
    pub app: String,
    pub environment: Option<String>,
    /// `restarted`, `removed`, `absent` (nothing to remove), `ready`, `companion-failed` or `interrupted`.
    pub result: String,
    pub duration_ms: u64,
    pub companions: Vec<CompanionData>,
}

/// A deploy (or a restart) that stopped at a companion: the app's image was not started.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct CompanionStopped {
    #[serde(flatten)]
    pub companions: CompanionsData,
    pub image: String,
    /// Always false: nothing of the app was touched.
    pub rolled_back: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub github_deployment: Option<Box<GithubDeploymentData>>,
}

/// A signal before the command changed anything (waiting for the lock, creating the GitHub deployment).
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct Interrupted {
    pub schema_version: u32,
    pub app: String,
    /// Always `interrupted`.
    pub result: String,
    /// Always false.
    pub rolled_back: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub github_deployment: Option<Box<GithubDeploymentData>>,
}

/// The version that ran before.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct PreviousData {
    /// Its name now: its kept name after a success, the app's after a failure.
    pub name: String,
    pub id: String,
    pub image: String,
    pub digest: String,
    /// When stepkit deployed it (RFC 3339), when stepkit did.
    pub deployed_at: Option<String>,
}

/// The proxy traffic moved through.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct ProxyData {
    /// Always `haproxy`.
    pub kind: String,
    pub socket: String,
    pub backend: String,
    pub upstream_port: u16,
    /// False when traffic did not move (a failure undone).
    pub switched: bool,
    /// From the old version's drain to its last request (or the drain timeout).
    pub drain_ms: Option<u64>,
    /// Requests the old version still served when the drain timeout ended them.
    pub cut: Option<u64>,
}

/// A gate's verdict and headline beside its whole data (the `stepkit gate` result's `data`).
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct GateEvidence {
    pub verdict: Verdict,
    pub headline: String,
    /// The gate's own data, as `stepkit gate` writes it; kept as written so nothing it adds is lost.
    #[serde(flatten)]
    #[schemars(with = "GateData")]
    pub data: serde_json::Map<String, serde_json::Value>,
}

/// A companion's gate: its verdict and headline.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct GateVerdict {
    pub verdict: Verdict,
    pub headline: String,
}

/// One before- or after-switch hook.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct HookData {
    /// `before-switch` or `after-switch`.
    pub phase: String,
    pub command: Vec<String>,
    /// Null when it timed out or could not run.
    pub exit_code: Option<i64>,
    pub timed_out: bool,
    pub duration_ms: u64,
    /// Its output (secrets redacted), cut to the limit.
    pub output: String,
    pub output_truncated: bool,
}

/// What a command did about one companion.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct CompanionData {
    /// Its key in stepkit.toml.
    pub name: String,
    /// `APP-NAME`.
    pub container: String,
    pub id: String,
    pub image: String,
    /// `running` (left alone), `started`, `created`, `restarted` or `removed`.
    pub action: String,
    /// Its gate; null when none ran (left running, removed).
    pub gate: Option<GateVerdict>,
    /// A running companion whose image differs from stepkit.toml's.
    pub drift: Option<String>,
}

/// The GitHub deployment a deploy reported to.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct GithubDeploymentData {
    /// Null when it could not be created.
    pub id: Option<u64>,
    pub repository: String,
    #[serde(rename = "ref")]
    pub git_ref: String,
    pub environment: String,
    pub environment_url: Option<String>,
    pub log_url: Option<String>,
    /// The repository's deployments page of the environment, when the deployment was created.
    pub url: Option<String>,
    /// Every status GitHub accepted, in order.
    pub statuses: Vec<String>,
    /// Earlier deployments of the environment marked inactive.
    pub inactive: Vec<u64>,
    pub attempts: u32,
    pub errors: Vec<String>,
}
