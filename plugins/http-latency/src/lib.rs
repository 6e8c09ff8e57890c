//! HTTP latency plugin: requests a URL a few times through the host and holds p95 to a budget.
//!
//! Config: `url` (required; its host must be granted with --allow-host), `samples` (default 5),
//! `p95-max-ms` (default 500), `method` (default GET), `timeout-ms` (per request, default 5000).

use stepkit_plugin::{http, log, Check, CheckError, Context, Finding, Report, Verdict};

struct HttpLatency;

impl Check for HttpLatency {
    fn run(ctx: &Context) -> Result<Report, CheckError> {
        let url = ctx.require("url")?;
        let samples: u32 = ctx.parse_or("samples", 5)?;
        let budget: u32 = ctx.parse_or("p95-max-ms", 500)?;
        let timeout: u32 = ctx.parse_or("timeout-ms", 5000)?;
        let method = ctx.config_or("method", "GET");
        if !(1..=1000).contains(&samples) {
            return Err(CheckError::config("samples", "expected 1 to 1000"));
        }

        let request = http::Request::new(method, url).timeout_ms(timeout);
        let mut timings = Vec::with_capacity(samples as usize);
        let mut findings = Vec::new();
        for sample in 1..=samples {
            match request.send() {
                Ok(response) if response.is_success() => timings.push(response.elapsed_ms),
                Ok(response) => {
                    timings.push(response.elapsed_ms);
                    findings.push(Finding::failure(format!(
                        "request {sample}: {method} {url} -> {}",
                        response.status
                    )));
                }
                // A denied host fails every sample the same way: stop and say so once.
                Err(error @ stepkit_plugin::HttpError::Denied(_)) => return Err(error.into()),
                Err(error) => {
                    findings.push(Finding::failure(format!("request {sample}: {}", http::describe(&error))))
                }
            }
        }
        log::debug(format!("{url}: {timings:?} ms"));

        if timings.is_empty() {
            let mut report = Report::fail(format!("{url}: all {samples} requests failed"));
            report.findings = findings;
            return Ok(report.with_metric("errors", f64::from(samples), "count"));
        }
        timings.sort_unstable();
        let p50 = percentile(&timings, 50);
        let p95 = percentile(&timings, 95);
        let slow = p95 > budget;
        if slow {
            findings.push(Finding::failure(format!("p95 {p95} ms is over the budget of {budget} ms")));
        }
        let verdict = if findings.is_empty() { Verdict::Pass } else { Verdict::Fail };
        let errors = findings.len() - usize::from(slow);
        let mut report =
            Report::new(verdict, format!("{url}: p50 {p50} ms, p95 {p95} ms (budget {budget} ms)"))
                .with_metric("p50", f64::from(p50), "ms")
                .with_metric("p95", f64::from(p95), "ms")
                .with_metric("max", f64::from(*timings.last().unwrap_or(&0)), "ms")
                .with_metric("errors", errors as f64, "count");
        report.findings = findings;
        Ok(report)
    }
}

/// Nearest-rank percentile of sorted samples: the smallest value with at least `p`% of samples at or below it.
fn percentile(sorted: &[u32], p: u32) -> u32 {
    let rank = (sorted.len() * p as usize).div_ceil(100).max(1);
    sorted[rank - 1]
}

stepkit_plugin::export!(HttpLatency);

#[cfg(test)]
mod tests {
    use super::percentile;

    #[test]
    fn nearest_rank() {
        let samples: Vec<u32> = (1..=20).collect();
        assert_eq!(percentile(&samples, 50), 10);
        assert_eq!(percentile(&samples, 95), 19);
        assert_eq!(percentile(&[7], 95), 7);
        assert_eq!(percentile(&[1, 2, 3, 100], 95), 100);
    }
}
