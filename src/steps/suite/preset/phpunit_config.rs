//! A PHPUnit configuration per batch: the user's own file with its `<testsuites>` replaced by one
//! suite of the batch's files. PHPUnit 9 runs one path argument, so this is how several files share
//! one process and pay PHP's and PHPUnit's start-up once. The file is written beside the user's
//! configuration, so every relative path in it (bootstrap, coverage, extensions) resolves the same.

use quick_xml::events::{BytesEnd, BytesStart, BytesText, Event};
use quick_xml::{Reader, Writer};
use std::io::Write;
use std::path::{Path, PathBuf};

/// The name of the one suite a generated configuration holds.
const SUITE: &str = "stepkit batch";

/// Where batches' configurations come from: the template rendered once, split where the suites go.
#[derive(Debug, Clone)]
pub struct BatchConfig {
    /// The configuration up to where the batch's `<testsuites>` go, and the rest after it.
    before: String,
    after: String,
    /// The directory its relative paths are relative to; generated files go there.
    dir: PathBuf,
}

impl BatchConfig {
    /// A source for batch configurations, if `dir` takes a file and the template can be rewritten;
    /// else None, and batches run one file per process as PHPUnit itself allows.
    pub fn probe(template: Option<&str>, dir: &Path) -> Option<Self> {
        let (before, after) = split(template).ok()?;
        tempfile::Builder::new().prefix(".stepkit-batch-").suffix(".xml").tempfile_in(dir).ok()?;
        Some(BatchConfig { before, after, dir: dir.to_path_buf() })
    }

    /// Writes the configuration that runs `files` (absolute paths, in this order) and returns its
    /// path; the file is removed when the returned value is dropped.
    pub fn write(&self, files: &[PathBuf]) -> Result<tempfile::TempPath, String> {
        let mut file = tempfile::Builder::new()
            .prefix(".stepkit-batch-")
            .suffix(".xml")
            .tempfile_in(&self.dir)
            .map_err(|e| {
                format!("create a PHPUnit configuration for the batch in {}: {e}", self.dir.display())
            })?;
        let xml = [self.before.as_bytes(), &suites(files), self.after.as_bytes()].concat();
        file.write_all(&xml).map_err(|e| format!("write {}: {e}", file.path().display()))?;
        Ok(file.into_temp_path())
    }
}

/// The template without its `<testsuites>` and without the root's `defaultTestSuite` (which would
/// name a suite that is no longer there), cut where the batch's suites go. No template: PHPUnit's
/// defaults, i.e. an empty `<phpunit>`.
fn split(template: Option<&str>) -> Result<(String, String), String> {
    let template = template.unwrap_or("<phpunit/>");
    let mut out = Writer::new(Vec::new());
    let io = |e: std::io::Error| e.to_string();
    let mut reader = Reader::from_str(template);
    // > 0 while inside the user's <testsuites>, which is left out.
    let mut skipping = 0usize;
    // Where the suites go: the user's <testsuites>, else the end of <phpunit>.
    let mut cut: Option<usize> = None;
    loop {
        let event = reader.read_event().map_err(|e| format!("at byte {}: {e}", reader.buffer_position()))?;
        if skipping > 0 {
            match event {
                Event::Start(_) => skipping += 1,
                Event::End(_) => skipping -= 1,
                Event::Eof => return Err("the configuration ends inside <testsuites>".into()),
                _ => {}
            }
            continue;
        }
        match event {
            Event::Start(e) if e.name().as_ref() == "phpunit" => {
                out.write_event(Event::Start(root(&e))).map_err(io)?
            }
            Event::Empty(e) if e.name().as_ref() == "phpunit" => {
                out.write_event(Event::Start(root(&e))).map_err(io)?;
                cut.get_or_insert(out.get_ref().len());
                out.write_event(Event::End(BytesEnd::new("phpunit"))).map_err(io)?;
            }
            Event::Start(e) if e.name().as_ref() == "testsuites" => {
                skipping = 1;
                cut.get_or_insert(out.get_ref().len());
            }
            Event::Empty(e) if e.name().as_ref() == "testsuites" => {
                cut.get_or_insert(out.get_ref().len());
            }
            Event::End(e) if e.name().as_ref() == "phpunit" => {
                cut.get_or_insert(out.get_ref().len());
                out.write_event(Event::End(e)).map_err(io)?;
            }
            Event::Eof => break,
            other => out.write_event(other).map_err(io)?,
        }
    }
    let cut = cut.ok_or("the configuration has no <phpunit> element")?;
    let mut text = String::from_utf8(out.into_inner()).map_err(|e| e.to_string())?;
    let after = text.split_off(cut);
    Ok((text, after))
}

/// The root element as the user wrote it, less `defaultTestSuite`.
fn root(e: &BytesStart<'_>) -> BytesStart<'static> {
    let mut root = BytesStart::new("phpunit");
    for attr in e.attributes().flatten() {
        if attr.key.as_ref() != "defaultTestSuite" {
            root.push_attribute(attr);
        }
    }
    root
}

/// `<testsuites>` with one suite of `files`.
fn suites(files: &[PathBuf]) -> Vec<u8> {
    let mut out = Writer::new(Vec::new());
    let mut write = || -> std::io::Result<()> {
        out.write_event(Event::Start(BytesStart::new("testsuites")))?;
        out.write_event(Event::Start(BytesStart::new("testsuite").with_attributes([("name", SUITE)])))?;
        for file in files {
            out.write_event(Event::Start(BytesStart::new("file")))?;
            out.write_event(Event::Text(BytesText::new(&file.to_string_lossy())))?;
            out.write_event(Event::End(BytesEnd::new("file")))?;
        }
        out.write_event(Event::End(BytesEnd::new("testsuite")))?;
        out.write_event(Event::End(BytesEnd::new("testsuites")))
    };
    write().expect("writing XML to memory cannot fail");
    out.into_inner()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn render(template: Option<&str>, files: &[PathBuf]) -> Result<String, String> {
        let (before, after) = split(template)?;
        Ok(before + &String::from_utf8(suites(files)).unwrap() + &after)
    }

    fn files() -> Vec<PathBuf> {
        vec![PathBuf::from("/p/tests/ATest.php"), PathBuf::from("/p/tests/B&Test.php")]
    }

    #[test]
    fn the_users_suites_are_replaced_and_everything_else_kept() {
        let template = r#"<?xml version="1.0" encoding="UTF-8"?>
<phpunit bootstrap="tests/bootstrap.php" defaultTestSuite="unit" colors="true">
  <testsuites>
    <testsuite name="unit"><directory>tests/Unit</directory><exclude>tests/Unit/Slow</exclude></testsuite>
    <testsuite name="feature"><directory>tests/Feature</directory></testsuite>
  </testsuites>
  <coverage><include><directory suffix=".php">src</directory></include></coverage>
  <php><env name="APP_ENV" value="testing &amp; more"/></php>
</phpunit>"#;
        let xml = render(Some(template), &files()).unwrap();
        assert!(xml.contains(r#"<phpunit bootstrap="tests/bootstrap.php" colors="true">"#), "{xml}");
        assert!(xml.contains(r#"<testsuites><testsuite name="stepkit batch"><file>/p/tests/ATest.php</file><file>/p/tests/B&amp;Test.php</file></testsuite></testsuites>"#), "{xml}");
        assert!(!xml.contains("tests/Unit") && !xml.contains("defaultTestSuite"), "{xml}");
        assert!(
            xml.contains(r#"<directory suffix=".php">src</directory>"#)
                && xml.contains(r#"value="testing &amp; more""#),
            "{xml}"
        );
        assert!(xml.starts_with(r#"<?xml version="1.0" encoding="UTF-8"?>"#));
    }

    #[test]
    fn a_configuration_without_suites_or_without_a_file_gets_one() {
        let xml = render(Some(r#"<phpunit bootstrap="b.php"><php/></phpunit>"#), &files()[..1]).unwrap();
        assert_eq!(
            xml,
            r#"<phpunit bootstrap="b.php"><php/><testsuites><testsuite name="stepkit batch"><file>/p/tests/ATest.php</file></testsuite></testsuites></phpunit>"#
        );
        let xml = render(None, &files()[..1]).unwrap();
        assert_eq!(
            xml,
            r#"<phpunit><testsuites><testsuite name="stepkit batch"><file>/p/tests/ATest.php</file></testsuite></testsuites></phpunit>"#
        );
        assert!(render(Some("<phpunit><testsuites>"), &files()).is_err());
    }

    #[test]
    fn written_beside_the_template_and_removed_when_dropped() {
        let dir = tempfile::tempdir().unwrap();
        let config = BatchConfig::probe(None, dir.path()).unwrap();
        let path = config.write(&files()).unwrap();
        assert_eq!(path.parent(), Some(dir.path()));
        assert!(std::fs::read_to_string(&path).unwrap().contains("ATest.php"));
        let kept = path.to_path_buf();
        drop(path);
        assert!(!kept.exists());
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0, "the probe leaves nothing behind");
    }
}
