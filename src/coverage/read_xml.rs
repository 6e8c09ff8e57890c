//! Cobertura and Clover XML, streamed with quick-xml. Cobertura's per-method `<lines>` repeat the
//! class's lines and are skipped; Clover's `method` lines are not statements and are skipped too.

use super::{Branches, Counting, Coverage, FileCoverage, Format, Line, PathRoot, Taken};
use quick_xml::events::{BytesStart, Event};
use quick_xml::Reader;
use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

/// Reads Cobertura or Clover, told apart by the root element's attributes or first child.
pub(super) fn read(text: &str, root: &PathRoot) -> Result<(Coverage, Format), String> {
    let mut reader = Reader::from_str(text);
    let mut state = State {
        root,
        format: None,
        counting: Counting::Counts,
        sources: Vec::new(),
        source_text: None,
        file: None,
        method_depth: 0,
        coverage: Coverage::default(),
    };
    loop {
        let position = reader.buffer_position();
        let event = reader.read_event().map_err(|e| format!("XML error near byte {position}: {e}"))?;
        match event {
            Event::Start(e) => state.open(&e, false)?,
            Event::Empty(e) => state.open(&e, true)?,
            Event::End(e) => state.close(e.name().as_ref())?,
            Event::Text(t) => {
                if let Some(text) = state.source_text.as_mut() {
                    text.push_str(&t.xml10_content());
                }
            }
            Event::GeneralRef(r) => {
                if let Some(text) = state.source_text.as_mut() {
                    let resolved = match r.resolve_char_ref() {
                        Ok(Some(c)) => c.to_string(),
                        _ => quick_xml::escape::resolve_predefined_entity(&r)
                            .ok_or_else(|| format!("unknown entity &{};", &*r))?
                            .to_string(),
                    };
                    text.push_str(&resolved);
                }
            }
            // coverage.py records whether a line ran, never how often: its hits merge with OR.
            Event::Comment(c) if c.xml10_content().contains("coverage.py") => {
                state.counting = Counting::Flags
            }
            Event::DocType(t) if t.contains("<!ENTITY") => {
                return Err("a DOCTYPE with entity declarations is not accepted".into())
            }
            Event::Eof => break,
            _ => {}
        }
    }
    let format = state.format.ok_or("it has no <coverage> root element: not Cobertura or Clover XML")?;
    Ok((state.coverage, format))
}

struct State<'a> {
    root: &'a PathRoot,
    format: Option<Format>,
    counting: Counting,
    sources: Vec<String>,
    /// Text of the `<source>` being read.
    source_text: Option<String>,
    file: Option<(String, FileCoverage)>,
    method_depth: u32,
    coverage: Coverage,
}

impl State<'_> {
    fn open(&mut self, e: &BytesStart<'_>, empty: bool) -> Result<(), String> {
        let name = e.name();
        let name = name.as_ref();
        let attrs = attributes(e)?;
        let attr = |key: &str| attrs.get(key).map(String::as_str);
        if self.format.is_none() {
            self.format = match name {
                "coverage" if attr("line-rate").is_some() || attr("lines-valid").is_some() => {
                    Some(Format::Cobertura)
                }
                "coverage" if attr("generated").is_some() || attr("clover").is_some() => Some(Format::Clover),
                "coverage" => None,
                "sources" | "packages" => Some(Format::Cobertura),
                "project" => Some(Format::Clover),
                other => {
                    return Err(format!(
                        "the root element is <{}>, not <coverage>: not Cobertura or Clover XML",
                        other
                    ))
                }
            };
            if name == "coverage" {
                return Ok(());
            }
        }
        match (self.format, name) {
            (Some(Format::Cobertura), "source") if !empty => self.source_text = Some(String::new()),
            (Some(Format::Cobertura), "class") => {
                let filename = attr("filename").ok_or("a <class> has no filename attribute")?;
                let path = self.cobertura_path(filename);
                self.start_file(path, empty);
            }
            (Some(Format::Cobertura), "method") if !empty => self.method_depth += 1,
            (Some(Format::Cobertura), "line") if self.method_depth == 0 => {
                let Some((_, file)) = self.file.as_mut() else { return Ok(()) };
                let number = number(attr("number"), "a Cobertura <line> number")?;
                let hits = count(attr("hits"), "a Cobertura <line> hits")?;
                let branches = if attr("branch") == Some("true") {
                    cobertura_branches(attr("condition-coverage"), attr("missing-branches"))
                } else {
                    None
                };
                file.add_line(number, Line { hits, branches });
            }
            (Some(Format::Clover), "file") => {
                let path =
                    attr("path").or(attr("name")).ok_or("a Clover <file> has neither path nor name")?;
                let path = self.root.normalize(path, None);
                self.start_file(path, empty);
            }
            (Some(Format::Clover), "line") => {
                let Some((_, file)) = self.file.as_mut() else { return Ok(()) };
                let number = number(attr("num"), "a Clover <line> num")?;
                match attr("type") {
                    // A method's declaration line is not a statement: PHPUnit counts it apart.
                    Some("method") => {}
                    Some("cond") => {
                        let (t, f) = (
                            count(attr("truecount"), "truecount")?,
                            count(attr("falsecount"), "falsecount")?,
                        );
                        let hits = match attr("count") {
                            Some(c) => count(Some(c), "count")?,
                            None => t + f,
                        };
                        let each = BTreeMap::from([((0, 0), t), ((0, 1), f)]);
                        file.add_line(
                            number,
                            Line { hits, branches: Some(Branches { total: 2, taken: Taken::Each(each) }) },
                        );
                    }
                    _ => file.add_line(
                        number,
                        Line { hits: count(attr("count"), "a Clover <line> count")?, branches: None },
                    ),
                }
            }
            _ => {}
        }
        Ok(())
    }

    fn close(&mut self, name: &str) -> Result<(), String> {
        match name {
            "source" => {
                if let Some(text) = self.source_text.take() {
                    self.sources.push(text.trim().to_string());
                }
            }
            "method" => self.method_depth = self.method_depth.saturating_sub(1),
            // Clover nests <class> inside <file>: only the element that opened the file closes it.
            "class" if self.format == Some(Format::Cobertura) => self.end_file(),
            "file" if self.format == Some(Format::Clover) => self.end_file(),
            _ => {}
        }
        Ok(())
    }

    fn start_file(&mut self, path: String, empty: bool) {
        self.file = Some((path, FileCoverage { counting: self.counting, ..FileCoverage::default() }));
        if empty {
            self.end_file();
        }
    }

    fn end_file(&mut self) {
        if let Some((path, file)) = self.file.take() {
            self.coverage.merge(Coverage { files: BTreeMap::from([(path, file)]) });
        }
    }

    /// A class filename is relative to one of the `<source>`s: the first one where it exists,
    /// else the first one (the shard ran on another machine).
    fn cobertura_path(&self, filename: &str) -> String {
        let base =
            self.sources.iter().find(|s| Path::new(s).join(filename).exists()).or(self.sources.first());
        self.root.normalize(filename, base.map(String::as_str))
    }
}

fn attributes(e: &BytesStart<'_>) -> Result<BTreeMap<String, String>, String> {
    let mut out = BTreeMap::new();
    for attr in e.attributes() {
        let attr = attr.map_err(|err| format!("bad attribute: {err}"))?;
        let value = attr
            .normalized_value(quick_xml::XmlVersion::Implicit1_0)
            .map_err(|err| format!("bad attribute value: {err}"))?;
        out.insert(attr.key.as_ref().to_string(), value.into_owned());
    }
    Ok(out)
}

fn number(value: Option<&str>, what: &str) -> Result<u32, String> {
    value
        .and_then(|v| v.trim().parse().ok())
        .ok_or_else(|| format!("{what} is missing or not a line number: {value:?}"))
}

/// A hit count; some tools write `1.0`, none should write a negative.
fn count(value: Option<&str>, what: &str) -> Result<u64, String> {
    let text = value.unwrap_or("0").trim();
    text.parse::<u64>()
        .ok()
        .or_else(|| text.parse::<f64>().ok().filter(|f| *f >= 0.0).map(|f| f as u64))
        .ok_or_else(|| format!("{what} `{text}` is not a count"))
}

/// `condition-coverage="50% (1/2)"`, with coverage.py's `missing-branches="12,exit"` when present.
fn cobertura_branches(condition: Option<&str>, missing: Option<&str>) -> Option<Branches> {
    let inner = condition?.split_once('(')?.1.split_once(')')?.0;
    let (covered, total) = inner.split_once('/')?;
    let (covered, total) = (covered.trim().parse::<u32>().ok()?, total.trim().parse::<u32>().ok()?);
    let taken = match missing {
        Some(list) => Taken::Missing(
            list.split(',')
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(String::from)
                .collect::<BTreeSet<_>>(),
        ),
        // Every branch taken: the identities do not matter, and "none missing" merges exactly.
        None if covered >= total => Taken::Missing(BTreeSet::new()),
        None => Taken::Covered(covered),
    };
    Some(Branches { total, taken })
}
