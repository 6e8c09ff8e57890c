//! Retrying what may fail for a while (a busy API, a registry that drops a push): transient failures are
//! retried with exponential backoff inside a total budget, a `Retry-After` the service sends is obeyed,
//! and a permanent failure (bad token, unknown channel, denied push) ends the attempts at once.
//! The one retry loop of stepkit: notify, github and image push all go through `deliver`.

use std::future::Future;
use std::time::{Duration, SystemTime};
// tokio's clock, so the tests run the backoff on paused time.
use tokio::time::Instant;

/// When to try again and when to give up.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    /// The wait after the first transient failure; it doubles after each one.
    pub first_delay: Duration,
    /// The longest wait between two attempts (a `Retry-After` may ask for more, within the budget).
    pub max_delay: Duration,
    /// All attempts and waits together, counted from `budget_start`.
    pub budget: Duration,
    pub budget_start: BudgetStart,
}

/// Where the budget starts counting.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BudgetStart {
    /// The first attempt: a message is worth so much time in all.
    FirstAttempt,
    /// The first failure: a transfer (an image push) may take as long as it keeps making progress, and
    /// only the retries after a failure are bounded.
    FirstFailure,
}

impl RetryPolicy {
    /// 1 s, doubling up to 30 s, within `budget` counted from the first attempt.
    pub fn within(budget: Duration) -> Self {
        RetryPolicy {
            first_delay: Duration::from_secs(1),
            max_delay: Duration::from_secs(30),
            budget,
            budget_start: BudgetStart::FirstAttempt,
        }
    }

    /// The same backoff, with the budget counted from the first failure.
    pub fn after_first_failure(budget: Duration) -> Self {
        RetryPolicy { budget_start: BudgetStart::FirstFailure, ..Self::within(budget) }
    }
}

impl Default for RetryPolicy {
    /// Within 2 minutes: a busy webhook recovers well inside that, and a notification step should not
    /// hold a CI runner much longer.
    fn default() -> Self {
        Self::within(Duration::from_secs(120))
    }
}

/// How one attempt ended.
#[derive(Debug)]
pub enum Attempt<T, E> {
    /// Delivered.
    Done(T),
    /// Worth another try, after `after` if the service said so (`Retry-After`), else the backoff.
    Retry { error: E, after: Option<Duration> },
    /// Trying again cannot help.
    Fail(E),
}

/// The attempts ended without delivery.
#[derive(Debug, PartialEq, Eq)]
pub struct GaveUp<E> {
    /// The last attempt's error.
    pub error: E,
    /// How many attempts were made.
    pub attempts: u32,
    /// True when the failure was transient and the budget ran out (exit 3); false for a permanent one.
    pub transient: bool,
    /// Time spent, attempts and waits included.
    pub waited: Duration,
}

/// Runs `attempt` until it is done, fails permanently, or the next wait would pass the budget.
/// `attempt(deadline)` is given the end of the budget once it runs, so a long attempt can stop there.
/// `on_retry(attempt number, error, wait)` is told before each wait, for a live line.
pub async fn deliver<T, E, F, Fut>(
    policy: RetryPolicy,
    mut attempt: F,
    mut on_retry: impl FnMut(u32, &E, Duration),
) -> Result<(T, u32), GaveUp<E>>
where
    F: FnMut(Option<Instant>) -> Fut,
    Fut: Future<Output = Attempt<T, E>>,
{
    let started = Instant::now();
    let mut deadline = match policy.budget_start {
        BudgetStart::FirstAttempt => Some(started + policy.budget),
        BudgetStart::FirstFailure => None,
    };
    let mut backoff = policy.first_delay;
    let mut attempts = 0;
    loop {
        attempts += 1;
        match attempt(deadline).await {
            Attempt::Done(value) => return Ok((value, attempts)),
            Attempt::Fail(error) => {
                return Err(GaveUp { error, attempts, transient: false, waited: started.elapsed() })
            }
            Attempt::Retry { error, after } => {
                let wait = after.unwrap_or(backoff);
                let end = *deadline.get_or_insert_with(|| Instant::now() + policy.budget);
                if Instant::now() + wait > end {
                    return Err(GaveUp { error, attempts, transient: true, waited: started.elapsed() });
                }
                on_retry(attempts, &error, wait);
                tokio::time::sleep(wait).await;
                backoff = (backoff * 2).min(policy.max_delay);
            }
        }
    }
}

/// The wait a `Retry-After` header asks for: delay-seconds or an HTTP date (RFC 9110). Unparseable: `None`.
pub fn retry_after(value: &str) -> Option<Duration> {
    let value = value.trim();
    if let Ok(seconds) = value.parse::<u64>() {
        return Some(Duration::from_secs(seconds));
    }
    let when = httpdate::parse_http_date(value).ok()?;
    Some(when.duration_since(SystemTime::now()).unwrap_or(Duration::ZERO))
}

/// The wait until a Unix time in seconds (GitHub's `x-ratelimit-reset`), zero when it has passed.
pub fn until_epoch(value: &str) -> Option<Duration> {
    let reset = SystemTime::UNIX_EPOCH + Duration::from_secs(value.trim().parse().ok()?);
    Some(reset.duration_since(SystemTime::now()).unwrap_or(Duration::ZERO))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::cell::Cell;

    fn policy(budget_ms: u64) -> RetryPolicy {
        RetryPolicy {
            first_delay: Duration::from_millis(10),
            max_delay: Duration::from_millis(40),
            budget: Duration::from_millis(budget_ms),
            budget_start: BudgetStart::FirstAttempt,
        }
    }

    #[tokio::test(start_paused = true)]
    async fn retries_transient_failures_then_delivers() {
        let calls = Cell::new(0);
        let mut waits = Vec::new();
        let result = deliver(
            policy(5_000),
            |_| {
                calls.set(calls.get() + 1);
                let n = calls.get();
                async move {
                    if n < 3 {
                        Attempt::Retry { error: format!("503 #{n}"), after: None }
                    } else {
                        Attempt::Done("ok")
                    }
                }
            },
            |n, _, wait| waits.push((n, wait)),
        )
        .await;
        assert_eq!(result, Ok(("ok", 3)));
        assert_eq!(
            waits,
            [(1, Duration::from_millis(10)), (2, Duration::from_millis(20))],
            "exponential backoff"
        );
    }

    #[tokio::test(start_paused = true)]
    async fn a_permanent_failure_is_not_retried() {
        let calls = Cell::new(0);
        let result: Result<((), u32), _> = deliver(
            policy(5_000),
            |_| {
                calls.set(calls.get() + 1);
                async { Attempt::Fail("invalid_auth") }
            },
            |_, _, _| panic!("no retry"),
        )
        .await;
        let gave_up = result.unwrap_err();
        assert_eq!((gave_up.error, gave_up.attempts, gave_up.transient), ("invalid_auth", 1, false));
        assert_eq!(calls.get(), 1);
    }

    #[tokio::test(start_paused = true)]
    async fn the_budget_ends_the_retries_and_retry_after_is_obeyed() {
        let mut waits = Vec::new();
        let result: Result<((), u32), _> = deliver(
            policy(100),
            |_| async { Attempt::Retry { error: "429", after: Some(Duration::from_millis(30)) } },
            |_, _, wait| waits.push(wait),
        )
        .await;
        let gave_up = result.unwrap_err();
        assert!(gave_up.transient);
        assert!(
            waits.iter().all(|w| *w == Duration::from_millis(30)),
            "Retry-After, not the backoff: {waits:?}"
        );
        assert_eq!(gave_up.attempts as usize, waits.len() + 1);
        // On paused time the waits are exact: three of 30 ms fit in 100 ms, a fourth would not.
        assert_eq!((waits.len(), gave_up.waited), (3, Duration::from_millis(90)));

        // A Retry-After longer than the whole budget gives up at once instead of sleeping past it.
        let result: Result<((), u32), _> = deliver(
            policy(100),
            |_| async { Attempt::Retry { error: "429", after: Some(Duration::from_secs(60)) } },
            |_, _, _| panic!("no wait"),
        )
        .await;
        assert_eq!(result.unwrap_err().attempts, 1);
    }

    #[tokio::test(start_paused = true)]
    async fn a_budget_from_the_first_failure_lets_the_first_attempt_run_long() {
        let mut deadlines = Vec::new();
        let policy = RetryPolicy { budget_start: BudgetStart::FirstFailure, ..policy(100) };
        let result = deliver(
            policy,
            |deadline| {
                let first = deadlines.is_empty();
                deadlines.push(deadline);
                async move {
                    if first {
                        // Longer than the whole budget: it does not count until something fails.
                        tokio::time::sleep(Duration::from_millis(150)).await;
                        Attempt::Retry { error: "reset", after: None }
                    } else {
                        Attempt::Done("pushed")
                    }
                }
            },
            |_, _, _| {},
        )
        .await;
        assert_eq!(result, Ok(("pushed", 2)), "the retry still fits in the budget after the failure");
        assert_eq!(deadlines[0], None, "no deadline before the first failure");
        assert!(deadlines[1].is_some(), "the retry is told where the budget ends");
    }

    #[test]
    fn parses_retry_after_seconds_and_dates() {
        assert_eq!(retry_after(" 3 "), Some(Duration::from_secs(3)));
        assert_eq!(
            retry_after("Wed, 21 Oct 2015 07:28:00 GMT"),
            Some(Duration::ZERO),
            "a past date means now"
        );
        let soon = httpdate::fmt_http_date(SystemTime::now() + Duration::from_secs(120));
        let wait = retry_after(&soon).unwrap();
        assert!(wait > Duration::from_secs(100) && wait <= Duration::from_secs(120), "{wait:?}");
        assert_eq!(retry_after("soon"), None);
        assert_eq!(until_epoch("0"), Some(Duration::ZERO));
        assert_eq!(until_epoch("x"), None);
    }
}
