//! The result files steps write with `--result-file` (the document `--format json` prints): the typed
//! envelope, each step's typed `data` with its `schema_version` (one module per step), the JSON Schemas
//! published in docs/schemas/, and the one reader every consumer uses (notify, github, the gate's and the
//! load's baselines, deploy's previous duration, the history store). The reader caps the size, so a
//! wrong path (a log, a core dump) is refused instead of read into memory, and refuses a result whose
//! schema version is newer than this stepkit knows.

pub mod check;
pub mod coverage;
pub mod dashboard;
pub mod deploy;
pub mod gate;
pub mod history;
pub mod hook;
pub mod image;
pub mod junit;
pub mod load;
pub mod notify;
mod schema;
pub mod suite;
pub mod tools;

pub use schema::{known_version, schema_json, Published, PUBLISHED};

use schemars::JsonSchema;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::io::Read;
use std::path::Path;

/// A result file larger than this is not a stepkit result: it is refused unread. A `test` result of a
/// very large suite with every failure's text stays well under it.
pub const MAX_RESULT_BYTES: u64 = 64 * 1024 * 1024;

/// Why a result file could not be read. Each reader words it for its own flag, naming the file.
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
    #[error(
        "it is a `{command}` result of schema version {version}, newer than the {known} this stepkit \
         reads; read it with the stepkit that wrote it or a newer one"
    )]
    Newer { command: String, version: u64, known: u32 },
    #[error("it is not a stepkit result file ({0}); pass a file written by --result-file")]
    NotAResult(serde_json::Error),
}

/// The envelope every step's result file has: the `Outcome` (`report::render_json`) or the error that
/// stopped the step (`report::render_error_json`: `error` set, no `data`). `D` is the step's `data`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct ResultFile<D> {
    /// The stepkit command that wrote it: `test`, `junit merge`, `gate`, ...
    pub command: String,
    /// `passed`, `failed`, `nothing-ran`, `timed-out`, `interrupted`, `terminated`, or `error` (then
    /// `error` is set and `data` absent).
    pub verdict: String,
    /// The process exit code (docs/exit-codes.md).
    #[serde(default)]
    pub exit_code: Option<i32>,
    /// One line that says what happened (absent in an error result).
    #[serde(default)]
    pub headline: Option<String>,
    /// What stopped the step (only in an error result).
    #[serde(default)]
    pub error: Option<String>,
    /// Things the user should know that did not change the verdict.
    #[serde(default)]
    pub warnings: Vec<String>,
    /// Messages attached to files and lines (GitHub annotations).
    #[serde(default)]
    pub annotations: Vec<crate::report::Annotation>,
    /// The step outputs ($GITHUB_OUTPUT), name -> value.
    #[serde(default)]
    pub outputs: BTreeMap<String, String>,
    /// The step's own detail, with its `schema_version`; absent in an error result.
    pub data: Option<D>,
}

/// What a finished step writes (`report::render_json`): the envelope of `ResultFile`, borrowed.
#[derive(Debug, Serialize)]
pub struct Finished<'a> {
    pub command: &'a str,
    pub verdict: crate::report::Verdict,
    pub exit_code: i32,
    pub headline: &'a str,
    pub warnings: &'a [String],
    pub annotations: &'a [crate::report::Annotation],
    pub outputs: BTreeMap<&'a str, &'a str>,
    pub data: &'a serde_json::Value,
}

/// What a step stopped by an error writes (`report::render_error_json`): no headline, no data.
#[derive(Debug, Serialize)]
pub struct Stopped<'a> {
    pub command: &'a str,
    /// Always `error`.
    pub verdict: &'static str,
    pub exit_code: i32,
    pub error: &'a str,
}

/// The result file at `path` as JSON, read through the cap; a result newer than this stepkit knows is
/// refused (one without a `schema_version`, from an older stepkit, is read).
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
    let value = serde_json::from_slice(&bytes).map_err(ReadError::NotJson)?;
    check_version(&value)?;
    Ok(value)
}

/// `read`, with a file that does not exist (yet: a first run) as `None`.
pub fn read_if_present(path: &Path) -> Result<Option<serde_json::Value>, ReadError> {
    match read(path) {
        Ok(value) => Ok(Some(value)),
        Err(ReadError::Missing) => Ok(None),
        Err(e) => Err(e),
    }
}

/// `read`, into the typed envelope with `D` as its data (`serde_json::Value` for any step's).
pub fn read_typed<D: DeserializeOwned>(path: &Path) -> Result<ResultFile<D>, ReadError> {
    parse(read(path)?)
}

/// A result already read (`read`) into the typed envelope.
pub fn parse<D: DeserializeOwned>(value: serde_json::Value) -> Result<ResultFile<D>, ReadError> {
    serde_json::from_value(value).map_err(ReadError::NotAResult)
}

/// Refuses `data.schema_version` above the version this stepkit writes for the same command. Commands
/// this stepkit does not know (a newer stepkit's step) pass: their envelope is still readable.
fn check_version(value: &serde_json::Value) -> Result<(), ReadError> {
    let command = value.get("command").and_then(serde_json::Value::as_str).unwrap_or_default();
    let version = value.pointer("/data/schema_version").and_then(serde_json::Value::as_u64);
    match (version, known_version(command)) {
        (Some(version), Some(known)) if version > u64::from(known) => {
            Err(ReadError::Newer { command: command.to_string(), version, known })
        }
        _ => Ok(()),
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

    #[test]
    fn a_newer_schema_version_is_refused_an_absent_one_read() {
        let dir = tempfile::tempdir().unwrap();
        let at = |name: &str, text: &str| {
            let path = dir.path().join(name);
            std::fs::write(&path, text).unwrap();
            read_typed::<serde_json::Value>(&path)
        };
        let known = known_version("junit merge").unwrap();
        let newer = format!(
            r#"{{"command":"junit merge","verdict":"passed","data":{{"schema_version":{}}}}}"#,
            known + 1
        );
        let err = at("newer.json", &newer).unwrap_err();
        assert!(matches!(err, ReadError::Newer { .. }), "{err}");
        let text = err.to_string();
        assert!(text.contains("`junit merge`") && text.contains("newer than the"), "{text}");

        let current =
            format!(r#"{{"command":"junit merge","verdict":"passed","data":{{"schema_version":{known}}}}}"#);
        assert_eq!(at("current.json", &current).unwrap().data.unwrap()["schema_version"], known);
        let older =
            at("older.json", r#"{"command":"junit merge","verdict":"failed","exit_code":1,"data":{}}"#);
        assert_eq!(older.unwrap().exit_code, Some(1), "a result of an older stepkit is read");
        let future_step =
            at("future.json", r#"{"command":"teleport","verdict":"passed","data":{"schema_version":9}}"#);
        assert_eq!(future_step.unwrap().command, "teleport", "an unknown step's envelope is still read");
        let error =
            at("error.json", r#"{"command":"gate","verdict":"error","exit_code":3,"error":"boom"}"#).unwrap();
        assert_eq!((error.error.as_deref(), error.data), (Some("boom"), None));
        let foreign = at("foreign.json", r#"{"name":"package.json"}"#).unwrap_err();
        assert!(foreign.to_string().contains("not a stepkit result file"), "{foreign}");
    }
}
