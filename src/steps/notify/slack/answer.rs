//! What Slack's answer means, per its documented contract: delivered, busy (try again, maybe after
//! `Retry-After`), or refused for good, with advice per error code. Pure, so every case is unit-tested.

use serde::Deserialize;
use std::time::Duration;

/// Slack's verdict on one request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Answer {
    /// Delivered. The Web API says where: the channel's ID and the message's `ts`.
    Posted { channel: Option<String>, ts: Option<String> },
    /// Transient: try again, after `after` when Slack said so.
    Busy { reason: String, after: Option<Duration> },
    /// Permanent: `code` is Slack's error code, `status` the HTTP status.
    Refused { status: u16, code: String },
}

/// The Web API errors that mean "not now" rather than "never" (api.slack.com/methods/chat.postMessage#errors).
const TRANSIENT_API_ERRORS: [&str; 5] =
    ["ratelimited", "internal_error", "fatal_error", "service_unavailable", "request_timeout"];

/// An incoming webhook's answer: 200 `ok`; 4xx with a plain-text error code; 429 and 5xx are busy.
pub fn webhook(status: u16, body: &str, after: Option<Duration>) -> Answer {
    match status {
        200..=299 => Answer::Posted { channel: None, ts: None },
        429 => Answer::Busy { reason: "429 rate limited".into(), after },
        500..=599 => Answer::Busy {
            reason: format!("{status} {}", code_of(body).unwrap_or_else(|| "server error".into())),
            after,
        },
        _ => Answer::Refused { status, code: code_of(body).unwrap_or_else(|| "unexpected answer".into()) },
    }
}

#[derive(Deserialize)]
struct ApiBody {
    ok: bool,
    error: Option<String>,
    channel: Option<String>,
    ts: Option<String>,
}

/// A Web API answer: HTTP 200 with `{"ok": ...}`; 429 and 5xx are busy; any other status is refused.
pub fn api(status: u16, body: &str, after: Option<Duration>) -> Answer {
    match status {
        429 => return Answer::Busy { reason: "429 rate limited".into(), after },
        500..=599 => return Answer::Busy { reason: format!("HTTP {status}"), after },
        200..=299 => {}
        _ => {
            return Answer::Refused {
                status,
                code: code_of(body).unwrap_or_else(|| "unexpected answer".into()),
            }
        }
    }
    let Ok(parsed) = serde_json::from_str::<ApiBody>(body) else {
        // A proxy's or load balancer's page instead of Slack's JSON: Slack was not reached properly.
        return Answer::Busy { reason: "an answer that is not Slack's JSON".into(), after };
    };
    if parsed.ok {
        return Answer::Posted { channel: parsed.channel, ts: parsed.ts };
    }
    let code = parsed.error.as_deref().and_then(code_of).unwrap_or_else(|| "unknown_error".into());
    if TRANSIENT_API_ERRORS.contains(&code.as_str()) {
        return Answer::Busy { reason: code, after };
    }
    Answer::Refused { status, code }
}

/// Slack's error codes are short snake_case words; anything else (an HTML page, a long text) is not
/// shown, so an answer can never smuggle arbitrary text into the log.
fn code_of(text: &str) -> Option<String> {
    let text = text.trim();
    let valid = !text.is_empty()
        && text.len() <= 64
        && text.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_');
    valid.then(|| text.to_string())
}

/// What to do about a refused incoming webhook.
pub fn webhook_advice(code: &str) -> String {
    match code {
        "invalid_token" => "the token in the webhook URL is wrong or was revoked; create a new incoming webhook and store its URL",
        "no_service" | "no_active_hooks" => "the webhook was removed or its app uninstalled; create a new incoming webhook and store its URL",
        "action_prohibited" => "a workspace admin restricted this webhook; ask them to allow the app to post",
        "channel_not_found" => "the webhook's channel no longer exists; create a webhook for an existing channel",
        "channel_is_archived" => "the webhook's channel is archived; unarchive it or create a webhook for another channel",
        "posting_to_general_channel_denied" => "only admins may post to this channel; create a webhook for another channel",
        "invalid_payload" | "no_text" | "too_many_attachments" | "invalid_blocks" => {
            "Slack could not use the message; report it with the result files you passed to stepkit notify"
        }
        _ => "see https://api.slack.com/messaging/webhooks#handling_errors",
    }
    .to_string()
}

/// What to do about a refused Web API call (`method` is `chat.postMessage` or `chat.update`).
pub fn api_advice(code: &str, method: &str) -> String {
    match code {
        "invalid_auth" | "not_authed" | "not_allowed_token_type" => {
            "the token is not valid; use the app's Bot User OAuth Token (xoxb-...) from its OAuth & Permissions page"
        }
        "token_revoked" | "token_expired" => "the token was revoked or expired; reinstall the app and store its new token",
        "account_inactive" => "the token's bot or user was deactivated; reinstall the app and store its new token",
        "channel_not_found" => "no such channel for this token; pass the channel ID (C...) and, for a private channel, invite the app first",
        "not_in_channel" => "the app is not in the channel; invite the app to the channel (/invite @app) or add the chat:write.public scope",
        "is_archived" => "the channel is archived; unarchive it or pick another --channel",
        "missing_scope" => "the token lacks a scope; add chat:write (chat:write.public for channels the app is not in) and reinstall the app",
        "message_not_found" => "--update names no message in this channel; pass the ts output of the earlier stepkit notify and the same --channel",
        "cant_update_message" | "edit_window_closed" => "--update can only change messages this app posted, within the workspace's edit window",
        "thread_not_found" => "--thread-ts names no message in this channel; pass the ts output of the earlier stepkit notify",
        "restricted_action" | "team_access_not_granted" | "ekm_access_denied" => "a workspace admin restricts posting there; ask them to allow the app",
        "invalid_blocks" | "invalid_attachments" | "msg_too_long" | "no_text" | "invalid_arguments" | "too_many_attachments" => {
            "Slack could not use the message; report it with the result files you passed to stepkit notify"
        }
        _ => return format!("see https://api.slack.com/methods/{method}#errors"),
    }
    .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn refused(status: u16, code: &str) -> Answer {
        Answer::Refused { status, code: code.into() }
    }

    #[test]
    fn webhook_answers_follow_slacks_contract() {
        assert_eq!(webhook(200, "ok", None), Answer::Posted { channel: None, ts: None });
        assert_eq!(webhook(400, "invalid_payload", None), refused(400, "invalid_payload"));
        assert_eq!(webhook(400, "no_text\n", None), refused(400, "no_text"));
        assert_eq!(webhook(403, "invalid_token", None), refused(403, "invalid_token"));
        assert_eq!(webhook(403, "action_prohibited", None), refused(403, "action_prohibited"));
        assert_eq!(webhook(404, "no_service", None), refused(404, "no_service"));
        assert_eq!(webhook(404, "channel_not_found", None), refused(404, "channel_not_found"));
        assert_eq!(webhook(410, "channel_is_archived", None), refused(410, "channel_is_archived"));
        assert_eq!(
            webhook(404, "<html>Not found: https://hooks.slack.com/services/x</html>", None),
            refused(404, "unexpected answer"),
            "foreign text is never shown"
        );
        let wait = Some(Duration::from_secs(3));
        assert_eq!(
            webhook(429, "rate_limited", wait),
            Answer::Busy { reason: "429 rate limited".into(), after: wait }
        );
        assert!(matches!(webhook(503, "", None), Answer::Busy { after: None, .. }));
    }

    #[test]
    fn api_answers_follow_slacks_contract() {
        assert_eq!(
            api(200, r#"{"ok":true,"channel":"C1","ts":"1712.0001","message":{}}"#, None),
            Answer::Posted { channel: Some("C1".into()), ts: Some("1712.0001".into()) }
        );
        for code in [
            "invalid_auth",
            "not_authed",
            "token_revoked",
            "account_inactive",
            "channel_not_found",
            "not_in_channel",
            "is_archived",
            "missing_scope",
            "invalid_blocks",
            "msg_too_long",
        ] {
            assert_eq!(
                api(200, &format!(r#"{{"ok":false,"error":"{code}"}}"#), None),
                refused(200, code),
                "{code}"
            );
        }
        for code in TRANSIENT_API_ERRORS {
            assert!(
                matches!(api(200, &format!(r#"{{"ok":false,"error":"{code}"}}"#), None), Answer::Busy { .. }),
                "{code}"
            );
        }
        let wait = Some(Duration::from_secs(1));
        assert_eq!(api(429, "", wait), Answer::Busy { reason: "429 rate limited".into(), after: wait });
        assert!(matches!(api(502, "bad gateway", None), Answer::Busy { .. }));
        assert!(matches!(api(200, "<html>proxy</html>", None), Answer::Busy { .. }));
        assert_eq!(api(401, "", None), refused(401, "unexpected answer"));
        assert_eq!(api(200, r#"{"ok":false}"#, None), refused(200, "unknown_error"));
    }

    #[test]
    fn every_common_refusal_has_its_own_advice() {
        assert!(api_advice("not_in_channel", "chat.postMessage").contains("invite the app to the channel"));
        assert!(api_advice("invalid_auth", "chat.postMessage").contains("xoxb-"));
        assert!(api_advice("missing_scope", "chat.update").contains("chat:write"));
        assert_eq!(
            api_advice("weird_error", "chat.update"),
            "see https://api.slack.com/methods/chat.update#errors"
        );
        assert!(webhook_advice("no_service").contains("create a new incoming webhook"));
        assert!(webhook_advice("channel_is_archived").contains("archived"));
        assert!(webhook_advice("other").starts_with("see https://api.slack.com"));
    }
}
