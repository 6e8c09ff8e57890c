//! Asking the registry itself which manifest digest a tag points at (`HEAD /v2/<name>/manifests/<tag>`),
//! with the Basic or Bearer-token auth the registry asks for.

use super::reference::Reference;
use bollard::auth::DockerCredentials;
use std::time::Duration;

/// Manifest media types, newest first: without them a registry may answer with a schema1 manifest
/// whose digest differs from the one docker pushed.
const ACCEPT: &str = "application/vnd.oci.image.index.v1+json, application/vnd.docker.distribution.manifest.list.v2+json, application/vnd.oci.image.manifest.v1+json, application/vnd.docker.distribution.manifest.v2+json";

/// The registry's API base: plain HTTP for loopback registries (as docker treats them), HTTPS otherwise.
pub fn base_url(registry: &str) -> String {
    let host = registry.rsplit_once(':').map_or(registry, |(h, _)| h);
    let loopback = host == "localhost" || host.starts_with("127.") || host == "[::1]";
    match registry {
        "docker.io" => "https://registry-1.docker.io".into(),
        _ if loopback => format!("http://{registry}"),
        _ => format!("https://{registry}"),
    }
}

/// The `Docker-Content-Digest` the registry serves for `reference`.
pub async fn manifest_digest(reference: &Reference, credentials: Option<&DockerCredentials>) -> Result<String, String> {
    let client = crate::tls::http_client_builder().timeout(Duration::from_secs(60)).build().map_err(|e| e.to_string())?;
    let url = format!("{}/v2/{}/manifests/{}", base_url(&reference.registry), reference.repository, reference.tag);
    let basic = credentials.and_then(|c| Some((c.username.clone()?, c.password.clone()?)));
    let first = client.head(&url).header("Accept", ACCEPT).send().await.map_err(|e| format!("HEAD {url}: {e}"))?;
    let response = if first.status() == reqwest::StatusCode::UNAUTHORIZED {
        let challenge = first.headers().get("www-authenticate").and_then(|v| v.to_str().ok()).unwrap_or("").to_string();
        let request = client.head(&url).header("Accept", ACCEPT);
        let request = if challenge.to_ascii_lowercase().starts_with("bearer") {
            let token = bearer_token(&client, &challenge, &reference.repository, basic.as_ref()).await?;
            request.bearer_auth(token)
        } else {
            match &basic {
                Some((user, pass)) => request.basic_auth(user, Some(pass)),
                None => return Err(format!("HEAD {url}: the registry wants credentials and none were found")),
            }
        };
        request.send().await.map_err(|e| format!("HEAD {url}: {e}"))?
    } else {
        first
    };
    if !response.status().is_success() {
        return Err(format!("HEAD {url}: {}", response.status()));
    }
    response
        .headers()
        .get("docker-content-digest")
        .and_then(|v| v.to_str().ok())
        .map(str::to_string)
        .ok_or_else(|| format!("HEAD {url}: no Docker-Content-Digest header"))
}

/// Fetches a pull token from the realm named in a `Bearer realm=..,service=..` challenge.
async fn bearer_token(client: &reqwest::Client, challenge: &str, repository: &str, basic: Option<&(String, String)>) -> Result<String, String> {
    let params = parse_challenge(challenge);
    let realm = params.iter().find(|(k, _)| k == "realm").map(|(_, v)| v.clone()).ok_or("the Bearer challenge names no realm")?;
    let mut query: Vec<(String, String)> = params.into_iter().filter(|(k, _)| k == "service").collect();
    query.push(("scope".into(), format!("repository:{repository}:pull")));
    let url = reqwest::Url::parse_with_params(&realm, &query).map_err(|e| format!("the token realm `{realm}`: {e}"))?;
    let mut request = client.get(url);
    if let Some((user, pass)) = basic {
        request = request.basic_auth(user, Some(pass));
    }
    let body: serde_json::Value = request.send().await.map_err(|e| format!("GET {realm}: {e}"))?.json().await.map_err(|e| format!("GET {realm}: {e}"))?;
    body.get("token").or_else(|| body.get("access_token")).and_then(|t| t.as_str()).map(str::to_string).ok_or_else(|| format!("GET {realm}: no token in the answer"))
}

/// `Bearer realm="https://auth",service="registry"` -> [(realm, ..), (service, ..)].
fn parse_challenge(challenge: &str) -> Vec<(String, String)> {
    let rest = challenge.split_once(' ').map_or("", |(_, r)| r);
    rest.split(',')
        .filter_map(|kv| {
            let (k, v) = kv.split_once('=')?;
            Some((k.trim().to_ascii_lowercase(), v.trim().trim_matches('"').to_string()))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loopback_registries_are_plain_http() {
        assert_eq!(base_url("127.0.0.1:5000"), "http://127.0.0.1:5000");
        assert_eq!(base_url("localhost:5000"), "http://localhost:5000");
        assert_eq!(base_url("ghcr.io"), "https://ghcr.io");
    }

    #[test]
    fn parses_bearer_challenges() {
        let p = parse_challenge(r#"Bearer realm="https://auth.example/token",service="registry.example""#);
        assert_eq!(p, [("realm".to_string(), "https://auth.example/token".to_string()), ("service".to_string(), "registry.example".to_string())]);
    }
}
