//! A first run's queue: the plan guessed every test's time, so once batches finish, the queued
//! batches their pace shows too small for a process of their own are joined (see `Pace`).

use super::execute::batch_tests;
use super::model::{Batch, Part, TestFile};
use crate::report::Live;
use std::collections::VecDeque;

/// The batches not started yet, longest first.
pub struct Queue {
    pub batches: VecDeque<Batch>,
    /// The highest batch id given so far: a joined batch gets the next one.
    next_id: usize,
    /// Set on a first run's plan (see `Pace`).
    pub pace: Option<Pace>,
    /// Planned batches that ran inside another one.
    pub joined: usize,
}

impl Queue {
    /// The phase's batches (longest first), joined at `pace` when one is given.
    pub fn new(batches: Vec<Batch>, pace: Option<Pace>) -> Queue {
        let next_id = batches.iter().map(|b| b.id).max().unwrap_or(0);
        Queue { batches: batches.into(), next_id, pace, joined: 0 }
    }

    /// The front batch, joined with the small batches after it while they fit (see `Pace::share`).
    pub fn take(&mut self, files: &[TestFile], workers: usize, live: &mut dyn Live) -> Option<Batch> {
        let first = self.batches.pop_front()?;
        let Some(pace) = self.pace.as_mut() else { return Some(first) };
        let Some(per_test) = pace.per_test() else { return Some(first) };
        let seconds = |b: &Batch| batch_tests(b, files) as f64 * per_test;
        let queued: f64 = self.batches.iter().map(seconds).sum();
        let share = pace.share(seconds(&first) + queued, workers);
        // Tests' times vary (the slow ones may all be in later files), so the pace is only a hint:
        // at most a worker's share of the batches left is joined (guided self-scheduling), which
        // leaves the queue's end in single batches that even out what the pace got wrong.
        let most = (1 + self.batches.len()).div_ceil(workers.max(1));
        let mut joined = vec![first];
        let mut total = seconds(&joined[0]);
        while let Some(next) = self.batches.front() {
            let more = seconds(next);
            if joined.len() >= most || more >= pace.worth_a_process() || total + more > share {
                break;
            }
            total += more;
            joined.extend(self.batches.pop_front());
        }
        if joined.len() == 1 {
            return joined.pop();
        }
        if !pace.told {
            pace.told = true;
            live.line(&format!(
                "stepkit test: the tests run faster than guessed ({:.1} ms each so far): queued batches whose tests take less than {:.1}s (twice a process start-up) are joined",
                per_test * 1000.0,
                pace.worth_a_process()
            ));
        }
        self.joined += joined.len() - 1;
        self.next_id += 1;
        Some(join(self.next_id, joined))
    }
}

/// A first run's plan guesses every test's time, and a guess far too high cuts a fast suite into
/// many batches that each pay the tool's start-up. Once batches finish, their real pace says how
/// long the queued ones will take; those not worth a process of their own are then run together.
pub struct Pace {
    /// The listing's time: the start-up guessed until a batch finishes, and a batch's when its
    /// report has no test times.
    listing: f64,
    /// Seconds finished batches spent in their tests (as their reports say), in all else (start-up,
    /// collection), how many batches that was, and their tests.
    in_tests: f64,
    in_startup: f64,
    batches: u32,
    tests: u64,
    /// Whether the run was told that batches are being joined.
    told: bool,
}

impl Pace {
    pub fn new(listing: f64) -> Pace {
        Pace { listing, in_tests: 0.0, in_startup: 0.0, batches: 0, tests: 0, told: false }
    }

    /// A finished batch: its wall time, its tests and the seconds its report gives them.
    pub fn record(&mut self, wall: f64, tests: u64, reported: Option<f64>) {
        let in_tests = reported.unwrap_or(wall - self.listing).clamp(0.0, wall);
        self.in_tests += in_tests;
        self.in_startup += wall - in_tests;
        self.batches += 1;
        self.tests += tests;
    }

    /// Seconds per test, once a batch has finished.
    fn per_test(&self) -> Option<f64> {
        (self.tests > 0).then(|| self.in_tests / self.tests as f64)
    }

    /// A batch whose tests take less than this spends a third or more of its process on start-up.
    fn worth_a_process(&self) -> f64 {
        let startup = if self.batches > 0 { self.in_startup / f64::from(self.batches) } else { self.listing };
        2.0 * startup
    }

    /// The most one joined batch may hold: what a process is worth, or, when more is left, half a
    /// worker's share of it, so the queue still ends in pieces small enough to even out.
    fn share(&self, left: f64, workers: usize) -> f64 {
        self.worth_a_process().max(left / (2 * workers.max(1)) as f64)
    }
}

/// One batch of `batches`' parts; parts of one file are joined, their cases in file order.
fn join(id: usize, batches: Vec<Batch>) -> Batch {
    let mut parts: Vec<Part> = Vec::new();
    let mut expected = 0.0;
    for batch in batches {
        expected += batch.expected;
        for part in batch.parts {
            match parts.iter_mut().find(|p| p.file == part.file) {
                Some(have) => match (have.cases.as_mut(), part.cases) {
                    (Some(cases), Some(more)) => {
                        cases.extend(more);
                        cases.sort_unstable();
                        cases.dedup();
                    }
                    // One of them runs the whole file: so does the joined part.
                    _ => have.cases = None,
                },
                None => parts.push(part),
            }
        }
    }
    parts.sort_by_key(|p| p.file);
    Batch { id, parts, expected }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::Silent;
    use crate::steps::suite::model::CaseRef;

    fn files() -> Vec<TestFile> {
        (0..6)
            .map(|f| TestFile {
                path: format!("t{f}.py"),
                cases: (0..10)
                    .map(|c| CaseRef { id: format!("t{f}.py::c{c}"), classname: None, name: format!("c{c}") })
                    .collect(),
            })
            .collect()
    }

    /// One batch per file, ten tests each, ids 1..=n.
    fn queue(batches: usize, pace: Option<Pace>) -> Queue {
        let batches = (0..batches)
            .map(|f| Batch { id: f + 1, parts: vec![Part { file: f, cases: None }], expected: 1.0 })
            .collect();
        Queue::new(batches, pace)
    }

    /// A pace after one batch of ten tests that spent `in_tests` seconds in them and 0.5 s starting.
    fn paced(in_tests: f64) -> Pace {
        let mut pace = Pace::new(0.5);
        pace.record(0.5 + in_tests, 10, Some(in_tests));
        pace
    }

    #[test]
    fn without_a_pace_or_before_any_batch_finished_batches_go_one_by_one() {
        let files = files();
        for pace in [None, Some(Pace::new(0.5))] {
            let mut q = queue(6, pace);
            let ids: Vec<usize> =
                std::iter::from_fn(|| q.take(&files, 2, &mut Silent)).map(|b| b.id).collect();
            assert_eq!(ids, [1, 2, 3, 4, 5, 6]);
            assert_eq!(q.joined, 0);
        }
    }

    #[test]
    fn fast_tests_join_a_workers_share_of_the_queue_and_the_end_stays_single() {
        let files = files();
        let mut q = queue(6, Some(paced(0.01)));
        let mut taken = Vec::new();
        while let Some(batch) = q.take(&files, 2, &mut Silent) {
            taken.push(batch.parts.iter().map(|p| p.file).collect::<Vec<_>>());
        }
        // 6 left on 2 workers: 3 together, then 2 of the 3 left, then the last alone.
        assert_eq!(taken, [vec![0, 1, 2], vec![3, 4], vec![5]]);
        assert_eq!(6 - q.joined, 3, "the progress counts the batches that run");
    }

    #[test]
    fn slow_tests_keep_their_batches() {
        let files = files();
        // Ten tests took 2 s: each queued batch is worth its own 0.5 s start-up.
        let mut q = queue(6, Some(paced(2.0)));
        let first = q.take(&files, 2, &mut Silent).unwrap();
        assert_eq!((first.id, first.parts.len(), q.joined), (1, 1, 0));
    }

    #[test]
    fn a_report_without_times_counts_all_past_the_listing_as_test_time() {
        let mut pace = Pace::new(0.5);
        pace.record(2.5, 10, None);
        assert_eq!(pace.per_test(), Some(0.2));
        assert_eq!(pace.worth_a_process(), 1.0);
    }

    #[test]
    fn joined_parts_of_one_file_hold_their_cases_in_order_and_a_whole_file_wins() {
        let part = |file, cases: Option<Vec<usize>>| Part { file, cases };
        let batch = |id, parts| Batch { id, parts, expected: 1.0 };
        let joined = join(
            9,
            vec![
                batch(1, vec![part(2, Some(vec![5, 1])), part(0, None)]),
                batch(2, vec![part(2, Some(vec![3, 1]))]),
                batch(3, vec![part(1, Some(vec![0])), part(0, Some(vec![4]))]),
            ],
        );
        assert_eq!(joined.id, 9);
        assert_eq!(joined.expected, 3.0);
        assert_eq!(joined.parts, [part(0, None), part(1, Some(vec![0])), part(2, Some(vec![1, 3, 5]))]);
    }
}
