//! `stepkit image`: docker image build and push through the Docker API (bollard).

pub mod build;
pub mod classify;
pub mod context;
/// Moved to a shared layer (deploy pulls with the same credentials); kept under its old path here.
pub use crate::registry_auth as credentials;
pub mod dockerignore;
pub mod push;
pub mod reference;
pub mod registry;

use crate::report::{Live, Outcome, Verdict};
use crate::result::image::{BuildData, PushData, PushedData, BUILD_VERSION, PUSH_VERSION};
use crate::secret::Secret;
use build::{BuildRequest, Built};
use credentials::{login_blocking, CredentialError, Login};
use push::PushPolicy;
use reference::Reference;
use std::path::PathBuf;
use std::time::Duration;

/// `stepkit image build` / `push` could not do its job (a failing Dockerfile step is an outcome, not this).
#[derive(Debug, thiserror::Error)]
pub enum ImageError {
    #[error(transparent)]
    Daemon(#[from] crate::docker::DaemonError),
    #[error("use the build options: {0}")]
    Usage(String),
    #[error("push {0}: there is no such image in the local Docker engine; build or tag it first")]
    NoImage(String),
    #[error("read the build context: {0}")]
    Context(String),
    #[error("push to {registry}: the registry refused {tried}: {message}; {hint} (an auth failure is not retried)")]
    Denied { registry: String, tried: String, hint: String, message: String },
    #[error("find credentials for {registry}: {source}")]
    Credentials { registry: String, source: Box<CredentialError> },
    #[error("push to {registry}: still failing after {attempts} attempts over {}: {message}; is the registry up?", humantime::format_duration(std::time::Duration::from_secs(waited.as_secs())))]
    RegistryUnavailable { registry: String, attempts: u32, waited: Duration, message: String },
    #[error("push {reference} (attempt {attempts}): {message}")]
    Push { reference: String, attempts: u32, message: String },
    #[error("verify the pushed digest of {reference} (asking the registry with {tried}): {message}")]
    Verify { reference: String, tried: String, message: String },
}

impl crate::error::ModuleError for ImageError {
    /// Usage problems exit 2, the registry refusing credentials and a docker config that cannot
    /// answer too (they are configuration); the rest is environment (3).
    fn is_usage(&self) -> bool {
        matches!(
            self,
            ImageError::Usage(_)
                | ImageError::NoImage(_)
                | ImageError::Denied { .. }
                | ImageError::Credentials { .. }
        )
    }
}

/// The engine failed at something an image step asked of it.
pub(crate) fn daemon_error(message: impl Into<String>) -> ImageError {
    ImageError::Daemon(crate::docker::DaemonError(message.into()))
}

/// Resolved settings for pushing.
#[derive(Debug, Clone)]
pub struct PushSettings {
    pub username: Option<String>,
    pub password: Option<Secret>,
    /// The docker config (`$DOCKER_CONFIG/config.json` or `~/.docker/config.json`), when either is set.
    pub docker_config: Option<PathBuf>,
    pub policy: PushPolicy,
}

/// Resolved settings for `image build`.
#[derive(Debug, Clone)]
pub struct BuildSettings {
    pub request: BuildRequest,
    /// Push every tag after a successful build.
    pub push: Option<PushSettings>,
}

/// `stepkit image build`.
pub async fn build_image(settings: &BuildSettings, live: &mut dyn Live) -> Result<Outcome, ImageError> {
    let docker = crate::docker::connect().await?;
    let tags: Vec<String> = settings.request.tags.iter().map(Reference::full).collect();
    match build::build(&docker, &settings.request, live).await? {
        Built::StepFailed { step, error } => {
            let where_ = step
                .as_ref()
                .map_or_else(|| "before the first step".to_string(), |step| format!("at {step}"));
            let mut outcome =
                Outcome::new("image build", Verdict::Failed, format!("the build failed {where_}: {error}"));
            outcome.set_data(&BuildData::Failed {
                schema_version: BUILD_VERSION,
                step: step.clone(),
                error: error.clone(),
                tags,
            });
            outcome.annotations.push(crate::report::Annotation {
                level: crate::report::AnnotationLevel::Error,
                title: Some("docker build failed".into()),
                message: format!("{}\n{error}", step.as_deref().unwrap_or("before the first step")),
                file: Some(settings.request.dockerfile.display().to_string()),
                line: None,
            });
            Ok(outcome)
        }
        Built::Image { id, context_files } => {
            let mut pushed = Vec::new();
            if let Some(push) = &settings.push {
                for tag in &settings.request.tags {
                    pushed.push(push_one(&docker, tag, &id, push, live).await?);
                }
            }
            let mut outcome = Outcome::new(
                "image build",
                Verdict::Passed,
                format!(
                    "built {} as {}{}",
                    short(&id),
                    tags.join(", "),
                    if pushed.is_empty() { String::new() } else { " and pushed it".into() }
                ),
            );
            outcome.outputs = vec![("image-id".into(), id.clone()), ("tags".into(), tags.join("\n"))];
            if let Some(first) = pushed.first() {
                outcome.outputs.push(("digest".into(), first.digest.clone()));
            }
            outcome.set_data(&BuildData::Built {
                schema_version: BUILD_VERSION,
                digest: pushed.first().map(|p| p.digest.clone()),
                image_id: id,
                tags,
                context_files,
                pushed,
            });
            Ok(outcome)
        }
    }
}

/// `stepkit image push`.
pub async fn push_images(
    references: &[Reference],
    settings: &PushSettings,
    live: &mut dyn Live,
) -> Result<Outcome, ImageError> {
    let docker = crate::docker::connect().await?;
    // Every tag must exist before the first one is pushed: a typo should not leave half the tags pushed.
    let mut ids = Vec::new();
    for reference in references {
        ids.push(local_image_id(&docker, reference).await?);
    }
    let mut pushed = Vec::new();
    for (reference, id) in references.iter().zip(&ids) {
        pushed.push(push_one(&docker, reference, id, settings, live).await?);
    }
    let mut outcome = Outcome::new(
        "image push",
        Verdict::Passed,
        format!(
            "pushed {}",
            pushed.iter().map(|p| format!("{} ({})", p.tag, short(&p.digest))).collect::<Vec<_>>().join(", ")
        ),
    );
    let tags: Vec<String> = pushed.iter().map(|p| p.tag.clone()).collect();
    let first = &pushed[0];
    outcome.outputs = vec![
        ("image-id".into(), first.image_id.clone()),
        ("tags".into(), tags.join("\n")),
        ("digest".into(), first.digest.clone()),
    ];
    outcome.set_data(&PushData {
        schema_version: PUSH_VERSION,
        image_id: first.image_id.clone(),
        tags,
        digest: first.digest.clone(),
        pushed,
    });
    Ok(outcome)
}

/// The full id of the local image `reference` names.
async fn local_image_id(docker: &bollard::Docker, reference: &Reference) -> Result<String, ImageError> {
    match docker.inspect_image(&reference.full()).await {
        Ok(image) => {
            image.id.ok_or_else(|| daemon_error(format!("the daemon gave no id for {}", reference.full())))
        }
        Err(bollard::errors::Error::DockerResponseServerError { status_code: 404, .. }) => {
            Err(ImageError::NoImage(reference.full()))
        }
        Err(e) => Err(daemon_error(format!("inspect {}: {e}", reference.full()))),
    }
}

/// Pushes one tag and checks the registry serves the same digest.
async fn push_one(
    docker: &bollard::Docker,
    reference: &Reference,
    image_id: &str,
    settings: &PushSettings,
    live: &mut dyn Live,
) -> Result<PushedData, ImageError> {
    let login = find_login(&reference.registry, settings).await?;
    live.group_start(&format!("docker push {}", reference.full()));
    let result = push::push(docker, reference, &login, settings.policy, live).await;
    live.group_end();
    let digest = result?;
    let verify_error = |message: String| ImageError::Verify {
        reference: reference.full(),
        tried: login.source.to_string(),
        message,
    };
    let served = registry::manifest_digest(reference, &login.credential).await.map_err(verify_error)?;
    if served != digest {
        return Err(verify_error(format!("the push reported {digest} but the registry serves {served}")));
    }
    Ok(PushedData {
        tag: reference.full(),
        image_id: image_id.to_string(),
        digest,
        credentials: login.source.to_string(),
    })
}

/// The login for `registry`.
async fn find_login(registry: &str, settings: &PushSettings) -> Result<Login, ImageError> {
    login_blocking(
        registry,
        settings.username.as_deref(),
        settings.password.as_ref(),
        settings.docker_config.as_deref(),
    )
    .await
    .map_err(|source| ImageError::Credentials { registry: registry.to_string(), source: Box::new(source) })
}

fn short(id: &str) -> &str {
    let hex = id.strip_prefix("sha256:").unwrap_or(id);
    &hex[..hex.len().min(12)]
}

#[cfg(test)]
mod tests {
    use super::*;
    use credentials::CredentialSource;

    #[test]
    fn a_digest_check_error_names_the_credentials_it_used() {
        let source = CredentialSource::ConfigAuths {
            file: "/ci/.docker/config.json".into(),
            key: "reg.test".into(),
            username: None,
        };
        let err = ImageError::Verify {
            reference: "reg.test/app:1".into(),
            tried: source.to_string(),
            message: "HEAD https://reg.test/v2/app/manifests/1: 403 Forbidden".into(),
        };
        assert_eq!(
            err.to_string(),
            "verify the pushed digest of reg.test/app:1 (asking the registry with an identity token from the `auths` entry `reg.test` in /ci/.docker/config.json): HEAD https://reg.test/v2/app/manifests/1: 403 Forbidden"
        );
    }
}
