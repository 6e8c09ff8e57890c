//! Settings for `stepkit notify` (Slack): the credential (webhook URL or bot token, from env or a
//! file only), then flags > `STEPKIT_SLACK_*` > `[notify]` in stepkit.toml > defaults.

use super::layered::{check_http_url, layers, list, parse_duration, secret};
use super::{flag, ConfigError};
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
/// The stepkit.toml table of these settings.
const TABLE: &str = "notify";

/// `stepkit notify`'s variables: the one place their names are spelled (the help text and
/// docs/configuration.md are checked against this list by a test).
mod var {
    pub const TOKEN: &str = "STEPKIT_SLACK_TOKEN";
    pub const WEBHOOK_URL: &str = "STEPKIT_SLACK_WEBHOOK_URL";
    pub const CHANNEL: &str = "STEPKIT_SLACK_CHANNEL";
    pub const WHEN: &str = "STEPKIT_SLACK_WHEN";
    pub const MENTION_ON_FAILURE: &str = "STEPKIT_SLACK_MENTION_ON_FAILURE";
    pub const API_URL: &str = "STEPKIT_SLACK_API_URL";
    pub const TIMEOUT: &str = "STEPKIT_SLACK_TIMEOUT";
    pub const RETRY_BUDGET: &str = "STEPKIT_SLACK_RETRY_BUDGET";
    #[cfg(test)]
    pub const ALL: [&str; 8] =
        [TOKEN, WEBHOOK_URL, CHANNEL, WHEN, MENTION_ON_FAILURE, API_URL, TIMEOUT, RETRY_BUDGET];
}

fn parse_when(text: &str) -> Result<When, String> {
    match text.trim().to_ascii_lowercase().as_str() {
        "always" => Ok(When::Always),
        "failure" => Ok(When::Failure),
        "success" => Ok(When::Success),
        _ => Err(format!("`{}` is not one of always, failure, success", text.trim())),
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
    let file = |path: &Option<std::path::PathBuf>| path.as_ref().map(|p| cwd.join(p));
    let token =
        secret("--token-file", file(&args.token_file).as_deref(), env, var::TOKEN, "the Slack token")?;
    let webhook = secret(
        "--webhook-url-file",
        file(&args.webhook_url_file).as_deref(),
        env,
        var::WEBHOOK_URL,
        "the Slack webhook URL",
    )?;
    let channel = layers("--channel", args.channel.as_deref())
        .env(env, var::CHANNEL)
        .file(TABLE, table.channel.as_deref())
        .text();
    match (token, webhook) {
        (Some((token, source)), webhook) => {
            if token.expose().trim().is_empty() || token.expose().contains(char::is_whitespace) {
                return Err(source
                    .error("the Slack token is empty or has spaces in it; store only the token (xoxb-...)"));
            }
            let source = source.name();
            if let Some((_, webhook_source)) = webhook {
                warnings.push(format!("both a bot token ({source}) and a webhook ({}) are set; using the token, which can thread and update", webhook_source.name()));
            }
            let channel = channel.filter(|c| !c.trim().is_empty()).ok_or_else(|| {
                flag("--channel", format!("a bot token ({source}) needs a channel: pass --channel, set {} or channel in [notify]", var::CHANNEL))
            })?;
            let api_url = layers("--api-url", args.api_url.as_deref())
                .env(env, var::API_URL)
                .file(TABLE, table.api_url.as_deref())
                .parse(|text| {
                    check_http_url(text)
                        .map(|()| text.to_string())
                        .map_err(|m| format!("the API URL {m}; e.g. {DEFAULT_API_URL}"))
                })?
                .unwrap_or_else(|| DEFAULT_API_URL.to_string());
            Ok(Delivery::Bot {
                token,
                source,
                channel: channel.trim().to_string(),
                api_url: api_url.trim().trim_end_matches('/').to_string(),
                thread_ts: args.thread_ts.clone(),
                update: args.update.clone(),
            })
        }
        (None, Some((url, source))) => {
            check_http_url(url.expose()).map_err(|m| {
                source.error(format!(
                    "the webhook {m}; store the whole URL Slack shows (https://hooks.slack.com/services/...)"
                ))
            })?;
            for (given, name) in [(&args.thread_ts, "--thread-ts"), (&args.update, "--update")] {
                if given.is_some() {
                    return Err(flag(name, format!("needs a bot token ({} or --token-file): an incoming webhook can only post new messages", var::TOKEN)));
                }
            }
            if let Some(channel) = &channel {
                warnings.push(format!("channel {channel} is ignored: an incoming webhook always posts to the channel it was created for"));
            }
            Ok(Delivery::Webhook { url, source: source.name() })
        }
        (None, None) => Err(flag(
            "stepkit notify",
            format!(
                "no Slack credential: set {} (or --webhook-url-file) for an incoming webhook, \
                 or {} (or --token-file) with --channel for a bot",
                var::WEBHOOK_URL,
                var::TOKEN
            ),
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
    let when = match args.when {
        Some(WhenArg::Always) => When::Always,
        Some(WhenArg::Failure) => When::Failure,
        Some(WhenArg::Success) => When::Success,
        None => layers("--when", None)
            .env(env, var::WHEN)
            .file(TABLE, table.when.as_deref())
            .parse(parse_when)?
            .unwrap_or(When::Always),
    };
    let mentions = list(&args.mention_on_failure, env, var::MENTION_ON_FAILURE, &table.mention_on_failure);
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
    let timeout = match layers("--timeout", args.timeout.as_deref())
        .env(env, var::TIMEOUT)
        .parse_from(parse_duration)?
    {
        Some((timeout, origin)) if timeout.is_zero() => return Err(origin.error("must be more than 0s")),
        Some((timeout, _)) => timeout,
        None => DEFAULT_TIMEOUT,
    };
    let budget = layers("--retry-budget", args.retry_budget.as_deref())
        .env(env, var::RETRY_BUDGET)
        .file(TABLE, table.retry_budget.as_deref())
        .duration(RetryPolicy::default().budget)?;
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

    #[test]
    fn errors_name_the_variable_or_key_that_was_set() {
        // A zero timeout from the variable used to be reported as "use --timeout".
        let err = resolve(&[], &[HOOK, ("STEPKIT_SLACK_TIMEOUT", "0")], None).unwrap_err().to_string();
        assert!(err.starts_with("use environment variable STEPKIT_SLACK_TIMEOUT: must be more"), "{err}");
        assert!(!err.contains("--timeout"), "{err}");
        let err = resolve(&["--timeout", "0s"], &[HOOK], None).unwrap_err().to_string();
        assert!(err.starts_with("use --timeout: must be more"), "{err}");
        let table = NotifyConfig { api_url: Some("slack.example".into()), ..Default::default() };
        let err = resolve(&["--channel", "C1"], &[TOKEN], Some(&table)).unwrap_err().to_string();
        assert!(
            err.starts_with("use api-url in the [notify] table of stepkit.toml: the API URL is not"),
            "{err}"
        );
        let err = resolve(&[], &[TOKEN, ("STEPKIT_SLACK_TOKEN", "xoxb two-secret-44")], None);
        let err = err.unwrap_err().to_string();
        assert!(
            err.contains("environment variable STEPKIT_SLACK_TOKEN") && !err.contains("two-secret-44"),
            "{err}"
        );
        let err = resolve(&[], &[HOOK, ("STEPKIT_SLACK_WHEN", "never")], None).unwrap_err().to_string();
        assert!(
            err.starts_with("use environment variable STEPKIT_SLACK_WHEN: `never` is not one of"),
            "{err}"
        );
    }

    #[test]
    fn every_variable_is_in_the_help_and_the_docs() {
        crate::settings::tests::documented(&["notify"], &var::ALL);
    }
}
