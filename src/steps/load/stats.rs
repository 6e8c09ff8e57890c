//! What a worker counts per request: an HDR histogram of latencies, statuses, errors by class with the
//! first detail of each; merged across workers when the run ends.

use super::client::{Answer, ErrorClass};
use hdrhistogram::Histogram;
use std::collections::BTreeMap;
use std::time::Duration;

/// Latencies in microseconds, up to an hour, to 3 significant digits (0.1% error) as wrk and oha keep them.
pub(super) fn histogram() -> Histogram<u64> {
    Histogram::new_with_bounds(1, 3_600_000_000, 3).expect("valid histogram bounds")
}

/// One request's (or everything's) counts.
#[derive(Clone)]
pub(super) struct Stats {
    /// Every whole answer's latency, error statuses included (as wrk counts them).
    pub latency: Histogram<u64>,
    pub statuses: BTreeMap<u16, u64>,
    pub errors: BTreeMap<ErrorClass, (u64, String)>,
}

impl Stats {
    pub fn new() -> Self {
        Stats { latency: histogram(), statuses: BTreeMap::new(), errors: BTreeMap::new() }
    }

    pub fn record(&mut self, answer: Answer, latency: Duration) {
        match answer {
            Answer::Response { status } => {
                let micros = u64::try_from(latency.as_micros()).unwrap_or(u64::MAX).max(1);
                self.latency.saturating_record(micros);
                *self.statuses.entry(status).or_default() += 1;
                let class = match status {
                    400..=499 => Some(ErrorClass::Status4xx),
                    500..=599 => Some(ErrorClass::Status5xx),
                    _ => None,
                };
                if let Some(class) = class {
                    self.error(class, format!("status {status}"));
                }
            }
            Answer::Failed { class, detail } => self.error(class, detail),
        }
    }

    fn error(&mut self, class: ErrorClass, detail: String) {
        let entry = self.errors.entry(class).or_insert((0, detail));
        entry.0 += 1;
    }

    pub fn merge(&mut self, other: &Stats) {
        // Same bounds on both sides: add cannot fail.
        let _ = self.latency.add(&other.latency);
        for (status, n) in &other.statuses {
            *self.statuses.entry(*status).or_default() += n;
        }
        for (class, (n, detail)) in &other.errors {
            self.errors.entry(*class).or_insert((0, detail.clone())).0 += n;
        }
    }

    /// Whole answers, any status.
    pub fn responses(&self) -> u64 {
        self.latency.len()
    }

    /// Requests that ended without an answer (connect, timeout, io, protocol).
    pub fn unanswered(&self) -> u64 {
        self.errors
            .iter()
            .filter(|(c, _)| !matches!(c, ErrorClass::Status4xx | ErrorClass::Status5xx))
            .map(|(_, (n, _))| n)
            .sum()
    }

    /// Every request that ended, answered or not.
    pub fn requests(&self) -> u64 {
        self.responses() + self.unanswered()
    }

    /// Requests that failed, error statuses included.
    pub fn failed(&self) -> u64 {
        self.errors.values().map(|(n, _)| n).sum()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_add_up_across_classes_and_merges() {
        let mut a = Stats::new();
        a.record(Answer::Response { status: 200 }, Duration::from_millis(2));
        a.record(Answer::Response { status: 503 }, Duration::from_millis(4));
        a.record(Answer::Failed { class: ErrorClass::Connect, detail: "refused".into() }, Duration::ZERO);
        let mut b = Stats::new();
        b.record(Answer::Response { status: 404 }, Duration::from_micros(1));
        b.record(Answer::Failed { class: ErrorClass::Connect, detail: "later".into() }, Duration::ZERO);
        a.merge(&b);
        assert_eq!((a.requests(), a.responses(), a.unanswered(), a.failed()), (5, 3, 2, 4));
        assert_eq!(a.errors[&ErrorClass::Connect], (2, "refused".to_string()), "the first detail is kept");
        assert_eq!(a.statuses[&503], 1);
        let max = a.latency.value_at_quantile(1.0);
        assert!((3_996..=4_004).contains(&max), "4 ms within 0.1%: {max}");
        assert_eq!(a.latency.min(), 1, "a sub-microsecond answer still counts");
    }
}
