//! Registry credentials, shared by `image push` and `deploy` (which pulls): `--username` + password,
//! else the docker config (auths, credHelpers, credsStore through the docker_credential crate), else
//! anonymous, always knowing which source was used so that every auth error can say what was tried
//! for which registry.

use crate::secret::Secret;
use bollard::auth::DockerCredentials;
use docker_credential::{CredentialRetrievalError, DockerCredential};
use serde::Deserialize;
use std::collections::HashMap;
use std::path::{Path, PathBuf};

/// Credentials for one registry and where they came from.
/// Debug is safe: the password and token are `Secret`s.
#[derive(Debug, Clone)]
pub struct Login {
    pub credential: Credential,
    pub source: CredentialSource,
}

/// What is sent to the registry.
#[derive(Debug, Clone)]
pub enum Credential {
    None,
    Password {
        username: String,
        password: Secret,
    },
    /// An OAuth2 refresh token (`identitytoken` in the docker config, or a helper's `<token>` user).
    IdentityToken(Secret),
}

impl Credential {
    /// The form the Docker API takes for a push.
    pub fn for_daemon(&self, registry: &str) -> Option<DockerCredentials> {
        let base = DockerCredentials { serveraddress: Some(registry.to_string()), ..Default::default() };
        match self {
            Credential::None => None,
            Credential::Password { username, password } => Some(DockerCredentials {
                username: Some(username.clone()),
                password: Some(password.expose().to_string()),
                ..base
            }),
            Credential::IdentityToken(token) => {
                Some(DockerCredentials { identitytoken: Some(token.expose().to_string()), ..base })
            }
        }
    }
}

/// Where the credentials for a registry came from (named in every auth and digest-check error).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CredentialSource {
    /// `--username` with `STEPKIT_REGISTRY_PASSWORD` or `--password-stdin`.
    Flags { username: String },
    /// An `auths` entry of the docker config; `username` is `None` for an identity token.
    ConfigAuths { file: PathBuf, key: String, username: Option<String> },
    /// A credential helper named by the docker config (`credHelpers` for this registry, or `credsStore`).
    Helper { file: PathBuf, program: String, setting: &'static str, username: Option<String> },
    /// Nothing found: the push is anonymous; `why` says what was looked at.
    Anonymous { why: String },
}

impl std::fmt::Display for CredentialSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let who = |username: &Option<String>| match username {
            Some(user) => format!("user `{user}`"),
            None => "an identity token".to_string(),
        };
        match self {
            CredentialSource::Flags { username } => {
                write!(f, "user `{username}` from --username and STEPKIT_REGISTRY_PASSWORD/--password-stdin")
            }
            CredentialSource::ConfigAuths { file, key, username } => {
                write!(f, "{} from the `auths` entry `{key}` in {}", who(username), file.display())
            }
            CredentialSource::Helper { file, program, setting, username } => {
                write!(f, "{} from {program} (`{setting}` in {})", who(username), file.display())
            }
            CredentialSource::Anonymous { why } => write!(f, "no credentials (no --username; {why})"),
        }
    }
}

impl CredentialSource {
    /// What to do about a refusal of these credentials.
    pub fn hint(&self) -> String {
        match self {
            CredentialSource::Flags { .. } => "check the username and password".into(),
            CredentialSource::ConfigAuths { file, .. } | CredentialSource::Helper { file, .. } => {
                format!(
                    "check the credentials stored for it (`docker login`, or {}), or pass --username",
                    file.display()
                )
            }
            CredentialSource::Anonymous { .. } => {
                "log in with --username and STEPKIT_REGISTRY_PASSWORD or --password-stdin, or `docker login`"
                    .into()
            }
        }
    }
}

/// The docker config could not give an answer (an absent entry is not this: that is anonymous).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CredentialError {
    #[error("read the docker config {file}: {message}; fix or remove it, or pass --username")]
    Unreadable { file: PathBuf, message: String },
    #[error("run {program} (`{setting}` in {file}): it could not be started or talked to; install it on PATH, or remove `{setting}` from {file}, or pass --username")]
    HelperMissing { file: PathBuf, program: String, setting: &'static str },
    #[error("get credentials from {program} (`{setting}` in {file}): {output}; fix the helper (try `echo {server} | {program} get`), or pass --username")]
    HelperFailed { file: PathBuf, program: String, setting: &'static str, server: String, output: String },
    #[error(
        "use the `auths` entry `{key}` in {file}: {message}; run `docker login` again or pass --username"
    )]
    BadEntry { file: PathBuf, key: String, message: String },
}

/// The credentials for `registry`: the flags' if given, else the docker config's at `config_file`
/// (`None` when neither DOCKER_CONFIG nor HOME says where it is), else none.
pub fn login_for(
    registry: &str,
    username: Option<&str>,
    password: Option<&Secret>,
    config_file: Option<&Path>,
) -> Result<Login, CredentialError> {
    if let (Some(username), Some(password)) = (username, password) {
        return Ok(Login {
            credential: Credential::Password { username: username.to_string(), password: password.clone() },
            source: CredentialSource::Flags { username: username.to_string() },
        });
    }
    let Some(file) = config_file else {
        return Ok(anonymous("neither DOCKER_CONFIG nor HOME is set, so no docker config was read".into()));
    };
    let bytes = match std::fs::read(file) {
        Ok(bytes) => bytes,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return Ok(anonymous(format!("{} does not exist", file.display())))
        }
        Err(e) => return Err(CredentialError::Unreadable { file: file.into(), message: e.to_string() }),
    };
    let config: ConfigView = serde_json::from_slice(&bytes).map_err(|e| CredentialError::Unreadable {
        file: file.into(),
        message: format!("not valid JSON ({e})"),
    })?;
    // Docker Hub's credentials are stored under its v1 index URL.
    let server = if registry == "docker.io" { "https://index.docker.io/v1/" } else { registry };
    let Some(origin) = config.origin(server) else {
        return Ok(anonymous(format!(
            "no `auths`, `credHelpers` or `credsStore` entry for `{server}` in {}",
            file.display()
        )));
    };
    let found = docker_credential::get_credential_from_reader(bytes.as_slice(), server);
    let source_with = |username: Option<String>| match &origin {
        Origin::Auths { key } => {
            CredentialSource::ConfigAuths { file: file.into(), key: key.clone(), username }
        }
        Origin::Helper { name, setting } => {
            CredentialSource::Helper { file: file.into(), program: program(name), setting, username }
        }
    };
    match found {
        Ok(DockerCredential::UsernamePassword(username, password)) => Ok(Login {
            credential: Credential::Password { username: username.clone(), password: Secret::new(password) },
            source: source_with(Some(username)),
        }),
        Ok(DockerCredential::IdentityToken(token)) => Ok(Login { credential: Credential::IdentityToken(Secret::new(token)), source: source_with(None) }),
        Err(e) => match (&origin, e) {
            // The docker CLI treats a helper's "credentials not found" as no login at all.
            (Origin::Helper { name, setting }, CredentialRetrievalError::HelperFailure { stdout, stderr, .. })
                if format!("{stdout}{stderr}").to_ascii_lowercase().contains("credentials not found") =>
            {
                Ok(anonymous(format!("{} (`{setting}` in {}) has no credentials for `{server}`", program(name), file.display())))
            }
            (Origin::Helper { name, setting }, CredentialRetrievalError::HelperFailure { stdout, stderr, .. }) => Err(CredentialError::HelperFailed {
                file: file.into(),
                program: program(name),
                setting,
                server: server.to_string(),
                output: helper_output(&stdout, &stderr),
            }),
            (Origin::Helper { name, setting }, CredentialRetrievalError::MalformedHelperResponse) => Err(CredentialError::HelperFailed {
                file: file.into(),
                program: program(name),
                setting,
                server: server.to_string(),
                output: "its answer is not the JSON {\"Username\": .., \"Secret\": ..} a credential helper prints".into(),
            }),
            (Origin::Helper { name, setting }, _) => Err(CredentialError::HelperMissing { file: file.into(), program: program(name), setting }),
            (Origin::Auths { key }, CredentialRetrievalError::CredentialMismatchError) => {
                Err(CredentialError::BadEntry { file: file.into(), key: key.clone(), message: "`auth` does not match `username` and `password`".into() })
            }
            (Origin::Auths { key }, _) => {
                Err(CredentialError::BadEntry { file: file.into(), key: key.clone(), message: "`auth` is not base64 of `user:password`".into() })
            }
        },
    }
}

/// [`login_for`] on a blocking thread: a credential helper is a process to run.
pub async fn login_blocking(
    registry: &str,
    username: Option<&str>,
    password: Option<&Secret>,
    config_file: Option<&Path>,
) -> Result<Login, CredentialError> {
    let (registry, username, password, config_file) = (
        registry.to_string(),
        username.map(str::to_string),
        password.cloned(),
        config_file.map(Path::to_path_buf),
    );
    tokio::task::spawn_blocking(move || {
        login_for(&registry, username.as_deref(), password.as_ref(), config_file.as_deref())
    })
    .await
    .unwrap_or_else(|panicked| std::panic::resume_unwind(panicked.into_panic()))
}

/// The registry an image reference lives in, as Docker decides: the first component when it has a
/// `.` or `:` or is `localhost`, else Docker Hub (`docker.io`).
pub fn registry_of(image: &str) -> &str {
    match image.split_once('/') {
        Some((first, _)) if first.contains(['.', ':']) || first == "localhost" => first,
        _ => "docker.io",
    }
}

fn anonymous(why: String) -> Login {
    Login { credential: Credential::None, source: CredentialSource::Anonymous { why } }
}

fn program(helper: &str) -> String {
    format!("docker-credential-{helper}")
}

/// A helper's own words, short: it failed, and they say why (a locked keychain, a missing login).
fn helper_output(stdout: &str, stderr: &str) -> String {
    let text =
        [stderr.trim(), stdout.trim()].into_iter().filter(|s| !s.is_empty()).collect::<Vec<_>>().join(" / ");
    let text: String = text.chars().take(300).collect();
    if text.is_empty() {
        "it exited with an error and printed nothing".into()
    } else {
        format!("it exited with an error: {text}")
    }
}

/// Just enough of the docker config to know which source docker_credential will use.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct ConfigView {
    #[serde(default)]
    auths: HashMap<String, EntryView>,
    creds_store: Option<String>,
    #[serde(default)]
    cred_helpers: HashMap<String, String>,
}

#[derive(Deserialize)]
struct EntryView {
    auth: Option<String>,
    username: Option<String>,
    password: Option<String>,
    identitytoken: Option<String>,
}

/// Which part of the config answers for a server.
enum Origin {
    Auths { key: String },
    Helper { name: String, setting: &'static str },
}

impl ConfigView {
    /// The same order docker_credential (and the docker CLI) use: the registry's credHelper, then its
    /// `auths` entry (identity token, `auth`, username + password), then the credsStore.
    fn origin(&self, server: &str) -> Option<Origin> {
        if let Some(name) = self.cred_helpers.get(server).filter(|n| !n.is_empty()) {
            return Some(Origin::Helper { name: name.clone(), setting: "credHelpers" });
        }
        let wanted = normalize_registry(server);
        let entry = self
            .auths
            .get_key_value(server)
            .or_else(|| self.auths.iter().find(|(key, _)| normalize_key(key) == wanted));
        if let Some((key, entry)) = entry {
            if entry.identitytoken.is_some()
                || entry.auth.is_some()
                || (entry.username.is_some() && entry.password.is_some())
            {
                return Some(Origin::Auths { key: key.clone() });
            }
        }
        self.creds_store
            .as_ref()
            .filter(|n| !n.is_empty())
            .map(|name| Origin::Helper { name: name.clone(), setting: "credsStore" })
    }
}

/// `https://index.docker.io/v1/` -> `index.docker.io`, as docker_credential matches keys.
fn normalize_key(key: &str) -> &str {
    let stripped = key.strip_prefix("http://").or_else(|| key.strip_prefix("https://"));
    match stripped {
        Some(rest) => normalize_registry(rest.split_once('/').map_or(rest, |(host, _)| host)),
        None => normalize_registry(key),
    }
}

fn normalize_registry(registry: &str) -> &str {
    match registry {
        "registry-1.docker.io" | "docker.io" => "index.docker.io",
        _ => registry,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(json: &str) -> (tempfile::TempDir, PathBuf) {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("config.json");
        std::fs::write(&file, json).unwrap();
        (dir, file)
    }

    #[test]
    fn flags_win_and_name_the_user_without_the_secret() {
        let secret = Secret::new("hunter2-flags-3b1d");
        let login = login_for("127.0.0.1:5001", Some("ci"), Some(&secret), None).unwrap();
        assert_eq!(
            login.credential.for_daemon("127.0.0.1:5001").unwrap().password.as_deref(),
            Some("hunter2-flags-3b1d")
        );
        let text = login.source.to_string();
        assert!(text.contains("user `ci`") && !text.contains("hunter2"), "{text}");
    }

    #[test]
    fn an_auths_entry_is_decoded_and_named() {
        // base64("ci:pw-auths-91c4")
        let (_dir, file) = config(r#"{"auths": {"reg.example:5000": {"auth": "Y2k6cHctYXV0aHMtOTFjNA=="}}}"#);
        let login = login_for("reg.example:5000", None, None, Some(&file)).unwrap();
        let Credential::Password { username, password } = &login.credential else { panic!("a password") };
        assert_eq!((username.as_str(), password.expose()), ("ci", "pw-auths-91c4"));
        assert_eq!(
            login.source.to_string(),
            format!("user `ci` from the `auths` entry `reg.example:5000` in {}", file.display())
        );
    }

    #[test]
    fn an_identity_token_is_kept_as_one() {
        let (_dir, file) =
            config(r#"{"auths": {"https://reg.example/v1/": {"identitytoken": "tok-ident-55e0"}}}"#);
        let login = login_for("reg.example", None, None, Some(&file)).unwrap();
        assert!(matches!(&login.credential, Credential::IdentityToken(t) if t.expose() == "tok-ident-55e0"));
        assert!(login
            .source
            .to_string()
            .starts_with("an identity token from the `auths` entry `https://reg.example/v1/`"));
    }

    #[test]
    fn absent_entries_and_files_are_anonymous_and_say_what_was_looked_at() {
        let (dir, file) = config(r#"{"auths": {"other.example": {"auth": "Y2k6eA=="}}}"#);
        let login = login_for("reg.example", None, None, Some(&file)).unwrap();
        assert!(login.source.to_string().contains(&format!(
            "no `auths`, `credHelpers` or `credsStore` entry for `reg.example` in {}",
            file.display()
        )));
        let missing = dir.path().join("nope/config.json");
        let login = login_for("reg.example", None, None, Some(&missing)).unwrap();
        assert!(login.source.to_string().contains("does not exist"), "{}", login.source);
        assert!(login_for("reg.example", None, None, None)
            .unwrap()
            .source
            .to_string()
            .contains("neither DOCKER_CONFIG nor HOME"));
    }

    #[test]
    fn config_problems_are_errors_naming_the_source() {
        let (_dir, file) = config("{ not json");
        let err = login_for("reg.example", None, None, Some(&file)).unwrap_err().to_string();
        assert!(err.contains(&file.display().to_string()) && err.contains("not valid JSON"), "{err}");

        let (_dir, file) = config(r#"{"credsStore": "stepkit-absent-helper-zz"}"#);
        let err = login_for("reg.example", None, None, Some(&file)).unwrap_err().to_string();
        assert!(
            err.contains("docker-credential-stepkit-absent-helper-zz") && err.contains("`credsStore`"),
            "{err}"
        );

        let (_dir, file) = config(r#"{"auths": {"reg.example": {"auth": "%%%"}}}"#);
        let err = login_for("reg.example", None, None, Some(&file)).unwrap_err().to_string();
        assert!(err.contains("`auths` entry `reg.example`") && err.contains("base64"), "{err}");
    }

    #[test]
    fn cred_helpers_come_before_auths_and_creds_store() {
        let view: ConfigView = serde_json::from_str(
            r#"{"auths": {"a.example": {"auth": "eDp5"}, "b.example": {}}, "credHelpers": {"a.example": "ecr"}, "credsStore": "desktop"}"#,
        )
        .unwrap();
        assert!(matches!(view.origin("a.example"), Some(Origin::Helper { setting: "credHelpers", .. })));
        // An empty entry (what `docker login` leaves with a credsStore) defers to the store.
        assert!(matches!(view.origin("b.example"), Some(Origin::Helper { setting: "credsStore", .. })));
        assert!(matches!(view.origin("c.example"), Some(Origin::Helper { setting: "credsStore", .. })));
    }
}
