//! Makes plugin text safe to print: no terminal escape codes, no GitHub workflow commands.
//!
//! Everything a plugin says (log lines, summaries, finding messages, its WASI stdout/stderr) is
//! untrusted. A line starting with `::` would be run by the GitHub runner as a workflow command
//! (`::add-mask::`, `::set-output`, `::stop-commands::`), `##[` anywhere in a line is the legacy
//! form, and control characters (ESC, CR, bidi overrides) can rewrite what a terminal shows.

/// One line, safe to print: control characters become visible `\xNN` / `\u{..}` escapes, a leading
/// `::` and every `##[` are broken up, and the result is cut to `max` characters.
pub fn line(text: &str, max: usize) -> String {
    let mut out = String::with_capacity(text.len().min(max));
    for (count, c) in text.chars().enumerate() {
        if count >= max {
            out.push('…');
            break;
        }
        match c {
            '\t' => out.push(' '),
            c if (c as u32) < 0x20 || c == '\u{7f}' => out.push_str(&format!("\\x{:02x}", c as u32)),
            // C1 controls (a bare CSI is 0x9b) and the bidi / zero-width formatting characters.
            c if ('\u{80}'..='\u{9f}').contains(&c)
                || ('\u{200b}'..='\u{200f}').contains(&c)
                || ('\u{202a}'..='\u{202e}').contains(&c)
                || ('\u{2066}'..='\u{2069}').contains(&c)
                || c == '\u{feff}' =>
            {
                out.push_str(&format!("\\u{{{:x}}}", c as u32))
            }
            c => out.push(c),
        }
    }
    neutralise_commands(&out)
}

/// Several lines (a log message, captured stdout): each line through [`line`], joined with `\n`.
pub fn lines(text: &str, max_line: usize) -> Vec<String> {
    text.split('\n').map(|l| line(l.strip_suffix('\r').unwrap_or(l), max_line)).collect()
}

fn neutralise_commands(s: &str) -> String {
    let s = s.replace("##[", "#\u{2060}#[");
    let trimmed = s.trim_start();
    match trimmed.strip_prefix("::") {
        // A space between the colons: still readable, no longer a command.
        Some(rest) => format!("{}: :{rest}", &s[..s.len() - trimmed.len()]),
        None => s,
    }
}

/// Text for a markdown table cell: one line, `|` escaped, no HTML.
pub fn table_cell(text: &str, max: usize) -> String {
    line(text, max).replace('\\', "\\\\").replace('|', "\\|").replace('<', "&lt;").replace('>', "&gt;")
}

/// A finding's file: kept only when it is a plain relative path inside the workspace.
pub fn relative_path(path: &str) -> Option<String> {
    let path = path.trim().replace('\\', "/");
    let bad = path.is_empty()
        || path.starts_with('/')
        || path.contains(':')
        || path.split('/').any(|part| part == "..")
        || path.chars().any(|c| c.is_control());
    (!bad).then_some(path)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn workflow_commands_are_broken() {
        assert_eq!(line("::error::boom", 100), ": :error::boom");
        assert_eq!(line("  ::add-mask::secret", 100), "  : :add-mask::secret");
        assert!(!line("x ##[set-output name=a]b", 100).contains("##["));
        assert_eq!(line("a :: b", 100), "a :: b");
    }

    #[test]
    fn escape_codes_become_visible() {
        assert_eq!(line("\u{1b}[31mred\u{1b}[0m", 100), "\\x1b[31mred\\x1b[0m");
        assert_eq!(line("a\rb", 100), "a\\x0db");
        assert_eq!(line("\u{9b}31m", 100), "\\u{9b}31m");
        assert_eq!(line("x\u{202e}y", 100), "x\\u{202e}y");
    }

    #[test]
    fn a_newline_cannot_start_a_command() {
        let out = lines("ok\n::set-output name=x::y\r\n", 100);
        assert_eq!(out, vec!["ok", ": :set-output name=x::y", ""]);
        // Through `line`, a newline is escaped, so no second line exists at all.
        assert_eq!(line("ok\n::error::x", 100), "ok\\x0a::error::x");
    }

    #[test]
    fn long_lines_are_cut() {
        assert_eq!(line("abcdef", 3), "abc…");
        assert_eq!(line("ééé", 3), "ééé");
    }

    #[test]
    fn table_cells_and_paths() {
        assert_eq!(table_cell("a|b<script>", 100), "a\\|b&lt;script&gt;");
        assert_eq!(relative_path("src/lib.rs").as_deref(), Some("src/lib.rs"));
        assert_eq!(relative_path("src\\a.rs").as_deref(), Some("src/a.rs"));
        assert_eq!(relative_path("../etc/passwd"), None);
        assert_eq!(relative_path("/etc/passwd"), None);
        assert_eq!(relative_path("C:/x"), None);
    }
}
