//! Building: the context tar streamed to the daemon's build API, progress streamed live, and a
//! failing Dockerfile step reported with the step and the daemon's error text.

use super::context::stream_context;
use super::reference::Reference;
use super::{daemon_error, ImageError};
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

/// Runs the build, streaming its output through `live`, then applies the labels in one step.
pub async fn build(
    docker: &Docker,
    request: &BuildRequest,
    live: &mut dyn Live,
) -> Result<Built, ImageError> {
    let dockerfile_in_context = request.dockerfile.strip_prefix(&request.context).map_err(|_| {
        ImageError::Usage(format!(
            "the Dockerfile {} must be inside the context {}",
            request.dockerfile.display(),
            request.context.display()
        ))
    })?;
    let context = stream_context(&request.context, &request.dockerfile)?;
    let files = context.files;
    let label_line = single_label_instruction(&request.labels);
    // The classic builder turns every build-API label into a LABEL step of its own, each a container
    // create + commit; one generated LABEL instruction afterwards costs one step whatever the count.
    let api_labels =
        if label_line.is_some() { HashMap::new() } else { request.labels.iter().cloned().collect() };
    let options = BuildImageOptions {
        dockerfile: dockerfile_in_context.to_string_lossy().replace('\\', "/"),
        t: if label_line.is_some() { None } else { request.tags.first().map(Reference::full) },
        nocache: request.no_cache,
        pull: request.pull.then(|| "1".to_string()),
        rm: true,
        forcerm: true,
        buildargs: Some(request.build_args.iter().cloned().collect::<HashMap<_, _>>()),
        labels: Some(api_labels),
        target: request.target.clone().unwrap_or_default(),
        ..Default::default()
    };
    live.group_start(&format!("docker build ({files} files in the context)"));
    let ran =
        follow_build(docker.build_image(options, None, Some(bollard::body_try_stream(context.stream))), live)
            .await;
    let _ = context.writer.await;
    let ran = match (ran, label_line) {
        (Ok(BuildRun::Image(id)), Some(line)) => apply_labels(docker, &id, &line, request, live).await,
        (ran, _) => ran,
    };
    live.group_end();
    let short_id = match ran? {
        BuildRun::Image(id) => id,
        BuildRun::StepFailed { step, error } => return Ok(Built::StepFailed { step, error }),
    };
    // The classic builder prints a short id; the full `sha256:` id is what scripts compare.
    let id = docker.inspect_image(&short_id).await.ok().and_then(|i| i.id).unwrap_or(short_id);
    for tag in request.tags.iter().skip(1) {
        let options = TagImageOptions { repo: Some(tag.name()), tag: Some(tag.tag.clone()) };
        docker
            .tag_image(&id, Some(options))
            .await
            .map_err(|e| daemon_error(format!("tag {id} as {}: {e}", tag.full())))?;
    }
    Ok(Built::Image { id, context_files: files })
}

/// How one build request ended.
enum BuildRun {
    Image(String),
    StepFailed { step: Option<String>, error: String },
}

/// Follows one build request's output to the end.
async fn follow_build(
    mut stream: impl futures_util::Stream<Item = Result<bollard::models::BuildInfo, bollard::errors::Error>>
        + Unpin,
    live: &mut dyn Live,
) -> Result<BuildRun, ImageError> {
    let mut step: Option<String> = None;
    let mut image_id: Option<String> = None;
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
                    failure = Some(
                        detail
                            .message
                            .unwrap_or_else(|| "the daemon reported an error without a message".into()),
                    );
                }
            }
            Err(bollard::errors::Error::DockerStreamError { error }) => failure = Some(error),
            Err(bollard::errors::Error::DockerResponseServerError { status_code, message })
                if (400..500).contains(&status_code) =>
            {
                failure = Some(message);
            }
            Err(e) => return Err(daemon_error(e.to_string())),
        }
    }
    if let Some(error) = failure {
        return Ok(BuildRun::StepFailed { step, error: error.trim().to_string() });
    }
    image_id.map(BuildRun::Image).ok_or_else(|| daemon_error("the build ended without an image id"))
}

/// Builds `FROM <id>` + one LABEL instruction, tagged with the first tag.
async fn apply_labels(
    docker: &Docker,
    id: &str,
    label_line: &str,
    request: &BuildRequest,
    live: &mut dyn Live,
) -> Result<BuildRun, ImageError> {
    let dockerfile = format!("FROM {id}\n{label_line}\n");
    let mut tar = tar::Builder::new(Vec::new());
    let mut header = tar::Header::new_gnu();
    header.set_size(dockerfile.len() as u64);
    header.set_mode(0o644);
    header.set_cksum();
    tar.append_data(&mut header, "Dockerfile", dockerfile.as_bytes())
        .map_err(|e| daemon_error(format!("pack the label Dockerfile: {e}")))?;
    let body = tar.into_inner().map_err(|e| daemon_error(format!("pack the label Dockerfile: {e}")))?;
    let options = BuildImageOptions {
        dockerfile: "Dockerfile".into(),
        t: request.tags.first().map(Reference::full),
        nocache: request.no_cache,
        rm: true,
        forcerm: true,
        ..Default::default()
    };
    follow_build(docker.build_image(options, None, Some(bollard::body_full(body.into()))), live).await
}

/// All labels as one Dockerfile `LABEL` instruction, or `None` when there are none or one cannot be
/// written on a Dockerfile line (a line break); those go through the build API's labels instead.
fn single_label_instruction(labels: &[(String, String)]) -> Option<String> {
    if labels.is_empty() || labels.iter().any(|(k, v)| [k, v].iter().any(|s| s.contains(['\n', '\r']))) {
        return None;
    }
    let words: Vec<String> = labels.iter().map(|(k, v)| format!("{}={}", quoted(k), quoted(v))).collect();
    Some(format!("LABEL {}", words.join(" ")))
}

/// A double-quoted Dockerfile word: `\`, `"` and `$` (variable expansion) escaped.
fn quoted(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 2);
    out.push('"');
    for c in text.chars() {
        if matches!(c, '\\' | '"' | '$') {
            out.push('\\');
        }
        out.push(c);
    }
    out.push('"');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_become_one_instruction_with_escapes() {
        let labels = vec![
            ("a.b".to_string(), "x y".to_string()),
            ("q".to_string(), r#"say "hi" $HOME \o/"#.to_string()),
        ];
        assert_eq!(
            single_label_instruction(&labels).unwrap(),
            r#"LABEL "a.b"="x y" "q"="say \"hi\" \$HOME \\o/""#
        );
    }

    #[test]
    fn a_line_break_falls_back_to_the_build_api() {
        assert!(single_label_instruction(&[("k".into(), "two\nlines".into())]).is_none());
        assert!(single_label_instruction(&[]).is_none());
    }
}
