//! Files that readers (a Jenkins `readJSON`, a `junit` step, the next run) must see whole or not at
//! all: the one atomic write every step uses.

use std::fs::{self, File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

/// Writes `path` through a sibling temporary file that is flushed to disk and then renamed into
/// place, so a reader (or a crash) never sees half a file. Creates missing parent directories; on
/// failure the temporary file is removed and `path` is left as it was.
pub fn write_atomically(
    path: &Path,
    write: impl FnOnce(&mut File) -> std::io::Result<()>,
) -> std::io::Result<()> {
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    fs::create_dir_all(dir)?;
    let temp = temp_path(dir, path);
    let result = (|| {
        let mut file = OpenOptions::new().write(true).create_new(true).open(&temp)?;
        write(&mut file)?;
        file.flush()?;
        // On disk before the rename, or a crash could leave the new name pointing at an empty file.
        file.sync_all()?;
        drop(file);
        fs::rename(&temp, path)
    })();
    if result.is_err() {
        let _ = fs::remove_file(&temp);
    }
    result
}

/// A sibling of `path`, so the rename stays on one filesystem and is atomic.
///
/// Hand-made rather than `tempfile`: its files are created 0600, and the rename would carry that mode
/// onto a report other users (an archiving agent, a container) must read; `create_new` honours the umask.
fn temp_path(dir: &Path, path: &Path) -> PathBuf {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_else(|| "file".into());
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    dir.join(format!(".{name}.stepkit-{}.{n}.tmp", std::process::id()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replaces_whole_or_not_at_all() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("deep/report.xml");
        write_atomically(&path, |f| f.write_all(b"first")).unwrap();
        assert_eq!(fs::read_to_string(&path).unwrap(), "first");
        let failed = write_atomically(&path, |f| {
            f.write_all(b"half")?;
            Err(std::io::Error::other("the writer failed"))
        });
        assert!(failed.is_err());
        assert_eq!(fs::read_to_string(&path).unwrap(), "first", "a failed write leaves the old file");
        let left: Vec<_> = fs::read_dir(path.parent().unwrap()).unwrap().collect();
        assert_eq!(left.len(), 1, "no temporary file is left behind");
    }
}
