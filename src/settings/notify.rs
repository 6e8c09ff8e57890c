//! Settings for `stepkit notify` (Slack): the credential (webhook URL or bot token, from env or a
//! file only), then flags > `STEPKIT_SLACK_*` > `[notify]` in stepkit.toml > defaults.

use super::{flag, ConfigError, Secret};
use crate::ci::{Context, Env};
use crate::cli::{NotifyArgs, StatusArg, WhenArg};
use crate::steps::notify::message::Origin;
use crate::steps::notify::slack::{Delivery, SlackSettings, When};
use crate::steps::notify::{RetryPolicy, Status};
use serde::Deserialize;
use std::path::Path;
use std::time::Duration;

/// `[notify]` in stepkit.toml: what a team wants for every notification. Credentials never go here.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct NotifyConfig {
    pub channel: Option<String>,
    pub when: Option<String>,
    #[serde(default)]
    pub mention_on_failure: Vec<String>,
    pub api_url: Option<String>,
    pub retry_budget: Option<String>,
}

const DEFAULT_API_URL: &str = "https://slack.com/api";
const DEFAULT_TIMEOUT: Duration = Duration::from_secs(10);

fn in_file(key: &str, message: impl Into<String>) -> ConfigError {
    ConfigError::Flag {
        flag: format!("{key} in the [notify] table of stepkit.toml"),
        message: message.into(),
    }
}

fn parse_duration(text: &str) -> Result<Duration, String> {
    humantime::parse_duration(text.trim())
        .map_err(|e| format!("`{}` is not a duration ({e}); e.g. 30s, 2m", text.trim()))
}

/// A duration from the flag, else the env var, else the config file, else `default`.
fn duration(
    value: Option<&str>,
    name: &str,
    env: &Env,
    var: &str,
    file: Option<&str>,
    default: Duration,
) -> Result<Duration, ConfigError> {
    let parsed = match (value, env.get(var), file) {
        (Some(text), _, _) => parse_duration(text).map_err(|m| flag(name, m))?,
        (None, Some(text), _) => parse_duration(text).map_err(|_| ConfigError::Env {
            name: var.into(),
            value: text.into(),
            expected: "a duration such as 30s or 2m".into(),
        })?,
        (None, None, Some(text)) => {
            parse_duration(text).map_err(|m| in_file(name.trim_start_matches('-'), m))?
        }
        (None, None, None) => default,
    };
    if parsed.is_zero() && name == "--timeout" {
        return Err(flag(name, "must be more than 0s"));
    }
    Ok(parsed)
}

fn parse_when(text: &str) -> Option<When> {
    match text.trim().to_ascii_lowercase().as_str() {
        "always" => Some(When::Always),
        "failure" => Some(When::Failure),
        "success" => Some(When::Success),
        _ => None,
    }
}

/// An http(s) URL, checked now so a typo fails before the message is built. `what` names the
/// setting; the URL itself is not repeated (it may be a secret).
fn check_url(text: &str, what: &str) -> Result<(), String> {
    match reqwest::Url::parse(text.trim()) {
        Ok(url) if matches!(url.scheme(), "https" | "http") && url.host_str().is_some() => Ok(()),
        _ => Err(format!("{what} is not an http(s) URL")),
    }
}

/// The credential: the token when one is set (it can thread and update), else the webhook.
fn delivery(
    args: &NotifyArgs,
    env: &Env,
    table: &NotifyConfig,
    cwd: &Path,
    warnings: &mut Vec<String>,
) -> Result<Delivery, ConfigError> {
    let token = match &args.token_file {
        Some(path) => Some((Secret::from_file("the Slack token", &cwd.join(path))?, "--token-file")),
        None => Secret::from_env(env, "STEPKIT_SLACK_TOKEN").map(|s| (s, "STEPKIT_SLACK_TOKEN")),
    };
    let webhook = match &args.webhook_url_file {
        Some(path) => {
            Some((Secret::from_file("the Slack webhook URL", &cwd.join(path))?, "--webhook-url-file"))
        }
        None => Secret::from_env(env, "STEPKIT_SLACK_WEBHOOK_URL").map(|s| (s, "STEPKIT_SLACK_WEBHOOK_URL")),
    };
    let channel = args
        .channel
        .clone()
        .or_else(|| env.get("STEPKIT_SLACK_CHANNEL").map(str::to_string))
        .or_else(|| table.channel.clone());
    match (token, webhook) {
        (Some((token, source)), webhook) => {
            if token.expose().trim().is_empty() || token.expose().contains(char::is_whitespace) {
                return Err(flag(source, "the Slack token is empty or has spaces in it; store only the token (xoxb-...)"));
            }
            if let Some((_, webhook_source)) = webhook {
                warnings.push(format!("both a bot token ({source}) and a webhook ({webhook_source}) are set; using the token, which can thread and update"));
            }
            let channel = channel.filter(|c| !c.trim().is_empty()).ok_or_else(|| {
                flag("--channel", format!("a bot token ({source}) needs a channel: pass --channel, set STEPKIT_SLACK_CHANNEL or channel in [notify]"))
            })?;
            let (api_url, api_source) = match (&args.api_url, env.get("STEPKIT_SLACK_API_URL"), &table.api_url) {
                (Some(url), _, _) => (url.clone(), "--api-url"),
                (None, Some(url), _) => (url.to_string(), "STEPKIT_SLACK_API_URL"),
                (None, None, Some(url)) => (url.clone(), "api-url in the [notify] table of stepkit.toml"),
                (None, None, None) => (DEFAULT_API_URL.to_string(), "the default"),
            };
            check_url(&api_url, api_source).map_err(|m| flag(api_source, format!("{m}; e.g. https://slack.com/api")))?;
            Ok(Delivery::Bot {
                token,
                source: source.into(),
                channel: channel.trim().to_string(),
                api_url: api_url.trim().trim_end_matches('/').to_string(),
                thread_ts: args.thread_ts.clone(),
                update: args.update.clone(),
            })
        }
        (None, Some((url, source))) => {
            check_url(url.expose(), &format!("the webhook in {source}"))
                .map_err(|m| flag(source, format!("{m}; store the whole URL Slack shows (https://hooks.slack.com/services/...)")))?;
            for (given, name) in [(&args.thread_ts, "--thread-ts"), (&args.update, "--update")] {
                if given.is_some() {
                    return Err(flag(name, "needs a bot token (STEPKIT_SLACK_TOKEN or --token-file): an incoming webhook can only post new messages"));
                }
            }
            if let Some(channel) = &channel {
                warnings.push(format!("channel {channel} is ignored: an incoming webhook always posts to the channel it was created for"));
            }
            Ok(Delivery::Webhook { url, source: source.into() })
        }
        (None, None) => Err(flag(
            "stepkit notify",
            "no Slack credential: set STEPKIT_SLACK_WEBHOOK_URL (or --webhook-url-file) for an incoming webhook, \
             or STEPKIT_SLACK_TOKEN (or --token-file) with --channel for a bot",
        )),
    }
}

/// Resolves `stepkit notify`.
pub fn notify_settings(
    args: &NotifyArgs,
    env: &Env,
    table: Option<&NotifyConfig>,
    context: &Context,
    cwd: &Path,
) -> Result<SlackSettings, ConfigError> {
    let table = table.cloned().unwrap_or_default();
    let mut warnings = Vec::new();
    let delivery = delivery(args, env, &table, cwd, &mut warnings)?;
    let when = match (args.when, env.get("STEPKIT_SLACK_WHEN"), &table.when) {
        (Some(WhenArg::Always), _, _) => When::Always,
        (Some(WhenArg::Failure), _, _) => When::Failure,
        (Some(WhenArg::Success), _, _) => When::Success,
        (None, Some(text), _) => parse_when(text).ok_or_else(|| ConfigError::Env {
            name: "STEPKIT_SLACK_WHEN".into(),
            value: text.into(),
            expected: "always, failure, success".into(),
        })?,
        (None, None, Some(text)) => parse_when(text)
            .ok_or_else(|| in_file("when", format!("`{text}` is not one of always, failure, success")))?,
        (None, None, None) => When::Always,
    };
    let mentions: Vec<String> = if !args.mention_on_failure.is_empty() {
        args.mention_on_failure.clone()
    } else if let Some(list) = env.get("STEPKIT_SLACK_MENTION_ON_FAILURE") {
        list.split(',').map(str::to_string).collect()
    } else {
        table.mention_on_failure.clone()
    };
    let mentions = mentions.into_iter().map(|m| m.trim().to_string()).filter(|m| !m.is_empty()).collect();
    let status = match args.status {
        None | Some(StatusArg::Auto) => None,
        Some(StatusArg::Success) => Some(Status::Success),
        Some(StatusArg::Failure) => Some(Status::Failure),
        Some(StatusArg::Cancelled) => Some(Status::Cancelled),
        Some(StatusArg::TimedOut) => Some(Status::TimedOut),
        Some(StatusArg::Skipped) => Some(Status::Skipped),
        Some(StatusArg::Info) => Some(Status::Info),
    };
    let text = match &args.text_file {
        Some(path) => {
            let path = cwd.join(path);
            Some(
                std::fs::read_to_string(&path)
                    .map_err(|e| flag("--text-file", format!("read {}: {e}", path.display())))?,
            )
        }
        None => args.text.clone(),
    };
    let timeout =
        duration(args.timeout.as_deref(), "--timeout", env, "STEPKIT_SLACK_TIMEOUT", None, DEFAULT_TIMEOUT)?;
    let budget = duration(
        args.retry_budget.as_deref(),
        "--retry-budget",
        env,
        "STEPKIT_SLACK_RETRY_BUDGET",
        table.retry_budget.as_deref(),
        RetryPolicy::default().budget,
    )?;
    Ok(SlackSettings {
        delivery,
        results: super::result_files(&args.result, env, cwd),
        status,
        title: args.title.clone(),
        text: text.map(|t| t.trim_end().to_string()),
        when,
        mentions,
        timeout,
        retry: RetryPolicy::within(budget),
        origin: Origin::from_context(context),
        warnings,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ci::Provider;
    use clap::Parser;

    fn args(extra: &[&str]) -> NotifyArgs {
        let mut argv = vec!["stepkit", "notify"];
        argv.extend_from_slice(extra);
        match crate::cli::Cli::parse_from(argv).command {
            crate::cli::Command::Notify(args) => *args,
            _ => unreachable!(),
        }
    }

    fn resolve(
        extra: &[&str],
        env: &[(&str, &str)],
        table: Option<&NotifyConfig>,
    ) -> Result<SlackSettings, ConfigError> {
        notify_settings(
            &args(extra),
            &Env::from_pairs(env.iter().copied()),
            table,
            &Context::new(Provider::Local),
            Path::new("/w"),
        )
    }

    const HOOK: (&str, &str) =
        ("STEPKIT_SLACK_WEBHOOK_URL", "https://hooks.slack.com/services/T/B/settings-hook-secret-11");
    const TOKEN: (&str, &str) = ("STEPKIT_SLACK_TOKEN", "xoxb-settings-token-secret-22");

    #[test]
    fn no_credential_names_both_variables_and_flags() {
        let err = resolve(&[], &[], None).unwrap_err().to_string();
        for name in ["STEPKIT_SLACK_WEBHOOK_URL", "--webhook-url-file", "STEPKIT_SLACK_TOKEN", "--token-file"]
        {
            assert!(err.contains(name), "{err}");
        }
    }

    #[test]
    fn the_token_wins_over_the_webhook_with_a_warning_and_needs_a_channel() {
        let settings = resolve(&["--channel", "C1"], &[HOOK, TOKEN], None).unwrap();
        assert!(
            matches!(&settings.delivery, Delivery::Bot { channel, api_url, .. } if channel == "C1" && api_url == "https://slack.com/api")
        );
        assert!(settings.warnings[0].contains("using the token"), "{:?}", settings.warnings);
        let err = resolve(&[], &[TOKEN], None).unwrap_err().to_string();
        assert!(err.contains("--channel") && err.contains("STEPKIT_SLACK_CHANNEL"), "{err}");
        let from_env = resolve(
            &[],
            &[
                TOKEN,
                ("STEPKIT_SLACK_CHANNEL", "deploys"),
                ("STEPKIT_SLACK_API_URL", "http://127.0.0.1:9/api/"),
            ],
            None,
        )
        .unwrap();
        assert!(
            matches!(&from_env.delivery, Delivery::Bot { channel, api_url, .. } if channel == "deploys" && api_url == "http://127.0.0.1:9/api")
        );
        assert!(format!("{from_env:?}").contains("Secret(***)") && !format!("{from_env:?}").contains("xoxb"));
    }

    #[test]
    fn a_webhook_cannot_thread_or_update_and_a_bad_url_is_not_echoed() {
        let err = resolve(&["--update", "1.2"], &[HOOK], None).unwrap_err().to_string();
        assert!(err.contains("--update") && err.contains("bot token"), "{err}");
        let err =
            resolve(&[], &[("STEPKIT_SLACK_WEBHOOK_URL", "hooks.slack.com/services/x-secret-33")], None)
                .unwrap_err()
                .to_string();
        assert!(err.contains("STEPKIT_SLACK_WEBHOOK_URL") && !err.contains("secret-33"), "{err}");
        let ignored = resolve(&["--channel", "x"], &[HOOK], None).unwrap();
        assert!(ignored.warnings[0].contains("ignored"));
    }

    #[test]
    fn flag_beats_env_beats_file() {
        let table = NotifyConfig {
            channel: Some("from-file".into()),
            when: Some("success".into()),
            mention_on_failure: vec!["@here".into()],
            api_url: None,
            retry_budget: Some("30s".into()),
        };
        let settings = resolve(&[], &[TOKEN], Some(&table)).unwrap();
        assert!(matches!(&settings.delivery, Delivery::Bot { channel, .. } if channel == "from-file"));
        assert_eq!(
            (settings.when, settings.mentions.as_slice(), settings.retry.budget),
            (When::Success, &["@here".to_string()][..], Duration::from_secs(30))
        );
        let env = [
            TOKEN,
            ("STEPKIT_SLACK_WHEN", "failure"),
            ("STEPKIT_SLACK_MENTION_ON_FAILURE", "<@U1>, @here"),
            ("STEPKIT_SLACK_RETRY_BUDGET", "5s"),
        ];
        let settings = resolve(&["--channel", "C9"], &env, Some(&table)).unwrap();
        assert_eq!(
            (settings.when, settings.mentions.len(), settings.retry.budget),
            (When::Failure, 2, Duration::from_secs(5))
        );
        let settings = resolve(
            &[
                "--channel",
                "C9",
                "--when",
                "always",
                "--retry-budget",
                "1s",
                "--mention-on-failure",
                "@channel",
            ],
            &env,
            Some(&table),
        )
        .unwrap();
        assert_eq!(
            (settings.when, settings.mentions.as_slice(), settings.retry.budget),
            (When::Always, &["@channel".to_string()][..], Duration::from_secs(1))
        );
        let err = resolve(&[], &[TOKEN], Some(&NotifyConfig { when: Some("sometimes".into()), ..table }))
            .unwrap_err()
            .to_string();
        assert!(err.contains("when in the [notify] table"), "{err}");
        let err = resolve(&["--timeout", "soon"], &[HOOK], None).unwrap_err().to_string();
        assert!(err.contains("--timeout"), "{err}");
    }
}
