//! The Docker daemon connection: a client timeout that suits long builds and pushes, and an API
//! version negotiated with the engine (bollard defaults to one newer than many engines in use).

use super::ImageError;
use bollard::Docker;
use std::time::Duration;

/// Long enough for a real build or push; bollard's default of 120 s cuts them off mid-way.
pub const CLIENT_TIMEOUT: Duration = Duration::from_secs(3 * 60 * 60);

/// Connects (DOCKER_HOST or the local socket) and agrees on an API version.
pub async fn connect() -> Result<Docker, ImageError> {
    let docker = Docker::connect_with_local_defaults()
        .map_err(|e| ImageError::Daemon(format!("{e}")))?
        .with_timeout(CLIENT_TIMEOUT);
    docker.negotiate_version().await.map_err(|e| ImageError::Daemon(format!("{e}")))
}
