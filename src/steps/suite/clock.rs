//! Per-test clocks for `--test-timeout`: which tests are running, and since when, read from the log
//! a preset writes as tests start and finish (PHPUnit's TeamCity log, `go test -json`, stepkit's pytest plugin).

use std::io::{Read, Seek, SeekFrom};
use std::path::PathBuf;
use std::time::{Duration, Instant};

/// Which log a preset writes, and so how a line says "test started" / "test finished".
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClockFormat {
    /// `##teamcity[testStarted name='testX' ...]` (PHPUnit `--log-teamcity`).
    TeamCity,
    /// `{"Action":"run","Package":"p","Test":"TestX"}` (`go test -json`).
    GoJson,
    /// `start <node id>` / `finish <node id>` (stepkit's pytest plugin).
    Pytest,
}

impl ClockFormat {
    /// The log a preset's batches write as tests start (`--test-timeout`), if it has one: the
    /// command preset sees only whole processes.
    pub fn of(preset: &super::preset::Preset) -> Option<ClockFormat> {
        use super::preset::Preset;
        match preset {
            Preset::Phpunit => Some(ClockFormat::TeamCity),
            Preset::Go => Some(ClockFormat::GoJson),
            Preset::Pytest => Some(ClockFormat::Pytest),
            Preset::Command { .. } => None,
        }
    }
}

/// One test as its log names it: the preset's id or name, and for Go its package.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TestKey {
    pub name: String,
    pub classname: Option<String>,
}

impl TestKey {
    /// Whether a listed case is this test.
    pub fn is(&self, case: &super::model::CaseRef) -> bool {
        (case.id == self.name || case.name == self.name)
            && self
                .classname
                .as_deref()
                .is_none_or(|c| case.classname.as_deref().is_none_or(|listed| listed == c))
    }
}

impl std::fmt::Display for TestKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.classname {
            Some(class) => write!(f, "{class}::{}", self.name),
            None => f.write_str(&self.name),
        }
    }
}

#[derive(Debug, PartialEq, Eq)]
enum Event {
    Started(TestKey),
    Finished(TestKey),
}

fn event(format: ClockFormat, line: &str) -> Option<Event> {
    match format {
        ClockFormat::TeamCity => {
            let (kind, attrs) = super::teamcity::message(line)?;
            let name = attrs.into_iter().find(|(k, _)| k == "name")?.1;
            let key = TestKey { name, classname: None };
            match kind.as_str() {
                "testStarted" => Some(Event::Started(key)),
                "testFinished" => Some(Event::Finished(key)),
                _ => None,
            }
        }
        ClockFormat::GoJson => {
            #[derive(serde::Deserialize)]
            struct GoEvent {
                #[serde(rename = "Action")]
                action: String,
                #[serde(rename = "Package")]
                package: Option<String>,
                #[serde(rename = "Test")]
                test: Option<String>,
            }
            let e: GoEvent = serde_json::from_str(line).ok()?;
            let test = e.test?;
            // `-run` selects top-level tests; a subtest runs inside its parent's time.
            if test.contains('/') {
                return None;
            }
            let key = TestKey { name: test, classname: e.package };
            match e.action.as_str() {
                "run" | "cont" => Some(Event::Started(key)),
                // A paused parallel test waits for its turn; that is not its own time.
                "pass" | "fail" | "skip" | "pause" => Some(Event::Finished(key)),
                _ => None,
            }
        }
        ClockFormat::Pytest => {
            let (kind, node) = line.split_once(' ')?;
            let key = TestKey { name: node.to_string(), classname: None };
            match kind {
                "start" => Some(Event::Started(key)),
                "finish" => Some(Event::Finished(key)),
                _ => None,
            }
        }
    }
}

/// Follows one log as it grows.
pub struct TestClock {
    format: ClockFormat,
    path: PathBuf,
    offset: u64,
    partial: String,
    running: Vec<(TestKey, Instant)>,
}

impl TestClock {
    /// A clock for the log at `path` (which may not exist yet).
    pub fn new(format: ClockFormat, path: PathBuf) -> TestClock {
        TestClock { format, path, offset: 0, partial: String::new(), running: Vec::new() }
    }

    /// Reads what the log gained since the last poll; tests seen starting now are timed from `now`.
    pub fn poll(&mut self, now: Instant) {
        let Ok(mut file) = std::fs::File::open(&self.path) else { return };
        if file.seek(SeekFrom::Start(self.offset)).is_err() {
            return;
        }
        let mut bytes = Vec::new();
        let Ok(read) = file.read_to_end(&mut bytes) else { return };
        self.offset += read as u64;
        self.feed(&String::from_utf8_lossy(&bytes), now);
    }

    fn feed(&mut self, text: &str, now: Instant) {
        self.partial.push_str(text);
        // Only whole lines: the writer may be in the middle of one.
        let Some(end) = self.partial.rfind('\n') else { return };
        let complete: String = self.partial.drain(..=end).collect();
        for line in complete.lines() {
            match event(self.format, line.trim_end()) {
                Some(Event::Started(key)) => {
                    self.running.retain(|(k, _)| *k != key);
                    self.running.push((key, now));
                }
                Some(Event::Finished(key)) => self.running.retain(|(k, _)| *k != key),
                None => {}
            }
        }
    }

    /// The test that has run for `limit` or longer (the longest-running first), if any.
    pub fn overdue(&self, now: Instant, limit: Duration) -> Option<&TestKey> {
        self.running
            .iter()
            .filter(|(_, since)| now.saturating_duration_since(*since) >= limit)
            .min_by_key(|(_, since)| *since)
            .map(|(k, _)| k)
    }

    /// Every test started and not finished.
    pub fn running(&self) -> Vec<TestKey> {
        self.running.iter().map(|(k, _)| k.clone()).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn teamcity_start_and_finish() {
        let mut clock = TestClock::new(ClockFormat::TeamCity, PathBuf::new());
        let t0 = Instant::now();
        clock.feed("##teamcity[testStarted name='testA' flowId='1']\n##teamcity[testFinished name='testA' duration='1' flowId='1']\n##teamcity[testStarted name='testB with data set #0' flowId='1']\n##teamcity[testSta", t0);
        assert_eq!(clock.running(), [TestKey { name: "testB with data set #0".into(), classname: None }]);
        assert!(clock.overdue(t0 + Duration::from_millis(500), Duration::from_secs(1)).is_none());
        assert_eq!(
            clock.overdue(t0 + Duration::from_secs(1), Duration::from_secs(1)).unwrap().name,
            "testB with data set #0"
        );
        clock.feed("rted name='testC']\n", t0);
        assert_eq!(clock.running().len(), 2, "a line split across polls is read once whole");
    }

    #[test]
    fn go_events_time_top_level_tests_per_package() {
        let mut clock = TestClock::new(ClockFormat::GoJson, PathBuf::new());
        let t0 = Instant::now();
        clock.feed(
            concat!(
                "{\"Action\":\"run\",\"Package\":\"m/a\",\"Test\":\"TestSlow\"}\n",
                "{\"Action\":\"run\",\"Package\":\"m/a\",\"Test\":\"TestSlow/sub\"}\n",
                "{\"Action\":\"run\",\"Package\":\"m/b\",\"Test\":\"TestOk\"}\n",
                "{\"Action\":\"pass\",\"Package\":\"m/b\",\"Test\":\"TestOk\",\"Elapsed\":0}\n",
                "not json\n"
            ),
            t0,
        );
        let key = TestKey { name: "TestSlow".into(), classname: Some("m/a".into()) };
        assert_eq!(clock.running(), std::slice::from_ref(&key));
        assert_eq!(key.to_string(), "m/a::TestSlow");
        let listed = super::super::model::CaseRef {
            id: "TestSlow".into(),
            classname: Some("m/a".into()),
            name: "TestSlow".into(),
        };
        assert!(key.is(&listed));
    }

    #[test]
    fn pytest_plugin_lines_and_a_growing_file() {
        let dir = tempfile::tempdir().unwrap();
        let log = dir.path().join("clock.log");
        let mut clock = TestClock::new(ClockFormat::Pytest, log.clone());
        let t0 = Instant::now();
        clock.poll(t0);
        assert!(clock.running().is_empty(), "no log yet");
        std::fs::write(&log, "start tests/test_a.py::test_x[1 2]\n").unwrap();
        clock.poll(t0);
        std::fs::write(&log, "start tests/test_a.py::test_x[1 2]\nfinish tests/test_a.py::test_x[1 2]\nstart tests/test_a.py::test_y\n").unwrap();
        clock.poll(t0);
        assert_eq!(clock.running(), [TestKey { name: "tests/test_a.py::test_y".into(), classname: None }]);
    }
}
