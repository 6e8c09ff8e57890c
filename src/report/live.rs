//! `Live`: what a long step streams while it works. Steps call it; `lib.rs` decides where it goes.

/// Live output of a running step (the final `Outcome` is published separately).
pub trait Live {
    /// One status line.
    fn line(&mut self, text: &str);
    /// A titled block printed whole, never interleaved with other work (a failed batch's output);
    /// folded into a group on GitHub and GitLab.
    fn block(&mut self, title: &str, body: &str);
    /// Starts a group of lines (collapsible on GitHub and GitLab).
    fn group_start(&mut self, _title: &str) {}
    /// Ends the group.
    fn group_end(&mut self) {}
    /// A secret found while working (not known when the settings were read), to hide in CI logs.
    fn mask(&mut self, _secret: &str) {}
}

/// Discards everything (tests, `--quiet`).
pub struct Silent;

impl Live for Silent {
    fn line(&mut self, _: &str) {}
    fn block(&mut self, _: &str, _: &str) {}
}
