//! Writing Cobertura, Clover and lcov from the merged model. Method-level data is not carried
//! (the formats disagree on it); lines and branches are, with totals recomputed from them.

use super::{Branches, Coverage, CoverageError, FileCoverage, Format, PathRoot, Taken, Totals};
use quick_xml::escape::escape;
use std::collections::BTreeMap;
use std::io::{self, Write};
use std::path::Path;

/// Writes `coverage` to `path` atomically (a reader never sees half a report).
pub fn write_file(
    coverage: &Coverage,
    format: Format,
    path: &Path,
    root: &PathRoot,
) -> Result<(), CoverageError> {
    crate::fs::write_atomically(path, |file| {
        let mut out = io::BufWriter::new(file);
        write(coverage, format, root, &mut out)?;
        out.flush()
    })
    .map_err(|source| CoverageError::Write { path: path.to_path_buf(), source })
}

/// Writes `coverage` in `format`; a Go profile cannot be written (it has blocks, not lines).
pub fn write(coverage: &Coverage, format: Format, root: &PathRoot, out: &mut impl Write) -> io::Result<()> {
    match format {
        Format::Cobertura | Format::GoProfile => cobertura(coverage, root, out),
        Format::Clover => clover(coverage, out),
        Format::Lcov => lcov(coverage, out),
    }
}

fn now() -> chrono::DateTime<chrono::Utc> {
    chrono::Utc::now()
}

fn rate(value: f64) -> String {
    let text = format!("{value:.4}");
    text.trim_end_matches('0').trim_end_matches('.').to_string()
}

/// Files grouped by directory: Cobertura's packages.
fn by_directory(coverage: &Coverage) -> BTreeMap<String, Vec<(&String, &FileCoverage)>> {
    let mut out: BTreeMap<String, Vec<(&String, &FileCoverage)>> = BTreeMap::new();
    for (path, file) in &coverage.files {
        let dir = path.rsplit_once('/').map(|(d, _)| d.to_string()).unwrap_or_default();
        out.entry(dir).or_default().push((path, file));
    }
    out
}

fn sum(files: &[(&String, &FileCoverage)]) -> Totals {
    let mut t = Totals::default();
    for (_, file) in files {
        let f = file.totals();
        t.files += 1;
        t.lines_valid += f.lines_valid;
        t.lines_covered += f.lines_covered;
        t.branches_valid += f.branches_valid;
        t.branches_covered += f.branches_covered;
    }
    t
}

fn cobertura(coverage: &Coverage, root: &PathRoot, out: &mut impl Write) -> io::Result<()> {
    let t = coverage.totals();
    writeln!(out, r#"<?xml version="1.0" encoding="UTF-8"?>"#)?;
    writeln!(
        out,
        r#"<coverage line-rate="{}" branch-rate="{}" lines-covered="{}" lines-valid="{}" branches-covered="{}" branches-valid="{}" complexity="0" version="stepkit {}" timestamp="{}">"#,
        rate(t.line_rate()),
        rate(t.branch_rate()),
        t.lines_covered,
        t.lines_valid,
        t.branches_covered,
        t.branches_valid,
        env!("CARGO_PKG_VERSION"),
        now().timestamp_millis()
    )?;
    writeln!(
        out,
        "  <sources>\n    <source>{}</source>\n  </sources>\n  <packages>",
        escape(root.display())
    )?;
    for (dir, files) in by_directory(coverage) {
        let p = sum(&files);
        let name = if dir.is_empty() { ".".to_string() } else { dir.replace('/', ".") };
        writeln!(
            out,
            r#"    <package name="{}" line-rate="{}" branch-rate="{}" complexity="0">"#,
            escape(&name),
            rate(p.line_rate()),
            rate(p.branch_rate())
        )?;
        writeln!(out, "      <classes>")?;
        for (path, file) in files {
            let f = file.totals();
            let class = path.rsplit('/').next().unwrap_or(path);
            writeln!(
                out,
                r#"        <class name="{}" filename="{}" line-rate="{}" branch-rate="{}" complexity="0">"#,
                escape(class),
                escape(path.as_str()),
                rate(f.line_rate()),
                rate(f.branch_rate())
            )?;
            writeln!(out, "          <methods/>\n          <lines>")?;
            for (number, line) in &file.lines {
                write!(out, r#"            <line number="{number}" hits="{}""#, line.hits)?;
                if let Some(b) = &line.branches {
                    let covered = b.covered();
                    let percent = (covered * 100).checked_div(b.total).unwrap_or(100);
                    write!(out, r#" branch="true" condition-coverage="{percent}% ({covered}/{})""#, b.total)?;
                    if let Taken::Missing(missing) = &b.taken {
                        if !missing.is_empty() {
                            let list: Vec<&str> = missing.iter().map(String::as_str).collect();
                            write!(out, r#" missing-branches="{}""#, escape(list.join(",")))?;
                        }
                    }
                } else {
                    write!(out, r#" branch="false""#)?;
                }
                writeln!(out, "/>")?;
            }
            writeln!(out, "          </lines>\n        </class>")?;
        }
        writeln!(out, "      </classes>\n    </package>")?;
    }
    writeln!(out, "  </packages>\n</coverage>")
}

/// Clover's conditional lines hold two counts (true, false); lines with another number of
/// branches are written as statements, their branches still in the `conditionals` metrics.
fn two_way(b: &Branches) -> Option<(u64, u64)> {
    if b.total != 2 {
        return None;
    }
    match &b.taken {
        Taken::Each(each) if each.len() == 2 => {
            let mut counts = each.values();
            Some((*counts.next()?, *counts.next()?))
        }
        _ => {
            let covered = b.covered();
            Some((u64::from(covered >= 1), u64::from(covered >= 2)))
        }
    }
}

fn clover(coverage: &Coverage, out: &mut impl Write) -> io::Result<()> {
    let stamp = now().timestamp();
    let metrics = |t: &Totals| {
        format!(
            r#"methods="0" coveredmethods="0" conditionals="{}" coveredconditionals="{}" statements="{}" coveredstatements="{}" elements="{}" coveredelements="{}""#,
            t.branches_valid,
            t.branches_covered,
            t.lines_valid,
            t.lines_covered,
            t.lines_valid + t.branches_valid,
            t.lines_covered + t.branches_covered
        )
    };
    writeln!(out, r#"<?xml version="1.0" encoding="UTF-8"?>"#)?;
    writeln!(out, r#"<coverage generated="{stamp}" clover="4.4.1">"#)?;
    writeln!(out, r#"  <project timestamp="{stamp}" name="stepkit">"#)?;
    let packages = by_directory(coverage);
    for (dir, files) in &packages {
        writeln!(out, r#"    <package name="{}">"#, escape(if dir.is_empty() { "." } else { dir.as_str() }))?;
        for (path, file) in files {
            let name = path.rsplit('/').next().unwrap_or(path);
            writeln!(out, r#"      <file name="{}" path="{}">"#, escape(name), escape(path.as_str()))?;
            for (number, line) in &file.lines {
                match line.branches.as_ref().and_then(two_way) {
                    Some((t, f)) => writeln!(
                        out,
                        r#"        <line num="{number}" type="cond" truecount="{t}" falsecount="{f}" count="{}"/>"#,
                        line.hits
                    )?,
                    None => {
                        writeln!(out, r#"        <line num="{number}" type="stmt" count="{}"/>"#, line.hits)?
                    }
                }
            }
            writeln!(
                out,
                "        <metrics loc=\"0\" ncloc=\"0\" classes=\"0\" {}/>",
                metrics(&file.totals())
            )?;
            writeln!(out, "      </file>")?;
        }
        writeln!(out, "    </package>")?;
    }
    let t = coverage.totals();
    writeln!(
        out,
        r#"    <metrics files="{}" packages="{}" loc="0" ncloc="0" classes="0" {}/>"#,
        t.files,
        packages.len(),
        metrics(&t)
    )?;
    writeln!(out, "  </project>\n</coverage>")
}

fn lcov(coverage: &Coverage, out: &mut impl Write) -> io::Result<()> {
    for (path, file) in &coverage.files {
        writeln!(out, "TN:\nSF:{path}")?;
        let t = file.totals();
        for (number, line) in &file.lines {
            let Some(b) = &line.branches else { continue };
            // lcov's `-`: the line never ran, so its branches were not even evaluated.
            let taken =
                |hits: u64| if line.hits == 0 && hits == 0 { "-".to_string() } else { hits.to_string() };
            match &b.taken {
                Taken::Each(each) => {
                    for ((block, branch), hits) in each {
                        writeln!(out, "BRDA:{number},{block},{branch},{}", taken(*hits))?;
                    }
                }
                // Only how many were taken is known: the first ones are marked taken once.
                _ => {
                    for i in 0..b.total {
                        writeln!(out, "BRDA:{number},0,{i},{}", taken(u64::from(i < b.covered())))?;
                    }
                }
            }
        }
        for (number, line) in &file.lines {
            writeln!(out, "DA:{number},{}", line.hits)?;
        }
        writeln!(
            out,
            "BRF:{}\nBRH:{}\nLF:{}\nLH:{}\nend_of_record",
            t.branches_valid, t.branches_covered, t.lines_valid, t.lines_covered
        )?;
    }
    Ok(())
}
