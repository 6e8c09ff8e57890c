//! The Slack message a `Message` becomes: Block Kit inside a coloured attachment, with the top-level
//! `text` fallback Slack needs for notifications, escaped and cut to Slack's documented limits.

use crate::steps::notify::{Message, Status};
use serde_json::{json, Value};

/// A section block's text may hold at most this many characters.
pub const SECTION_LIMIT: usize = 3000;
/// A message may hold at most this many blocks.
pub const BLOCK_LIMIT: usize = 50;
/// The top-level `text` may hold at most this many characters (Slack truncates beyond it).
pub const TEXT_LIMIT: usize = 40_000;

/// What the user adds to the message besides what the steps say.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Extras {
    /// Raw mentions (`@here`, `<@U123>`, `<!subteam^S1>`), shown only when the status is bad.
    pub mentions: Vec<String>,
}

/// Slack's own escaping: `&`, `<` and `>` become entities, so text from steps and users can neither
/// ping `<!channel>` nor forge `<url|links>`.
pub fn escape(text: &str) -> String {
    text.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;")
}

/// The colour of the attachment bar.
pub fn color(status: Status) -> &'static str {
    match status {
        Status::Success => "good",
        Status::Failure | Status::TimedOut => "danger",
        Status::Cancelled | Status::Skipped => "warning",
        // Slack's own "info" blue: not a verdict, so none of the three verdict colours.
        Status::Info => "#439FE0",
    }
}

/// `text` cut to at most `limit` characters, the cut said with "… and N more characters". An escaped
/// entity (`&amp;`) is never split.
pub fn truncate(text: &str, limit: usize) -> String {
    let total = text.chars().count();
    if total <= limit {
        return text.to_string();
    }
    // Room for the note; the note's own length depends on N, so reserve for the largest N.
    let note_len = format!("… and {total} more characters").chars().count() + 1;
    let keep = limit.saturating_sub(note_len);
    let mut head: String = text.chars().take(keep).collect();
    if let Some(amp) = head.rfind('&') {
        if !head[amp..].contains(';') {
            head.truncate(amp);
        }
    }
    let dropped = total - head.chars().count();
    format!("{head}\n… and {dropped} more characters")
}

/// The body to POST: `text`, and `attachments` holding the blocks. Bot mode adds `channel` and friends.
pub fn build(message: &Message, extras: &Extras) -> Value {
    let blocks = blocks(message);
    json!({
        "text": fallback(message, extras),
        "attachments": [{ "color": color(message.status), "blocks": blocks }],
        "unfurl_links": false,
        "unfurl_media": false,
    })
}

/// The notification line: mentions (when the status is bad), the title, the step lines.
fn fallback(message: &Message, extras: &Extras) -> String {
    let mut text = String::new();
    if message.status.is_bad() && !extras.mentions.is_empty() {
        // Raw on purpose: mentions only work unescaped, and they come from the pipeline's own flags.
        text.push_str(&extras.mentions.join(" "));
        text.push(' ');
    }
    text.push_str(&format!("{} {}", message.status.icon(), escape(&message.title)));
    if !message.steps.is_empty() {
        text.push('\n');
        text.push_str(&escape(&message.step_lines().join("\n")));
    }
    // Cutting the end keeps the first line (the one a phone's notification shows) intact.
    truncate(&text, TEXT_LIMIT)
}

fn section(text: String) -> Value {
    json!({ "type": "section", "text": { "type": "mrkdwn", "text": text } })
}

/// Title, the user's text, the steps (as many sections as they need, within 50 blocks), the origin.
fn blocks(message: &Message) -> Vec<Value> {
    let mut blocks = vec![section(truncate(
        &format!("*{} {}*", message.status.icon(), escape(&message.title)),
        SECTION_LIMIT,
    ))];
    if let Some(text) = message.text.as_deref().filter(|t| !t.trim().is_empty()) {
        blocks.push(section(truncate(&escape(text), SECTION_LIMIT)));
    }
    let context = context(message);
    let room = BLOCK_LIMIT - blocks.len() - usize::from(context.is_some());
    blocks.extend(step_sections(&message.step_lines(), room).into_iter().map(section));
    blocks.extend(context);
    blocks
}

/// Step lines packed into sections of at most 3000 characters, at most `room` of them; steps that do
/// not fit are counted in a last "… and N more steps".
fn step_sections(lines: &[String], room: usize) -> Vec<String> {
    let mut sections: Vec<String> = Vec::new();
    let mut current = String::new();
    for (i, line) in lines.iter().enumerate() {
        let line = truncate(&escape(line), SECTION_LIMIT);
        let joined_len = current.chars().count() + 1 + line.chars().count();
        if !current.is_empty() && joined_len > SECTION_LIMIT {
            if sections.len() + 1 == room {
                // The last section left: say how many steps are missing instead of dropping them silently.
                let more = format!("… and {} more steps", lines.len() - i);
                if current.chars().count() + 1 + more.chars().count() > SECTION_LIMIT {
                    current = truncate(&current, SECTION_LIMIT - more.chars().count() - 1);
                }
                sections.push(format!("{current}\n{more}"));
                return sections;
            }
            sections.push(std::mem::take(&mut current));
        }
        if !current.is_empty() {
            current.push('\n');
        }
        current.push_str(&line);
    }
    if !current.is_empty() {
        sections.push(current);
    }
    sections
}

/// "octo/app@abc1234 on main, by alice · <run|View run>".
fn context(message: &Message) -> Option<Value> {
    let mut parts = Vec::new();
    let describe = message.origin.describe();
    if !describe.is_empty() {
        parts.push(escape(&describe));
    }
    if let Some(url) = message.origin.run_url.as_deref() {
        // In `<url|label>` a `|` ends the URL and `<>&` must be entities, per Slack's escaping rules.
        parts.push(format!("<{}|View run>", escape(&url.replace('|', "%7C"))));
    }
    if parts.is_empty() {
        return None;
    }
    let text = truncate(&parts.join(" · "), SECTION_LIMIT);
    Some(json!({ "type": "context", "elements": [{ "type": "mrkdwn", "text": text }] }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::steps::notify::message::Origin;
    use crate::steps::notify::StepReport;

    fn report(command: &str, verdict: &str, headline: &str) -> StepReport {
        StepReport::for_test(command, verdict, headline)
    }

    fn origin() -> Origin {
        Origin {
            repository: Some("octo/app".into()),
            sha: Some("0123456789".into()),
            run_url: Some("https://ci/run?a=1&b=2".into()),
            ..Origin::default()
        }
    }

    fn all_texts(payload: &Value) -> Vec<String> {
        let mut texts = vec![payload["text"].as_str().unwrap().to_string()];
        for block in payload["attachments"][0]["blocks"].as_array().unwrap() {
            if let Some(t) = block["text"]["text"].as_str() {
                texts.push(t.into());
            }
            for e in block["elements"].as_array().into_iter().flatten() {
                texts.push(e["text"].as_str().unwrap().into());
            }
        }
        texts
    }

    #[test]
    fn step_and_user_text_is_escaped_so_it_cannot_ping_or_link() {
        let steps = vec![report("test", "failed", "<!channel> broke <https://evil|here> & more")];
        let message =
            Message::new(steps, None, Some("Deploy <b> & co".into()), Some("see <!here>".into()), origin());
        let payload = build(&message, &Extras::default());
        for text in all_texts(&payload) {
            assert!(!text.contains("<!"), "unescaped mention in {text}");
            assert!(!text.contains("<https://evil"), "forged link in {text}");
        }
        let blocks = payload["attachments"][0]["blocks"].as_array().unwrap();
        assert_eq!(blocks[0]["text"]["text"], "*❌ Deploy &lt;b&gt; &amp; co*");
        assert_eq!(blocks[1]["text"]["text"], "see &lt;!here&gt;");
        assert_eq!(
            blocks[2]["text"]["text"],
            "❌ stepkit test: &lt;!channel&gt; broke &lt;https://evil|here&gt; &amp; more"
        );
        assert_eq!(blocks[3]["type"], "context");
        assert_eq!(
            blocks[3]["elements"][0]["text"],
            "octo/app@0123456 · <https://ci/run?a=1&amp;b=2|View run>"
        );
        assert_eq!(payload["attachments"][0]["color"], "danger");
    }

    #[test]
    fn mentions_are_raw_and_only_on_a_bad_status() {
        let extras = Extras { mentions: vec!["@here".into(), "<@U123>".into()] };
        let failed = Message::new(vec![report("test", "failed", "2 failed")], None, None, None, origin());
        assert!(build(&failed, &extras)["text"]
            .as_str()
            .unwrap()
            .starts_with("@here <@U123> ❌ stepkit test failed in octo/app"));
        let passed = Message::new(vec![report("test", "passed", "ok")], None, None, None, origin());
        let text = build(&passed, &extras)["text"].as_str().unwrap().to_string();
        assert!(!text.contains("@here") && !text.contains("U123"), "{text}");
        assert_eq!(build(&passed, &extras)["attachments"][0]["color"], "good");
    }

    #[test]
    fn colours_follow_the_status() {
        assert_eq!(color(Status::TimedOut), "danger");
        assert_eq!(color(Status::Cancelled), "warning");
        assert_eq!(color(Status::Skipped), "warning");
        assert!(color(Status::Info).starts_with('#'));
    }

    #[test]
    fn truncation_keeps_the_limit_and_never_splits_an_entity() {
        let long = "x".repeat(5000);
        let cut = truncate(&long, SECTION_LIMIT);
        assert!(cut.chars().count() <= SECTION_LIMIT);
        assert!(
            cut.ends_with(&format!("… and {} more characters", 5000 - cut.lines().next().unwrap().len())),
            "{}",
            &cut[cut.len() - 40..]
        );
        assert_eq!(truncate("short", 10), "short");

        let entities = "&amp;".repeat(1000);
        let cut = truncate(&entities, 100);
        let head = cut.lines().next().unwrap();
        assert!(head.ends_with(';') && head.len() % 5 == 0, "{head}");
        let wide = "é".repeat(4000);
        assert!(
            truncate(&wide, SECTION_LIMIT).chars().count() <= SECTION_LIMIT,
            "counts characters, not bytes"
        );
    }

    #[test]
    fn many_steps_fit_in_fifty_blocks_and_say_how_many_are_missing() {
        let steps: Vec<StepReport> =
            (0..2000).map(|i| report(&format!("step{i}"), "passed", &"y".repeat(200))).collect();
        let message = Message::new(steps, None, None, Some("t".repeat(10_000)), origin());
        let payload = build(&message, &Extras::default());
        let blocks = payload["attachments"][0]["blocks"].as_array().unwrap();
        assert_eq!(blocks.len(), BLOCK_LIMIT);
        for block in blocks {
            let text =
                block["text"]["text"].as_str().or_else(|| block["elements"][0]["text"].as_str()).unwrap();
            assert!(text.chars().count() <= SECTION_LIMIT, "{} chars", text.chars().count());
        }
        assert!(blocks[1]["text"]["text"].as_str().unwrap().contains("more characters"));
        let last_steps = blocks[BLOCK_LIMIT - 2]["text"]["text"].as_str().unwrap();
        let more: usize =
            last_steps.rsplit("… and ").next().unwrap().trim_end_matches(" more steps").parse().unwrap();
        let shown: usize = blocks[2..BLOCK_LIMIT - 1]
            .iter()
            .map(|b| b["text"]["text"].as_str().unwrap().matches("stepkit step").count())
            .sum();
        assert_eq!(shown + more, 2000, "every step is shown or counted");
        assert_eq!(blocks[BLOCK_LIMIT - 1]["type"], "context");
        assert!(payload["text"].as_str().unwrap().chars().count() <= TEXT_LIMIT);
        assert!(payload["text"].as_str().unwrap().contains("more characters"));
    }

    #[test]
    fn no_steps_no_origin_is_just_the_title() {
        let message = Message::new(
            Vec::new(),
            Some(Status::Info),
            Some("Release v1 started".into()),
            None,
            Origin::default(),
        );
        let payload = build(&message, &Extras::default());
        assert_eq!(payload["text"], "ℹ️ Release v1 started");
        assert_eq!(payload["attachments"][0]["blocks"].as_array().unwrap().len(), 1);
    }
}
