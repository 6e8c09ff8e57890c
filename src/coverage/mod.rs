//! Code coverage: one model for Cobertura, Clover, lcov and Go cover profiles; read, merge, write.
//!
//! Merging is exact where the formats carry identities: line hits are summed per file and line,
//! Go blocks per source range, lcov/Clover branches per (block, branch), coverage.py's missing
//! branches intersected. Tools that record only *whether* code ran (Go's `set` mode, coverage.py)
//! are merged with OR, as their own combine commands do, so a merge of shards equals a serial run.

mod paths;
mod read;
mod read_xml;
mod write;

pub use paths::PathRoot;
pub use read::{read_file, read_str};
pub use write::{write, write_file};

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// A coverage report format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Deserialize, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Format {
    Cobertura,
    Clover,
    Lcov,
    /// `go test -coverprofile` (input only).
    GoProfile,
}

impl Format {
    /// The name users type.
    pub fn name(self) -> &'static str {
        match self {
            Format::Cobertura => "cobertura",
            Format::Clover => "clover",
            Format::Lcov => "lcov",
            Format::GoProfile => "go",
        }
    }
}

impl std::str::FromStr for Format {
    type Err = String;

    /// Output formats only: a Go profile is read, never written.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_ascii_lowercase().as_str() {
            "cobertura" => Ok(Format::Cobertura),
            "clover" => Ok(Format::Clover),
            "lcov" => Ok(Format::Lcov),
            other => Err(format!("`{other}` is not a coverage format; use cobertura, clover or lcov")),
        }
    }
}

/// Whether a file's hits count executions (or tests) or only say that a line ran.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Counting {
    #[default]
    Counts,
    /// 0 or 1 only (Go `set` mode, coverage.py): merged with OR, never summed past 1.
    Flags,
}

/// A whole report: source files by normalised path (relative to the root, `/`-separated).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Coverage {
    pub files: BTreeMap<String, FileCoverage>,
}

/// One source file.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct FileCoverage {
    pub counting: Counting,
    pub lines: BTreeMap<u32, Line>,
    /// Go cover-profile blocks, kept until `finish` turns them into lines, so merges stay exact.
    pub blocks: BTreeMap<Block, u64>,
}

/// One executable line.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Line {
    pub hits: u64,
    pub branches: Option<Branches>,
}

/// A Go block: `file:startLine.startCol,endLine.endCol statements`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Block {
    pub start_line: u32,
    pub start_col: u32,
    pub end_line: u32,
    pub end_col: u32,
    pub statements: u32,
}

/// The branches that start on one line.
#[derive(Debug, Clone, PartialEq)]
pub struct Branches {
    /// How many branches the line has.
    pub total: u32,
    pub taken: Taken,
}

/// What is known about which branches were taken; the formats differ in how much they say.
#[derive(Debug, Clone, PartialEq)]
pub enum Taken {
    /// Each branch by identity (lcov `BRDA` block and branch; Clover true/false): hits per branch.
    Each(BTreeMap<(u32, u32), u64>),
    /// coverage.py's `missing-branches`: the destinations not taken.
    Missing(BTreeSet<String>),
    /// Only a count (`condition-coverage="50% (1/2)"` from other tools): merged as the largest,
    /// a lower bound that never claims a branch nobody saw taken.
    Covered(u32),
}

impl Branches {
    /// How many of the line's branches were taken.
    pub fn covered(&self) -> u32 {
        match &self.taken {
            Taken::Each(each) => each.values().filter(|h| **h > 0).count() as u32,
            Taken::Missing(missing) => self.total.saturating_sub(missing.len() as u32),
            Taken::Covered(n) => (*n).min(self.total),
        }
    }

    fn merge(&mut self, other: Branches) {
        let (mine, theirs) = (self.covered(), other.covered());
        self.total = self.total.max(other.total);
        let taken = std::mem::replace(&mut self.taken, Taken::Covered(0));
        self.taken = match (taken, other.taken) {
            (Taken::Each(mut a), Taken::Each(b)) => {
                for (id, hits) in b {
                    *a.entry(id).or_insert(0) += hits;
                }
                Taken::Each(a)
            }
            // A branch is missing from the merge only when every shard missed it.
            (Taken::Missing(a), Taken::Missing(b)) => Taken::Missing(a.intersection(&b).cloned().collect()),
            // Different kinds share no identities: keep the larger count, never a sum that could over-claim.
            _ => Taken::Covered(mine.max(theirs)),
        };
        if let Taken::Each(each) = &self.taken {
            self.total = self.total.max(each.len() as u32);
        }
    }
}

impl Line {
    fn merge(&mut self, other: Line, counting: Counting) {
        self.hits = match counting {
            Counting::Counts => self.hits.saturating_add(other.hits),
            Counting::Flags => self.hits.max(other.hits).min(1),
        };
        match (&mut self.branches, other.branches) {
            (Some(mine), Some(theirs)) => mine.merge(theirs),
            (mine @ None, Some(theirs)) => *mine = Some(theirs),
            _ => {}
        }
    }
}

impl FileCoverage {
    /// Adds a line's data (summed, or OR-ed for flags).
    pub fn add_line(&mut self, number: u32, line: Line) {
        let counting = self.counting;
        match self.lines.get_mut(&number) {
            Some(existing) => existing.merge(line, counting),
            None => {
                self.lines.insert(number, line);
            }
        }
    }

    /// Adds a Go block's count.
    pub fn add_block(&mut self, block: Block, count: u64) {
        let counting = self.counting;
        let entry = self.blocks.entry(block).or_insert(0);
        *entry = match counting {
            Counting::Counts => entry.saturating_add(count),
            Counting::Flags => (*entry).max(count).min(1),
        };
    }

    fn merge(&mut self, other: FileCoverage) {
        // Flags stay flags only when both sides are flags: a count is never turned into a flag.
        if other.counting == Counting::Counts {
            self.counting = Counting::Counts;
        }
        for (number, line) in other.lines {
            self.add_line(number, line);
        }
        for (block, count) in other.blocks {
            self.add_block(block, count);
        }
    }

    /// Go blocks become lines: a line's hits are the most any block on it ran (a line is as
    /// covered as `go tool cover -html` colours it).
    fn finish(&mut self) {
        for (block, count) in std::mem::take(&mut self.blocks) {
            for number in block.start_line..=block.end_line {
                let line = self.lines.entry(number).or_default();
                line.hits = line.hits.max(count);
            }
        }
    }
}

impl Coverage {
    /// Merges another report into this one.
    pub fn merge(&mut self, other: Coverage) {
        for (path, file) in other.files {
            match self.files.get_mut(&path) {
                Some(existing) => existing.merge(file),
                None => {
                    self.files.insert(path, file);
                }
            }
        }
    }

    /// Turns Go blocks into lines; call once, after all merges, before writing or counting.
    pub fn finish(&mut self) {
        for file in self.files.values_mut() {
            file.finish();
        }
    }

    /// Totals over all files.
    pub fn totals(&self) -> Totals {
        let mut t = Totals { files: self.files.len() as u64, ..Totals::default() };
        for file in self.files.values() {
            let f = file.totals();
            t.lines_valid += f.lines_valid;
            t.lines_covered += f.lines_covered;
            t.branches_valid += f.branches_valid;
            t.branches_covered += f.branches_covered;
        }
        t
    }
}

impl FileCoverage {
    /// This file's totals.
    pub fn totals(&self) -> Totals {
        let mut t = Totals { files: 1, ..Totals::default() };
        for line in self.lines.values() {
            t.lines_valid += 1;
            t.lines_covered += u64::from(line.hits > 0);
            if let Some(b) = &line.branches {
                t.branches_valid += u64::from(b.total);
                t.branches_covered += u64::from(b.covered());
            }
        }
        t
    }
}

/// Line and branch totals.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct Totals {
    pub files: u64,
    pub lines_valid: u64,
    pub lines_covered: u64,
    pub branches_valid: u64,
    pub branches_covered: u64,
}

impl Totals {
    /// The step outputs for a report written at `path` (`coverage merge` and `test --coverage`).
    pub fn outputs(&self, path: &Path) -> Vec<(String, String)> {
        vec![
            ("coverage".into(), path.display().to_string()),
            ("line-rate".into(), format!("{:.4}", self.line_rate())),
            ("lines-covered".into(), self.lines_covered.to_string()),
            ("lines-valid".into(), self.lines_valid.to_string()),
            ("branch-rate".into(), format!("{:.4}", self.branch_rate())),
        ]
    }

    /// The totals with their rates, as result files carry them.
    pub fn data(&self) -> crate::result::coverage::TotalsData {
        crate::result::coverage::TotalsData {
            files: self.files,
            lines_valid: self.lines_valid,
            lines_covered: self.lines_covered,
            line_rate: self.line_rate(),
            branches_valid: self.branches_valid,
            branches_covered: self.branches_covered,
            branch_rate: self.branch_rate(),
        }
    }

    /// Covered lines as a fraction (1 when there is nothing to cover).
    pub fn line_rate(&self) -> f64 {
        rate(self.lines_covered, self.lines_valid)
    }

    /// Covered branches as a fraction (1 when there are none).
    pub fn branch_rate(&self) -> f64 {
        rate(self.branches_covered, self.branches_valid)
    }

    /// "lines 45/50 (90.0%), branches 3/4 (75.0%)".
    pub fn describe(&self) -> String {
        let mut text =
            format!("lines {}/{} ({:.1}%)", self.lines_covered, self.lines_valid, self.line_rate() * 100.0);
        if self.branches_valid > 0 {
            text.push_str(&format!(
                ", branches {}/{} ({:.1}%)",
                self.branches_covered,
                self.branches_valid,
                self.branch_rate() * 100.0
            ));
        }
        text
    }
}

fn rate(covered: u64, valid: u64) -> f64 {
    if valid == 0 {
        1.0
    } else {
        covered as f64 / valid as f64
    }
}

/// A coverage report that could not be read or written.
#[derive(Debug, thiserror::Error)]
pub enum CoverageError {
    #[error("read coverage report {path}: {source}; check that the file exists and is readable")]
    Read { path: PathBuf, source: std::io::Error },
    #[error("parse coverage report {path}: {message}")]
    Parse { path: PathBuf, message: String },
    #[error("write coverage report {path}: {source}; check that the directory is writable")]
    Write { path: PathBuf, source: std::io::Error },
    #[error("find coverage reports `{pattern}`: {message}")]
    Pattern { pattern: String, message: String },
}

impl crate::error::ModuleError for CoverageError {
    /// Whether the user can fix it by giving other input (exit 2) rather than the machine (exit 3).
    fn is_usage(&self) -> bool {
        !matches!(self, CoverageError::Write { .. })
    }
}

/// Reads and merges `paths` (any mix of formats), then turns Go blocks into lines.
/// Returns the merge and each input's detected format.
pub fn merge_files(paths: &[PathBuf], root: &PathRoot) -> Result<(Coverage, Vec<Format>), CoverageError> {
    let mut merged = Coverage::default();
    let mut formats = Vec::with_capacity(paths.len());
    for path in paths {
        let (coverage, format) = read_file(path, root)?;
        merged.merge(coverage);
        formats.push(format);
    }
    merged.finish();
    Ok((merged, formats))
}

#[cfg(test)]
mod tests;
