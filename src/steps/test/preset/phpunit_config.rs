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

/// Where batches' configurations come from.
#[derive(Debug, Clone)]
pub struct BatchConfig {
    /// The user's configuration (None: there is none, and PHPUnit's defaults apply).
    template: Option<String>,
    /// The directory relative paths in it are relative to; generated files go there.
    dir: PathBuf,
}

impl BatchConfig {
    /// A source for batch configurations, if `dir` takes a file and the template can be rewritten;
    /// else None, and batches run one file per process as PHPUnit itself allows.
    pub fn probe(template: Option<String>, dir: &Path) -> Option<Self> {
        render(template.as_deref(), &[]).ok()?;
        tempfile::Builder::new().prefix(".stepkit-batch-").suffix(".xml").tempfile_in(dir).ok()?;
        Some(BatchConfig { template, dir: dir.to_path_buf() })
    }

    /// Writes the configuration that runs `files` (absolute paths, in this order) and returns its
    /// path; the file is removed when the returned value is dropped.
    pub fn write(&self, files: &[PathBuf]) -> Result<tempfile::TempPath, String> {
        let xml = render(self.template.as_deref(), files)?;
        let mut file = tempfile::Builder::new()
            .prefix(".stepkit-batch-")
            .suffix(".xml")
            .tempfile_in(&self.dir)
            .map_err(|e| format!("create a PHPUnit configuration for the batch in {}: {e}", self.dir.display()))?;
        file.write_all(xml.as_bytes()).map_err(|e| format!("write {}: {e}", file.path().display()))?;
        Ok(file.into_temp_path())
    }
}

/// The template with its `<testsuites>` (or none) replaced by one suite of `files`, and without the
/// root's `defaultTestSuite`, which would name a suite that is no longer there.
fn render(template: Option<&str>, files: &[PathBuf]) -> Result<String, String> {
    let mut out = Writer::new(Vec::new());
    let io = |e: std::io::Error| e.to_string();
    let Some(template) = template else {
        out.write_event(Event::Start(BytesStart::new("phpunit"))).map_err(io)?;
        write_suites(&mut out, files).map_err(io)?;
        out.write_event(Event::End(BytesEnd::new("phpunit"))).map_err(io)?;
        return String::from_utf8(out.into_inner()).map_err(|e| e.to_string());
    };
    let mut reader = Reader::from_str(template);
    // > 0 while inside the user's <testsuites>, which is left out.
    let mut skipping = 0usize;
    let mut written = false;
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
            Event::Start(e) if e.name().as_ref() == "phpunit" => out.write_event(Event::Start(root(&e))).map_err(io)?,
            Event::Empty(e) if e.name().as_ref() == "phpunit" => {
                out.write_event(Event::Start(root(&e))).map_err(io)?;
                write_suites(&mut out, files).map_err(io)?;
                written = true;
                out.write_event(Event::End(BytesEnd::new("phpunit"))).map_err(io)?;
            }
            Event::Start(e) if e.name().as_ref() == "testsuites" => {
                skipping = 1;
                if !written {
                    write_suites(&mut out, files).map_err(io)?;
                    written = true;
                }
            }
            Event::Empty(e) if e.name().as_ref() == "testsuites" => {
                if !written {
                    write_suites(&mut out, files).map_err(io)?;
                    written = true;
                }
            }
            Event::End(e) if e.name().as_ref() == "phpunit" => {
                if !written {
                    write_suites(&mut out, files).map_err(io)?;
                    written = true;
                }
                out.write_event(Event::End(e)).map_err(io)?;
            }
            Event::Eof => break,
            other => out.write_event(other).map_err(io)?,
        }
    }
    if !written {
        return Err("the configuration has no <phpunit> element".into());
    }
    String::from_utf8(out.into_inner()).map_err(|e| e.to_string())
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

fn write_suites(out: &mut Writer<Vec<u8>>, files: &[PathBuf]) -> std::io::Result<()> {
    out.write_event(Event::Start(BytesStart::new("testsuites")))?;
    out.write_event(Event::Start(BytesStart::new("testsuite").with_attributes([("name", SUITE)])))?;
    for file in files {
        out.write_event(Event::Start(BytesStart::new("file")))?;
        out.write_event(Event::Text(BytesText::new(&file.to_string_lossy())))?;
        out.write_event(Event::End(BytesEnd::new("file")))?;
    }
    out.write_event(Event::End(BytesEnd::new("testsuite")))?;
    out.write_event(Event::End(BytesEnd::new("testsuites")))
}

#[cfg(test)]
mod tests {
    use super::*;

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
        assert!(xml.contains(r#"<directory suffix=".php">src</directory>"#) && xml.contains(r#"value="testing &amp; more""#), "{xml}");
        assert!(xml.starts_with(r#"<?xml version="1.0" encoding="UTF-8"?>"#));
    }

    #[test]
    fn a_configuration_without_suites_or_without_a_file_gets_one() {
        let xml = render(Some(r#"<phpunit bootstrap="b.php"><php/></phpunit>"#), &files()[..1]).unwrap();
        assert_eq!(xml, r#"<phpunit bootstrap="b.php"><php/><testsuites><testsuite name="stepkit batch"><file>/p/tests/ATest.php</file></testsuite></testsuites></phpunit>"#);
        let xml = render(None, &files()[..1]).unwrap();
        assert_eq!(xml, r#"<phpunit><testsuites><testsuite name="stepkit batch"><file>/p/tests/ATest.php</file></testsuite></testsuites></phpunit>"#);
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
