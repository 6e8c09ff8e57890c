//! The Docker operations a deploy is made of (bollard): find, create, rename, start, stop, kill,
//! remove, the image's digest, the kept versions. Each error names the container and what was tried.

use super::container::ContainerSpec;
use super::names::{self, LABEL_DIGEST, LABEL_IMAGE, LABEL_SECRET_ENV, LABEL_TIME};
use super::{DeployError, Publish};
use crate::secret::Secret;
use bollard::errors::Error as DockerError;
use bollard::models::{ContainerCreateBody, EndpointSettings, HostConfig, NetworkingConfig, PortBinding};
use bollard::query_parameters::{
    CreateContainerOptions, KillContainerOptions, ListContainersOptions, RemoveContainerOptions,
    RenameContainerOptions, StopContainerOptions,
};
use bollard::Docker;
use std::collections::HashMap;
use std::time::Duration;

/// A container as the deploy sees it.
#[derive(Debug, Clone)]
pub struct Found {
    pub id: String,
    /// Without Docker's leading `/`.
    pub name: String,
    pub running: bool,
    /// The image reference it was created from (stepkit's label, else Docker's).
    pub image: String,
    /// Its image digest as recorded at deploy time, else the image id.
    pub digest: String,
    /// When stepkit deployed it (RFC 3339), when stepkit did.
    pub deployed_at: Option<String>,
    /// Host ports it publishes, as `PORT/proto`.
    pub host_ports: Vec<String>,
    /// The values of the variables its deploy took from `--env-file` or `--env K` (its secret-env
    /// label), to redact from anything its logs or health checks show.
    pub secrets: Vec<Secret>,
}

/// What a new version is made of.
#[derive(Debug, Clone)]
pub struct Spec {
    pub name: String,
    pub image: String,
    /// `K=V`, secrets included (this goes to the daemon only).
    pub env: Vec<String>,
    pub labels: Vec<(String, String)>,
    pub publish: Vec<Publish>,
    pub network: Option<String>,
    /// Names other containers on `network` find it by, besides its own (a companion's `db`).
    pub aliases: Vec<String>,
    pub container: ContainerSpec,
}

fn api(what: String) -> impl FnOnce(DockerError) -> DeployError {
    move |e| DeployError::Docker { what, message: e.to_string() }
}

fn status(e: &DockerError) -> Option<u16> {
    match e {
        DockerError::DockerResponseServerError { status_code, .. } => Some(*status_code),
        _ => None,
    }
}

/// The container called (or with the id) `name`, if there is one.
pub async fn find(docker: &Docker, name: &str) -> Result<Option<Found>, DeployError> {
    let info = match docker.inspect_container(name, None).await {
        Ok(info) => info,
        Err(e) if status(&e) == Some(404) => return Ok(None),
        Err(e) => return Err(api(format!("inspect container {name}"))(e)),
    };
    let labels = info.config.as_ref().and_then(|c| c.labels.clone()).unwrap_or_default();
    let image = labels
        .get(LABEL_IMAGE)
        .cloned()
        .or_else(|| info.config.as_ref().and_then(|c| c.image.clone()))
        .unwrap_or_default();
    let digest = labels.get(LABEL_DIGEST).cloned().or_else(|| info.image.clone()).unwrap_or_default();
    let mut host_ports: Vec<String> = info
        .host_config
        .as_ref()
        .and_then(|h| h.port_bindings.as_ref())
        .map(|bindings| {
            bindings
                .iter()
                .flat_map(|(container_port, hosts)| {
                    let proto = container_port.split_once('/').map_or("tcp", |(_, p)| p).to_string();
                    hosts.iter().flatten().filter_map(move |b| {
                        b.host_port.as_deref().filter(|p| !p.is_empty()).map(|p| format!("{p}/{proto}"))
                    })
                })
                .collect()
        })
        .unwrap_or_default();
    host_ports.sort();
    host_ports.dedup();
    Ok(Some(Found {
        id: info.id.unwrap_or_default(),
        name: info.name.unwrap_or_default().trim_start_matches('/').to_string(),
        running: info.state.as_ref().and_then(|s| s.running).unwrap_or(false),
        image,
        digest,
        deployed_at: labels.get(LABEL_TIME).cloned(),
        host_ports,
        secrets: names::secret_values(
            labels.get(LABEL_SECRET_ENV).map(String::as_str),
            info.config.as_ref().and_then(|c| c.env.as_deref()).unwrap_or_default(),
        )
        .into_iter()
        .map(Secret::new)
        .collect(),
    }))
}

/// The image's repo digest (or its id, for a local build that was never pushed or pulled).
/// A missing image is a usage error: the deploy never pulls.
pub async fn image_digest(docker: &Docker, image: &str) -> Result<String, DeployError> {
    match docker.inspect_image(image).await {
        Ok(info) => Ok(info.repo_digests.and_then(|d| d.into_iter().next()).or(info.id).unwrap_or_default()),
        Err(e) if status(&e) == Some(404) => Err(DeployError::ImageMissing { image: image.into() }),
        Err(e) => Err(api(format!("inspect image {image}"))(e)),
    }
}

/// Checks that the network exists before anything changes (`container:<name>` modes are left to the daemon).
pub async fn check_network(docker: &Docker, network: &str) -> Result<(), DeployError> {
    if network.starts_with("container:") {
        return Ok(());
    }
    match docker.inspect_network(network, None).await {
        Ok(_) => Ok(()),
        Err(e) if status(&e) == Some(404) => Err(DeployError::NetworkMissing { network: network.into() }),
        Err(e) => Err(api(format!("inspect network {network}"))(e)),
    }
}

/// Creates the container (not started) and returns its id.
pub async fn create(docker: &Docker, spec: &Spec) -> Result<String, DeployError> {
    let mut bindings: HashMap<String, Option<Vec<PortBinding>>> = HashMap::new();
    for p in &spec.publish {
        bindings
            .entry(format!("{}/{}", p.container_port, p.protocol))
            .or_insert_with(|| Some(Vec::new()))
            .get_or_insert_with(Vec::new)
            .push(PortBinding { host_ip: p.host_ip.clone(), host_port: Some(p.host_port.to_string()) });
    }
    let mut exposed: Vec<String> = bindings.keys().cloned().collect();
    exposed.sort();
    let mut config = ContainerCreateBody {
        image: Some(spec.image.clone()),
        env: Some(spec.env.clone()),
        labels: Some(spec.labels.iter().cloned().collect()),
        exposed_ports: (!exposed.is_empty()).then_some(exposed),
        host_config: Some(HostConfig {
            port_bindings: (!bindings.is_empty()).then_some(bindings),
            network_mode: spec.network.clone(),
            ..Default::default()
        }),
        networking_config: aliases(spec),
        ..Default::default()
    };
    spec.container.apply(&mut config);
    let options = CreateContainerOptions { name: Some(spec.name.clone()), ..Default::default() };
    let created = docker
        .create_container(Some(options), config)
        .await
        .map_err(api(format!("create container {} from {}", spec.name, spec.image)))?;
    Ok(created.id)
}

/// The aliases on the spec's network (a user-defined one: the default bridge has no DNS).
fn aliases(spec: &Spec) -> Option<NetworkingConfig> {
    let network = spec.network.as_ref().filter(|_| !spec.aliases.is_empty())?;
    let endpoint = EndpointSettings { aliases: Some(spec.aliases.clone()), ..Default::default() };
    Some(NetworkingConfig { endpoints_config: Some(HashMap::from([(network.clone(), endpoint)])) })
}

/// Renames container `id` to `to`.
pub async fn rename(docker: &Docker, id: &str, to: &str) -> Result<(), DeployError> {
    docker
        .rename_container(id, RenameContainerOptions { name: to.into() })
        .await
        .map_err(api(format!("rename container {} to {to}", short(id))))
}

/// Starts it; already running is fine.
pub async fn start(docker: &Docker, id: &str) -> Result<(), DeployError> {
    match docker.start_container(id, None).await {
        Err(e) if status(&e) != Some(304) => Err(api(format!("start container {}", short(id)))(e)),
        _ => Ok(()),
    }
}

/// Stops it: SIGTERM, then SIGKILL after `grace`. Already stopped is fine.
pub async fn stop(docker: &Docker, id: &str, grace: Duration) -> Result<(), DeployError> {
    let options = StopContainerOptions { t: Some(grace.as_secs().min(i32::MAX as u64) as i32), signal: None };
    match docker.stop_container(id, Some(options)).await {
        Err(e) if !matches!(status(&e), Some(304) | Some(404)) => {
            Err(api(format!("stop container {}", short(id)))(e))
        }
        _ => Ok(()),
    }
}

/// SIGKILL, to end a stop in progress at once; not running (409) or gone (404) is fine.
pub async fn kill(docker: &Docker, id: &str) -> Result<(), DeployError> {
    match docker.kill_container(id, Some(KillContainerOptions { signal: "SIGKILL".into() })).await {
        Err(e) if !matches!(status(&e), Some(409) | Some(404)) => {
            Err(api(format!("kill container {}", short(id)))(e))
        }
        _ => Ok(()),
    }
}

/// Removes it, running or not; already gone is fine.
pub async fn remove(docker: &Docker, id: &str) -> Result<(), DeployError> {
    match docker
        .remove_container(id, Some(RemoveContainerOptions { force: true, ..Default::default() }))
        .await
    {
        Err(e) if status(&e) != Some(404) => Err(api(format!("remove container {}", short(id)))(e)),
        _ => Ok(()),
    }
}

/// The containers whose names contain `fragment` (Docker's name filter is a substring match) and
/// pass `exact`, as (name, id).
async fn named(
    docker: &Docker,
    fragment: String,
    what: String,
    exact: impl Fn(&str) -> bool,
) -> Result<Vec<(String, String)>, DeployError> {
    let filters = HashMap::from([("name".to_string(), vec![fragment])]);
    let options = ListContainersOptions { all: true, filters: Some(filters), ..Default::default() };
    let listed = docker.list_containers(Some(options)).await.map_err(api(what))?;
    Ok(listed
        .into_iter()
        .filter_map(|c| {
            let name = c.names.unwrap_or_default().into_iter().find(|n| exact(n))?;
            Some((name.trim_start_matches('/').to_string(), c.id.unwrap_or_default()))
        })
        .collect())
}

/// Each of `ids` as found now; one removed since it was listed is left out.
async fn find_all(docker: &Docker, ids: impl IntoIterator<Item = String>) -> Result<Vec<Found>, DeployError> {
    let mut out = Vec::new();
    for id in ids {
        if let Some(found) = find(docker, &id).await? {
            out.push(found);
        }
    }
    Ok(out)
}

/// The kept versions of `app`, newest first (by the time in their names).
pub async fn kept(docker: &Docker, app: &str) -> Result<Vec<Found>, DeployError> {
    let what = format!("list the kept versions of {app}");
    let mut names =
        named(docker, format!("{app}-prev-"), what, |n| names::kept_stamp(app, n).is_some()).await?;
    // The stamp sorts by time, so the whole name (one app, one prefix) does too.
    names.sort_by(|a, b| b.0.cmp(&a.0));
    find_all(docker, names.into_iter().map(|(_, id)| id)).await
}

/// New versions of `app` under their gated names (`APP-next-<time>`).
pub async fn candidates(docker: &Docker, app: &str) -> Result<Vec<Found>, DeployError> {
    let what = format!("list the gated new versions of {app}");
    let names = named(docker, format!("{app}-next-"), what, |n| names::is_candidate(app, n)).await?;
    find_all(docker, names.into_iter().map(|(_, id)| id)).await
}

/// Hook containers of `app` (`APP-hook-<phase>-<time>-<n>`) a deploy killed mid-hook left behind.
pub async fn hook_leftovers(docker: &Docker, app: &str) -> Result<Vec<Found>, DeployError> {
    let what = format!("list the hook containers of {app}");
    let prefix = format!("/{app}-hook-");
    let names = named(docker, format!("{app}-hook-"), what, |n| n.starts_with(&prefix)).await?;
    find_all(docker, names.into_iter().map(|(_, id)| id)).await
}

/// An id or digest as docker prints them (12 hex digits, `sha256:` kept); anything else as is.
pub fn short(id: &str) -> String {
    let (head, hex) = match id.rfind("sha256:") {
        Some(at) => id.split_at(at + "sha256:".len()),
        None => ("", id),
    };
    if hex.len() == 64 && hex.chars().all(|c| c.is_ascii_hexdigit()) {
        format!("{head}{}", &hex[..12])
    } else {
        id.to_string()
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn short_ids_and_digests() {
        let hex = "d1d1dd0094b92bf4a1f9ae1fd2db40040b61d0ab9dee4beb345b8315d2f043de";
        assert_eq!(super::short(hex), "d1d1dd0094b9");
        assert_eq!(super::short(&format!("sha256:{hex}")), "sha256:d1d1dd0094b9");
        assert_eq!(super::short(&format!("reg/web@sha256:{hex}")), "reg/web@sha256:d1d1dd0094b9");
        assert_eq!(super::short("web"), "web");
    }
}
