//! Settings for `stepkit hook`: the secret (env or file only), flags > `STEPKIT_HOOK_*` > `[hook]` in
//! stepkit.toml > defaults, and the `[[hook.rule]]`s and `[hook.target.NAME]`s checked up front.

use super::layered::{layers, Given, Origin};
use super::{relative_to, ConfigError, Secret};
use crate::ci::Env;
use crate::cli::{HookListArgs, HookServeArgs, StateDirArg};
use crate::steps::hook::event::Kind;
use crate::steps::hook::QueuePolicy;
use crate::steps::hook::{Limits, LogSettings, Rule, ServeSettings, TargetSettings, TlsFiles, DEFAULT_QUEUE};
use serde::Deserialize;
use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// `[hook]` in stepkit.toml.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct HookConfig {
    pub listen: Option<String>,
    pub secret_file: Option<PathBuf>,
    pub state_dir: Option<PathBuf>,
    pub max_body: Option<u64>,
    pub header_timeout: Option<String>,
    pub body_timeout: Option<String>,
    pub grace: Option<String>,
    pub tls_cert: Option<PathBuf>,
    pub tls_key: Option<PathBuf>,
    /// The default local clone for rules that name none.
    pub clone: Option<PathBuf>,
    #[serde(default)]
    pub target: BTreeMap<String, HookTargetConfig>,
    #[serde(default)]
    pub rule: Vec<HookRuleConfig>,
}

/// `[hook.target.NAME]`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct HookTargetConfig {
    pub quiet: Option<String>,
    pub coalesce: Option<bool>,
    pub queue_limit: Option<usize>,
}

/// `[[hook.rule]]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct HookRuleConfig {
    pub name: Option<String>,
    pub repository: Option<String>,
    pub event: Option<String>,
    #[serde(rename = "ref")]
    pub git_ref: Option<String>,
    pub branch: Option<String>,
    pub tag: Option<String>,
    #[serde(default)]
    pub paths: Vec<String>,
    pub target: String,
    pub clone: Option<PathBuf>,
    pub steps: Vec<Vec<String>>,
    /// Steps that report the job (`github status`, `notify`): run after `steps`, even after a failure.
    #[serde(default)]
    pub report: Vec<Vec<String>>,
}

const DEFAULT_LISTEN: &str = "127.0.0.1:9000";
const DEFAULT_STATE_DIR: &str = ".stepkit/hook";
const DEFAULT_MAX_BODY: u64 = 1024 * 1024;
/// Shorter secrets are guessable offline from one captured signature.
const MIN_SECRET_LEN: usize = 16;

fn in_file(key: &str, message: impl Into<String>) -> ConfigError {
    ConfigError::Flag { flag: format!("{key} in stepkit.toml"), message: message.into() }
}

/// A duration above zero from the first layer set, else `default`; an error names that layer.
fn duration(given: Option<Given>, default: Duration) -> Result<Duration, ConfigError> {
    let Some(given) = given else { return Ok(default) };
    given.parse(|text| match humantime::parse_duration(text.trim()) {
        Ok(d) if !d.is_zero() => Ok(d),
        _ => Err(format!("`{text}` is not a duration above zero; e.g. 10s, 2m")),
    })
}

/// The state directory: flag, env, file (relative to it), or `.stepkit/hook` in the working directory.
fn state_dir(arg: &StateDirArg, env: &Env, table: &HookConfig, config: Option<&Path>, cwd: &Path) -> PathBuf {
    arg.state_dir
        .clone()
        .or_else(|| env.get("STEPKIT_HOOK_STATE_DIR").map(PathBuf::from))
        .or_else(|| table.state_dir.clone().map(|p| relative_to(config, p)))
        .map(|p| cwd.join(p))
        .unwrap_or_else(|| cwd.join(DEFAULT_STATE_DIR))
}

/// A target name becomes a path component and a log word: keep it plain.
fn plain_name(name: &str) -> bool {
    !name.is_empty()
        && name.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
        && name != "."
        && name != ".."
}

fn pattern(text: &str, key: &str) -> Result<glob::Pattern, ConfigError> {
    glob::Pattern::new(text).map_err(|e| in_file(key, format!("`{text}` is not a glob: {e}")))
}

fn rule(
    n: usize,
    config: &HookRuleConfig,
    table: &HookConfig,
    file: Option<&Path>,
    cwd: &Path,
) -> Result<Rule, ConfigError> {
    let name = config.name.clone().unwrap_or_else(|| format!("rule {n}"));
    let key = |k: &str| format!("{k} of [[hook.rule]] number {n} ({name})");
    let event = config.event.as_deref().unwrap_or("push");
    let event = match Kind::parse(event) {
        Some(Kind::Ping) | None => {
            return Err(in_file(&key("event"), format!("`{event}` is not one of push, create, release")))
        }
        Some(kind) => kind,
    };
    let git_ref = match (&config.git_ref, &config.branch, &config.tag) {
        (Some(r), None, None) if r.starts_with("refs/") => r.clone(),
        (Some(r), None, None) => {
            return Err(in_file(
                &key("ref"),
                format!("`{r}` must start with refs/ (or use branch = / tag =)"),
            ))
        }
        (None, Some(b), None) => format!("refs/heads/{b}"),
        (None, None, Some(t)) => format!("refs/tags/{t}"),
        (None, None, None) => {
            return Err(in_file(
                &key("ref"),
                "say which refs run it: ref = \"refs/tags/release-*\", branch = \"main\" or tag = \"v*\"",
            ))
        }
        _ => return Err(in_file(&key("ref"), "give only one of ref, branch and tag")),
    };
    if !plain_name(&config.target) {
        return Err(in_file(
            &key("target"),
            format!("`{}` is not a plain name (letters, digits, - _ .)", config.target),
        ));
    }
    let clone = config
        .clone
        .clone()
        .or_else(|| table.clone.clone())
        .map(|p| cwd.join(relative_to(file, p)))
        .ok_or_else(|| in_file(&key("clone"), "name the local clone the job fetches and checks out (clone = \"/srv/app\", or clone in [hook])"))?;
    if config.steps.is_empty() {
        return Err(in_file(
            &key("steps"),
            "list the steps to run, e.g. steps = [[\"deploy\", \"--environment\", \"prod\"]]",
        ));
    }
    for (list, steps) in [("steps", &config.steps), ("report", &config.report)] {
        for step in steps {
            match step.first().map(String::as_str) {
                None => {
                    return Err(in_file(
                        &key(list),
                        "a step is an empty list; give the stepkit command and its arguments",
                    ))
                }
                Some("hook") => return Err(in_file(&key(list), "a step cannot be `hook` itself")),
                Some(_) => {}
            }
        }
    }
    let git_ref = pattern(&git_ref, &key("ref"))?;
    let paths = config.paths.iter().map(|p| pattern(p, &key("paths"))).collect::<Result<_, _>>()?;
    Ok(Rule {
        name,
        repository: config.repository.clone(),
        event,
        git_ref,
        paths,
        target: config.target.clone(),
        clone,
        steps: config.steps.clone(),
        report: config.report.clone(),
    })
}

fn targets(table: &HookConfig) -> Result<BTreeMap<String, TargetSettings>, ConfigError> {
    let mut targets = BTreeMap::new();
    for (name, config) in &table.target {
        let key = |k: &str| format!("{k} of [hook.target.{name}]");
        let quiet = match &config.quiet {
            None => Duration::ZERO,
            Some(text) => humantime::parse_duration(text.trim())
                .map_err(|e| in_file(&key("quiet"), format!("`{text}` is not a duration ({e}); e.g. 30s")))?,
        };
        let queue_limit = config.queue_limit.unwrap_or(DEFAULT_QUEUE.queue_limit);
        if queue_limit == 0 {
            return Err(in_file(&key("queue-limit"), "must be at least 1"));
        }
        let queue = QueuePolicy { coalesce: config.coalesce.unwrap_or(DEFAULT_QUEUE.coalesce), queue_limit };
        targets.insert(name.clone(), TargetSettings { queue, quiet });
    }
    Ok(targets)
}

fn rules(table: &HookConfig, file: Option<&Path>, cwd: &Path) -> Result<Vec<Rule>, ConfigError> {
    let rules: Vec<Rule> = table
        .rule
        .iter()
        .enumerate()
        .map(|(n, r)| rule(n + 1, r, table, file, cwd))
        .collect::<Result<_, _>>()?;
    for name in table.target.keys() {
        if !rules.iter().any(|r| &r.target == name) {
            return Err(in_file(
                &format!("[hook.target.{name}]"),
                "no [[hook.rule]] names this target; check the spelling",
            ));
        }
    }
    Ok(rules)
}

/// `stepkit hook serve`.
pub fn hook_serve_settings(
    args: &HookServeArgs,
    env: &Env,
    table: Option<&HookConfig>,
    file: Option<&Path>,
    cwd: &Path,
    exe: PathBuf,
) -> Result<ServeSettings, ConfigError> {
    let empty = HookConfig::default();
    let table = table.unwrap_or(&empty);
    let (secret, secret_env) = match args
        .secret_file
        .clone()
        .map(|p| (cwd.join(p), "--secret-file"))
        .or_else(|| env.get("STEPKIT_HOOK_SECRET_FILE").map(|p| (cwd.join(p), "STEPKIT_HOOK_SECRET_FILE")))
        .or_else(|| table.secret_file.clone().map(|p| (cwd.join(relative_to(file, p)), "secret-file in [hook]")))
    {
        Some((path, _)) => (Secret::from_file("the webhook secret", &path)?, None),
        None => match Secret::from_env(env, "STEPKIT_HOOK_SECRET") {
            Some(secret) => (secret, Some("STEPKIT_HOOK_SECRET".to_string())),
            None => {
                return Err(ConfigError::Flag {
                    flag: "--secret-file".into(),
                    message: "no webhook secret: set STEPKIT_HOOK_SECRET or give --secret-file (or secret-file in [hook]); the server does not start without one".into(),
                })
            }
        },
    };
    if secret.expose().trim().len() < MIN_SECRET_LEN {
        return Err(ConfigError::Flag {
            flag: secret_env.clone().unwrap_or_else(|| "--secret-file".into()),
            message: format!("the webhook secret is shorter than {MIN_SECRET_LEN} characters; use a random one (openssl rand -hex 32)"),
        });
    }
    let listen = layers("--listen", args.listen.as_deref())
        .env(env, "STEPKIT_HOOK_LISTEN")
        .file("hook", table.listen.as_deref())
        .given();
    let listen = match listen {
        None => DEFAULT_LISTEN.parse().expect("the default address parses"),
        Some(given) => given.parse(|text| {
            text.trim()
                .parse::<SocketAddr>()
                .map_err(|_| format!("`{text}` is not an address with a port, e.g. 127.0.0.1:9000"))
        })?,
    };
    let from_env = super::env_parse(env, "STEPKIT_HOOK_MAX_BODY", "a number of bytes")?;
    let (max_body, origin) = match (args.max_body, from_env, table.max_body) {
        (Some(n), ..) => (n, Origin::Flag("--max-body".into())),
        (None, Some(n), _) => (n, Origin::Env("STEPKIT_HOOK_MAX_BODY".into())),
        (None, None, Some(n)) => (n, Origin::File { key: "max-body".into(), table: "hook".into() }),
        (None, None, None) => (DEFAULT_MAX_BODY, Origin::Flag("--max-body".into())),
    };
    if max_body == 0 {
        return Err(ConfigError::Flag {
            flag: origin.to_string(),
            message: "must be at least 1 byte".into(),
        });
    }
    let timeout = |flag: &str, given: &Option<String>, var: &str, file: &Option<String>| {
        let given = layers(flag, given.as_deref()).env(env, var).file("hook", file.as_deref()).given();
        duration(given, Duration::from_secs(10))
    };
    let limits = Limits {
        max_body: max_body as usize,
        header_timeout: timeout(
            "--header-timeout",
            &args.header_timeout,
            "STEPKIT_HOOK_HEADER_TIMEOUT",
            &table.header_timeout,
        )?,
        body_timeout: timeout(
            "--body-timeout",
            &args.body_timeout,
            "STEPKIT_HOOK_BODY_TIMEOUT",
            &table.body_timeout,
        )?,
        max_connections: 1024,
    };
    let grace = layers("--grace", args.grace.as_deref())
        .env(env, "STEPKIT_HOOK_GRACE")
        .file("hook", table.grace.as_deref());
    let grace = duration(grace.given(), Duration::from_secs(60))?;
    let tls = match (&args.tls_cert, &args.tls_key, &table.tls_cert, &table.tls_key) {
        (Some(cert), Some(key), _, _) => Some(TlsFiles { cert: cwd.join(cert), key: cwd.join(key) }),
        (None, None, Some(cert), Some(key)) => Some(TlsFiles {
            cert: cwd.join(relative_to(file, cert.clone())),
            key: cwd.join(relative_to(file, key.clone())),
        }),
        (None, None, None, None) => None,
        _ => return Err(in_file("tls-cert/tls-key in [hook]", "give both tls-cert and tls-key, or neither")),
    };
    let rules = rules(table, file, cwd)?;
    if rules.is_empty() {
        return Err(in_file(
            "[[hook.rule]]",
            "there is no rule, so no delivery could run anything; see docs/hook.md",
        ));
    }
    Ok(ServeSettings {
        listen,
        secret,
        secret_env,
        tls,
        limits,
        state_dir: state_dir(&args.state, env, table, file, cwd),
        grace,
        targets: targets(table)?,
        rules,
        exe,
    })
}

/// `stepkit hook list|show|replay`.
pub fn hook_log_settings(
    state: &StateDirArg,
    list: Option<&HookListArgs>,
    env: &Env,
    table: Option<&HookConfig>,
    file: Option<&Path>,
    cwd: &Path,
) -> Result<LogSettings, ConfigError> {
    let empty = HookConfig::default();
    let table = table.unwrap_or(&empty);
    let limit = list.and_then(|l| l.limit).unwrap_or(20);
    if limit < 1 {
        return Err(ConfigError::Flag { flag: "--limit".into(), message: "must be at least 1".into() });
    }
    Ok(LogSettings {
        state_dir: state_dir(state, env, table, file, cwd),
        rules: rules(table, file, cwd)?,
        targets: targets(table)?,
        limit,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn table(text: &str) -> HookConfig {
        crate::settings::file::parse(text).unwrap().hook.unwrap()
    }

    fn args() -> HookServeArgs {
        HookServeArgs {
            listen: None,
            secret_file: None,
            state: StateDirArg { state_dir: None },
            max_body: None,
            header_timeout: None,
            body_timeout: None,
            grace: None,
            tls_cert: None,
            tls_key: None,
        }
    }

    const RULES: &str = "[hook]\nclone = \"/srv/app\"\n[[hook.rule]]\ntag = \"release-*\"\ntarget = \"prod\"\nsteps = [[\"gate\"]]\n";

    #[test]
    fn no_secret_no_start() {
        let err = hook_serve_settings(
            &args(),
            &Env::default(),
            Some(&table(RULES)),
            None,
            Path::new("/"),
            "x".into(),
        )
        .unwrap_err()
        .to_string();
        assert!(err.contains("STEPKIT_HOOK_SECRET") && err.contains("does not start"), "{err}");
        let env = Env::from_pairs([("STEPKIT_HOOK_SECRET", "short")]);
        let err = hook_serve_settings(&args(), &env, Some(&table(RULES)), None, Path::new("/"), "x".into())
            .unwrap_err();
        assert!(err.to_string().contains("shorter than 16"), "{err}");
        assert!(!err.to_string().contains("short`"), "the secret is not echoed: {err}");
    }

    #[test]
    fn rules_resolve_with_loopback_defaults() {
        let env = Env::from_pairs([("STEPKIT_HOOK_SECRET", "0123456789abcdef0123")]);
        let s = hook_serve_settings(&args(), &env, Some(&table(RULES)), None, Path::new("/w"), "x".into())
            .unwrap();
        assert!(s.listen.ip().is_loopback());
        assert_eq!(s.limits.max_body, 1024 * 1024);
        assert_eq!(s.rules[0].git_ref.as_str(), "refs/tags/release-*");
        assert_eq!(s.state_dir, Path::new("/w/.stepkit/hook"));
        assert_eq!(s.secret_env.as_deref(), Some("STEPKIT_HOOK_SECRET"));
    }

    #[test]
    fn bad_rules_name_the_rule_and_key() {
        for (text, wanted) in [
            ("[[hook.rule]]\nbranch = \"main\"\ntarget = \"../x\"\nclone = \"/a\"\nsteps = [[\"gate\"]]\n", "target of [[hook.rule]] number 1"),
            ("[[hook.rule]]\nbranch = \"main\"\ntarget = \"prod\"\nsteps = [[\"gate\"]]\n", "clone of"),
            ("[[hook.rule]]\nname = \"x\"\nbranch = \"main\"\ntarget = \"prod\"\nclone = \"/a\"\nsteps = [[]]\n", "steps of [[hook.rule]] number 1 (x)"),
            ("[[hook.rule]]\nbranch = \"main\"\ntarget = \"prod\"\nclone = \"/a\"\nsteps = [[\"gate\"]]\nreport = [[\"hook\", \"serve\"]]\n", "report of [[hook.rule]] number 1"),
            ("[[hook.rule]]\nref = \"main\"\ntarget = \"prod\"\nclone = \"/a\"\nsteps = [[\"gate\"]]\n", "must start with refs/"),
            ("[[hook.rule]]\nevent = \"pull_request\"\nbranch = \"m\"\ntarget = \"p\"\nclone = \"/a\"\nsteps = [[\"gate\"]]\n", "push, create, release"),
        ] {
            let err = rules(&table(text), None, Path::new("/")).unwrap_err().to_string();
            assert!(err.contains(wanted), "{text}: {err}");
        }
        assert!(crate::settings::file::parse("[hook]\nlisten = \"x\"\nsecret = \"no\"\n")
            .unwrap_err()
            .contains("secret"));
    }

    #[test]
    fn a_bad_value_names_the_layer_it_came_from() {
        let secret = ("STEPKIT_HOOK_SECRET", "0123456789abcdef0123");
        let serve = |env: Env, file: &str, args: HookServeArgs| {
            hook_serve_settings(
                &args,
                &env,
                Some(&table(&RULES.replacen("[hook]\n", &format!("[hook]\n{file}"), 1))),
                None,
                Path::new("/"),
                "x".into(),
            )
            .unwrap_err()
            .to_string()
        };
        // A zero from the variable named --max-body before, though no flag was given.
        let e = serve(Env::from_pairs([secret, ("STEPKIT_HOOK_MAX_BODY", "0")]), "", args());
        assert!(
            e.starts_with("use environment variable STEPKIT_HOOK_MAX_BODY: must be at least 1 byte"),
            "{e}"
        );
        let e = serve(Env::from_pairs([secret]), "max-body = 0\n", args());
        assert!(e.starts_with("use max-body in the [hook] table of stepkit.toml:"), "{e}");
        let e =
            serve(Env::from_pairs([secret]), "max-body = 0\n", HookServeArgs { max_body: Some(0), ..args() });
        assert!(e.starts_with("use --max-body:"), "{e}");
        let e = serve(Env::from_pairs([secret]), "grace = \"0s\"\n", args());
        assert!(e.starts_with("use grace in the [hook] table of stepkit.toml: `0s`"), "{e}");
        let e = serve(
            Env::from_pairs([secret, ("STEPKIT_HOOK_LISTEN", "nowhere")]),
            "listen = \"127.0.0.1:1\"\n",
            args(),
        );
        assert!(e.starts_with("use environment variable STEPKIT_HOOK_LISTEN: `nowhere`"), "{e}");
    }
}
