//! The Docker engine connection the docker-using steps share (image, gate, deploy): a client
//! timeout that suits long builds and pushes, and an API version negotiated with the engine
//! (bollard defaults to one newer than many engines in use).

use bollard::Docker;
use std::time::Duration;

/// The engine did not answer, or answered with an error.
#[derive(Debug, thiserror::Error)]
#[error("reach the Docker daemon: {0}; is dockerd running and is DOCKER_HOST right?")]
pub struct DaemonError(pub String);

/// Long enough for a real build or push; bollard's default of 120 s cuts them off mid-way.
pub const CLIENT_TIMEOUT: Duration = Duration::from_secs(3 * 60 * 60);

/// Connects (DOCKER_HOST or the local socket) and agrees on an API version.
pub async fn connect() -> Result<Docker, DaemonError> {
    let docker = Docker::connect_with_local_defaults()
        .map_err(|e| DaemonError(e.to_string()))?
        .with_timeout(CLIENT_TIMEOUT);
    docker.negotiate_version().await.map_err(|e| DaemonError(e.to_string()))
}

/// `connect`, giving the engine at most `limit` to answer.
pub async fn connect_within(limit: Duration) -> Result<Docker, DaemonError> {
    tokio::time::timeout(limit, connect())
        .await
        .map_err(|_| DaemonError(format!("no answer within {}", humantime::format_duration(limit))))?
}
