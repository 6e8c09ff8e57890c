//! Input reports: glob expansion, parallel reading, separate runs kept apart, and one `Merger` that keeps unreadable inputs as error cases.

use super::JunitError;
use crate::junit::{
    implausible_times, keep_apart, overlapping, read_file, set_times_aside, Merger, ReadError, Report,
};
use crate::patterns::{expand_patterns, Input};
use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;

/// What was read: the merged report, and what went wrong per input.
pub struct Inputs {
    pub report: Report,
    /// Files that were read.
    pub files: Vec<PathBuf>,
    /// One message per input that could not be read or matched nothing.
    pub problems: Vec<String>,
    /// One message per input that was read but not believed in full (times that are not seconds).
    pub warnings: Vec<String>,
    /// Inputs that report tests another input reports too: separate runs, kept apart by suite name.
    pub separate_runs: Vec<PathBuf>,
    /// Cases folded into an earlier case with the same identity.
    pub duplicates: u64,
}

impl Inputs {
    /// What the result file says about the inputs (`junit merge` and `junit summary` alike).
    pub fn data(&self) -> crate::result::junit::InputsData {
        crate::result::junit::InputsData {
            files: self.files.clone(),
            problems: self.problems.clone(),
            warnings: self.warnings.clone(),
            duplicates: self.duplicates,
            separate_runs: self.separate_runs.clone(),
        }
    }
}

/// Reads every input into one merged report. Nothing is lost: an input that cannot be read
/// becomes an error case naming the file and the reason. Each file is a run of its own: its cases
/// fold only with each other, unless `fold_across_files` (the user says the files are retries).
pub fn collect_inputs(patterns: &[String], fold_across_files: bool) -> Result<Inputs, JunitError> {
    let inputs = expand_patterns(patterns)?;
    let paths: Vec<PathBuf> =
        inputs.iter().filter_map(|i| if let Input::File(p) = i { Some(p.clone()) } else { None }).collect();
    let mut parsed = read_all(&paths);
    let warnings = set_implausible_times_aside(&paths, &mut parsed);
    let separate_runs = if fold_across_files { Vec::new() } else { keep_runs_apart(&paths, &mut parsed) };
    let mut parsed = parsed.into_iter().enumerate();
    let mut merger = Merger::new();
    let mut files = Vec::new();
    let mut problems = Vec::new();
    for input in inputs {
        match input {
            Input::File(path) => match parsed.next().expect("one result per file") {
                (index, Ok(report)) => {
                    merger.add_run(report, if fold_across_files { 0 } else { index as u32 });
                    files.push(path);
                }
                (_, Err(err)) => {
                    let message = format!("failed to {err}");
                    merger.add_unreadable(&path.display().to_string(), &message);
                    problems.push(message);
                }
            },
            Input::NoMatch(pattern) => {
                let message =
                    format!("no file matches `{pattern}`: did the test step write its report there?");
                merger.add_unreadable(&pattern, &message);
                problems.push(message);
            }
        }
    }
    let duplicates = merger.duplicates();
    Ok(Inputs { report: merger.finish(), files, problems, warnings, separate_runs, duplicates })
}

/// Finds reports whose times cannot be seconds, drops those times, and says so per file.
fn set_implausible_times_aside(paths: &[PathBuf], parsed: &mut [Result<Report, ReadError>]) -> Vec<String> {
    let mut warnings = Vec::new();
    for (path, result) in paths.iter().zip(parsed.iter_mut()) {
        let Ok(report) = result else { continue };
        if let Some(reason) = implausible_times(report) {
            warnings.push(format!(
                "{}: its times are not seconds ({reason}; container-structure-test writes nanoseconds): they are left out of the total time and the slowest tests",
                path.display()
            ));
            set_times_aside(report, &reason);
        }
    }
    warnings
}

/// Renames apart the reports that share a test with another report, and returns their paths.
fn keep_runs_apart(paths: &[PathBuf], parsed: &mut [Result<Report, ReadError>]) -> Vec<PathBuf> {
    let readable: Vec<(usize, &Report)> =
        parsed.iter().enumerate().filter_map(|(i, r)| r.as_ref().ok().map(|r| (i, r))).collect();
    if readable.len() < 2 {
        return Vec::new();
    }
    let flags = overlapping(&readable.iter().map(|(_, r)| *r).collect::<Vec<_>>());
    let apart: Vec<usize> =
        readable.iter().zip(flags).filter(|(_, overlaps)| *overlaps).map(|((i, _), _)| *i).collect();
    for &index in &apart {
        if let Ok(report) = &mut parsed[index] {
            keep_apart(report, &paths[index].display().to_string());
        }
    }
    apart.into_iter().map(|i| paths[i].clone()).collect()
}

/// Parses files on all cores, returning results in the order of `paths`.
fn read_all(paths: &[PathBuf]) -> Vec<Result<Report, ReadError>> {
    let workers = std::thread::available_parallelism().map_or(1, |n| n.get()).min(paths.len()).max(1);
    let next = AtomicUsize::new(0);
    let slots: Vec<Mutex<Option<Result<Report, ReadError>>>> =
        paths.iter().map(|_| Mutex::new(None)).collect();
    std::thread::scope(|scope| {
        for _ in 0..workers {
            scope.spawn(|| loop {
                let index = next.fetch_add(1, Ordering::Relaxed);
                let Some(path) = paths.get(index) else { break };
                let result = read_file(path);
                *slots[index].lock().expect("no reader panics while holding the lock") = Some(result);
            });
        }
    });
    slots.into_iter().map(|slot| slot.into_inner().ok().flatten().expect("every file was read")).collect()
}
