//! When attempts happen. Rounds start on a fixed grid (`initial delay + k × interval` after the gate's
//! start) whether or not earlier rounds have finished, so a slow or hanging attempt never delays the
//! next one: the gate opens at most one interval, plus the passing attempt's own latency, after the
//! service turns healthy. Also the latency samples taken once the gate is open.

use super::answer::Verdict;
use super::latency::ProbeSamples;
use super::policy::{Decision, Policy};
use super::probe::Attempt;
use futures_util::stream::FuturesUnordered;
use futures_util::StreamExt;
use std::future::Future;
use std::pin::Pin;
use std::time::Duration;
// tokio's clock: production behaves as on std's, and the tests run whole schedules on paused time.
use tokio::time::Instant;

/// The timing half of the policy.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Schedule {
    pub initial_delay: Duration,
    pub interval: Duration,
    /// Per attempt.
    pub timeout: Duration,
    /// Overall, from the gate's start.
    pub deadline: Duration,
}

impl Schedule {
    /// When grid slot `slot` starts, after the gate's start.
    pub fn slot_start(&self, slot: u32) -> Duration {
        self.initial_delay.saturating_add(self.interval.saturating_mul(slot))
    }

    /// The slot to start after `current`, `elapsed` into the gate. Normally `current + 1`; after a stall
    /// (a suspended runner) the latest slot already due, so missed rounds are skipped rather than burst,
    /// and the next one still starts within one interval.
    pub fn next_slot(&self, current: u32, elapsed: Duration) -> u32 {
        let mut next = current + 1;
        if self.interval.is_zero() {
            return next;
        }
        while self.slot_start(next + 1) <= elapsed {
            next += 1;
        }
        next
    }

    /// An attempt's timeout: `--timeout`, cut to what is left before the deadline.
    pub fn attempt_timeout(&self, elapsed: Duration) -> Duration {
        self.timeout.min(self.deadline.saturating_sub(elapsed))
    }
}

/// Resolves with (probe, what happened) when a watched container exits.
pub type Watcher<'a> = Pin<Box<dyn Future<Output = (usize, String)> + 'a>>;

/// An attempt in flight, tagged with its round.
type InFlight<'a> = Pin<Box<dyn Future<Output = (usize, Attempt)> + 'a>>;

/// Runs rounds of `attempt(probe, timeout)` for every probe until the policy decides or the deadline
/// passes. Every finished attempt goes to `record` (with its round set); a watcher firing closes the
/// gate at once. Dropping the returned future cancels every attempt in flight.
pub async fn drive<'a, F, Fut>(
    schedule: &Schedule,
    policy: &mut Policy,
    probes: usize,
    attempt: F,
    watchers: Vec<Watcher<'a>>,
    start: Instant,
    record: &mut dyn FnMut(&Attempt),
) -> Decision
where
    F: Fn(usize, Duration) -> Fut,
    Fut: Future<Output = Attempt> + 'a,
{
    let deadline = start + schedule.deadline;
    let mut watchers: FuturesUnordered<Watcher<'a>> = watchers.into_iter().collect();
    let mut in_flight: FuturesUnordered<InFlight<'a>> = FuturesUnordered::new();
    let mut slot = 0u32;
    let mut round = 0usize;
    loop {
        let next = start + schedule.slot_start(slot);
        tokio::select! {
            biased;
            Some((r, mut done)) = in_flight.next(), if !in_flight.is_empty() => {
                done.round = Some(r);
                record(&done);
                if let Some(decision) = policy.record(r, done.probe, done.verdict.kind(), start.elapsed()) {
                    return decision;
                }
            }
            Some((probe, message)) = watchers.next(), if !watchers.is_empty() => {
                let at = start.elapsed();
                record(&Attempt { round: None, at, probe, verdict: Verdict::Fatal(message), status: None, latency: Duration::ZERO });
                if let Some(decision) = policy.fatal(probe) {
                    return decision;
                }
            }
            _ = tokio::time::sleep_until(deadline) => {
                return policy.tick(start.elapsed()).unwrap_or(Decision::Deadline);
            }
            _ = tokio::time::sleep_until(next), if next < deadline => {
                let timeout = schedule.attempt_timeout(start.elapsed());
                for probe in 0..probes {
                    let pending = attempt(probe, timeout);
                    let this_round = round;
                    in_flight.push(Box::pin(async move { (this_round, pending.await) }));
                }
                round += 1;
                slot = schedule.next_slot(slot, start.elapsed());
            }
        }
    }
}

/// After the gate opened: `samples` requests per HTTP probe (`http`: their indexes, with `labels` for
/// all probes), one after the other (latency, not throughput), until done or the deadline. `take(probe,
/// timeout)` makes one request. Returns the samples and whether all were taken.
pub async fn sample<F, Fut>(
    http: &[usize],
    labels: &[String],
    samples: usize,
    schedule: &Schedule,
    start: Instant,
    take: F,
) -> (Vec<ProbeSamples>, bool)
where
    F: Fn(usize, Duration) -> Fut,
    Fut: Future<Output = Attempt>,
{
    let mut out: Vec<ProbeSamples> = http
        .iter()
        .map(|&i| ProbeSamples { label: labels[i].clone(), latencies: Vec::new(), failures: Vec::new() })
        .collect();
    for _ in 0..samples {
        for (slot, &index) in http.iter().enumerate() {
            let timeout = schedule.attempt_timeout(start.elapsed());
            if timeout.is_zero() {
                return (out, false);
            }
            let taken = take(index, timeout).await;
            match &taken.verdict {
                Verdict::Pass => out[slot].latencies.push(taken.latency),
                other => out[slot].failures.push(format!(
                    "{}: {}",
                    other.word(),
                    other.detail().unwrap_or_default()
                )),
            }
        }
    }
    (out, true)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::steps::gate::answer::ErrorClass;
    use crate::steps::gate::policy::{Closed, Thresholds};

    fn schedule(interval_ms: u64, timeout_ms: u64, deadline_ms: u64) -> Schedule {
        Schedule {
            initial_delay: Duration::ZERO,
            interval: Duration::from_millis(interval_ms),
            timeout: Duration::from_millis(timeout_ms),
            deadline: Duration::from_millis(deadline_ms),
        }
    }

    #[test]
    fn slots_are_a_grid_from_the_first_start() {
        let s = Schedule { initial_delay: Duration::from_secs(5), ..schedule(2000, 5000, 120_000) };
        assert_eq!(s.slot_start(0), Duration::from_secs(5));
        assert_eq!(s.slot_start(3), Duration::from_secs(11));
        // On time (or late by less than an interval): the next slot.
        assert_eq!(s.next_slot(0, Duration::from_millis(5003)), 1);
        assert_eq!(s.next_slot(1, Duration::from_millis(8900)), 2);
        // After a 7 s stall: the latest slot already due starts now; the ones before it are skipped.
        assert_eq!(s.next_slot(1, Duration::from_millis(14_000)), 4);
        assert!(
            s.slot_start(4) <= Duration::from_millis(14_000)
                && s.slot_start(5) > Duration::from_millis(14_000)
        );
    }

    #[test]
    fn attempts_never_outlive_the_deadline() {
        let s = schedule(2000, 5000, 10_000);
        assert_eq!(s.attempt_timeout(Duration::from_secs(1)), Duration::from_secs(5));
        assert_eq!(s.attempt_timeout(Duration::from_secs(8)), Duration::from_secs(2));
        assert_eq!(s.attempt_timeout(Duration::from_secs(11)), Duration::ZERO);
    }

    fn attempt(probe: usize, verdict: Verdict) -> Attempt {
        Attempt { round: None, at: Duration::ZERO, probe, verdict, status: None, latency: Duration::ZERO }
    }

    fn thresholds(s: &Schedule, failures: Option<u32>) -> Thresholds {
        Thresholds { successes: 1, failures, deadline: s.deadline }
    }

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    /// A round whose attempt hangs for longer than the deadline does not hold back the rounds after it:
    /// the second round's pass opens the gate, exactly one interval after the start. (With rounds one
    /// after the other this would time out.)
    #[tokio::test(start_paused = true)]
    async fn a_hanging_attempt_does_not_delay_the_next_round() {
        let s = schedule(20, 60_000, 60_000);
        let mut policy = Policy::new(thresholds(&s, None), 1);
        let calls = std::sync::atomic::AtomicUsize::new(0);
        let mut seen = Vec::new();
        let start = Instant::now();
        let decision = drive(
            &s,
            &mut policy,
            1,
            |probe, _| {
                let n = calls.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                async move {
                    if n == 0 {
                        std::future::pending::<()>().await;
                    }
                    attempt(probe, Verdict::Pass)
                }
            },
            vec![],
            start,
            &mut |a| seen.push((a.round, start.elapsed())),
        )
        .await;
        assert_eq!(decision, Decision::Open { round: 1 });
        assert_eq!(seen, vec![(Some(1), ms(20))]);
    }

    #[tokio::test(start_paused = true)]
    async fn a_watcher_closes_the_gate_at_once() {
        let s = schedule(20, 60_000, 60_000);
        let mut policy = Policy::new(thresholds(&s, None), 2);
        let mut fatal = Vec::new();
        let mut rounds = Vec::new();
        let watcher: Watcher = Box::pin(async { (1, "exited with code 137".to_string()) });
        let decision = drive(
            &s,
            &mut policy,
            2,
            |probe, _| async move {
                attempt(probe, Verdict::Error { class: ErrorClass::Refused, message: "refused".into() })
            },
            vec![watcher],
            Instant::now(),
            &mut |a| match &a.verdict {
                Verdict::Fatal(m) => fatal.push((a.probe, m.clone(), a.at)),
                _ => rounds.push(a.round),
            },
        )
        .await;
        assert_eq!(decision, Decision::Closed(Closed::Fatal { probe: 1 }));
        assert_eq!(fatal, vec![(1, "exited with code 137".to_string(), Duration::ZERO)]);
        assert_eq!(rounds, vec![], "closed before the first round's results");
    }

    /// Rounds on the grid until the deadline: every 10 ms from 0 to 90 ms, each attempt's timeout cut
    /// to what is left, and the deadline decides at exactly 100 ms.
    #[tokio::test(start_paused = true)]
    async fn the_deadline_ends_a_gate_that_never_passes() {
        let s = schedule(10, 1000, 100);
        let mut policy = Policy::new(thresholds(&s, None), 1);
        let start = Instant::now();
        let timeouts = std::cell::RefCell::new(Vec::new());
        let mut rounds = 0;
        let decision = drive(
            &s,
            &mut policy,
            1,
            |p, timeout| {
                timeouts.borrow_mut().push((start.elapsed(), timeout));
                async move { attempt(p, Verdict::Wrong("503".into())) }
            },
            vec![],
            start,
            &mut |_| rounds += 1,
        )
        .await;
        assert_eq!(decision, Decision::Deadline);
        assert_eq!(start.elapsed(), ms(100));
        assert_eq!(rounds, 10);
        let expected: Vec<_> = (0..10).map(|k| (ms(10 * k), ms(100 - 10 * k))).collect();
        assert_eq!(timeouts.into_inner(), expected);
    }

    /// The first round waits for the initial delay; its timeout is cut to the deadline, and an attempt
    /// that times out at that very instant is recorded, then judged late: the deadline, not a failure.
    #[tokio::test(start_paused = true)]
    async fn an_attempt_that_times_out_exactly_at_the_deadline() {
        let s = Schedule { initial_delay: ms(100), ..schedule(1000, 5000, 300) };
        let mut policy = Policy::new(thresholds(&s, Some(1)), 1);
        let start = Instant::now();
        let mut seen = Vec::new();
        let decision = drive(
            &s,
            &mut policy,
            1,
            |p, timeout| async move {
                let began = start.elapsed();
                let verdict = match tokio::time::timeout(timeout, std::future::pending::<()>()).await {
                    Ok(()) => Verdict::Pass,
                    Err(_) => Verdict::Error { class: ErrorClass::Timeout, message: "no answer".into() },
                };
                Attempt { at: began, latency: timeout, ..attempt(p, verdict) }
            },
            vec![],
            start,
            &mut |a| seen.push((a.round, a.at, a.latency, a.verdict.class(), start.elapsed())),
        )
        .await;
        assert_eq!(decision, Decision::Deadline, "--failures 1, yet a result at the deadline is late");
        assert_eq!(seen, vec![(Some(0), ms(100), ms(200), Some(ErrorClass::Timeout), ms(300))]);
    }

    /// A HEALTHCHECK start period: its `starting` rounds never count toward --failures, however many,
    /// where the same number of wrong answers closes the gate at the second round.
    #[tokio::test(start_paused = true)]
    async fn the_start_period_is_not_counted_as_failures() {
        let s = schedule(100, 1000, 10_000);
        for (early, expected, at) in [
            (Verdict::Starting("health: starting".into()), Decision::Open { round: 5 }, ms(500)),
            (Verdict::Wrong("503".into()), Decision::Closed(Closed::Failures { count: 2 }), ms(100)),
        ] {
            let mut policy = Policy::new(thresholds(&s, Some(2)), 1);
            let start = Instant::now();
            let decision = drive(
                &s,
                &mut policy,
                1,
                |p, _| {
                    let verdict = if start.elapsed() < ms(500) { early.clone() } else { Verdict::Pass };
                    async move { attempt(p, verdict) }
                },
                vec![],
                start,
                &mut |_| {},
            )
            .await;
            assert_eq!((decision, start.elapsed()), (expected, at), "{early:?}");
        }
    }

    /// Latency samples one after the other; one that ends exactly at the deadline still counts, and
    /// the next is never started.
    #[tokio::test(start_paused = true)]
    async fn the_deadline_cuts_the_latency_samples() {
        let s = schedule(10, 5000, 1000);
        let labels = vec!["tcp db:5432".to_string(), "GET http://web/".to_string()];
        let start = Instant::now();
        let timeouts = std::cell::RefCell::new(Vec::new());
        let (samples, complete) = sample(&[1], &labels, 50, &s, start, |p, timeout| {
            timeouts.borrow_mut().push(timeout);
            async move {
                let verdict = match tokio::time::timeout(timeout, tokio::time::sleep(ms(200))).await {
                    Ok(()) => Verdict::Pass,
                    Err(_) => Verdict::Error { class: ErrorClass::Timeout, message: "no answer".into() },
                };
                Attempt { latency: ms(200), ..attempt(p, verdict) }
            }
        })
        .await;
        assert!(!complete);
        assert_eq!(start.elapsed(), ms(1000));
        assert_eq!(samples.len(), 1);
        assert_eq!(samples[0].label, "GET http://web/");
        assert_eq!(samples[0].latencies, vec![ms(200); 5]);
        assert!(samples[0].failures.is_empty(), "{:?}", samples[0].failures);
        assert_eq!(timeouts.into_inner(), vec![ms(1000), ms(800), ms(600), ms(400), ms(200)]);
    }

    #[tokio::test(start_paused = true)]
    async fn failed_samples_are_kept_with_their_reason() {
        let s = schedule(10, 5000, 60_000);
        let labels = vec!["GET http://web/".to_string()];
        let start = Instant::now();
        let (samples, complete) = sample(&[0], &labels, 2, &s, start, |p, _| async move {
            attempt(p, Verdict::Wrong("status 503".into()))
        })
        .await;
        assert!(complete);
        assert_eq!(start.elapsed(), Duration::ZERO);
        assert_eq!(samples[0].failures, vec!["wrong: status 503"; 2]);
    }
}
