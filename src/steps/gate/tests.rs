//! The whole gate against real HTTP servers on 127.0.0.1, on tokio's paused clock: no test waits in
//! real time, and times are exact. Loopback I/O is ready when the runtime looks, so the clock moves
//! only when every task waits on a timer (the schedule's, a timeout, the test server's `after`).

use super::test_server::{refused_port, serve, Reply};
use super::*;
use crate::error::ModuleError;
use crate::report::{render_json, Silent, Verdict};
use std::time::Duration;

fn http(url: &str) -> Probe {
    Probe::Http(Box::new(HttpProbe::new(reqwest::Url::parse(url).unwrap())))
}

fn fast(probes: Vec<Probe>) -> GateSettings {
    let mut s = GateSettings::new(probes);
    s.interval = Duration::from_millis(20);
    s.timeout = Duration::from_secs(2);
    s.deadline = Duration::from_secs(30);
    s
}

/// Collects live lines.
#[derive(Default)]
struct Lines(Vec<String>);

impl Live for Lines {
    fn line(&mut self, text: &str) {
        self.0.push(text.to_string());
    }
    fn block(&mut self, title: &str, body: &str) {
        self.0.push(format!("{title}\n{body}"));
    }
}

#[tokio::test(start_paused = true)]
async fn a_healthy_service_opens_the_gate() {
    let server = serve(|_| Reply::ok(r#"{"status":"ok"}"#)).await;
    let mut settings = fast(vec![
        http(&format!("{}/health", server.url())),
        Probe::Tcp { host: "127.0.0.1".into(), port: server.addr.port() },
    ]);
    // The first round starts at once and answers within 1 ms (paused), long before a second one.
    settings.interval = Duration::from_secs(10);
    if let Probe::Http(h) = &mut settings.probes[0] {
        h.expect.json = vec![JsonExpect::parse("/status=ok").unwrap()];
    }
    let outcome = run(&settings, &mut Silent).await.unwrap();
    assert_eq!(outcome.verdict, Verdict::Passed, "{}", outcome.headline);
    assert_eq!(outcome.exit_code(), 0);
    assert!(outcome.headline.starts_with("open after"), "{}", outcome.headline);
    assert_eq!(outcome.data["state"], "open");
    assert!(outcome.data["opened_after_ms"].is_u64());
    // 1 ms: the TCP probe's wait for a listener that closes at once; the HTTP answer takes no time.
    assert_eq!((&outcome.data["opened_after_ms"], &outcome.data["rounds"]), (&1.into(), &1.into()));
    assert_eq!(outcome.headline, "open after 1.0 ms (1 round)");
    let attempts = outcome.data["attempts"].as_array().unwrap();
    assert_eq!(attempts.len(), 2, "both probes of the first round: {attempts:?}");
    assert!(attempts.iter().all(|a| a["outcome"] == "pass" && a["round"] == 1));
    assert!(outcome.outputs.contains(&("state".to_string(), "open".to_string())));
    assert!(outcome.step_summary && outcome.markdown.contains("| Probe |"));
    assert!(outcome.annotations.is_empty());
}

#[tokio::test(start_paused = true)]
async fn a_service_that_turns_healthy_opens_after_wrong_answers() {
    let server = serve(|req| {
        if req.elapsed < Duration::from_millis(300) {
            Reply::status(503, "starting")
        } else {
            Reply::ok("ok")
        }
    })
    .await;
    let mut lines = Lines::default();
    let outcome = run(&fast(vec![http(&server.url())]), &mut lines).await.unwrap();
    assert_eq!(outcome.verdict, Verdict::Passed, "{}", outcome.headline);
    let attempts = outcome.data["attempts"].as_array().unwrap();
    assert_eq!(attempts[0]["outcome"], "wrong");
    assert_eq!(attempts[0]["status"], 503);
    assert_eq!(attempts.last().unwrap()["outcome"], "pass");
    // Rounds every 20 ms: 0..=280 ms answer 503, the one at 300 ms passes.
    assert_eq!(attempts.len(), 16);
    assert!(attempts[..15].iter().all(|a| a["status"] == 503), "{attempts:?}");
    assert_eq!(outcome.data["opened_after_ms"], 300);
    assert_eq!(outcome.data["rounds"], 16);
    // One line per change, not per attempt: the start, 503, pass.
    assert_eq!(lines.0.len(), 3, "{:?}", lines.0);
    assert!(lines.0[1].contains("wrong 503"), "{:?}", lines.0);
}

#[tokio::test(start_paused = true)]
async fn consecutive_failures_close_the_gate_with_evidence() {
    let server = serve(|_| Reply::status(500, "database down")).await;
    let mut settings = fast(vec![http(&server.url())]);
    settings.failures = Some(3);
    let outcome = run(&settings, &mut Silent).await.unwrap();
    assert_eq!(outcome.verdict, Verdict::Failed, "{}", outcome.headline);
    assert_eq!(outcome.exit_code(), 1);
    assert!(
        outcome.headline.contains("closed: 3 consecutive failed rounds")
            && outcome.headline.contains("status 500"),
        "{}",
        outcome.headline
    );
    assert!(
        outcome.text.contains(" attempts:\n") && outcome.text.contains("database down"),
        "{}",
        outcome.text
    );
    assert!(outcome.markdown.contains("<details><summary>Last "), "{}", outcome.markdown);
    assert_eq!(outcome.data["state"], "closed");
    assert_eq!(outcome.data["opened_after_ms"], serde_json::Value::Null);
    assert_eq!(outcome.annotations.len(), 1);
    // Rounds at 0, 20 and 40 ms; the third closes the gate at once.
    assert!(
        outcome.headline.starts_with("closed: 3 consecutive failed rounds in 40 ms;"),
        "{}",
        outcome.headline
    );
    assert_eq!((&outcome.data["elapsed_ms"], &outcome.data["rounds"]), (&40.into(), &3.into()));
}

#[tokio::test(start_paused = true)]
async fn nothing_listening_runs_into_the_deadline() {
    let port = refused_port().await;
    let mut settings = fast(vec![http(&format!("http://127.0.0.1:{port}/"))]);
    settings.deadline = Duration::from_millis(300);
    settings.failures = Some(2);
    let outcome = run(&settings, &mut Silent).await.unwrap();
    assert_eq!(
        outcome.verdict,
        Verdict::TimedOut,
        "refusals before a first answer do not count as failures: {}",
        outcome.headline
    );
    assert_eq!(outcome.exit_code(), 124);
    assert!(
        outcome.headline.contains("deadline") && outcome.headline.contains("refused"),
        "{}",
        outcome.headline
    );
    assert_eq!(outcome.data["attempts"][0]["error_class"], "refused");
    assert_eq!(outcome.data["state"], "deadline");
    // Rounds at 0..=280 ms, every one refused, and the deadline at exactly 300 ms.
    assert_eq!((&outcome.data["elapsed_ms"], &outcome.data["rounds"]), (&300.into(), &15.into()));
    let attempts = outcome.data["attempts"].as_array().unwrap();
    assert!(attempts.iter().all(|a| a["error_class"] == "refused"), "{attempts:?}");
}

#[tokio::test(start_paused = true)]
async fn successes_need_consecutive_passes() {
    let server = serve(|_| Reply::ok("ok")).await;
    let mut settings = fast(vec![http(&server.url())]);
    settings.successes = 3;
    let outcome = run(&settings, &mut Silent).await.unwrap();
    assert_eq!(outcome.verdict, Verdict::Passed);
    assert!(outcome.data["attempts"].as_array().unwrap().len() >= 3);
    assert!(outcome.data["rounds"].as_u64().unwrap() >= 3);
    // Exactly: rounds at 0, 20 and 40 ms, the third opens.
    assert_eq!(outcome.data["attempts"].as_array().unwrap().len(), 3);
    assert_eq!((&outcome.data["rounds"], &outcome.data["opened_after_ms"]), (&3.into(), &40.into()));
}

#[tokio::test(start_paused = true)]
async fn latency_samples_are_judged_by_their_p95() {
    let server = serve(|_| Reply::ok("ok")).await;
    let mut settings = fast(vec![http(&server.url())]);
    settings.latency = Some(LatencySettings {
        samples: 20,
        p95: Some(Duration::from_secs(10)),
        baseline: None,
        max_regression_pct: None,
    });
    let outcome = run(&settings, &mut Silent).await.unwrap();
    assert_eq!(outcome.verdict, Verdict::Passed, "{}", outcome.headline);
    assert_eq!(outcome.data["latency"]["samples"], 20);
    assert!(outcome.data["latency"]["p95_ms"].is_f64());
    assert_eq!(outcome.data["latency"]["p95_ms"], 0.0, "an answer in no (paused) time");
    assert!(outcome.outputs.iter().any(|(k, _)| k == "p95-ms"));

    let slow = serve(|_| Reply::ok("ok").after(Duration::from_millis(100))).await;
    let mut settings = fast(vec![http(&slow.url())]);
    settings.latency = Some(LatencySettings {
        samples: 5,
        p95: Some(Duration::from_millis(5)),
        baseline: None,
        max_regression_pct: None,
    });
    let outcome = run(&settings, &mut Silent).await.unwrap();
    assert_eq!(outcome.verdict, Verdict::Failed, "{}", outcome.headline);
    assert!(outcome.headline.contains("over --p95 5 ms"), "{}", outcome.headline);
    assert_eq!(outcome.data["state"], "open", "the gate itself opened");
    // The first round's answer opens at 100 ms; then 5 samples of exactly 100 ms each.
    assert_eq!(outcome.data["latency"]["p95_ms"], 100.0);
    assert_eq!((&outcome.data["opened_after_ms"], &outcome.data["elapsed_ms"]), (&100.into(), &600.into()));
}

#[tokio::test(start_paused = true)]
async fn the_deadline_covers_the_latency_samples() {
    let slow = serve(|_| Reply::ok("ok").after(Duration::from_millis(200))).await;
    let mut settings = fast(vec![http(&slow.url())]);
    settings.deadline = Duration::from_secs(1);
    settings.latency =
        Some(LatencySettings { samples: 50, p95: None, baseline: None, max_regression_pct: None });
    let outcome = run(&settings, &mut Silent).await.unwrap();
    assert_eq!(outcome.verdict, Verdict::TimedOut, "{}", outcome.headline);
    assert_eq!(outcome.data["state"], "open");
    assert_eq!(outcome.data["latency"]["complete"], false);
    assert_eq!(outcome.annotations[0].title.as_deref(), Some("health gate: deadline passed"));
    // Open at 200 ms; samples at 200, 400 and 600 ms answer; the one at 800 ms is cut to the 200 ms
    // left and times out at exactly the deadline, when the server's answer is due, and no more starts.
    assert_eq!((&outcome.data["opened_after_ms"], &outcome.data["elapsed_ms"]), (&200.into(), &1000.into()));
    assert_eq!(outcome.data["latency"]["p95_ms"], 200.0);
}

#[tokio::test(start_paused = true)]
async fn a_previous_result_file_is_the_baseline() {
    let server = serve(|_| Reply::ok("ok").after(Duration::from_millis(50))).await;
    let dir = tempfile::tempdir().unwrap();
    let baseline = dir.path().join("gate.json");
    let latency = |max| {
        Some(LatencySettings {
            samples: 3,
            p95: None,
            baseline: Some(baseline.clone()),
            max_regression_pct: max,
        })
    };

    // First run: no baseline yet, a warning, and its result file becomes the next run's baseline.
    let mut settings = fast(vec![http(&server.url())]);
    settings.latency = latency(Some(20.0));
    let first = run(&settings, &mut Silent).await.unwrap();
    assert_eq!(first.verdict, Verdict::Passed, "{}", first.headline);
    assert!(first.warnings[0].contains("no baseline"), "{:?}", first.warnings);
    std::fs::write(&baseline, render_json(&first).to_string()).unwrap();
    let second = run(&settings, &mut Silent).await.unwrap();
    assert_eq!(second.data["latency"]["baseline_p95_ms"], first.data["latency"]["p95_ms"]);
    assert!(second.data["latency"]["regression_pct"].is_f64());
    assert_eq!(second.data["latency"]["p95_ms"], 50.0, "the server's delay, exactly");
    assert_eq!(second.data["latency"]["regression_pct"], 0.0);

    // A baseline 1000 times faster: far over 20%.
    std::fs::write(&baseline, r#"{"data":{"latency":{"p95_ms":0.05}}}"#).unwrap();
    let regressed = run(&settings, &mut Silent).await.unwrap();
    assert_eq!(regressed.verdict, Verdict::Failed, "{}", regressed.headline);
    assert!(regressed.headline.contains("--max-regression 20%"), "{}", regressed.headline);

    std::fs::write(&baseline, "not json").unwrap();
    let err = run(&settings, &mut Silent).await.unwrap_err();
    assert!(err.is_usage() && err.to_string().contains("gate.json"), "{err}");
}

#[tokio::test(start_paused = true)]
async fn a_gate_without_probes_is_a_usage_error() {
    let err = run(&GateSettings::new(vec![]), &mut Silent).await.unwrap_err();
    assert!(err.is_usage(), "{err}");
}

/// Lines only on a change, plus a heartbeat once nothing was said for exactly HEARTBEAT (on paused time).
#[tokio::test(start_paused = true)]
async fn an_unchanged_probe_gets_a_heartbeat_every_thirty_seconds() {
    let labels = vec!["GET http://web/".to_string()];
    let mut lines = Lines::default();
    let start = Instant::now();
    let wrong = |at: Duration| Attempt {
        round: Some(0),
        at,
        probe: 0,
        verdict: answer::Verdict::Wrong("status 503".into()),
        status: Some(503),
        latency: Duration::ZERO,
    };
    let mut recorder = Recorder::new(&labels, &mut lines);
    recorder.record(&wrong(start.elapsed()), start);
    for _ in 0..2 {
        tokio::time::sleep(HEARTBEAT - Duration::from_millis(1)).await;
        recorder.record(&wrong(start.elapsed()), start);
        tokio::time::sleep(Duration::from_millis(1)).await;
        recorder.record(&wrong(start.elapsed()), start);
        recorder.record(&wrong(start.elapsed()), start);
    }
    assert_eq!(recorder.attempts.len(), 7);
    drop(recorder);
    assert_eq!(
        lines.0,
        [
            "stepkit gate: +0.0s GET http://web/: wrong 503: status 503".to_string(),
            "stepkit gate: still waiting after 30s (3 attempts); last: GET http://web/: wrong 503: status 503"
                .to_string(),
            "stepkit gate: still waiting after 60s (6 attempts); last: GET http://web/: wrong 503: status 503"
                .to_string(),
        ]
    );
}
