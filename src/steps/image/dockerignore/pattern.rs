//! One .dockerignore pattern, compiled the way Docker's pattern matcher (moby/patternmatcher) does.
//!
//! Docker does not glob-match. It checks a pattern against Go's `filepath.Match` syntax, then
//! rewrites it into an exact, prefix or suffix comparison or a Go regular expression. The quirks
//! of that rewrite are what users observe, so they are reproduced rather than "fixed":
//! `[!a]` is the class {'!','a'} (Go negates with `^` only), `. + ( ) | { } $` are literal, a raw
//! `^` next to a wildcard is a regex anchor, `\d` is a digit class, a `*` inside `[...]` becomes
//! `[^/]*` inside the class, and `**foo` matches every path that ends in "foo".

use regex::Regex;

/// A compiled pattern: the cleaned text (without its `!`) and how it is compared.
#[derive(Debug, Clone)]
pub(super) struct Pattern {
    /// The cleaned pattern; Docker's walk compares exception prefixes against this text.
    pub(super) text: String,
    /// A `!` exception: re-includes what earlier patterns excluded.
    pub(super) exclusion: bool,
    /// How many `/`-separated parts `text` has (the legacy matcher checks the parent at that depth).
    pub(super) dirs: usize,
    kind: Kind,
}

#[derive(Debug, Clone)]
enum Kind {
    Exact,
    /// `text` ends with `**` and had no wildcard before it.
    Prefix,
    /// `text` starts with `**`; compared as a plain suffix.
    Suffix,
    Regex(Regex),
}

/// The kind Docker's rewrite settles on before it knows whether a regex is needed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Detected {
    Exact,
    Prefix,
    Suffix,
    Regexp,
}

impl Pattern {
    /// Compiles one line as `patternmatcher.New` does; `Ok(None)` for a line that is only blanks.
    pub(super) fn new(line: &str) -> Result<Option<Pattern>, String> {
        let trimmed = line.trim();
        if trimmed.is_empty() {
            return Ok(None);
        }
        let cleaned = go_clean(trimmed);
        let (exclusion, text) = match cleaned.strip_prefix('!') {
            Some("") => return Err("`!` must be followed by a pattern to re-include".into()),
            Some(rest) => (true, rest.to_string()),
            None => (false, cleaned),
        };
        check_glob_syntax(&text)?;
        let (go_regex, detected) = docker_rewrite(&text);
        let kind = match detected {
            Detected::Exact => Kind::Exact,
            Detected::Prefix => Kind::Prefix,
            Detected::Suffix => Kind::Suffix,
            Detected::Regexp => {
                let rust = go_regex_to_rust(&go_regex)?;
                Kind::Regex(
                    Regex::new(&rust)
                        .map_err(|e| format!("Docker's regex rewrite `{go_regex}` is invalid: {e}"))?,
                )
            }
        };
        Ok(Some(Pattern { dirs: text.split('/').count(), text, exclusion, kind }))
    }

    /// Whether the slash-separated `path` matches this pattern itself (no parent logic).
    pub(super) fn matches(&self, path: &str) -> bool {
        match &self.kind {
            Kind::Exact => path == self.text,
            Kind::Prefix => path.starts_with(&self.text[..self.text.len() - 2]),
            Kind::Suffix => {
                let suffix = &self.text[2..];
                // `**/foo` also matches a top-level "foo", which has no "/" in front of it.
                path.ends_with(suffix) || suffix.strip_prefix('/') == Some(path)
            }
            Kind::Regex(re) => re.is_match(path),
        }
    }
}

/// Go's `filepath.Clean` for slash-separated paths: the lexical shortest equivalent.
pub(super) fn go_clean(path: &str) -> String {
    let rooted = path.starts_with('/');
    let mut parts: Vec<&str> = Vec::new();
    for part in path.split('/') {
        match part {
            "" | "." => {}
            ".." if parts.last().is_some_and(|last| *last != "..") => {
                parts.pop();
            }
            ".." if rooted => {}
            other => parts.push(other),
        }
    }
    let joined = parts.join("/");
    match (rooted, joined.is_empty()) {
        (true, _) => format!("/{joined}"),
        (false, true) => ".".into(),
        (false, false) => joined,
    }
}

/// The syntax check Docker gets from `filepath.Match(pattern, ".")` (Go ≥ 1.16 checks the whole
/// pattern): every `\` escapes something and every `[...]` class is closed and well formed.
fn check_glob_syntax(pattern: &str) -> Result<(), String> {
    const BAD: &str = "syntax error in pattern: a `[...]` class is unclosed, empty or has a misplaced `-` or `]`, or a `\\` ends the pattern";
    let mut rest = pattern;
    while !rest.is_empty() {
        let (chunk, tail) = scan_chunk(rest);
        if !chunk_syntax_ok(chunk) {
            return Err(BAD.into());
        }
        rest = tail;
    }
    Ok(())
}

/// Go's `scanChunk`: skips leading `*`s and returns the text up to the next `*` outside a class.
fn scan_chunk(pattern: &str) -> (&str, &str) {
    let pattern = pattern.trim_start_matches('*');
    let bytes = pattern.as_bytes();
    let (mut i, mut in_class) = (0, false);
    while i < bytes.len() {
        match bytes[i] {
            b'\\' if i + 1 < bytes.len() => i += 1,
            b'[' => in_class = true,
            b']' => in_class = false,
            b'*' if !in_class => break,
            _ => {}
        }
        i += 1;
    }
    pattern.split_at(i)
}

/// The syntax half of Go's `matchChunk`.
fn chunk_syntax_ok(chunk: &str) -> bool {
    let mut chars = chunk.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            // The guard consumes the escaped character; only a `\` with nothing after it is an error.
            '\\' if chars.next().is_none() => return false,
            '[' => {
                chars.next_if_eq(&'^');
                let mut ranges = 0;
                loop {
                    if ranges > 0 && chars.next_if_eq(&']').is_some() {
                        break;
                    }
                    if !class_char_ok(&mut chars) {
                        return false;
                    }
                    if chars.next_if_eq(&'-').is_some() && !class_char_ok(&mut chars) {
                        return false;
                    }
                    ranges += 1;
                }
            }
            _ => {}
        }
    }
    true
}

/// Go's `getEsc`: one (possibly escaped) class character that is not `-` or `]` and is not last.
fn class_char_ok(chars: &mut std::iter::Peekable<std::str::Chars<'_>>) -> bool {
    match chars.next() {
        None | Some('-' | ']') => return false,
        Some('\\') => {
            if chars.next().is_none() {
                return false;
            }
        }
        Some(_) => {}
    }
    chars.peek().is_some()
}

/// Docker's rewrite of a pattern into a Go regex (`^...$`) and the comparison kind it detected.
fn docker_rewrite(pattern: &str) -> (String, Detected) {
    let chars: Vec<char> = pattern.chars().collect();
    let mut re = String::from("^");
    let mut detected = Detected::Exact;
    let (mut pos, mut step) = (0, 0);
    while pos < chars.len() {
        let ch = chars[pos];
        pos += 1;
        match ch {
            '*' if chars.get(pos) == Some(&'*') => {
                pos += 1;
                if chars.get(pos) == Some(&'/') {
                    pos += 1;
                }
                if pos == chars.len() {
                    if detected == Detected::Exact {
                        detected = Detected::Prefix;
                    } else {
                        re.push_str(".*");
                        detected = Detected::Regexp;
                    }
                } else {
                    re.push_str("(.*/)?");
                    detected = Detected::Regexp;
                }
                // Docker decides on "first step", not "first character": `**/` counts as one.
                if step == 0 {
                    detected = Detected::Suffix;
                }
            }
            '*' => {
                re.push_str("[^/]*");
                detected = Detected::Regexp;
            }
            '?' => {
                re.push_str("[^/]");
                detected = Detected::Regexp;
            }
            '.' | '+' | '(' | ')' | '|' | '{' | '}' | '$' => {
                re.push('\\');
                re.push(ch);
            }
            '\\' => match chars.get(pos) {
                Some(&next) => {
                    re.push('\\');
                    re.push(next);
                    pos += 1;
                    detected = Detected::Regexp;
                }
                None => re.push('\\'),
            },
            '[' | ']' => {
                re.push(ch);
                detected = Detected::Regexp;
            }
            other => re.push(other),
        }
        step += 1;
    }
    if detected == Detected::Regexp {
        re.push('$');
    }
    (re, detected)
}

/// Translates the Go regex Docker generated into the `regex` crate's syntax with Go's meaning.
/// Only what Docker's rewrite can produce is handled: our own `^ $ . * ? ( ) |`, escapes, classes.
fn go_regex_to_rust(go: &str) -> Result<String, String> {
    let chars: Vec<char> = go.chars().collect();
    let mut out = String::with_capacity(go.len() * 2);
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        i += 1;
        match c {
            '^' | '$' | '.' | '*' | '?' | '(' | ')' | '|' => out.push(c),
            '\\' => {
                let escaped = *chars.get(i).ok_or("a `\\` ends the pattern")?;
                i += 1;
                out.push_str(&escape_outside_class(escaped)?);
            }
            '[' => i = class_to_rust(&chars, i, &mut out)?,
            literal => out.push_str(&hex(literal)),
        }
    }
    Ok(out)
}

/// A Go escape outside a class. Go's `\d \s \w \b` are ASCII-only, so they are spelled out.
fn escape_outside_class(c: char) -> Result<String, String> {
    if let Some(class) = perl_class(c) {
        return Ok(format!("[{class}]"));
    }
    Ok(match c {
        'A' => r"\A".into(),
        'z' => r"\z".into(),
        'b' => r"(?-u:\b)".into(),
        'B' => r"(?-u:\B)".into(),
        _ => hex(escaped_char(c)?),
    })
}

/// Go's Perl classes as the body of a Rust class (`\D` → `^0-9`).
fn perl_class(c: char) -> Option<&'static str> {
    Some(match c {
        'd' => "0-9",
        'D' => "^0-9",
        's' => r"\t\n\x0C\r ",
        'S' => r"^\t\n\x0C\r ",
        'w' => "0-9A-Za-z_",
        'W' => "^0-9A-Za-z_",
        _ => return None,
    })
}

/// The character a Go escape stands for: ASCII punctuation is itself, a few letters are controls.
fn escaped_char(c: char) -> Result<char, String> {
    match c {
        'a' => Ok('\x07'),
        'f' => Ok('\x0C'),
        't' => Ok('\t'),
        'n' => Ok('\n'),
        'r' => Ok('\r'),
        'v' => Ok('\x0B'),
        c if c.is_ascii() && !c.is_ascii_alphanumeric() => Ok(c),
        // Go would read octal, hex, \p{...} or \Q...\E here; nobody means that in a .dockerignore.
        c => Err(format!("`\\{c}` is not an escape Docker's matcher supports; escape only punctuation")),
    }
}

/// Converts the Go class starting after its `[` at `i`; returns the index after its `]`.
fn class_to_rust(chars: &[char], mut i: usize, out: &mut String) -> Result<usize, String> {
    const UNCLOSED: &str = "Docker's regex rewrite leaves a `[` class unclosed";
    let mut body = String::new();
    if chars.get(i) == Some(&'^') {
        body.push('^');
        i += 1;
    }
    let mut first = true;
    loop {
        let c = *chars.get(i).ok_or(UNCLOSED)?;
        if c == ']' && !first {
            out.push('[');
            out.push_str(&body);
            out.push(']');
            return Ok(i + 1);
        }
        first = false;
        if let Some((name, next)) = posix_class(chars, i) {
            body.push_str(&format!("[:{name}:]"));
            i = next;
            continue;
        }
        if c == '\\' {
            if let Some(class) = chars.get(i + 1).and_then(|&e| perl_class(e)) {
                body.push_str(&format!("[{class}]"));
                i += 2;
                continue;
            }
        }
        let (lo, next) = class_char(chars, i)?;
        i = next;
        let mut hi = lo;
        // Go reads `[a-]` as {'a','-'}: a `-` is a range only when something other than `]` follows.
        if chars.get(i) == Some(&'-') && chars.get(i + 1).is_some_and(|&n| n != ']') {
            (hi, i) = class_char(chars, i + 1)?;
            if hi < lo {
                return Err(format!("the character range `{lo}-{hi}` runs backwards"));
            }
        }
        body.push_str(&hex(lo));
        if hi != lo {
            body.push('-');
            body.push_str(&hex(hi));
        }
    }
}

/// A POSIX `[:name:]` (or `[:^name:]`) at `i`, as Go's parser accepts them.
fn posix_class(chars: &[char], i: usize) -> Option<(String, usize)> {
    const NAMES: [&str; 14] = [
        "alnum", "alpha", "ascii", "blank", "cntrl", "digit", "graph", "lower", "print", "punct", "space",
        "upper", "word", "xdigit",
    ];
    if chars.get(i) != Some(&'[') || chars.get(i + 1) != Some(&':') {
        return None;
    }
    let end = (i + 2..chars.len().saturating_sub(1)).find(|&j| chars[j] == ':' && chars[j + 1] == ']')?;
    let name: String = chars[i + 2..end].iter().collect();
    NAMES.contains(&name.trim_start_matches('^')).then_some((name, end + 2))
}

/// One class character of Go's `parseClassChar`; returns it and the index after it.
fn class_char(chars: &[char], i: usize) -> Result<(char, usize), String> {
    match chars.get(i) {
        None => Err("Docker's regex rewrite leaves a `[` class unclosed".into()),
        Some('\\') => {
            let c = *chars.get(i + 1).ok_or("a `\\` ends the pattern")?;
            Ok((escaped_char(c)?, i + 2))
        }
        Some(&c) => Ok((c, i + 1)),
    }
}

/// A character as an unambiguous regex literal, valid inside and outside classes.
fn hex(c: char) -> String {
    if c.is_alphanumeric() {
        c.to_string()
    } else {
        format!("\\x{{{:X}}}", c as u32)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn matches(pattern: &str, path: &str) -> bool {
        Pattern::new(pattern).unwrap().unwrap().matches(path)
    }

    #[test]
    fn go_clean_matches_filepath_clean() {
        for (input, want) in [
            ("a//b/", "a/b"),
            ("./a", "a"),
            ("a/..", "."),
            ("/../a", "/a"),
            ("../../a", "../../a"),
            ("a/../../b", "../b"),
            ("/", "/"),
            ("!a/../b", "b"),
        ] {
            assert_eq!(go_clean(input), want, "{input}");
        }
    }

    #[test]
    fn rewrite_picks_docker_kinds() {
        assert_eq!(docker_rewrite("a.b").1, Detected::Exact);
        assert_eq!(docker_rewrite("a/**").1, Detected::Prefix);
        assert_eq!(docker_rewrite("**/a").1, Detected::Suffix);
        assert_eq!(docker_rewrite("**/*.md"), ("^(.*/)?[^/]*\\.md$".to_string(), Detected::Regexp));
        assert_eq!(docker_rewrite("a/**/b").0, "^a/(.*/)?b$");
    }

    #[test]
    fn quirks_are_kept() {
        assert!(matches("**foo", "xfoo"), "a leading ** is a plain suffix");
        assert!(matches("[!a]", "!"), "Go classes negate with ^ only");
        assert!(!matches("[!a]", "b"));
        assert!(matches("[*]", "]") && !matches("[*]", "*"), "a * inside a class is rewritten");
        assert!(matches("^a*", "abc") && !matches("^a*", "^abc"), "a raw ^ is an anchor");
        assert!(matches("\\d", "7") && !matches("\\d", "d"), "\\d is Go's digit escape");
        assert!(matches("a+b", "a+b") && matches("a+b*", "a+bc"), "+ is literal");
        assert!(matches("[[:digit:]]x", "1x"));
        assert!(matches("\\b*", "a"), "Go's \\b is an ASCII word boundary");
    }

    #[test]
    fn bad_patterns_are_rejected() {
        for bad in ["[a-", "[]", "[^]", "a\\", "[a-]", "[a-]]", "[]a]", "[z-a]", "\\q*", "!", "[-a]"] {
            assert!(Pattern::new(bad).is_err(), "{bad} should be rejected");
        }
        assert!(Pattern::new("a]").is_ok());
        assert!(Pattern::new("[\\]x]").is_ok());
    }
}
