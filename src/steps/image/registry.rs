//! Asking the registry itself which manifest digest a tag points at (`HEAD /v2/<name>/manifests/<tag>`),
//! with the Basic or Bearer-token auth the registry asks for (a password, or an identity token as an
//! OAuth2 refresh token).

use super::credentials::Credential;
use super::reference::Reference;
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

/// The `Docker-Content-Digest` the registry serves for `reference`, asked with `credential`.
pub async fn manifest_digest(reference: &Reference, credential: &Credential) -> Result<String, String> {
    manifest_digest_at(&base_url(&reference.registry), reference, credential).await
}

async fn manifest_digest_at(
    base: &str,
    reference: &Reference,
    credential: &Credential,
) -> Result<String, String> {
    let client = crate::tls::http_client_builder()
        .timeout(Duration::from_secs(60))
        .build()
        .map_err(|e| e.to_string())?;
    let url = format!("{base}/v2/{}/manifests/{}", reference.repository, reference.tag);
    let first =
        client.head(&url).header("Accept", ACCEPT).send().await.map_err(|e| format!("HEAD {url}: {e}"))?;
    let response = if first.status() == reqwest::StatusCode::UNAUTHORIZED {
        let challenge =
            first.headers().get("www-authenticate").and_then(|v| v.to_str().ok()).unwrap_or("").to_string();
        let request = client.head(&url).header("Accept", ACCEPT);
        let request = if challenge.to_ascii_lowercase().starts_with("bearer") {
            let token = bearer_token(&client, &challenge, &reference.repository, credential).await?;
            request.bearer_auth(token)
        } else {
            match credential {
                Credential::Password { username, password } => {
                    request.basic_auth(username, Some(password.expose()))
                }
                Credential::IdentityToken(_) => {
                    return Err(format!(
                        "HEAD {url}: the registry wants Basic auth, which an identity token cannot give"
                    ))
                }
                Credential::None => {
                    return Err(format!("HEAD {url}: the registry wants credentials (401 Unauthorized)"))
                }
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

/// Gets a pull token from the realm named in a `Bearer realm=..,service=..` challenge: an identity
/// token is an OAuth2 refresh token (POSTed, as the docker CLI does), a password goes as Basic auth
/// on the GET, no credentials ask for an anonymous token.
async fn bearer_token(
    client: &reqwest::Client,
    challenge: &str,
    repository: &str,
    credential: &Credential,
) -> Result<String, String> {
    let params = parse_challenge(challenge);
    let realm = params
        .iter()
        .find(|(k, _)| k == "realm")
        .map(|(_, v)| v.clone())
        .ok_or("the Bearer challenge names no realm")?;
    let mut query: Vec<(String, String)> = params.into_iter().filter(|(k, _)| k == "service").collect();
    query.push(("scope".into(), format!("repository:{repository}:pull")));
    let (method, request) = match credential {
        Credential::IdentityToken(token) => {
            let mut form = query.clone();
            form.extend([
                ("grant_type".to_string(), "refresh_token".to_string()),
                ("refresh_token".to_string(), token.expose().to_string()),
                ("client_id".to_string(), "stepkit".to_string()),
            ]);
            // The form encoding of a URL's query is exactly application/x-www-form-urlencoded.
            let body = reqwest::Url::parse_with_params("form:", &form)
                .map_err(|e| e.to_string())?
                .query()
                .unwrap_or_default()
                .to_string();
            (
                "POST",
                client.post(&realm).header("Content-Type", "application/x-www-form-urlencoded").body(body),
            )
        }
        Credential::Password { username, password } => {
            let url = reqwest::Url::parse_with_params(&realm, &query)
                .map_err(|e| format!("the token realm `{realm}`: {e}"))?;
            ("GET", client.get(url).basic_auth(username, Some(password.expose())))
        }
        Credential::None => {
            let url = reqwest::Url::parse_with_params(&realm, &query)
                .map_err(|e| format!("the token realm `{realm}`: {e}"))?;
            ("GET", client.get(url))
        }
    };
    let response = request.send().await.map_err(|e| format!("{method} {realm}: {e}"))?;
    if !response.status().is_success() {
        return Err(format!("{method} {realm}: {} from the token server", response.status()));
    }
    let body: serde_json::Value = response.json().await.map_err(|e| format!("{method} {realm}: {e}"))?;
    body.get("access_token")
        .or_else(|| body.get("token"))
        .and_then(|t| t.as_str())
        .map(str::to_string)
        .ok_or_else(|| format!("{method} {realm}: no token in the answer"))
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
        assert_eq!(
            p,
            [
                ("realm".to_string(), "https://auth.example/token".to_string()),
                ("service".to_string(), "registry.example".to_string())
            ]
        );
    }

    use crate::secret::Secret;
    use wiremock::matchers::{body_string_contains, header, method, path};
    use wiremock::{Mock, MockServer, ResponseTemplate};

    const DIGEST: &str = "sha256:1111111111111111111111111111111111111111111111111111111111111111";

    /// A registry with a token server: HEAD without a token is 401 with a Bearer challenge.
    async fn token_registry() -> MockServer {
        let server = MockServer::start().await;
        let challenge = format!(r#"Bearer realm="{}/token",service="reg.test""#, server.uri());
        Mock::given(method("HEAD"))
            .and(path("/v2/team/app/manifests/1"))
            .and(header("authorization", "Bearer access-from-refresh"))
            .respond_with(ResponseTemplate::new(200).insert_header("docker-content-digest", DIGEST))
            .mount(&server)
            .await;
        Mock::given(method("HEAD"))
            .and(path("/v2/team/app/manifests/1"))
            .respond_with(ResponseTemplate::new(401).insert_header("www-authenticate", challenge.as_str()))
            .mount(&server)
            .await;
        Mock::given(method("POST"))
            .and(path("/token"))
            .and(body_string_contains("grant_type=refresh_token"))
            .and(body_string_contains("refresh_token=idtok-registry-6a1f"))
            .and(body_string_contains("scope=repository%3Ateam%2Fapp%3Apull"))
            .and(body_string_contains("service=reg.test"))
            .respond_with(
                ResponseTemplate::new(200)
                    .set_body_json(serde_json::json!({ "access_token": "access-from-refresh" })),
            )
            .mount(&server)
            .await;
        Mock::given(method("POST"))
            .and(path("/token"))
            .respond_with(ResponseTemplate::new(401))
            .mount(&server)
            .await;
        server
    }

    fn reference() -> Reference {
        Reference::parse("reg.test/team/app:1").unwrap()
    }

    #[tokio::test]
    async fn an_identity_token_is_exchanged_for_a_bearer_token() {
        let server = token_registry().await;
        let credential = Credential::IdentityToken(Secret::new("idtok-registry-6a1f"));
        assert_eq!(manifest_digest_at(&server.uri(), &reference(), &credential).await.unwrap(), DIGEST);
        let wrong = Credential::IdentityToken(Secret::new("idtok-revoked-0b77"));
        let err = manifest_digest_at(&server.uri(), &reference(), &wrong).await.unwrap_err();
        assert!(err.contains("POST") && err.contains("401"), "{err}");
        assert!(!err.contains("idtok-revoked-0b77"), "{err}");
    }

    #[tokio::test]
    async fn basic_auth_cannot_be_answered_with_an_identity_token() {
        let server = MockServer::start().await;
        Mock::given(method("HEAD"))
            .respond_with(
                ResponseTemplate::new(401).insert_header("www-authenticate", r#"Basic realm="reg""#),
            )
            .mount(&server)
            .await;
        let err = manifest_digest_at(
            &server.uri(),
            &reference(),
            &Credential::IdentityToken(Secret::new("idtok-basic-2c9e")),
        )
        .await
        .unwrap_err();
        assert!(err.contains("identity token"), "{err}");
    }
}
