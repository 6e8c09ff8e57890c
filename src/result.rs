//! Reading back the result files steps write with `--result-file` (notify, github, the gate's and the
//! load's baselines, deploy's previous duration, the history store): one reader, with a size cap, so a
//! wrong path (a log, a core dump) is refused instead of read into memory.

use std::io::Read;
use std::path::Path;

/// A result file larger than this is not a stepkit result: it is refused unread. A `test` result of a
/// very large suite with every failure's text stays well under it.
pub const MAX_RESULT_BYTES: u64 = 64 * 1024 * 1024;

/// Why a result file could not be read. Each reader words it for its own flag.
#[derive(Debug, thiserror::Error)]
pub enum ReadError {
    #[error("it does not exist")]
    Missing,
    #[error("{0}")]
    Io(std::io::Error),
    #[error("it is larger than {} MiB, too big for a stepkit result file", MAX_RESULT_BYTES >> 20)]
    TooBig,
    #[error("it is not JSON: {0}")]
    NotJson(serde_json::Error),
}

/// The result file at `path` as JSON, read through the cap.
pub fn read(path: &Path) -> Result<serde_json::Value, ReadError> {
    let file = std::fs::File::open(path).map_err(|e| match e.kind() {
        std::io::ErrorKind::NotFound => ReadError::Missing,
        _ => ReadError::Io(e),
    })?;
    let mut bytes = Vec::new();
    file.take(MAX_RESULT_BYTES + 1).read_to_end(&mut bytes).map_err(ReadError::Io)?;
    if bytes.len() as u64 > MAX_RESULT_BYTES {
        return Err(ReadError::TooBig);
    }
    serde_json::from_slice(&bytes).map_err(ReadError::NotJson)
}

/// `read`, with a file that does not exist (yet: a first run) as `None`.
pub fn read_if_present(path: &Path) -> Result<Option<serde_json::Value>, ReadError> {
    match read(path) {
        Ok(value) => Ok(Some(value)),
        Err(ReadError::Missing) => Ok(None),
        Err(e) => Err(e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_json_and_tells_missing_oversized_and_broken_files_apart() {
        let dir = tempfile::tempdir().unwrap();
        let good = dir.path().join("good.json");
        std::fs::write(&good, r#"{"command":"gate","data":{}}"#).unwrap();
        assert_eq!(read(&good).unwrap()["command"], "gate");
        assert!(matches!(read(&dir.path().join("none.json")), Err(ReadError::Missing)));
        assert!(read_if_present(&dir.path().join("none.json")).unwrap().is_none());
        let broken = dir.path().join("broken.json");
        std::fs::write(&broken, "{\"command\":").unwrap();
        assert!(matches!(read(&broken), Err(ReadError::NotJson(_))));
        let big = dir.path().join("big.json");
        let file = std::fs::File::create(&big).unwrap();
        file.set_len(MAX_RESULT_BYTES + 1).unwrap();
        let err = read(&big).unwrap_err();
        assert!(matches!(err, ReadError::TooBig) && err.to_string().contains("64 MiB"), "{err}");
        assert!(matches!(read(dir.path()), Err(ReadError::Io(_))), "a directory is not a result file");
    }
}
