//! `stepkit notify` arguments (Slack).

use clap::{Args, ValueEnum};
use std::path::PathBuf;

/// `stepkit notify [--result FILE]... [message] [delivery]`
#[derive(Debug, Clone, Args)]
#[command(after_help = "Credentials come from the environment or files, never argv:\n  \
incoming webhook: STEPKIT_SLACK_WEBHOOK_URL or --webhook-url-file\n  \
bot token:        STEPKIT_SLACK_TOKEN or --token-file, with --channel (or STEPKIT_SLACK_CHANNEL)\n\
With both, the token is used (it can thread and update).\n\
Exit codes: 0 sent (or held back by --when), 2 Slack refused the URL/token/channel, 3 Slack unreachable within --retry-budget.\n\n\
Examples:\n  stepkit notify --result test.json --result deploy.json --when failure --mention-on-failure @here\n  \
stepkit notify --status info --title 'Deploy of v1.2 started' --channel C0123ABCD\n  \
stepkit notify --result deploy.json --channel C0123ABCD --update \"$TS\"")]
pub struct NotifyArgs {
    /// A result file an earlier step wrote with --result-file (repeatable); a missing one is reported as such [default: in a `stepkit hook` job, the result files of the job's steps]
    #[arg(long, value_name = "FILE", help_heading = "Message")]
    pub result: Vec<PathBuf>,
    /// The status announced [default: auto: the worst of the results, info without results]
    #[arg(long, value_enum, value_name = "STATUS", help_heading = "Message")]
    pub status: Option<StatusArg>,
    /// The first line [default: what the steps concluded, e.g. "stepkit test failed in octo/app"]
    #[arg(long, value_name = "TEXT", help_heading = "Message")]
    pub title: Option<String>,
    /// Text shown under the title
    #[arg(long, value_name = "TEXT", help_heading = "Message", conflicts_with = "text_file")]
    pub text: Option<String>,
    /// Read the text shown under the title from FILE
    #[arg(long, value_name = "FILE", help_heading = "Message")]
    pub text_file: Option<PathBuf>,
    /// Send only for this outcome: failure means failed or timed out [env: STEPKIT_SLACK_WHEN] [default: always]
    #[arg(long, value_enum, value_name = "WHEN", help_heading = "Message")]
    pub when: Option<WhenArg>,
    /// Added as is when the status is failure or timed-out, e.g. @here, <@U123>, <!subteam^S1> (repeatable) [env: STEPKIT_SLACK_MENTION_ON_FAILURE, comma-separated]
    #[arg(long, value_name = "MENTION", help_heading = "Message")]
    pub mention_on_failure: Vec<String>,

    /// The channel ID (C...) or name the bot posts to [env: STEPKIT_SLACK_CHANNEL]
    #[arg(long, value_name = "CHANNEL", help_heading = "Delivery")]
    pub channel: Option<String>,
    /// Reply in the thread of this message (the ts output of an earlier notify; bot token only)
    #[arg(long, value_name = "TS", help_heading = "Delivery")]
    pub thread_ts: Option<String>,
    /// Change this message instead of posting a new one (chat.update; bot token only)
    #[arg(long, value_name = "TS", help_heading = "Delivery")]
    pub update: Option<String>,
    /// The Slack Web API base URL [env: STEPKIT_SLACK_API_URL] [default: https://slack.com/api]
    #[arg(long, value_name = "URL", help_heading = "Delivery")]
    pub api_url: Option<String>,
    /// One request's time limit [env: STEPKIT_SLACK_TIMEOUT] [default: 10s]
    #[arg(long, value_name = "DURATION", help_heading = "Delivery")]
    pub timeout: Option<String>,
    /// Total time for retries while Slack is busy or unreachable [env: STEPKIT_SLACK_RETRY_BUDGET] [default: 2m]
    #[arg(long, value_name = "DURATION", help_heading = "Delivery")]
    pub retry_budget: Option<String>,
    /// Read the incoming webhook URL from FILE (instead of STEPKIT_SLACK_WEBHOOK_URL)
    #[arg(long, value_name = "FILE", help_heading = "Delivery")]
    pub webhook_url_file: Option<PathBuf>,
    /// Read the bot token (xoxb-...) from FILE (instead of STEPKIT_SLACK_TOKEN)
    #[arg(long, value_name = "FILE", help_heading = "Delivery")]
    pub token_file: Option<PathBuf>,
}

/// `--status`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum StatusArg {
    Auto,
    Success,
    Failure,
    Cancelled,
    TimedOut,
    Skipped,
    Info,
}

/// `--when`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum WhenArg {
    Always,
    Failure,
    Success,
}
