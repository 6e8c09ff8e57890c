//! Untrusted text made safe for every sink: no terminal escapes, no CI workflow commands, no markdown
//! that renders as links, images or HTML. The one sanitizer for plugin output, test reports and test output.
//!
//! Text from a JUnit file, a test's output or a plugin is written by someone else. Printed as is:
//! - a line whose first non-blank characters are `::` is run by the GitHub runner as a workflow command
//!   (`::add-mask::`, `::stop-commands::`, a forged `::error::`); the runner trims leading whitespace first;
//! - `##[` anywhere in a line is the runner's legacy command form;
//! - ESC, CR and other controls rewrite what a terminal shows (and GitLab reads ESC sequences as sections);
//! - bidi overrides (RLO) and zero-width characters make a line read differently from what it says.
//!
//! Nothing is dropped: controls become visible escapes (`\x1b`, `\u{202e}`), a leading `::` becomes `: :`
//! and `##[` becomes `# #[`. The log functions (`line`, `lines`, `text`) are idempotent, so text sanitized
//! early (a plugin's log) is unchanged when the sinks sanitize it again; the markdown ones quote once.

/// One line, safe to print: controls (newline included) become visible escapes, a tab a space, workflow
/// commands are broken, and the result is cut to `max` characters (marked with `…`).
pub fn line(text: &str, max: usize) -> String {
    let mut out = String::with_capacity(text.len().min(max));
    for (count, c) in text.chars().enumerate() {
        if count >= max {
            out.push('…');
            break;
        }
        match c {
            '\t' => out.push(' '),
            c => push_char(&mut out, c),
        }
    }
    neutralise_commands(&out)
}

/// Several lines (a log message, captured output): each line through [`line`].
pub fn lines(text: &str, max_line: usize) -> Vec<String> {
    text.split('\n').map(|l| line(l.strip_suffix('\r').unwrap_or(l), max_line)).collect()
}

/// Multi-line text for a log (a failure message, a step's detail block): line breaks and tabs are kept
/// (`\r\n` becomes `\n`), every other control is escaped and each line's workflow commands are broken.
pub fn text(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for (i, l) in text.split('\n').enumerate() {
        if i > 0 {
            out.push('\n');
        }
        let l = l.strip_suffix('\r').unwrap_or(l);
        let mut clean = String::with_capacity(l.len());
        for c in l.chars() {
            match c {
                '\t' => clean.push('\t'),
                c => push_char(&mut clean, c),
            }
        }
        out.push_str(&neutralise_commands(&clean));
    }
    out
}

/// Whether `c` must not reach a log as itself: C0/C1 controls, DEL, and the invisible formatting
/// characters (bidi embeddings, overrides and isolates, zero-width spaces and joiners, line separators).
pub fn is_hidden(c: char) -> bool {
    let u = c as u32;
    u < 0x20
        || (0x7f..=0x9f).contains(&u)
        || matches!(u, 0xad | 0x34f | 0x61c | 0x180e | 0x200b..=0x200f | 0x2028..=0x202e | 0x2060..=0x206f | 0xfeff | 0xfff9..=0xfffb)
}

fn push_char(out: &mut String, c: char) {
    if !is_hidden(c) {
        out.push(c);
    } else if (c as u32) < 0x80 {
        out.push_str(&format!("\\x{:02x}", c as u32));
    } else {
        out.push_str(&format!("\\u{{{:x}}}", c as u32));
    }
}

/// Breaks the runner's two command forms in one line that has no controls left.
fn neutralise_commands(s: &str) -> String {
    let s = if s.contains("##[") { s.replace("##[", "# #[") } else { s.to_string() };
    // The runner trims leading whitespace (.NET's definition, which Rust's `trim_start` matches).
    let trimmed = s.trim_start();
    match trimmed.strip_prefix("::") {
        // A space between the colons: still readable, no longer a command.
        Some(rest) => format!("{}: :{rest}", &s[..s.len() - trimmed.len()]),
        None => s,
    }
}

/// Inline markdown text (a table cell, a list item, a paragraph): one line, cut to `max` characters,
/// with every character that could start markup backslash-escaped, HTML and entities neutralised, and
/// bare URLs broken so GitHub does not autolink them. It renders as the literal text.
pub fn table_cell(text: &str, max: usize) -> String {
    let one = line(text, max);
    let mut out = String::with_capacity(one.len() + 8);
    for c in one.chars() {
        match c {
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '&' => out.push_str("&amp;"),
            '\\' | '`' | '*' | '_' | '[' | ']' | '(' | ')' | '!' | '|' | '#' | '~' | '{' | '}' | '+'
            | '-' | '=' | '"' => {
                out.push('\\');
                out.push(c);
            }
            c => out.push(c),
        }
    }
    // GitHub's autolink extension links `scheme://` and `www.` in plain text; an escaped `/` or `.` stops it.
    out.replace("://", ":\\/\\/").replace("www.", "www\\.").replace("WWW.", "WWW\\.")
}

/// Text inside an HTML element of the markdown (`<summary>`, `<code>`): one line, cut, HTML-escaped.
/// Markdown is not parsed inside a raw HTML block, so escaping HTML is all it needs.
pub fn html(text: &str, max: usize) -> String {
    line(text, max).replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;")
}

/// An inline code span that shows `text` literally: one line, cut, delimited by more backticks than
/// any run inside it. `|` is escaped for use in a table, where GitHub would otherwise end the cell.
pub fn code_span(text: &str, max: usize) -> String {
    let one = line(text, max).replace('|', "\\|");
    let ticks = "`".repeat(longest_run(&one, '`') + 1);
    // A space on each side keeps a leading or trailing backtick from joining the delimiter.
    let pad = if one.starts_with('`') || one.ends_with('`') { " " } else { "" };
    format!("{ticks}{pad}{one}{pad}{ticks}")
}

/// A fenced code block that shows `text` literally (after [`text`]): the fence is longer than any
/// backtick run in it, so the content cannot close it early and render the rest as markdown.
pub fn code_block(body: &str, info: &str) -> String {
    let clean = text(body.trim_end());
    let fence = "`".repeat((longest_run(&clean, '`') + 1).max(3));
    format!("{fence}{info}\n{clean}\n{fence}\n")
}

/// The longest run of `of` in `text` (a fence or code span must be longer).
pub fn longest_run(text: &str, of: char) -> usize {
    let (mut longest, mut current) = (0, 0);
    for c in text.chars() {
        current = if c == of { current + 1 } else { 0 };
        longest = longest.max(current);
    }
    longest
}

/// A file path from untrusted input (a finding's `file`): kept only when it is a plain relative path
/// inside the workspace with nothing hidden in it and nothing a log or annotation would read as a command.
pub fn relative_path(path: &str) -> Option<String> {
    let path = path.trim().replace('\\', "/");
    let bad = path.is_empty()
        || path.starts_with('/')
        || path.contains(':')
        || path.contains("##[")
        || path.split('/').any(|part| part == "..")
        || path.chars().any(is_hidden);
    (!bad).then_some(path)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn workflow_commands_are_broken() {
        assert_eq!(line("::error::boom", 100), ": :error::boom");
        assert_eq!(line("  ::add-mask::secret", 100), "  : :add-mask::secret");
        assert_eq!(line("x ##[set-output name=a]b", 100), "x # #[set-output name=a]b");
        assert_eq!(line("###[x", 100), "## #[x");
        assert_eq!(line("a :: b", 100), "a :: b");
        // Unicode spaces are trimmed by the runner too.
        assert_eq!(
            line("\u{3000}\u{a0}::stop-commands::tok3n", 100),
            "\u{3000}\u{a0}: :stop-commands::tok3n"
        );
    }

    #[test]
    fn escape_codes_and_invisible_characters_become_visible() {
        assert_eq!(line("\u{1b}[31mred\u{1b}[0m", 100), "\\x1b[31mred\\x1b[0m");
        assert_eq!(line("a\rb", 100), "a\\x0db");
        assert_eq!(line("\u{9b}31m", 100), "\\u{9b}31m");
        assert_eq!(
            line("x\u{202e}y\u{200b}z\u{2066}\u{feff}", 100),
            "x\\u{202e}y\\u{200b}z\\u{2066}\\u{feff}"
        );
        // A zero-width character before `::` is no whitespace to the runner, and it is shown anyway.
        assert_eq!(line("\u{200b}::error::x", 100), "\\u{200b}::error::x");
    }

    #[test]
    fn a_newline_cannot_start_a_command() {
        let out = lines("ok\n::set-output name=x::y\r\n", 100);
        assert_eq!(out, vec!["ok", ": :set-output name=x::y", ""]);
        assert_eq!(line("ok\n::error::x", 100), "ok\\x0a::error::x");
    }

    #[test]
    fn multi_line_text_keeps_its_lines_and_breaks_each_command() {
        let hostile = "first\r\n      ::add-mask::hunter2\n\t##[error]x\n\u{1b}]0;title\u{7}\rlast";
        assert_eq!(
            text(hostile),
            "first\n      : :add-mask::hunter2\n\t# #[error]x\n\\x1b]0;title\\x07\\x0dlast"
        );
    }

    #[test]
    fn every_function_is_idempotent() {
        let hostile =
            "  ::add-mask::a ##[x] \u{1b}[2J \u{202e}|`b`<i>![i](https://e/x.png) www.e.com\n::error::y";
        assert_eq!(line(&line(hostile, 500), 500), line(hostile, 500));
        assert_eq!(text(&text(hostile)), text(hostile));
    }

    #[test]
    fn long_lines_are_cut() {
        assert_eq!(line("abcdef", 3), "abc…");
        assert_eq!(line("ééé", 3), "ééé");
    }

    #[test]
    fn markdown_cells_render_literally() {
        assert_eq!(table_cell("a|b<script>", 100), "a\\|b&lt;script&gt;");
        assert_eq!(table_cell("![i](x) [l](y)", 100), "\\!\\[i\\]\\(x\\) \\[l\\]\\(y\\)");
        assert_eq!(
            table_cell("see https://evil.example and www.evil.example", 100),
            "see https:\\/\\/evil.example and www\\.evil.example"
        );
        assert_eq!(html("<b>&\"", 100), "&lt;b&gt;&amp;&quot;");
    }

    #[test]
    fn code_spans_and_blocks_outlast_the_backticks_inside() {
        assert_eq!(code_span("a.rs", 100), "`a.rs`");
        assert_eq!(code_span("a`b``c", 100), "```a`b``c```");
        assert_eq!(code_span("`x`", 100), "`` `x` ``");
        assert_eq!(code_span("a|b", 100), "`a\\|b`");
        assert_eq!(code_block("x", "text"), "```text\nx\n```\n");
        let closing = "boom\n```\n![img](https://evil.example/x.png)\n````";
        assert_eq!(code_block(closing, ""), format!("`````\n{closing}\n`````\n"));
    }

    #[test]
    fn paths_must_be_plain_and_relative() {
        assert_eq!(relative_path("src/lib.rs").as_deref(), Some("src/lib.rs"));
        assert_eq!(relative_path("src\\a.rs").as_deref(), Some("src/a.rs"));
        for bad in [
            "../etc/passwd",
            "/etc/passwd",
            "C:/x",
            "::error::x",
            "src/\u{202e}sr.rs",
            "a\u{200b}.rs",
            "x/##[error]",
            "a\u{1b}[2J.rs",
            "",
        ] {
            assert_eq!(relative_path(bad), None, "{bad:?}");
        }
    }
}
