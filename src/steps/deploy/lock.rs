//! One deploy (or rollback) of an app at a time: an OS advisory lock (flock, through fs4) on a per-app
//! file, which the kernel releases when the holder exits however it exits (SIGKILL and crashes too),
//! with the holder's pid, host, start time and command written into it for the error a waiter shows.

use super::DeployError;
use crate::report::Live;
use crate::signals::{Signal, Signals};
use fs4::FileExt;
use std::fs::{File, OpenOptions};
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::time::Duration;
// tokio's clock, so the tests run the waits on paused time.
use tokio::time::Instant;

/// How often a waiting deploy tries the lock again.
const RETRY: Duration = Duration::from_millis(200);

/// Where the locks live and how long a deploy waits for one.
#[derive(Debug, Clone)]
pub struct LockSettings {
    /// One `APP.lock` per app.
    pub dir: PathBuf,
    /// How long to wait for another deploy of the same app; zero fails at once.
    pub timeout: Duration,
}

/// The lock, held until dropped (closing the file releases it).
#[derive(Debug)]
pub struct Lock {
    file: File,
}

impl Drop for Lock {
    fn drop(&mut self) {
        // The holder details go before the lock does, so no waiter reads them as a live holder's.
        let _ = self.file.set_len(0);
    }
}

/// Who holds a lock, as written into its file.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Holder {
    pub pid: u32,
    pub host: String,
    /// RFC 3339, UTC.
    pub started_at: String,
    pub command: String,
}

impl std::fmt::Display for Holder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "pid {} on {}, started {}: `{}`", self.pid, self.host, self.started_at, self.command)
    }
}

/// The lock file of `app`.
pub fn path(dir: &Path, app: &str) -> PathBuf {
    dir.join(format!("{app}.lock"))
}

/// Takes `app`'s lock, waiting up to the timeout for another deploy to finish. `Ok(Err(signal))`: a
/// signal came while waiting (nothing was changed).
pub async fn acquire(
    settings: &LockSettings,
    app: &str,
    command: &str,
    signals: &mut Signals,
    live: &mut dyn Live,
) -> Result<Result<Lock, Signal>, DeployError> {
    let path = path(&settings.dir, app);
    let io = |what: &str, e: std::io::Error| DeployError::Lock {
        what: format!("{what} the deploy lock {}", path.display()),
        message: e.to_string(),
    };
    std::fs::create_dir_all(&settings.dir).map_err(|e| io("create the directory of", e))?;
    // Never truncated on open: a waiter must not wipe the holder's details.
    let mut file = OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .open(&path)
        .map_err(|e| io("open", e))?;
    let start = Instant::now();
    let mut told = false;
    loop {
        match FileExt::try_lock(&file) {
            Ok(()) => {
                let holder = Holder {
                    pid: std::process::id(),
                    host: hostname(),
                    started_at: chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
                    command: command.to_string(),
                };
                let text = serde_json::to_string(&holder).unwrap_or_default();
                file.set_len(0)
                    .and_then(|()| file.seek(SeekFrom::Start(0)))
                    .and_then(|_| file.write_all(format!("{text}\n").as_bytes()))
                    .map_err(|e| io("write", e))?;
                return Ok(Ok(Lock { file }));
            }
            Err(fs4::TryLockError::WouldBlock) => {}
            Err(fs4::TryLockError::Error(e)) => return Err(io("lock", e)),
        }
        let holder = read_holder(&mut file);
        if start.elapsed() >= settings.timeout {
            return Err(DeployError::Locked {
                app: app.into(),
                holder,
                waited: humantime::format_duration(settings.timeout).to_string(),
                path: path.display().to_string(),
            });
        }
        if !told {
            live.line(&format!(
                "stepkit deploy: another deploy of {app} holds its lock ({holder}); waiting up to {} (--lock-timeout)",
                humantime::format_duration(settings.timeout)
            ));
            told = true;
        }
        let pause = RETRY.min(settings.timeout.saturating_sub(start.elapsed()));
        tokio::select! {
            biased;
            signal = signals.recv() => return Ok(Err(signal)),
            _ = tokio::time::sleep(pause) => {}
        }
    }
}

/// The holder's details, or what to say when they cannot be read (it has only just taken the lock).
fn read_holder(file: &mut File) -> String {
    let mut text = String::new();
    let read = file.seek(SeekFrom::Start(0)).and_then(|_| file.read_to_string(&mut text));
    match (read, serde_json::from_str::<Holder>(text.trim())) {
        (Ok(_), Ok(holder)) => holder.to_string(),
        _ => "a process that has not written its details yet".into(),
    }
}

/// This machine's name, for the holder details.
fn hostname() -> String {
    let mut buf = [0u8; 256];
    // SAFETY: the buffer is valid for its length; gethostname writes at most that many bytes.
    let ok = unsafe { libc::gethostname(buf.as_mut_ptr().cast(), buf.len()) } == 0;
    let end = buf.iter().position(|&b| b == 0).unwrap_or(buf.len());
    match std::str::from_utf8(&buf[..end]) {
        Ok(name) if ok && !name.is_empty() => name.to_string(),
        _ => "an unknown host".into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::Silent as Quiet;

    fn settings(dir: &Path, timeout: Duration) -> LockSettings {
        LockSettings { dir: dir.join("locks"), timeout }
    }

    #[tokio::test(start_paused = true)]
    async fn a_second_holder_waits_then_fails_naming_the_first_and_gets_it_once_released() {
        let dir = tempfile::tempdir().unwrap();
        let mut signals = Signals::install();
        let first = acquire(
            &settings(dir.path(), Duration::ZERO),
            "web",
            "stepkit deploy --name web",
            &mut signals,
            &mut Quiet,
        )
        .await
        .unwrap()
        .unwrap();
        let started = Instant::now();
        let err = acquire(
            &settings(dir.path(), Duration::from_millis(300)),
            "web",
            "second",
            &mut signals,
            &mut Quiet,
        )
        .await
        .unwrap_err();
        assert!(started.elapsed() >= Duration::from_millis(300), "it waited");
        let text = err.to_string();
        assert!(
            text.contains(&format!("pid {}", std::process::id()))
                && text.contains("`stepkit deploy --name web`")
                && text.contains("web.lock"),
            "{text}"
        );
        // Another app is not blocked.
        acquire(&settings(dir.path(), Duration::ZERO), "api", "x", &mut signals, &mut Quiet)
            .await
            .unwrap()
            .unwrap();
        drop(first);
        assert_eq!(std::fs::read_to_string(path(&dir.path().join("locks"), "web")).unwrap(), "");
        let again = acquire(&settings(dir.path(), Duration::ZERO), "web", "third", &mut signals, &mut Quiet)
            .await
            .unwrap()
            .unwrap();
        let written: Holder =
            serde_json::from_str(&std::fs::read_to_string(path(&dir.path().join("locks"), "web")).unwrap())
                .unwrap();
        assert_eq!((written.pid, written.command.as_str()), (std::process::id(), "third"));
        drop(again);
    }
}
