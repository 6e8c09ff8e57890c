//! Building: the context tar streamed to the daemon's build API, progress streamed live, and a
//! failing Dockerfile step reported with the step and the daemon's error text.

use super::context::stream_context;
use super::reference::Reference;
use super::ImageError;
use crate::report::Live;
use bollard::query_parameters::{BuildImageOptions, TagImageOptions};
use bollard::Docker;
use futures_util::StreamExt;
use std::collections::HashMap;
use std::path::PathBuf;

/// What to build.
#[derive(Debug, Clone)]
pub struct BuildRequest {
    pub context: PathBuf,
    /// The Dockerfile, inside the context.
    pub dockerfile: PathBuf,
    pub tags: Vec<Reference>,
    pub build_args: Vec<(String, String)>,
    pub labels: Vec<(String, String)>,
    pub target: Option<String>,
    pub no_cache: bool,
    pub pull: bool,
}

/// How a build ended.
#[derive(Debug, Clone)]
pub enum Built {
    /// The image and every tag exist.
    Image { id: String, context_files: usize },
    /// A Dockerfile step failed: which one, and what the daemon said.
    StepFailed { step: Option<String>, error: String },
}

/// Runs the build, streaming its output through `live`.
pub async fn build(docker: &Docker, request: &BuildRequest, live: &mut dyn Live) -> Result<Built, ImageError> {
    let dockerfile_in_context = request.dockerfile.strip_prefix(&request.context).map_err(|_| {
        ImageError::Usage(format!("the Dockerfile {} must be inside the context {}", request.dockerfile.display(), request.context.display()))
    })?;
    let context = stream_context(&request.context, &request.dockerfile)?;
    let files = context.files;
    let first_tag = request.tags.first().map(Reference::full);
    let options = BuildImageOptions {
        dockerfile: dockerfile_in_context.to_string_lossy().replace('\\', "/"),
        t: first_tag.clone(),
        nocache: request.no_cache,
        pull: request.pull.then(|| "1".to_string()),
        rm: true,
        forcerm: true,
        buildargs: Some(request.build_args.iter().cloned().collect::<HashMap<_, _>>()),
        labels: Some(request.labels.iter().cloned().collect::<HashMap<_, _>>()),
        target: request.target.clone().unwrap_or_default(),
        ..Default::default()
    };
    let body = bollard::body_try_stream(context.stream);
    let mut stream = docker.build_image(options, None, Some(body));
    let mut step: Option<String> = None;
    let mut image_id: Option<String> = None;
    live.group_start(&format!("docker build ({files} files in the context)"));
    let mut failure = None;
    while let Some(item) = stream.next().await {
        match item {
            Ok(info) => {
                if let Some(text) = info.stream.as_deref() {
                    for line in text.lines().filter(|l| !l.trim().is_empty()) {
                        if line.starts_with("Step ") {
                            step = Some(line.trim().to_string());
                        }
                        if let Some(id) = line.strip_prefix("Successfully built ") {
                            image_id = Some(id.trim().to_string());
                        }
                        live.line(line);
                    }
                }
                if let Some(aux) = info.aux.as_ref().and_then(|a| a.id.clone()) {
                    image_id = Some(aux);
                }
                if let Some(detail) = info.error_detail {
                    failure = Some(detail.message.unwrap_or_else(|| "the daemon reported an error without a message".into()));
                }
            }
            Err(bollard::errors::Error::DockerStreamError { error }) => failure = Some(error),
            Err(bollard::errors::Error::DockerResponseServerError { status_code, message }) if (400..500).contains(&status_code) => {
                failure = Some(message);
            }
            Err(e) => {
                live.group_end();
                return Err(ImageError::Daemon(e.to_string()));
            }
        }
    }
    live.group_end();
    let _ = context.writer.await;
    if let Some(error) = failure {
        return Ok(Built::StepFailed { step, error: error.trim().to_string() });
    }
    let short_id = image_id.ok_or_else(|| ImageError::Daemon("the build ended without an image id".into()))?;
    // The classic builder prints a short id; the full `sha256:` id is what scripts compare.
    let id = docker.inspect_image(&short_id).await.ok().and_then(|i| i.id).unwrap_or(short_id);
    for tag in request.tags.iter().skip(1) {
        let options = TagImageOptions { repo: Some(tag.name()), tag: Some(tag.tag.clone()) };
        docker.tag_image(&id, Some(options)).await.map_err(|e| ImageError::Daemon(format!("tag {id} as {}: {e}", tag.full())))?;
    }
    Ok(Built::Image { id, context_files: files })
}
