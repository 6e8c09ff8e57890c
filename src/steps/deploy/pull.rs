//! The image a deploy (or a companion) runs: found in the local engine, else pulled from its registry
//! with the credentials `image push` would use (flags/env, the docker config, anonymous), so that
//! build -> push -> deploy works on a machine that did not build the image.

use super::docker::image_digest;
use super::DeployError;
use crate::registry_auth::{login_blocking, registry_of};
use crate::report::Live;
use crate::secret::Secret;
use bollard::query_parameters::CreateImageOptions;
use bollard::Docker;
use futures_util::StreamExt;
use std::path::PathBuf;

/// When to ask the registry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PullPolicy {
    /// Only when the image is not in the local engine (the default).
    Missing,
    /// Every deploy: a moving tag (`:main`) gets its newest push.
    Always,
    /// Never: the image must be local (the behaviour before pulls existed).
    Never,
}

impl PullPolicy {
    pub fn parse(text: &str) -> Result<PullPolicy, String> {
        match text.trim() {
            "missing" => Ok(PullPolicy::Missing),
            "always" => Ok(PullPolicy::Always),
            "never" => Ok(PullPolicy::Never),
            other => Err(format!("`{other}` is not a pull policy: missing, always or never")),
        }
    }
}

/// `--pull` and the registry login (the same sources as `stepkit image push`).
#[derive(Debug, Clone)]
pub struct PullSettings {
    pub policy: PullPolicy,
    pub username: Option<String>,
    pub password: Option<Secret>,
    /// `$DOCKER_CONFIG/config.json` or `~/.docker/config.json`.
    pub docker_config: Option<PathBuf>,
}

impl Default for PullSettings {
    fn default() -> Self {
        PullSettings { policy: PullPolicy::Missing, username: None, password: None, docker_config: None }
    }
}

/// The image's digest, after pulling it when the policy says so.
pub async fn ensure(
    docker: &Docker,
    image: &str,
    settings: &PullSettings,
    live: &mut dyn Live,
) -> Result<String, DeployError> {
    let local = match image_digest(docker, image).await {
        Ok(digest) => Some(digest),
        Err(DeployError::ImageMissing { .. }) => None,
        Err(e) => return Err(e),
    };
    match (local, settings.policy) {
        (Some(digest), PullPolicy::Missing | PullPolicy::Never) => return Ok(digest),
        (None, PullPolicy::Never) => return Err(DeployError::ImageMissing { image: image.into() }),
        _ => {}
    }
    pull(docker, image, settings, live).await?;
    image_digest(docker, image).await
}

async fn pull(
    docker: &Docker,
    image: &str,
    settings: &PullSettings,
    live: &mut dyn Live,
) -> Result<(), DeployError> {
    let registry = registry_of(image);
    let login = login_blocking(
        registry,
        settings.username.as_deref(),
        settings.password.as_ref(),
        settings.docker_config.as_deref(),
    )
    .await
    .map_err(|e| DeployError::Pull {
        image: image.into(),
        registry: registry.into(),
        tried: "no credentials".into(),
        message: e.to_string(),
        denied: true,
    })?;
    live.line(&format!("stepkit deploy: pulling {image} from {registry} with {}", login.source));
    // A digest reference (`name@sha256:..`) goes whole in fromImage; a tag goes apart, as the CLI does.
    let (from_image, tag) = match image.rsplit_once(':') {
        Some((name, tag)) if !tag.contains('/') && !name.ends_with("@sha256") => (name, Some(tag)),
        _ => (image, None),
    };
    let options = CreateImageOptions {
        from_image: Some(from_image.to_string()),
        tag: tag.map(str::to_string),
        ..Default::default()
    };
    let mut stream = docker.create_image(Some(options), None, login.credential.for_daemon(registry));
    while let Some(item) = stream.next().await {
        let message = match item {
            Ok(info) => match info.error_detail.and_then(|d| d.message) {
                Some(message) => message,
                None => continue,
            },
            Err(e) => e.to_string(),
        };
        let lower = message.to_ascii_lowercase();
        let denied = ["unauthorized", "authentication required", "denied", "401", "403"]
            .iter()
            .any(|w| lower.contains(w));
        return Err(DeployError::Pull {
            image: image.into(),
            registry: registry.into(),
            tried: login.source.to_string(),
            message,
            denied,
        });
    }
    Ok(())
}
