//! `Attrs`: the attributes of an element kept as read, packed into one allocation per element.

use super::model::Text;
use std::fmt;

/// Separates keys and values inside the packed string. XML 1.0 cannot carry NUL (not even as
/// `&#0;`), so no attribute read from a report contains it; values pushed by code have theirs
/// replaced by U+2400, the control picture the writer would emit for NUL anyway.
const SEPARATOR: char = '\0';

/// Attributes kept as they were read, in document order, for lossless round trips.
///
/// A 100 MB report of small cases with a handful of short attributes each is the worst case for
/// memory: two boxed strings per attribute (plus a vector) cost 9x the input size. Packed as
/// `key\0value\0key\0value`, every element's attributes are one string.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct Attrs(Option<Box<str>>);

impl Attrs {
    /// No attributes.
    pub fn new() -> Self {
        Attrs(None)
    }

    /// Attributes from (key, value) pairs, in order.
    pub fn from_pairs<K: AsRef<str>, V: AsRef<str>>(pairs: impl IntoIterator<Item = (K, V)>) -> Self {
        let mut builder = AttrsBuilder::default();
        for (key, value) in pairs {
            builder.push(key.as_ref(), value.as_ref());
        }
        builder.finish()
    }

    /// True when there are none.
    pub fn is_empty(&self) -> bool {
        self.0.is_none()
    }

    /// Appends one attribute, as `Vec::push` of a pair did before attributes were packed.
    pub fn push(&mut self, (key, value): (Text, Text)) {
        self.push_str(&key, &value);
    }

    /// Appends one attribute (rebuilds the packed string: for the few attributes code adds).
    pub fn push_str(&mut self, key: &str, value: &str) {
        let mut builder = AttrsBuilder { packed: self.0.take().map(String::from).unwrap_or_default() };
        builder.push(key, value);
        *self = builder.finish();
    }

    /// The attributes in document order.
    pub fn iter(&self) -> AttrsIter<'_> {
        AttrsIter { parts: self.0.as_deref().map(|packed| packed.split(SEPARATOR)) }
    }

    /// The value of `key`, if present.
    pub fn get(&self, key: &str) -> Option<&str> {
        self.iter().find(|(k, _)| *k == key).map(|(_, v)| v)
    }
}

impl fmt::Debug for Attrs {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_map().entries(self.iter()).finish()
    }
}

impl<'a> IntoIterator for &'a Attrs {
    type Item = (&'a str, &'a str);
    type IntoIter = AttrsIter<'a>;

    fn into_iter(self) -> Self::IntoIter {
        self.iter()
    }
}

/// Iterates the (key, value) pairs of an `Attrs`.
pub struct AttrsIter<'a> {
    parts: Option<std::str::Split<'a, char>>,
}

impl<'a> Iterator for AttrsIter<'a> {
    type Item = (&'a str, &'a str);

    fn next(&mut self) -> Option<Self::Item> {
        let parts = self.parts.as_mut()?;
        let key = parts.next()?;
        let value = parts.next()?;
        Some((key, value))
    }
}

/// Builds an `Attrs` in one string, boxed once at the end (the reader's path).
#[derive(Default)]
pub struct AttrsBuilder {
    packed: String,
}

impl AttrsBuilder {
    /// Appends one attribute.
    pub fn push(&mut self, key: &str, value: &str) {
        // Every pushed attribute leaves a separator behind, so a non-empty string means one was pushed.
        if !self.packed.is_empty() {
            self.packed.push(SEPARATOR);
        }
        push_clean(&mut self.packed, key);
        self.packed.push(SEPARATOR);
        push_clean(&mut self.packed, value);
    }

    /// The packed attributes (`None` inside when nothing was pushed).
    pub fn finish(self) -> Attrs {
        if self.packed.is_empty() {
            return Attrs(None);
        }
        Attrs(Some(self.packed.into_boxed_str()))
    }
}

fn push_clean(into: &mut String, text: &str) {
    if text.contains(SEPARATOR) {
        into.push_str(&text.replace(SEPARATOR, "\u{2400}"));
    } else {
        into.push_str(text);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pairs_round_trip_in_order_with_empty_values() {
        let attrs = Attrs::from_pairs([("a", "1"), ("", ""), ("b", "x\0y")]);
        let pairs: Vec<_> = attrs.iter().collect();
        assert_eq!(pairs, [("a", "1"), ("", ""), ("b", "x\u{2400}y")]);
        assert_eq!(attrs.get("b"), Some("x\u{2400}y"));
        assert!(Attrs::new().is_empty() && Attrs::new().iter().next().is_none());
        let mut pushed = Attrs::new();
        pushed.push(("k".into(), "v".into()));
        pushed.push_str("k2", "v2");
        assert_eq!(pushed.iter().collect::<Vec<_>>(), [("k", "v"), ("k2", "v2")]);
    }
}
