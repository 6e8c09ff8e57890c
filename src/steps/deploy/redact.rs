//! Secret values kept out of everything a deploy prints: the final `Outcome` and the live lines. A
//! container's log lines and health-check output can echo the environment it was given.

use crate::report::{Live, Outcome};
use serde_json::Value;

/// Secret values shorter than this are not redacted: hiding every `1` or `on` would garble the output
/// and protect nothing.
pub const MIN_SECRET_LEN: usize = 4;

/// The values to replace with `***`.
#[derive(Default)]
pub struct Redactor {
    /// Longest first, so a secret that contains another is replaced whole.
    secrets: Vec<String>,
}

impl Redactor {
    /// Redacts these values (the short ones are left, see [`MIN_SECRET_LEN`]).
    pub fn new<'a>(secrets: impl IntoIterator<Item = &'a str>) -> Self {
        let mut secrets: Vec<String> =
            secrets.into_iter().filter(|s| s.len() >= MIN_SECRET_LEN).map(str::to_string).collect();
        secrets.sort_by(|a, b| b.len().cmp(&a.len()).then_with(|| a.cmp(b)));
        secrets.dedup();
        Redactor { secrets }
    }

    /// Registers every value as a CI log mask (`::add-mask::` on GitHub), through `live`.
    pub fn mask(&self, live: &mut dyn Live) {
        for s in &self.secrets {
            live.mask(s);
        }
    }

    /// `text` with every secret replaced by `***`.
    pub fn text(&self, text: &str) -> String {
        let mut out = text.to_string();
        self.clean(&mut out);
        out
    }

    fn clean(&self, text: &mut String) {
        for s in &self.secrets {
            if text.contains(s.as_str()) {
                *text = text.replace(s.as_str(), "***");
            }
        }
    }

    /// Replaces every secret value in everything the outcome will print.
    pub fn outcome(&self, outcome: &mut Outcome) {
        if self.secrets.is_empty() {
            return;
        }
        self.clean(&mut outcome.headline);
        self.clean(&mut outcome.text);
        self.clean(&mut outcome.markdown);
        outcome.warnings.iter_mut().for_each(|w| self.clean(w));
        for a in &mut outcome.annotations {
            self.clean(&mut a.message);
        }
        for (_, value) in &mut outcome.outputs {
            self.clean(value);
        }
        self.json(&mut outcome.data);
    }

    fn json(&self, v: &mut Value) {
        match v {
            Value::String(s) => self.clean(s),
            Value::Array(items) => items.iter_mut().for_each(|i| self.json(i)),
            Value::Object(map) => map.values_mut().for_each(|i| self.json(i)),
            _ => {}
        }
    }
}

/// A `Live` that redacts every line before passing it on.
pub struct RedactedLive<'a, 'l> {
    pub inner: &'l mut dyn Live,
    pub redactor: &'a Redactor,
}

impl Live for RedactedLive<'_, '_> {
    fn line(&mut self, text: &str) {
        self.inner.line(&self.redactor.text(text));
    }

    fn block(&mut self, title: &str, body: &str) {
        self.inner.block(&self.redactor.text(title), &self.redactor.text(body));
    }

    fn group_start(&mut self, title: &str) {
        self.inner.group_start(&self.redactor.text(title));
    }

    fn group_end(&mut self) {
        self.inner.group_end();
    }

    fn mask(&mut self, secret: &str) {
        self.inner.mask(secret);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::Verdict;
    use serde_json::json;

    #[test]
    fn secrets_are_redacted_everywhere_but_short_values_are_left() {
        let mut o = Outcome::new("deploy", Verdict::Failed, "unhealthy; said hunter2-token");
        o.text = "| DB_PASSWORD=hunter2-token\n".into();
        o.data = json!({ "gate": { "container_logs": { "web": ["x hunter2-token y", 1] } }, "on": "on" });
        o.outputs.push(("result".into(), "hunter2-token".into()));
        Redactor::new(["hunter2-token", "on"]).outcome(&mut o);
        assert_eq!(o.headline, "unhealthy; said ***");
        assert_eq!(o.text, "| DB_PASSWORD=***\n");
        assert_eq!(o.data["gate"]["container_logs"]["web"][0], "x *** y");
        assert_eq!(o.data["on"], "on");
        assert_eq!(o.outputs[0].1, "***");
    }

    #[test]
    fn a_secret_inside_another_is_replaced_whole_and_live_lines_are_redacted() {
        let r = Redactor::new(["abcd", "xxabcdxx"]);
        assert_eq!(r.text("1 xxabcdxx 2 abcd"), "1 *** 2 ***");
        struct Lines(Vec<String>, Vec<String>);
        impl Live for Lines {
            fn line(&mut self, text: &str) {
                self.0.push(text.into());
            }
            fn block(&mut self, title: &str, body: &str) {
                self.0.push(format!("{title}: {body}"));
            }
            fn mask(&mut self, secret: &str) {
                self.1.push(secret.into());
            }
        }
        let mut lines = Lines(vec![], vec![]);
        let mut live = RedactedLive { inner: &mut lines, redactor: &r };
        live.line("health check said abcd");
        live.block("logs", "token=xxabcdxx");
        r.mask(&mut live);
        assert_eq!(lines.0, vec!["health check said ***".to_string(), "logs: token=***".into()]);
        assert_eq!(lines.1, vec!["xxabcdxx".to_string(), "abcd".into()]);
    }
}
