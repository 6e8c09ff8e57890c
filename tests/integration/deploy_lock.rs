//! One deploy of an app at a time, with real processes against a real Docker engine: a second deploy
//! waits for the first or fails naming it, and a holder killed with SIGKILL blocks nobody.

use crate::deploy::{Fixture, Kind};
use crate::deploy_signals::Running;
use crate::image::have_docker;
use crate::support::ports::closed_port;
use std::time::{Duration, Instant};

/// The line a deploy prints when its new version's gate starts (the lock is held by then).
const GATING: &str = "stepkit gate: waiting for";

#[test]
fn a_second_deploy_waits_for_the_first_or_fails_naming_it() {
    if !have_docker() {
        return;
    }
    let mut f = Fixture::new("lock");
    let (v1, v2, v3) =
        (f.build(Kind::Healthy, "v1"), f.build(Kind::Healthy, "v2"), f.build(Kind::Healthy, "v3"));
    f.deploy(&v1, &[]).expect_code(0);
    // The holder: its gate waits for a port nothing listens on, for as long as the test needs it.
    let nothing = closed_port();
    let mut holder = Running::start(&f, &v2, &["--tcp", &nothing.addr()]);
    holder.wait_for(GATING);

    let started = Instant::now();
    let refused = f.deploy(&v3, &["--lock-timeout", "1s"]).expect_code(124);
    let took = started.elapsed();
    assert!(took >= Duration::from_secs(1) && took < Duration::from_secs(4), "it waited 1 s: {took:?}");
    let host = std::fs::read_to_string("/proc/sys/kernel/hostname").unwrap_or_default();
    for part in [
        format!("pid {} on {}", holder.pid(), host.trim()),
        format!("`stepkit deploy --name {} --image {v2}`", f.app),
        "started 20".to_string(),
        "--lock-timeout 1s".to_string(),
    ] {
        assert!(refused.stderr.contains(&part), "{part:?} in:\n{}", refused.stderr);
    }
    assert_eq!(refused.json()["exit_code"], 124, "{}", refused.stdout);

    // SIGTERM while waiting ends the wait at once, with nothing changed.
    let mut waiting = Running::start(&f, &v3, &[]);
    waiting.wait_for("holds its lock");
    let (code, stderr) = waiting.signal(libc::SIGTERM);
    assert_eq!(code, Some(143), "{stderr}");
    assert!(
        stderr.contains("while waiting for another deploy") && stderr.contains("nothing was changed"),
        "{stderr}"
    );

    // A deploy with the default --lock-timeout waits for the holder, then runs.
    let mut waiter = Running::start(&f, &v3, &[]);
    waiter.wait_for("waiting up to 10m");
    let (code, stderr) = holder.signal(libc::SIGTERM);
    assert_eq!(code, Some(143), "the holder put v1 back and let go:\n{stderr}");
    let (code, stderr) = waiter.finish();
    assert_eq!(code, Some(0), "{stderr}");
    assert!(f.containers().contains(&format!("{} {v3} running", f.app)), "{:?}", f.containers());
}

#[test]
fn a_holder_killed_with_sigkill_does_not_block_the_next_deploy() {
    if !have_docker() {
        return;
    }
    let mut f = Fixture::new("lockkill");
    let (v1, never, v3) =
        (f.build(Kind::Healthy, "v1"), f.build(Kind::NeverHealthy, "v2-never"), f.build(Kind::Healthy, "v3"));
    f.deploy(&v1, &[]).expect_code(0);
    let mut holder = Running::start(&f, &never, &[]);
    holder.wait_for(GATING);
    let (code, _) = holder.signal(libc::SIGKILL);
    assert_eq!(code, None, "killed");
    // SIGKILL leaves the gated version behind; the app kept its name and runs v1 all along.
    assert_eq!(f.inspect(&f.app, "{{.Config.Image}} {{.State.Running}}"), format!("{v1} true"));
    assert!(
        f.containers().iter().any(|c| c.contains("-next-") && c.contains(&never)),
        "{:?}",
        f.containers()
    );

    let run = f.deploy(&v3, &["--lock-timeout", "2s"]).expect_code(0);
    assert!(
        !run.stderr.contains("holds its lock"),
        "the kernel released the dead holder's lock:\n{}",
        run.stderr
    );
    let warnings = run.json()["warnings"].to_string();
    assert!(warnings.contains("left by a deploy of") && warnings.contains("-next-"), "{warnings}");
    let kept = run.json()["data"]["previous"]["name"].as_str().unwrap().to_string();
    assert_eq!(f.containers(), vec![format!("{} {v3} running", f.app), format!("{kept} {v1} exited")]);
}
