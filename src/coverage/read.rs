//! Reading coverage reports: the format is told from the content, so shards may mix tools.
//! lcov and Go cover profiles are read here; Cobertura and Clover in `read_xml`.

use super::{
    read_xml, Block, Branches, Counting, Coverage, CoverageError, FileCoverage, Format, Line, PathRoot, Taken,
};
use std::collections::BTreeMap;
use std::path::Path;

/// Reads one report, whatever its format, with paths made relative to `root`.
pub fn read_file(path: &Path, root: &PathRoot) -> Result<(Coverage, Format), CoverageError> {
    let text = std::fs::read_to_string(path)
        .map_err(|source| CoverageError::Read { path: path.to_path_buf(), source })?;
    read_str(&text, root).map_err(|message| CoverageError::Parse { path: path.to_path_buf(), message })
}

/// Reads report text; the error says what was expected.
pub fn read_str(text: &str, root: &PathRoot) -> Result<(Coverage, Format), String> {
    let start = text.trim_start_matches('\u{feff}').trim_start();
    if start.is_empty() {
        return Err("the file is empty; did the test tool finish writing it?".into());
    }
    if start.starts_with("mode:") {
        return read_go(start, root).map(|c| (c, Format::GoProfile));
    }
    if start.starts_with('<') {
        return read_xml::read(start, root);
    }
    if start.lines().any(|l| l.starts_with("SF:")) {
        return read_lcov(start, root).map(|c| (c, Format::Lcov));
    }
    Err("it is not Cobertura or Clover XML, lcov (SF:/DA: records) or a Go cover profile (mode: ...)".into())
}

fn read_lcov(text: &str, root: &PathRoot) -> Result<Coverage, String> {
    let mut coverage = Coverage::default();
    let mut current: Option<(String, FileCoverage)> = None;
    let mut branches: BTreeMap<u32, BTreeMap<(u32, u32), u64>> = BTreeMap::new();
    let bad = |n: usize, line: &str, expected: &str| format!("line {}: `{line}` is not {expected}", n + 1);
    for (n, raw) in text.lines().enumerate() {
        let line = raw.trim();
        if let Some(path) = line.strip_prefix("SF:") {
            current = Some((root.normalize(path, None), FileCoverage::default()));
        } else if let Some(rest) = line.strip_prefix("DA:") {
            let (_, file) = current.as_mut().ok_or_else(|| bad(n, line, "inside an SF: record"))?;
            let mut fields = rest.split(',');
            let number = fields.next().and_then(|f| f.trim().parse::<u32>().ok());
            let hits = fields.next().and_then(|f| f.trim().parse::<f64>().ok());
            let (Some(number), Some(hits)) = (number, hits) else { return Err(bad(n, line, "DA:LINE,HITS")) };
            // Some generators write negative or fractional counts; a hit is a whole, non-negative number.
            file.add_line(number, Line { hits: hits.max(0.0) as u64, branches: None });
        } else if let Some(rest) = line.strip_prefix("BRDA:") {
            if current.is_none() {
                return Err(bad(n, line, "inside an SF: record"));
            }
            let fields: Vec<&str> = rest.split(',').map(str::trim).collect();
            let parsed = match fields.as_slice() {
                [l, block, branch, taken] => {
                    match (l.parse::<u32>(), block.parse::<u32>(), branch.parse::<u32>()) {
                        (Ok(l), Ok(block), Ok(branch)) => {
                            // `-`: the branch's line never ran.
                            let hits = if *taken == "-" { Some(0) } else { taken.parse::<u64>().ok() };
                            hits.map(|h| (l, (block, branch), h))
                        }
                        _ => None,
                    }
                }
                _ => None,
            };
            let (l, id, hits) = parsed.ok_or_else(|| bad(n, line, "BRDA:LINE,BLOCK,BRANCH,TAKEN"))?;
            *branches.entry(l).or_default().entry(id).or_insert(0) += hits;
        } else if line == "end_of_record" {
            let (path, mut file) = current.take().ok_or_else(|| bad(n, line, "the end of an SF: record"))?;
            for (l, each) in std::mem::take(&mut branches) {
                file.add_line(
                    l,
                    Line {
                        hits: 0,
                        branches: Some(Branches { total: each.len() as u32, taken: Taken::Each(each) }),
                    },
                );
            }
            coverage.merge(Coverage { files: BTreeMap::from([(path, file)]) });
        }
    }
    if current.is_some() {
        return Err("the last SF: record has no end_of_record: the file was cut short".into());
    }
    Ok(coverage)
}

fn read_go(text: &str, root: &PathRoot) -> Result<Coverage, String> {
    let mut lines = text.lines().enumerate();
    let (_, first) = lines.next().unwrap_or((0, ""));
    let counting = match first.trim().strip_prefix("mode:").map(str::trim) {
        Some("set") => Counting::Flags,
        Some("count" | "atomic") => Counting::Counts,
        other => {
            return Err(format!(
                "line 1: unknown cover mode `{}`; expected set, count or atomic",
                other.unwrap_or_default()
            ))
        }
    };
    let mut files: BTreeMap<String, FileCoverage> = BTreeMap::new();
    for (n, raw) in lines {
        let line = raw.trim();
        // `go test` concatenates one profile per package, each with its own mode line.
        if line.is_empty() || line.starts_with("mode:") {
            continue;
        }
        let (name, block, count) = parse_go_line(line).ok_or_else(|| {
            format!("line {}: `{line}` is not FILE:LINE.COL,LINE.COL STATEMENTS COUNT", n + 1)
        })?;
        let file = files
            .entry(root.go_path(name))
            .or_insert_with(|| FileCoverage { counting, ..FileCoverage::default() });
        file.add_block(block, count);
    }
    Ok(Coverage { files })
}

fn parse_go_line(line: &str) -> Option<(&str, Block, u64)> {
    let (rest, count) = line.rsplit_once(' ')?;
    let (rest, statements) = rest.rsplit_once(' ')?;
    let (name, range) = rest.rsplit_once(':')?;
    let (start, end) = range.split_once(',')?;
    let pos = |p: &str| -> Option<(u32, u32)> {
        let (l, c) = p.split_once('.')?;
        Some((l.parse().ok()?, c.parse().ok()?))
    };
    let ((start_line, start_col), (end_line, end_col)) = (pos(start)?, pos(end)?);
    let block = Block { start_line, start_col, end_line, end_col, statements: statements.parse().ok()? };
    Some((name, block, count.parse().ok()?))
}
