//! What `stepkit test` plans and runs: test files with their cases, batches of them, and a shard.

use std::fmt;

/// One test case, named the way its tool selects it (`id`) and the way its JUnit names it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct CaseRef {
    /// What the preset passes to select it: a pytest node id, `Class::method` for PHPUnit, `TestX` for Go.
    pub id: String,
    /// The JUnit `classname` this case is reported under, when known.
    pub classname: Option<String>,
    /// The JUnit `name` this case is reported under.
    pub name: String,
}

/// A test file (PHPUnit file, pytest module, Go package) and its cases in file order.
/// `cases` is empty when the preset cannot list cases; such a file is never split.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct TestFile {
    pub path: String,
    pub cases: Vec<CaseRef>,
}

impl TestFile {
    /// A file whose cases are not known.
    pub fn whole(path: impl Into<String>) -> Self {
        TestFile { path: path.into(), cases: Vec::new() }
    }
}

/// A piece of work: a whole file, or some of its cases (in file order).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Part {
    /// Index into the plan's files.
    pub file: usize,
    /// `None` runs the whole file; otherwise these case indices, ascending.
    pub cases: Option<Vec<usize>>,
}

/// What one test process runs.
#[derive(Debug, Clone, PartialEq)]
pub struct Batch {
    /// 1-based, in the order batches are handed out.
    pub id: usize,
    pub parts: Vec<Part>,
    /// Predicted duration in seconds.
    pub expected: f64,
}

impl Batch {
    /// True when the batch runs only some cases of a file (a split file).
    pub fn is_split(&self) -> bool {
        self.parts.iter().any(|p| p.cases.is_some())
    }
}

/// `--shard K/N`: this job runs part K of N.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Shard {
    pub index: u32,
    pub total: u32,
}

impl std::str::FromStr for Shard {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let (k, n) = s.split_once('/').ok_or_else(|| format!("`{s}` is not K/N (for example 2/4)"))?;
        let index: u32 = k.trim().parse().map_err(|_| format!("`{k}` in `{s}` is not a number"))?;
        let total: u32 = n.trim().parse().map_err(|_| format!("`{n}` in `{s}` is not a number"))?;
        if total == 0 || index == 0 || index > total {
            return Err(format!(
                "`{s}`: K must be between 1 and N (shards are numbered from 1, like matrix jobs)"
            ));
        }
        Ok(Shard { index, total })
    }
}

impl fmt::Display for Shard {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.index, self.total)
    }
}

/// `--split`: how finely work may be divided.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum SplitMode {
    /// Whole files only (ParaTest's default).
    File,
    /// Every case in its own process (ParaTest's `--functional`): pays start-up per case.
    Case,
    /// Whole files, except a file whose time would dominate a worker is split into batches of cases.
    #[default]
    Auto,
}

impl SplitMode {
    /// The name `--split` takes (and `FromStr` reads back).
    pub fn name(self) -> &'static str {
        match self {
            SplitMode::File => "file",
            SplitMode::Case => "case",
            SplitMode::Auto => "auto",
        }
    }
}

impl std::str::FromStr for SplitMode {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "file" => Ok(SplitMode::File),
            "case" => Ok(SplitMode::Case),
            "auto" => Ok(SplitMode::Auto),
            other => Err(format!("unknown split mode `{other}`; use file, case or auto")),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shard_parses_and_validates() {
        assert_eq!("2/4".parse::<Shard>().unwrap(), Shard { index: 2, total: 4 });
        assert!("0/4".parse::<Shard>().is_err());
        assert!("5/4".parse::<Shard>().is_err());
        assert!("x".parse::<Shard>().unwrap_err().contains("K/N"));
    }
}
