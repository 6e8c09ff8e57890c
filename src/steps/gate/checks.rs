//! The HTTP checks: accepted status ranges, JSON Pointer expectations, and judging an answer against them.

use super::answer::{snippet, Verdict};
use regex::Regex;
use serde_json::Value;
use std::fmt;

/// Accepted status codes: `200-299,304`, `2xx`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StatusRanges(Vec<(u16, u16)>);

impl Default for StatusRanges {
    /// 200-399: success and redirects (redirects are not followed: a health endpoint that redirects answered).
    fn default() -> Self {
        StatusRanges(vec![(200, 399)])
    }
}

impl StatusRanges {
    /// Parses `200-299,304,5xx`; the message says what is wrong.
    pub fn parse(text: &str) -> Result<Self, String> {
        let mut ranges = Vec::new();
        for part in text.split(',').map(str::trim).filter(|p| !p.is_empty()) {
            let code = |s: &str| -> Result<u16, String> {
                s.trim()
                    .parse::<u16>()
                    .ok()
                    .filter(|c| (100..=599).contains(c))
                    .ok_or_else(|| format!("`{s}` is not an HTTP status code (100-599)"))
            };
            let range = if let Some(class) = part.strip_suffix("xx").or_else(|| part.strip_suffix("XX")) {
                let digit = class
                    .parse::<u16>()
                    .ok()
                    .filter(|d| (1..=5).contains(d))
                    .ok_or_else(|| format!("`{part}` is not a status class like 2xx"))?;
                (digit * 100, digit * 100 + 99)
            } else if let Some((low, high)) = part.split_once('-') {
                let (low, high) = (code(low)?, code(high)?);
                if low > high {
                    return Err(format!("`{part}` is an empty range"));
                }
                (low, high)
            } else {
                let c = code(part)?;
                (c, c)
            };
            ranges.push(range);
        }
        if ranges.is_empty() {
            return Err("no status codes given; expected e.g. 200-299,304".into());
        }
        Ok(StatusRanges(ranges))
    }

    /// Whether `status` is accepted.
    pub fn contains(&self, status: u16) -> bool {
        self.0.iter().any(|&(low, high)| (low..=high).contains(&status))
    }
}

impl fmt::Display for StatusRanges {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let parts: Vec<String> =
            self.0.iter().map(|&(l, h)| if l == h { l.to_string() } else { format!("{l}-{h}") }).collect();
        f.write_str(&parts.join(","))
    }
}

/// `--json POINTER=VALUE`: the value at a JSON Pointer must equal VALUE (as JSON when it parses, else as text).
#[derive(Debug, Clone, PartialEq)]
pub struct JsonExpect {
    pub pointer: String,
    /// The expected value as written.
    pub text: String,
    /// The expected value as JSON, when the text is valid JSON.
    pub json: Option<Value>,
}

impl JsonExpect {
    /// Parses `/status=ok`, `/checks/db/up=true`, `/count=3`; the pointer is an RFC 6901 JSON Pointer.
    pub fn parse(spec: &str) -> Result<Self, String> {
        let (pointer, text) =
            spec.split_once('=').ok_or_else(|| format!("`{spec}` is not POINTER=VALUE (e.g. /status=ok)"))?;
        if !pointer.is_empty() && !pointer.starts_with('/') {
            return Err(format!("`{pointer}` is not a JSON Pointer: it must start with `/` (e.g. /status)"));
        }
        let json = serde_json::from_str(text).ok();
        Ok(JsonExpect { pointer: pointer.to_string(), text: text.to_string(), json })
    }

    /// Checks a parsed body; the error says what was found instead.
    pub fn check(&self, body: &Value) -> Result<(), String> {
        let Some(actual) = body.pointer(&self.pointer) else {
            return Err(format!("{} is missing (expected {})", self.shown_pointer(), self.text));
        };
        if self.matches(actual) {
            Ok(())
        } else {
            Err(format!(
                "{} is {} (expected {})",
                self.shown_pointer(),
                snippet(&actual.to_string(), 80),
                self.text
            ))
        }
    }

    fn matches(&self, actual: &Value) -> bool {
        // `/version=1.2` must match the string "1.2" as well as the number: compare text with text too.
        if let Value::String(s) = actual {
            if *s == self.text {
                return true;
            }
        }
        match (&self.json, actual) {
            (Some(Value::Number(want)), Value::Number(got)) => {
                want == got || want.as_f64().zip(got.as_f64()).is_some_and(|(w, g)| w == g)
            }
            (Some(want), got) => want == got,
            (None, _) => false,
        }
    }

    fn shown_pointer(&self) -> &str {
        if self.pointer.is_empty() {
            "the document"
        } else {
            &self.pointer
        }
    }
}

/// What an HTTP answer must look like.
#[derive(Debug, Clone, Default)]
pub struct Expectations {
    pub status: StatusRanges,
    pub body_contains: Vec<String>,
    pub body_regex: Vec<Regex>,
    pub json: Vec<JsonExpect>,
}

impl Expectations {
    /// Judges an HTTP answer; the first failing check is the reason.
    pub fn check_answer(&self, status: u16, body: &[u8]) -> Verdict {
        let text = String::from_utf8_lossy(body);
        if !self.status.contains(status) {
            let shown = snippet(&text, 80);
            let tail = if shown.is_empty() { String::new() } else { format!("; body: {shown}") };
            return Verdict::Wrong(format!("status {status} (expected {}){tail}", self.status));
        }
        for needle in &self.body_contains {
            if !text.contains(needle.as_str()) {
                return Verdict::Wrong(format!(
                    "body does not contain `{needle}`; body: {}",
                    snippet(&text, 80)
                ));
            }
        }
        for re in &self.body_regex {
            if !re.is_match(&text) {
                return Verdict::Wrong(format!("body does not match /{re}/; body: {}", snippet(&text, 80)));
            }
        }
        if !self.json.is_empty() {
            let doc: Value = match serde_json::from_slice(body) {
                Ok(doc) => doc,
                Err(e) => {
                    return Verdict::Wrong(format!("body is not JSON ({e}); body: {}", snippet(&text, 80)))
                }
            };
            for expect in &self.json {
                if let Err(message) = expect.check(&doc) {
                    return Verdict::Wrong(message);
                }
            }
        }
        Verdict::Pass
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn status_ranges_parse_and_match() {
        let r = StatusRanges::parse("200-299, 304,5xx").unwrap();
        assert!(r.contains(200) && r.contains(299) && r.contains(304) && r.contains(503));
        assert!(!r.contains(300) && !r.contains(404));
        assert_eq!(r.to_string(), "200-299,304,500-599");
        assert!(StatusRanges::default().contains(302) && !StatusRanges::default().contains(404));
        for bad in ["", "abc", "299-200", "600", "6xx", "20x"] {
            assert!(StatusRanges::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn json_pointer_matches_as_json_or_as_text() {
        let doc = json!({"status": "ok", "db": {"up": true, "lag": 0.0}, "count": 3, "version": "1.2", "items": ["a", "b"]});
        let ok = |spec: &str| JsonExpect::parse(spec).unwrap().check(&doc);
        assert!(ok("/status=ok").is_ok(), "unquoted text compares as a string");
        assert!(ok("/status=\"ok\"").is_ok(), "quoted compares as JSON");
        assert!(ok("/db/up=true").is_ok());
        assert!(ok("/db/lag=0").is_ok(), "numbers compare by value");
        assert!(ok("/count=3").is_ok());
        assert!(ok("/version=1.2").is_ok(), "a number-looking expectation still matches the string");
        assert!(ok("/items/1=b").is_ok());
        assert!(ok("/db={\"up\":true,\"lag\":0.0}").is_ok());
        let err = ok("/db/up=false").unwrap_err();
        assert!(err.contains("/db/up is true") && err.contains("expected false"), "{err}");
        assert!(ok("/status=\"down\"").is_err());
        assert!(ok("/count=\"3\"").is_err(), "a quoted expectation is a JSON string");
        assert!(ok("/missing=1").unwrap_err().contains("missing"));
        assert!(JsonExpect::parse("status=ok").is_err(), "a pointer starts with /");
        assert!(JsonExpect::parse("/status").is_err());
        assert_eq!(JsonExpect::parse("/a=b=c").unwrap().text, "b=c");
    }

    #[test]
    fn answers_are_checked_in_order() {
        let mut p = Expectations {
            body_contains: vec!["ready".into()],
            body_regex: vec![Regex::new(r"version \d+").unwrap()],
            ..Default::default()
        };
        assert_eq!(p.check_answer(200, b"ready, version 3"), Verdict::Pass);
        assert!(
            matches!(p.check_answer(500, b"oops"), Verdict::Wrong(m) if m.contains("status 500 (expected 200-399)") && m.contains("oops"))
        );
        assert!(matches!(p.check_answer(200, b"starting"), Verdict::Wrong(m) if m.contains("`ready`")));
        assert!(matches!(p.check_answer(200, b"ready"), Verdict::Wrong(m) if m.contains("version")));
        p.json = vec![JsonExpect::parse("/ok=true").unwrap()];
        assert!(
            matches!(p.check_answer(200, b"ready, version 3"), Verdict::Wrong(m) if m.contains("not JSON"))
        );
    }
}
