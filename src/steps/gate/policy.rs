//! The gate's decision rule, pure: probe results per round in, Open / Closed / Deadline out. No clock, no I/O.
//!
//! A *round* is one attempt of every probe, started together. Rounds are numbered in the order they
//! started; they may finish out of order (a slow attempt never holds back the next round), so runs of
//! "consecutive" rounds are counted by start order, over the rounds that have finished.

use std::time::Duration;

/// What one probe's attempt amounted to, as far as the policy cares.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// Every check passed.
    Pass,
    /// The service answered, and the answer was wrong (a 500, a body without the text, a slow answer).
    Wrong,
    /// It says it is not ready yet (a HEALTHCHECK in its start period, a container not started):
    /// the round fails, but never counts toward `--failures`; only the deadline bounds it.
    Starting,
    /// No usable answer: refused, DNS, timeout, reset. Before a probe has ever answered this means
    /// "still starting", so it does not count toward `--failures` until then.
    Error,
    /// The thing under test is gone (container exited or unhealthy): the gate closes at once.
    Fatal,
}

/// Why the gate closed before its deadline.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Closed {
    /// A probe reported a fatal state.
    Fatal { probe: usize },
    /// `count` consecutive rounds failed (`--failures`).
    Failures { count: u32 },
}

/// How the gate ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decision {
    /// `--successes` consecutive rounds passed; `round` is the one that completed the run.
    Open { round: usize },
    /// The service is unhealthy.
    Closed(Closed),
    /// The overall deadline passed with no decision.
    Deadline,
}

/// The thresholds the policy applies.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Thresholds {
    /// Consecutive passing rounds needed to open (at least 1).
    pub successes: u32,
    /// Consecutive failing rounds that close the gate early; `None`: only the deadline closes it.
    pub failures: Option<u32>,
    /// Overall time allowed, from the gate's start.
    pub deadline: Duration,
}

#[derive(Debug, Clone, Default)]
struct Round {
    passed: usize,
    /// The probes that did not pass, with how.
    failed: Vec<(usize, Kind)>,
}

enum State {
    Pending,
    Passed,
    /// Failed; `counted` says whether it counts toward `--failures`.
    Failed {
        counted: bool,
    },
}

/// The state machine. Feed it every attempt with [`Policy::record`] and the clock with [`Policy::tick`].
#[derive(Debug, Clone)]
pub struct Policy {
    thresholds: Thresholds,
    probes: usize,
    rounds: Vec<Round>,
    /// Per probe: the first round (by start order) in which it answered at all (pass or wrong).
    first_answer: Vec<Option<usize>>,
    decided: Option<Decision>,
}

impl Policy {
    /// A policy for `probes` probes per round.
    pub fn new(thresholds: Thresholds, probes: usize) -> Self {
        let thresholds = Thresholds {
            successes: thresholds.successes.max(1),
            failures: thresholds.failures.map(|f| f.max(1)),
            ..thresholds
        };
        Policy { thresholds, probes, rounds: Vec::new(), first_answer: vec![None; probes], decided: None }
    }

    /// The decision, once there is one; it never changes afterwards.
    pub fn decision(&self) -> Option<&Decision> {
        self.decided.as_ref()
    }

    /// Records that `probe`'s attempt in `round` ended as `kind`, `elapsed` after the gate started.
    /// Returns the decision when this result makes one.
    pub fn record(&mut self, round: usize, probe: usize, kind: Kind, elapsed: Duration) -> Option<Decision> {
        if self.decided.is_some() {
            return None;
        }
        if elapsed >= self.thresholds.deadline {
            return self.decide(Decision::Deadline);
        }
        if self.rounds.len() <= round {
            self.rounds.resize(round + 1, Round::default());
        }
        match kind {
            Kind::Pass => self.rounds[round].passed += 1,
            other => self.rounds[round].failed.push((probe, other)),
        }
        if matches!(kind, Kind::Pass | Kind::Wrong) {
            let first = &mut self.first_answer[probe];
            *first = Some(first.map_or(round, |f| f.min(round)));
        }
        if kind == Kind::Fatal {
            return self.decide(Decision::Closed(Closed::Fatal { probe }));
        }
        match self.state(round) {
            State::Passed => {
                let run = self.run(round, |s| matches!(s, State::Passed));
                if run >= self.thresholds.successes {
                    return self.decide(Decision::Open { round });
                }
            }
            State::Failed { counted: true } => {
                if let Some(limit) = self.thresholds.failures {
                    let run = self.run(round, |s| matches!(s, State::Failed { counted: true }));
                    if run >= limit {
                        return self.decide(Decision::Closed(Closed::Failures { count: run }));
                    }
                }
            }
            _ => {}
        }
        None
    }

    /// A fatal state seen outside any round (the container watcher): closes the gate at once.
    pub fn fatal(&mut self, probe: usize) -> Option<Decision> {
        if self.decided.is_some() {
            return None;
        }
        self.decide(Decision::Closed(Closed::Fatal { probe }))
    }

    /// The clock: past the deadline with no decision, the decision is `Deadline`.
    pub fn tick(&mut self, elapsed: Duration) -> Option<Decision> {
        if self.decided.is_none() && elapsed >= self.thresholds.deadline {
            return self.decide(Decision::Deadline);
        }
        None
    }

    fn decide(&mut self, decision: Decision) -> Option<Decision> {
        self.decided = Some(decision.clone());
        Some(decision)
    }

    fn state(&self, round: usize) -> State {
        let Some(r) = self.rounds.get(round) else { return State::Pending };
        if r.failed.is_empty() {
            return if r.passed >= self.probes { State::Passed } else { State::Pending };
        }
        let counted = r.failed.iter().any(|&(probe, kind)| match kind {
            Kind::Error => self.first_answer[probe].is_some_and(|first| first <= round),
            Kind::Starting => false,
            Kind::Wrong | Kind::Fatal | Kind::Pass => true,
        });
        State::Failed { counted }
    }

    /// Length of the run of rounds around `round` (by start order) whose state satisfies `keep`.
    fn run(&self, round: usize, keep: impl Fn(State) -> bool) -> u32 {
        let mut count = 1;
        let mut i = round;
        while i > 0 && keep(self.state(i - 1)) {
            count += 1;
            i -= 1;
        }
        let mut i = round + 1;
        while i < self.rounds.len() && keep(self.state(i)) {
            count += 1;
            i += 1;
        }
        count
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use Kind::*;

    const T: Duration = Duration::from_secs(1);

    fn policy(successes: u32, failures: Option<u32>, probes: usize) -> Policy {
        Policy::new(Thresholds { successes, failures, deadline: Duration::from_secs(60) }, probes)
    }

    /// Feeds (round, probe, kind) in order; returns the first decision and the index of the event that made it.
    fn feed(p: &mut Policy, events: &[(usize, usize, Kind)]) -> Option<(usize, Decision)> {
        events.iter().enumerate().find_map(|(i, &(r, probe, k))| p.record(r, probe, k, T).map(|d| (i, d)))
    }

    #[test]
    fn one_pass_opens_by_default() {
        let mut p = policy(1, None, 1);
        assert_eq!(
            feed(&mut p, &[(0, 0, Error), (1, 0, Wrong), (2, 0, Pass)]),
            Some((2, Decision::Open { round: 2 }))
        );
        assert_eq!(p.decision(), Some(&Decision::Open { round: 2 }));
    }

    #[test]
    fn successes_must_be_consecutive() {
        let mut p = policy(3, None, 1);
        let events = [(0, 0, Pass), (1, 0, Pass), (2, 0, Wrong), (3, 0, Pass), (4, 0, Pass), (5, 0, Pass)];
        assert_eq!(feed(&mut p, &events), Some((5, Decision::Open { round: 5 })));
    }

    #[test]
    fn every_probe_must_pass_in_the_same_round() {
        let mut p = policy(1, None, 2);
        let events = [(0, 0, Pass), (0, 1, Error), (1, 1, Pass), (1, 0, Pass)];
        assert_eq!(feed(&mut p, &events), Some((3, Decision::Open { round: 1 })));
    }

    #[test]
    fn without_failures_only_the_deadline_closes() {
        let mut p = policy(1, None, 1);
        for round in 0..100 {
            assert_eq!(p.record(round, 0, Wrong, T), None);
        }
        assert_eq!(p.tick(Duration::from_secs(59)), None);
        assert_eq!(p.tick(Duration::from_secs(60)), Some(Decision::Deadline));
        assert_eq!(p.record(100, 0, Pass, T), None, "decided for good");
    }

    #[test]
    fn a_result_after_the_deadline_does_not_open() {
        let mut p = policy(1, None, 1);
        assert_eq!(p.record(0, 0, Pass, Duration::from_secs(61)), Some(Decision::Deadline));
    }

    #[test]
    fn consecutive_wrong_answers_close_early() {
        let mut p = policy(1, Some(3), 1);
        let events = [(0, 0, Wrong), (1, 0, Wrong), (2, 0, Error), (3, 0, Wrong), (4, 0, Wrong)];
        // The error at round 2 counts: the probe had answered before.
        assert_eq!(feed(&mut p, &events), Some((2, Decision::Closed(Closed::Failures { count: 3 }))));
    }

    #[test]
    fn a_pass_resets_the_failure_run() {
        let mut p = policy(2, Some(2), 1);
        let events = [(0, 0, Wrong), (1, 0, Pass), (2, 0, Wrong), (3, 0, Pass), (4, 0, Wrong), (5, 0, Wrong)];
        assert_eq!(feed(&mut p, &events), Some((5, Decision::Closed(Closed::Failures { count: 2 }))));
    }

    #[test]
    fn errors_before_the_first_answer_mean_still_starting() {
        let mut p = policy(1, Some(2), 1);
        let refused: Vec<_> = (0..50).map(|r| (r, 0, Error)).collect();
        assert_eq!(feed(&mut p, &refused), None);
        // Once it has answered, errors count: the service went away.
        assert_eq!(
            feed(&mut p, &[(50, 0, Wrong), (51, 0, Error)]),
            Some((1, Decision::Closed(Closed::Failures { count: 2 })))
        );
    }

    #[test]
    fn starting_never_counts_toward_failures() {
        // A HEALTHCHECK in its start period: however long, only the deadline ends it.
        let mut p = policy(1, Some(2), 1);
        let starting: Vec<_> = (0..50).map(|r| (r, 0, Starting)).collect();
        assert_eq!(feed(&mut p, &starting), None);
        assert_eq!(p.record(50, 0, Pass, T), Some(Decision::Open { round: 50 }));
        // Beside an HTTP probe that already passes, the round still fails, uncounted, and breaks runs.
        let mut p = policy(2, Some(2), 2);
        let events = [
            (0, 0, Pass),
            (0, 1, Starting),
            (1, 0, Pass),
            (1, 1, Starting),
            (2, 0, Pass),
            (2, 1, Pass),
            (3, 0, Pass),
            (3, 1, Pass),
        ];
        assert_eq!(feed(&mut p, &events), Some((7, Decision::Open { round: 3 })));
        // Starting after a first answer still does not count, and it does not join two wrong rounds.
        let mut p = policy(1, Some(2), 1);
        assert_eq!(feed(&mut p, &[(0, 0, Wrong), (1, 0, Starting), (2, 0, Wrong), (3, 0, Starting)]), None);
        assert_eq!(p.tick(Duration::from_secs(60)), Some(Decision::Deadline));
        // A wrong answer from another probe in the same round does count.
        let mut p = policy(1, Some(2), 2);
        assert_eq!(
            feed(&mut p, &[(0, 0, Wrong), (0, 1, Starting), (1, 1, Starting), (1, 0, Wrong)]),
            Some((3, Decision::Closed(Closed::Failures { count: 2 })))
        );
    }

    #[test]
    fn fatal_closes_at_once() {
        let mut p = policy(5, Some(10), 2);
        assert_eq!(
            feed(&mut p, &[(0, 0, Pass), (0, 1, Fatal)]),
            Some((1, Decision::Closed(Closed::Fatal { probe: 1 })))
        );
        let mut p = policy(1, None, 1);
        assert_eq!(p.fatal(0), Some(Decision::Closed(Closed::Fatal { probe: 0 })));
    }

    #[test]
    fn out_of_order_rounds_count_by_start_order() {
        // Round 0 hangs; rounds 1 and 2 pass: two consecutive passes, whatever round 0 becomes.
        let mut p = policy(2, None, 1);
        assert_eq!(feed(&mut p, &[(2, 0, Pass), (1, 0, Pass)]), Some((1, Decision::Open { round: 1 })));
        // Rounds 0 and 2 pass, round 1 finishes last: its pass joins them into a run of 3.
        let mut p = policy(3, None, 1);
        assert_eq!(
            feed(&mut p, &[(0, 0, Pass), (2, 0, Pass), (1, 0, Pass)]),
            Some((2, Decision::Open { round: 1 }))
        );
    }

    #[test]
    fn a_pending_round_breaks_a_run() {
        let mut p = policy(2, None, 2);
        // Round 1 has one of its two results: not a pass yet, so rounds 0 and 2 are not consecutive.
        assert_eq!(
            feed(&mut p, &[(0, 0, Pass), (0, 1, Pass), (1, 0, Pass), (2, 0, Pass), (2, 1, Pass)]),
            None
        );
        assert_eq!(p.record(1, 1, Pass, T), Some(Decision::Open { round: 1 }));
    }
}
