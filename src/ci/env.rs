//! `Env`: a snapshot of the process environment, taken once, so nothing below `settings/` reads env vars.

use std::collections::BTreeMap;

/// Environment variables, with the project's rule built in: an empty value counts as unset.
#[derive(Debug, Clone, Default)]
pub struct Env {
    vars: BTreeMap<String, String>,
}

impl Env {
    /// Snapshot of the current process environment (non-UTF-8 entries are ignored).
    pub fn from_process() -> Self {
        Self::from_pairs(
            std::env::vars_os().filter_map(|(k, v)| Some((k.into_string().ok()?, v.into_string().ok()?))),
        )
    }

    /// An environment made of the given pairs (tests use this).
    pub fn from_pairs<K: Into<String>, V: Into<String>>(pairs: impl IntoIterator<Item = (K, V)>) -> Self {
        Env { vars: pairs.into_iter().map(|(k, v)| (k.into(), v.into())).collect() }
    }

    /// The value of `key`, or `None` when it is unset or empty.
    pub fn get(&self, key: &str) -> Option<&str> {
        self.vars.get(key).map(String::as_str).filter(|v| !v.is_empty())
    }

    /// True when `key` is set to a non-empty value.
    pub fn is_set(&self, key: &str) -> bool {
        self.get(key).is_some()
    }

    /// True when `key` is set to a truthy value (`true`, `1`, `yes`, case-insensitive).
    pub fn is_true(&self, key: &str) -> bool {
        matches!(self.get(key).map(str::to_ascii_lowercase).as_deref(), Some("true" | "1" | "yes"))
    }
}

/// True when the test suite runs in CI (`CI` truthy, as [`Env::is_true`] reads it: `true`, `1`, `yes`):
/// a test that needs Docker or PHP must then fail instead of skipping. The unit tests and the
/// integration tests both ask this one function, so they agree on what counts as CI.
pub fn tests_in_ci(env: &Env) -> bool {
    env.is_true("CI")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ci_for_tests_is_any_truthy_value() {
        for value in ["true", "1", "TRUE", "yes"] {
            assert!(tests_in_ci(&Env::from_pairs([("CI", value)])), "{value}");
        }
        for value in ["", "false", "0"] {
            assert!(!tests_in_ci(&Env::from_pairs([("CI", value)])), "{value:?}");
        }
        assert!(!tests_in_ci(&Env::default()));
    }

    #[test]
    fn empty_value_counts_as_unset() {
        let env = Env::from_pairs([("A", ""), ("B", "x")]);
        assert_eq!(env.get("A"), None);
        assert_eq!(env.get("B"), Some("x"));
        assert!(!env.is_set("A"));
    }
}
