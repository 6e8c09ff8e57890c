//! A warm pytest run starts its batches from the last run's listing while pytest lists the suite
//! again; the batches are kept only when the new listing is the same, else they are stopped and
//! discarded and the run is planned from the new listing. The listing is then off the critical path
//! (xdist collects inside its workers; a serial listing before any test is what stepkit lost to it).

use super::cache;
use super::execute::{PhaseResult, Stopper};
use super::model::TestFile;
use super::preset::{Discovery, Preset, PresetError, Unplaced};
use super::TestSettings;
use crate::report::Live;
use serde::{Deserialize, Serialize};
use std::cell::Cell;
use std::future::Future;
use std::path::PathBuf;
use std::rc::Rc;
use tokio::task::JoinHandle;

/// The last listing, as saved beside the timings cache.
#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct ListingFile {
    version: u32,
    command: Vec<String>,
    files: Vec<TestFile>,
    skipped_at_listing: Vec<Unplaced>,
    batch_command: Vec<String>,
    select_cases: bool,
    multi_file: bool,
    /// Seconds the listing took: the planner's estimate of a process's start-up cost.
    overhead: f64,
}

const VERSION: u32 = 1;

/// Whether this run keeps a listing for the next one: pytest (the only preset whose listing is
/// both slow and fully described by `Discovery`), with the timings cache on, not `--only-failed`.
fn keeps_listing(settings: &TestSettings) -> bool {
    settings.preset == Preset::Pytest && settings.timings.writes_cache() && settings.only_failed.is_none()
}

fn listing_path(settings: &TestSettings) -> PathBuf {
    cache::cache_path(&settings.cwd, &settings.preset, &settings.command).with_extension("listing.json")
}

/// Saves a fresh listing for the next run's head start. A failure only costs that head start.
pub fn save(settings: &TestSettings, discovery: &Discovery, overhead: f64) {
    if !keeps_listing(settings) || !discovery.unplaced.is_empty() || discovery.batch_config.is_some() {
        return;
    }
    let file = ListingFile {
        version: VERSION,
        command: settings.command.clone(),
        files: discovery.files.clone(),
        skipped_at_listing: discovery.skipped_at_listing.clone(),
        batch_command: discovery.batch_command.clone(),
        select_cases: discovery.select_cases,
        multi_file: discovery.multi_file,
        overhead,
    };
    let path = listing_path(settings);
    let _ = cache::prepare_dir(&path).and_then(|()| {
        crate::fs::write_atomically(&path, |out| {
            serde_json::to_writer(&mut *out, &file).map_err(std::io::Error::other)
        })
    });
}

/// A run started from the last listing, with pytest listing the suite again in the background.
pub struct HeadStart {
    pub cached: Discovery,
    pub overhead: f64,
    pub listing: JoinHandle<Result<Discovery, PresetError>>,
}

impl HeadStart {
    /// Starts the new listing when the last one is at hand and the cache may drive the plan.
    pub fn begin(settings: &TestSettings) -> Option<HeadStart> {
        let sharded = settings.shard.is_some_and(|s| s.total > 1);
        if !keeps_listing(settings) || !settings.timings.reads_cache(sharded) {
            return None;
        }
        let text = std::fs::read_to_string(listing_path(settings)).ok()?;
        let file: ListingFile = serde_json::from_str(&text).ok()?;
        if file.version != VERSION || file.command != settings.command || file.files.is_empty() {
            return None;
        }
        let (preset, command, cwd) =
            (settings.preset.clone(), settings.command.clone(), settings.cwd.clone());
        let pythonpath = settings.pythonpath.clone();
        let listing =
            tokio::task::spawn_blocking(move || preset.discover(&command, &cwd, pythonpath.as_deref()));
        let cached = Discovery {
            files: file.files,
            unplaced: Vec::new(),
            skipped_at_listing: file.skipped_at_listing,
            batch_command: file.batch_command,
            select_cases: file.select_cases,
            multi_file: file.multi_file,
            batch_config: None,
        };
        Some(HeadStart { cached, overhead: file.overhead, listing })
    }
}

/// How a head start ended.
pub enum Confirmation {
    /// The new listing is the last one: the batches ran the suite as it is.
    Same(PhaseResult),
    /// The suite changed (or could not be listed): the batches were stopped and their results dropped.
    Changed(Result<Discovery, PresetError>),
}

/// Runs `phase` (batches planned from `cached`) until the new listing says whether it stands.
/// Its live output is held back by `gate` until then, so discarded batches print nothing.
pub async fn confirm(
    phase: impl Future<Output = PhaseResult>,
    listing: JoinHandle<Result<Discovery, PresetError>>,
    cached: &Discovery,
    stopper: &Stopper,
    gate: &Gate,
) -> Confirmation {
    tokio::pin!(phase);
    tokio::pin!(listing);
    let (fresh, finished) = tokio::select! {
        fresh = &mut listing => (fresh, None),
        result = &mut phase => (listing.await, Some(result)),
    };
    let fresh = fresh.unwrap_or_else(|e| {
        Err(PresetError::Discover { command: "pytest --collect-only".into(), message: e.to_string() })
    });
    let same = fresh.as_ref().is_ok_and(|fresh| same_listing(fresh, cached));
    // A signal or --timeout already stopped the batches: what ran is the interrupted run's result.
    if same || stopper.reason().is_some() {
        gate.open();
        return Confirmation::Same(match finished {
            Some(result) => result,
            None => phase.await,
        });
    }
    stopper.abandon();
    if finished.is_none() {
        phase.await;
    }
    Confirmation::Changed(fresh)
}

/// What the batches depend on: files and cases, the skipped files, and how a batch is run.
fn same_listing(a: &Discovery, b: &Discovery) -> bool {
    a.files == b.files
        && a.unplaced.is_empty()
        && a.skipped_at_listing == b.skipped_at_listing
        && a.batch_command == b.batch_command
        && a.select_cases == b.select_cases
        && a.multi_file == b.multi_file
        && a.batch_config.is_none()
}

/// Opens a `HeldLive` from outside the phase that holds it.
#[derive(Clone, Default)]
pub struct Gate(Rc<Cell<bool>>);

impl Gate {
    fn open(&self) {
        self.0.set(true);
    }
}

/// A `Live` that keeps lines and blocks until its gate opens, then passes them on in order.
/// Masks always pass at once: a secret is hidden whether or not the batches stand.
pub struct HeldLive<'a> {
    inner: &'a mut dyn Live,
    gate: Gate,
    held: Vec<Held>,
}

enum Held {
    Line(String),
    Block(String, String),
    GroupStart(String),
    GroupEnd,
}

impl<'a> HeldLive<'a> {
    pub fn new(inner: &'a mut dyn Live, gate: Gate) -> Self {
        HeldLive { inner, gate, held: Vec::new() }
    }

    fn hold_or_pass(&mut self, item: Held) {
        self.held.push(item);
        if self.gate.0.get() {
            self.flush();
        }
    }

    /// Passes on what was held, once the gate is open (else the held output is dropped with self).
    pub fn flush(&mut self) {
        if !self.gate.0.get() {
            return;
        }
        for item in self.held.drain(..) {
            match item {
                Held::Line(text) => self.inner.line(&text),
                Held::Block(title, body) => self.inner.block(&title, &body),
                Held::GroupStart(title) => self.inner.group_start(&title),
                Held::GroupEnd => self.inner.group_end(),
            }
        }
    }
}

impl Live for HeldLive<'_> {
    fn line(&mut self, text: &str) {
        self.hold_or_pass(Held::Line(text.to_string()));
    }
    fn block(&mut self, title: &str, body: &str) {
        self.hold_or_pass(Held::Block(title.to_string(), body.to_string()));
    }
    fn group_start(&mut self, title: &str) {
        self.hold_or_pass(Held::GroupStart(title.to_string()));
    }
    fn group_end(&mut self) {
        self.hold_or_pass(Held::GroupEnd);
    }
    fn mask(&mut self, secret: &str) {
        self.inner.mask(secret);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Default)]
    struct Lines(Vec<String>);

    impl Live for Lines {
        fn line(&mut self, text: &str) {
            self.0.push(text.to_string());
        }
        fn block(&mut self, title: &str, _: &str) {
            self.0.push(format!("block {title}"));
        }
    }

    #[test]
    fn held_output_passes_in_order_once_the_gate_opens_and_is_dropped_otherwise() {
        let mut out = Lines::default();
        let gate = Gate::default();
        {
            let mut held = HeldLive::new(&mut out, gate.clone());
            held.line("one");
            held.block("two", "body");
            gate.open();
            held.line("three");
            held.flush();
        }
        assert_eq!(out.0, ["one", "block two", "three"]);

        let mut dropped = Lines::default();
        {
            let mut held = HeldLive::new(&mut dropped, Gate::default());
            held.line("discarded");
            held.flush();
        }
        assert!(dropped.0.is_empty());
    }

    #[test]
    fn a_listing_differs_when_a_case_or_the_batch_command_does() {
        let file = |cases: &[&str]| TestFile {
            path: "t.py".into(),
            cases: cases
                .iter()
                .map(|c| super::super::model::CaseRef {
                    id: format!("t.py::{c}"),
                    classname: Some("t".into()),
                    name: c.to_string(),
                })
                .collect(),
        };
        let listing = |cases: &[&str], command: &str| Discovery {
            files: vec![file(cases)],
            batch_command: vec![command.into()],
            multi_file: true,
            ..Discovery::default()
        };
        assert!(same_listing(&listing(&["a", "b"], "pytest"), &listing(&["a", "b"], "pytest")));
        assert!(!same_listing(&listing(&["a", "b", "c"], "pytest"), &listing(&["a", "b"], "pytest")));
        assert!(!same_listing(&listing(&["a", "b"], "pytest"), &listing(&["a", "b"], "py.test")));
    }
}
