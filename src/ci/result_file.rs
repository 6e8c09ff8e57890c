//! The JSON result file a Jenkins pipeline reads back with `readJSON`, written atomically.

use std::io::Write;
use std::path::Path;

use super::CiError;

/// Write `value` as pretty JSON to `path`, creating parent directories; readers never see a partial file.
pub fn write_result_file(path: &Path, value: &serde_json::Value) -> Result<(), CiError> {
    let error = |source| CiError::WriteResult { path: path.to_path_buf(), source };
    let mut json = serde_json::to_vec_pretty(value).map_err(|e| error(e.into()))?;
    json.push(b'\n');

    crate::fs::write_atomically(path, |file| file.write_all(&json)).map_err(error)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;
    use std::fs;

    #[test]
    fn writes_pretty_json_creating_parent_dirs() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("reports/deep/result.json");
        let value = json!({"verdict": "passed", "tests": {"total": 3}});
        write_result_file(&path, &value).unwrap();
        let text = fs::read_to_string(&path).unwrap();
        assert!(text.contains("\n  \"tests\": {"), "pretty-printed: {text}");
        assert!(text.ends_with("}\n"));
        assert_eq!(serde_json::from_str::<serde_json::Value>(&text).unwrap(), value);
    }

    #[test]
    fn replaces_an_existing_file_and_leaves_no_temp_files() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("result.json");
        fs::write(&path, "old and much longer content than the new one").unwrap();
        write_result_file(&path, &json!(1)).unwrap();
        assert_eq!(fs::read_to_string(&path).unwrap(), "1\n");
        let names: Vec<_> = fs::read_dir(dir.path()).unwrap().map(|e| e.unwrap().file_name()).collect();
        assert_eq!(names, ["result.json"]);
    }

    #[cfg(unix)]
    #[test]
    fn result_file_is_readable_by_others_per_umask() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("result.json");
        write_result_file(&path, &json!({})).unwrap();
        // The process umask, from Linux's /proc; elsewhere skip.
        let Some(umask) = fs::read_to_string("/proc/self/status").ok().and_then(|s| {
            let line = s.lines().find(|l| l.starts_with("Umask:"))?.to_string();
            u32::from_str_radix(line.trim_start_matches("Umask:").trim(), 8).ok()
        }) else {
            return;
        };
        let mode = fs::metadata(&path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o666 & !umask, "the umask's mode, not a private temp file's 0600: {mode:o}");
    }

    #[test]
    fn failure_names_the_file_and_cleans_up() {
        let dir = tempfile::tempdir().unwrap();
        // A directory where the file should go: the rename fails.
        let path = dir.path().join("result.json");
        fs::create_dir(&path).unwrap();
        fs::write(path.join("keep"), "x").unwrap();
        let err = write_result_file(&path, &json!({})).unwrap_err();
        let msg = err.to_string();
        assert!(msg.starts_with("write result file ") && msg.contains("result.json"), "{msg}");
        let names: Vec<_> = fs::read_dir(dir.path()).unwrap().map(|e| e.unwrap().file_name()).collect();
        assert_eq!(names, ["result.json"], "the temp file is removed");

        // A parent that is a file: creating the directory fails.
        let blocker = dir.path().join("file");
        fs::write(&blocker, "x").unwrap();
        assert!(write_result_file(&blocker.join("r.json"), &json!({})).is_err());
    }
}
