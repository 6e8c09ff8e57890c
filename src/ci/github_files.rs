//! The files GitHub reads after a step: step outputs (`$GITHUB_OUTPUT`) and the step summary (`$GITHUB_STEP_SUMMARY`).

use std::collections::hash_map::RandomState;
use std::fmt::Write as _;
use std::fs::OpenOptions;
use std::hash::{BuildHasher, Hasher};
use std::io::Write;
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

use super::CiError;

/// GitHub refuses (and drops) a step summary larger than this.
pub const STEP_SUMMARY_LIMIT: u64 = 1024 * 1024;

/// Appended where the summary was cut; it starts a paragraph of its own so it cannot join a table.
const TRUNCATED_NOTE: &str =
    "\n_… summary truncated: GitHub's step summary is limited to 1 MiB; the full report is in the JSON result file._\n";

/// Room first reserved for the fence that closes a block left open by the cut, so the note does not
/// render as code. Fences grow with the backtick runs they quote (sanitize::code_block).
const FENCE_ROOM: usize = 16;

/// Append `outputs` to the `$GITHUB_OUTPUT` file at `path`, each in the multi-line-safe heredoc form.
pub fn append_outputs(path: &Path, outputs: &[(String, String)]) -> Result<(), CiError> {
    let mut text = String::new();
    for (name, value) in outputs {
        if !is_valid_output_name(name) {
            return Err(CiError::InvalidOutputName { name: name.clone() });
        }
        let delimiter = delimiter_for(value);
        // Always the heredoc form (what @actions/core writes): the runner takes the lines between `name<<DELIM`
        // and the line equal to DELIM, so any value, multi-line or not, arrives unchanged.
        let _ = writeln!(text, "{name}<<{delimiter}\n{value}\n{delimiter}");
    }
    if text.is_empty() {
        return Ok(());
    }
    append(path, &text).map_err(|source| CiError::WriteOutput { path: path.to_path_buf(), source })
}

/// Append `markdown` to the `$GITHUB_STEP_SUMMARY` file at `path`, cut to keep the file within 1 MiB.
pub fn append_summary(path: &Path, markdown: &str) -> Result<(), CiError> {
    // A missing file is size 0; any other problem shows up when opening it below.
    let existing = std::fs::metadata(path).map(|m| m.len()).unwrap_or(0);
    let text = fit_summary(existing, markdown);
    if text.is_empty() {
        return Ok(());
    }
    append(path, &text).map_err(|source| CiError::WriteSummary { path: path.to_path_buf(), source })
}

fn append(path: &Path, text: &str) -> std::io::Result<()> {
    // One write_all of the whole text: a half-written heredoc would break every later output of the job.
    let mut file = OpenOptions::new().create(true).append(true).open(path)?;
    file.write_all(text.as_bytes())?;
    file.flush()
}

/// GitHub's rule for output names: a letter or `_` first, then letters, digits, `-` and `_`.
fn is_valid_output_name(name: &str) -> bool {
    let mut chars = name.chars();
    chars.next().is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
}

/// A heredoc delimiter that does not occur in `value`.
fn delimiter_for(value: &str) -> String {
    loop {
        let candidate = random_delimiter();
        if !value.contains(&candidate) {
            return candidate;
        }
    }
}

/// `ghadelimiter_<hex>`: unguessable enough that a value (e.g. test output an attacker controls) cannot end the
/// heredoc early and inject outputs. RandomState is seeded from the OS; time, pid and a counter make it unique.
fn random_delimiter() -> String {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let count = COUNTER.fetch_add(1, Ordering::Relaxed);
    let nanos = SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_nanos()).unwrap_or(0);
    let mut hasher = RandomState::new().build_hasher();
    hasher.write_u128(nanos);
    hasher.write_u32(std::process::id());
    hasher.write_u64(count);
    let mut second = RandomState::new().build_hasher();
    second.write_u64(hasher.finish());
    format!("ghadelimiter_{:016x}{:016x}", hasher.finish(), second.finish())
}

/// What to append so the file stays within the limit: all of `markdown` (newline-terminated) when it fits,
/// else as much as fits, cut at a line (or at least a char) boundary, followed by the truncation note.
fn fit_summary(existing: u64, markdown: &str) -> String {
    if markdown.is_empty() {
        return String::new();
    }
    let mut text = markdown.to_string();
    if !text.ends_with('\n') {
        text.push('\n');
    }
    if existing + text.len() as u64 <= STEP_SUMMARY_LIMIT {
        return text;
    }
    // Reserve room for the note, a newline ending a cut line, and a closing fence. A fence longer than
    // the reserve (a block quoting a long backtick run) is made room for by cutting again, earlier.
    let full = text;
    let mut fence_room = FENCE_ROOM;
    loop {
        let reserve = (TRUNCATED_NOTE.len() + 1 + fence_room + 1) as u64;
        let room = STEP_SUMMARY_LIMIT.saturating_sub(existing).saturating_sub(reserve);
        let Ok(room) = usize::try_from(room) else { return String::new() };
        if room == 0 {
            return String::new();
        }
        let mut cut = room.min(full.len());
        while !full.is_char_boundary(cut) {
            cut -= 1;
        }
        if let Some(newline) = full[..cut].rfind('\n') {
            cut = newline + 1;
        }
        let mut text = full[..cut].to_string();
        if !text.is_empty() && !text.ends_with('\n') {
            text.push('\n');
        }
        let fence = open_fence(&text).unwrap_or_default();
        if fence.len() > fence_room {
            fence_room = fence.len();
            continue;
        }
        if !fence.is_empty() {
            text.push_str(&fence);
            text.push('\n');
        }
        text.push_str(TRUNCATED_NOTE);
        return text;
    }
}

/// The fence of the code block still open at the end of `text`, as CommonMark pairs them: a block
/// opened by N backticks (or tildes) is closed only by a line of at least N of the same character.
fn open_fence(text: &str) -> Option<String> {
    let mut open: Option<(char, usize)> = None;
    for line in text.lines() {
        let trimmed = line.trim_start();
        let Some(c) = trimmed.chars().next().filter(|c| *c == '`' || *c == '~') else { continue };
        let run = trimmed.chars().take_while(|&x| x == c).count();
        if run < 3 {
            continue;
        }
        open = match open {
            None => Some((c, run)),
            Some((oc, on)) if oc == c && run >= on && trimmed[run * c.len_utf8()..].trim().is_empty() => None,
            still => still,
        };
    }
    open.map(|(c, n)| c.to_string().repeat(n))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Parse a `$GITHUB_OUTPUT` file the way the runner does (heredoc form only).
    fn parse_outputs(text: &str) -> Vec<(String, String)> {
        let mut lines = text.split('\n');
        let mut out = Vec::new();
        while let Some(line) = lines.next() {
            if line.is_empty() {
                continue;
            }
            let (name, delimiter) = line.split_once("<<").expect("heredoc form");
            let mut value = Vec::new();
            for l in lines.by_ref() {
                if l == delimiter {
                    break;
                }
                value.push(l);
            }
            out.push((name.to_string(), value.join("\n")));
        }
        out
    }

    #[test]
    fn outputs_round_trip_including_multiline_values() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("output");
        std::fs::write(&path, "earlier<<EOF\nx\nEOF\n").unwrap();
        let outputs = vec![
            ("passed".to_string(), "12".to_string()),
            ("report".to_string(), "line 1\nline 2\n\nghadelimiter_\nEOF".to_string()),
            ("empty".to_string(), String::new()),
        ];
        append_outputs(&path, &outputs).unwrap();
        let parsed = parse_outputs(&std::fs::read_to_string(&path).unwrap());
        assert_eq!(parsed[0], ("earlier".to_string(), "x".to_string()));
        assert_eq!(parsed[1..], outputs[..]);
    }

    #[test]
    fn delimiter_never_occurs_in_the_value() {
        let first = random_delimiter();
        assert!(first.starts_with("ghadelimiter_") && first.len() == "ghadelimiter_".len() + 32);
        assert_ne!(first, random_delimiter());
        let value = format!("{first}\n{}", random_delimiter());
        assert!(!value.contains(&delimiter_for(&value)));
    }

    #[test]
    fn rejects_output_names_that_would_corrupt_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("output");
        for bad in ["", "a<<b", "a=b", "has space", "1st", "-x", "new\nline"] {
            let err = append_outputs(&path, &[(bad.to_string(), "v".to_string())]).unwrap_err();
            assert!(matches!(err, CiError::InvalidOutputName { .. }), "{bad:?}");
        }
        assert!(!path.exists(), "nothing is written when a name is invalid");
        for good in ["a", "_x", "image-digest", "Tag_2"] {
            assert!(is_valid_output_name(good), "{good}");
        }
    }

    #[test]
    fn unwritable_output_file_names_the_file_and_the_fix() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("missing-dir").join("output");
        let err = append_outputs(&path, &[("a".into(), "b".into())]).unwrap_err();
        let msg = err.to_string();
        assert!(msg.starts_with("write GitHub step output file "), "{msg}");
        assert!(msg.contains("missing-dir") && msg.contains("$GITHUB_OUTPUT"), "{msg}");
    }

    #[test]
    fn summary_appends_when_it_fits() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("summary.md");
        append_summary(&path, "# One").unwrap();
        append_summary(&path, "two\n").unwrap();
        append_summary(&path, "").unwrap();
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "# One\ntwo\n");
    }

    #[test]
    fn summary_is_cut_at_a_line_boundary_with_a_note() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("summary.md");
        std::fs::write(&path, "x".repeat(1000)).unwrap();
        let line = "| test | ✓ passed |\n";
        let markdown = line.repeat(STEP_SUMMARY_LIMIT as usize / line.len() + 10);
        append_summary(&path, &markdown).unwrap();
        let written = std::fs::read_to_string(&path).unwrap();
        assert!(written.len() as u64 <= STEP_SUMMARY_LIMIT, "{}", written.len());
        assert!(written.ends_with(TRUNCATED_NOTE));
        let body = &written[1000..written.len() - TRUNCATED_NOTE.len()];
        assert!(
            !body.is_empty() && body.split_inclusive('\n').all(|l| l == line),
            "only whole lines are kept"
        );
    }

    #[test]
    fn summary_cut_respects_char_boundaries_and_closes_fences() {
        // One huge line of multi-byte chars: no line boundary to prefer, so cut between chars.
        let text = fit_summary(0, &"é".repeat(STEP_SUMMARY_LIMIT as usize));
        assert!(text.len() as u64 <= STEP_SUMMARY_LIMIT);
        assert!(text.ends_with(TRUNCATED_NOTE));
        assert!(text.starts_with("éé"));

        let fenced = format!("intro\n```\n{}", "code line\n".repeat(STEP_SUMMARY_LIMIT as usize / 10));
        let text = fit_summary(0, &fenced);
        assert!(text.len() as u64 <= STEP_SUMMARY_LIMIT);
        assert!(text.ends_with(&format!("code line\n```\n{TRUNCATED_NOTE}")));

        // A block fenced by 40 backticks (it quotes a run of 39) is closed by 40, not by three.
        let long = "`".repeat(40);
        let fenced =
            format!("intro\n{long}text\n```\n{}", "code line\n".repeat(STEP_SUMMARY_LIMIT as usize / 10));
        let text = fit_summary(0, &fenced);
        assert!(text.len() as u64 <= STEP_SUMMARY_LIMIT);
        assert!(text.ends_with(&format!("code line\n{long}\n{TRUNCATED_NOTE}")));
        assert_eq!(
            open_fence("~~~~\n```\n~~~\n"),
            Some("~~~~".into()),
            "a shorter or other fence does not close it"
        );
        assert_eq!(open_fence("````x\n````\n"), None);
    }

    #[test]
    fn full_summary_file_gets_nothing_more() {
        assert_eq!(fit_summary(STEP_SUMMARY_LIMIT, "more"), "");
        assert_eq!(fit_summary(STEP_SUMMARY_LIMIT - 10, "more than ten bytes"), "");
        assert_eq!(fit_summary(STEP_SUMMARY_LIMIT - 5, "four"), "four\n");
    }
}
