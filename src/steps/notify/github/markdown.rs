//! The markdown GitHub shows (check-run summaries, PR comments): a table of the steps, a footer,
//! and truncation to GitHub's character limits with a note that says so.

use crate::steps::notify::message::{Message, Origin, Status};

/// One table cell, rendered literally: the result files it comes from quote test reports and plugins.
pub fn cell(text: &str) -> String {
    crate::sanitize::table_cell(&text.replace(['\r', '\n'], " "), CELL_MAX)
}

/// Longest cell text (GitHub's comment and summary limits are counted for the whole body).
const CELL_MAX: usize = 1000;

/// `| | Step | Result |` with one row per step; empty when there are no steps.
pub fn steps_table(message: &Message) -> String {
    if message.steps.is_empty() {
        return String::new();
    }
    let mut out = String::from("| | Step | Verdict | Result |\n|---|---|---|---|\n");
    for step in &message.steps {
        let status = Status::from_verdict(&step.verdict);
        out.push_str(&format!(
            "| {} | {} | {} | {} |\n",
            status.icon(),
            cell(&step.name()),
            cell(&step.verdict),
            cell(&step.headline)
        ));
    }
    out
}

/// `<sub>octo/app@abc1234 on main (PR #5) · [GitHub Actions run](url)</sub>`; empty when nothing is known.
pub fn footer(origin: &Origin) -> String {
    let mut parts = Vec::new();
    let described = origin.describe();
    if !described.is_empty() {
        // A branch name is chosen by whoever opened the pull request.
        parts.push(cell(&described));
    }
    if let Some(url) = &origin.run_url {
        parts.push(format!("[{} run]({url})", origin.provider));
    }
    if parts.is_empty() {
        String::new()
    } else {
        format!("<sub>{}</sub>\n", parts.join(" · "))
    }
}

/// `text` cut to at most `max` characters (GitHub counts characters, not bytes), ending with
/// `note` when it was cut. Returns whether it was.
pub fn truncate(text: &str, max: usize, note: &str) -> (String, bool) {
    if text.chars().count() <= max {
        return (text.to_string(), false);
    }
    let keep = max.saturating_sub(note.chars().count() + 2);
    let cut: String = text.chars().take(keep).collect();
    (format!("{cut}\n\n{note}").chars().take(max).collect(), true)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::steps::notify::StepReport;

    #[test]
    fn truncation_keeps_the_limit_and_says_so() {
        assert_eq!(truncate("short", 10, "(cut)"), ("short".to_string(), false));
        let (text, cut) = truncate(&"é".repeat(100), 40, "_truncated_");
        assert!(cut);
        assert_eq!(text.chars().count(), 40);
        assert!(text.ends_with("\n\n_truncated_") && text.starts_with("éé"), "{text}");
        let (text, _) = truncate(&"x".repeat(70_000), 65_535, "note");
        assert_eq!(text.chars().count(), 65_535);
    }

    #[test]
    fn table_rows_escape_cells_and_footer_links_the_run() {
        let step = StepReport::for_test(
            "test", "failed", "a | b
c",
        );
        let message = Message::new(vec![step], None, None, None, Origin::default());
        assert_eq!(steps_table(&message).lines().nth(2), Some("| ❌ | stepkit test | failed | a \\| b c |"));
        let origin = Origin {
            repository: Some("o/r".into()),
            run_url: Some("https://ci/1".into()),
            provider: "Jenkins".into(),
            ..Origin::default()
        };
        assert_eq!(footer(&origin), "<sub>o/r · [Jenkins run](https://ci/1)</sub>\n");
        assert_eq!(footer(&Origin::default()), "");
    }
}
