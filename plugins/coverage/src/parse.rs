//! Reading Cobertura and Clover XML into per-file line counts.

use std::collections::{BTreeMap, BTreeSet};

use roxmltree::{Document, Node};

/// Lines of one source file and how many of them ran.
#[derive(Debug, PartialEq)]
pub struct FileCoverage {
    /// Path as the report names it, forward slashes, no leading `./`.
    pub file: String,
    pub lines: u64,
    pub covered: u64,
}

impl FileCoverage {
    pub fn percent(&self) -> f64 {
        percent(self.covered, self.lines)
    }
}

/// Sums over all files.
pub struct Totals {
    pub lines: u64,
    pub covered: u64,
}

impl Totals {
    pub fn of(files: &[FileCoverage]) -> Self {
        Totals { lines: files.iter().map(|f| f.lines).sum(), covered: files.iter().map(|f| f.covered).sum() }
    }

    pub fn percent(&self) -> f64 {
        percent(self.covered, self.lines)
    }
}

fn percent(covered: u64, lines: u64) -> f64 {
    if lines == 0 {
        100.0
    } else {
        covered as f64 * 100.0 / lines as f64
    }
}

/// Parse either format, told apart by shape: Clover nests `<project>` under `<coverage>`.
pub fn read_report(xml: &str) -> Result<Vec<FileCoverage>, String> {
    let doc = Document::parse(xml).map_err(|e| format!("not XML: {e}"))?;
    let root = doc.root_element();
    if root.tag_name().name() != "coverage" {
        return Err(format!(
            "expected a <coverage> root (Cobertura or Clover), found <{}>",
            root.tag_name().name()
        ));
    }
    if root.children().any(|n| n.has_tag_name("project")) {
        Ok(clover(root))
    } else {
        Ok(cobertura(root))
    }
}

/// Cobertura lists `<class filename>` elements with `<line number hits>`; a file may hold several
/// classes and a line may repeat, so lines are de-duplicated per file (covered if any entry ran).
fn cobertura(root: Node) -> Vec<FileCoverage> {
    let mut files: BTreeMap<String, BTreeMap<u64, bool>> = BTreeMap::new();
    for class in root.descendants().filter(|n| n.has_tag_name("class")) {
        let Some(name) = class.attribute("filename") else { continue };
        let lines = files.entry(normalize(name)).or_default();
        // Only the class's own <lines>, not the per-method copies of the same lines.
        let own_lines = class.children().filter(|n| n.has_tag_name("lines")).flat_map(|l| l.children());
        for line in own_lines.filter(|n| n.has_tag_name("line")) {
            let (Some(number), Some(hits)) = (number(line, "number"), number(line, "hits")) else { continue };
            *lines.entry(number).or_insert(false) |= hits > 0;
        }
    }
    files
        .into_iter()
        .map(|(file, lines)| FileCoverage {
            file,
            lines: lines.len() as u64,
            covered: lines.values().filter(|ran| **ran).count() as u64,
        })
        .collect()
}

/// Clover gives counts per `<file>` in a `<metrics statements coveredstatements>` child.
fn clover(root: Node) -> Vec<FileCoverage> {
    let mut seen = BTreeSet::new();
    root.descendants()
        .filter(|n| n.has_tag_name("file"))
        .filter_map(|file| {
            let name = file.attribute("path").or(file.attribute("name"))?;
            let metrics = file.children().find(|n| n.has_tag_name("metrics"))?;
            let lines = number(metrics, "statements")?;
            let covered = number(metrics, "coveredstatements")?.min(lines);
            let file = normalize(name);
            seen.insert(file.clone()).then_some(FileCoverage { file, lines, covered })
        })
        .collect()
}

fn number(node: Node, attribute: &str) -> Option<u64> {
    node.attribute(attribute)?.trim().parse().ok()
}

fn normalize(path: &str) -> String {
    let slashed = path.replace('\\', "/");
    slashed.strip_prefix("./").unwrap_or(&slashed).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cobertura_merges_classes_of_one_file() {
        let xml = r#"<?xml version="1.0"?>
<coverage line-rate="0.5"><packages><package name="p"><classes>
  <class name="A" filename="./src/a.py"><methods><method name="m"><lines><line number="1" hits="1"/></lines></method></methods>
    <lines><line number="1" hits="1"/><line number="2" hits="0"/></lines></class>
  <class name="B" filename="./src/a.py"><lines><line number="2" hits="3"/><line number="3" hits="0"/></lines></class>
  <class name="C" filename="src\b.py"><lines><line number="1" hits="0"/></lines></class>
</classes></package></packages></coverage>"#;
        let files = read_report(xml).unwrap();
        assert_eq!(files[0], FileCoverage { file: "src/a.py".into(), lines: 3, covered: 2 });
        assert_eq!(files[1], FileCoverage { file: "src/b.py".into(), lines: 1, covered: 0 });
        assert_eq!(Totals::of(&files).percent(), 50.0);
    }

    #[test]
    fn clover_reads_file_metrics() {
        let xml = r#"<coverage generated="1"><project timestamp="1">
  <metrics statements="10" coveredstatements="7"/>
  <package name="app"><file name="A.php" path="src/A.php"><metrics statements="4" coveredstatements="1"/></file></package>
  <file name="b.js" path="lib/b.js"><metrics statements="6" coveredstatements="6"/></file>
</project></coverage>"#;
        let files = read_report(xml).unwrap();
        assert_eq!(files.len(), 2);
        assert_eq!(files[0].file, "src/A.php");
        assert_eq!(files[0].percent(), 25.0);
        assert_eq!(Totals::of(&files).percent(), 70.0);
    }

    #[test]
    fn other_documents_are_refused() {
        assert!(read_report("<testsuites/>").unwrap_err().contains("<testsuites>"));
        assert!(read_report("not xml").is_err());
    }
}
