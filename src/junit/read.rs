//! Streaming JUnit reader: every dialect real tools write, with bounded memory and no entity expansion.

use super::model::{
    AttrsBuilder, Case, Problem, ProblemKind, Property, Report, Rerun, RerunKind, Shared, Status, Suite, Text,
};
use quick_xml::escape::resolve_predefined_entity;
use quick_xml::events::{BytesStart, Event};
use quick_xml::{Reader, XmlVersion};
use std::cell::Cell;
use std::collections::HashSet;
use std::fs::File;
use std::io::{self, BufRead, BufReader, Read};
use std::path::Path;
use std::rc::Rc;

// TRX, NUnit 3 and xUnit.net are child modules so they drive this reader's private tokenizer and limits.
#[path = "dialect/mod.rs"]
mod dialect;

/// The largest single tag or text run accepted. A 500 MB attribute is an attack or a broken
/// writer, and buffering it whole is how a reader runs out of memory.
pub const MAX_TOKEN_BYTES: u64 = 64 << 20;
/// Deeper nesting than this is not a test report (and recursion must stay bounded).
pub const MAX_DEPTH: usize = 64;

/// A report that could not be read: names the source and the position of the problem.
#[derive(Debug, thiserror::Error)]
#[error("read JUnit report {source_name}{}: {kind}", position_suffix(*.line, *.column))]
pub struct ReadError {
    /// The file name (or other label) the bytes came from.
    pub source_name: String,
    /// 1-based line of the problem, when known.
    pub line: Option<u64>,
    /// 1-based column (in bytes) of the problem, when known.
    pub column: Option<u64>,
    pub kind: ReadErrorKind,
}

fn position_suffix(line: Option<u64>, column: Option<u64>) -> String {
    match (line, column) {
        (Some(l), Some(c)) => format!(" at line {l}, column {c}"),
        (Some(l), None) => format!(" at line {l}"),
        _ => String::new(),
    }
}

/// Why a report could not be read.
#[derive(Debug, thiserror::Error)]
pub enum ReadErrorKind {
    #[error("cannot open it: {0}")]
    Open(io::Error),
    #[error("the file is empty (did the test tool crash before writing it?)")]
    Empty,
    #[error("the root element is <{0}>, expected <testsuites> or <testsuite>: this is not a JUnit report (nor TRX <TestRun>, NUnit 3 <test-run> or xUnit.net <assemblies>)")]
    NotJunit(String),
    #[error("the file ends inside <{0}>: it is truncated (was the test run killed while writing it?)")]
    Truncated(String),
    #[error("the document declares entities in its DOCTYPE; stepkit never expands them (that is how entity-expansion bombs work): remove the DOCTYPE")]
    EntityDeclaration,
    #[error("a single tag or text run is larger than {} MiB; this is not a sane test report", MAX_TOKEN_BYTES >> 20)]
    TokenTooLarge,
    #[error("suites are nested more than {MAX_DEPTH} levels deep")]
    TooDeep,
    #[error("it is not valid UTF-8 (convert it first, e.g. with iconv): {0}")]
    Encoding(String),
    #[error("malformed XML: {0}")]
    Xml(String),
}

/// Reads one JUnit file from disk.
pub fn read_file(path: &Path) -> Result<Report, ReadError> {
    let name = path.display().to_string();
    let file = File::open(path).map_err(|e| ReadError {
        source_name: name.clone(),
        line: None,
        column: None,
        kind: ReadErrorKind::Open(e),
    })?;
    parse(BufReader::with_capacity(64 * 1024, file)).map_err(|(kind, offset)| {
        let (line, column) = match offset {
            Some(offset) => {
                File::open(path).ok().map(|f| line_column(BufReader::new(f), offset)).unwrap_or((None, None))
            }
            None => (None, None),
        };
        ReadError { source_name: name, line, column, kind }
    })
}

/// Reads one JUnit document from memory; `source_name` labels errors.
pub fn parse_bytes(bytes: &[u8], source_name: &str) -> Result<Report, ReadError> {
    parse(bytes).map_err(|(kind, offset)| {
        let (line, column) = offset.map(|o| line_column(bytes, o)).unwrap_or((None, None));
        ReadError { source_name: source_name.to_string(), line, column, kind }
    })
}

/// 1-based line and column of a byte offset, found by counting newlines up to it.
fn line_column(mut reader: impl BufRead, offset: u64) -> (Option<u64>, Option<u64>) {
    let (mut line, mut column, mut seen) = (1u64, 1u64, 0u64);
    while seen < offset {
        let Ok(chunk) = reader.fill_buf() else { break };
        if chunk.is_empty() {
            break;
        }
        let take = chunk.len().min((offset - seen) as usize);
        for &b in &chunk[..take] {
            if b == b'\n' {
                line += 1;
                column = 1;
            } else {
                column += 1;
            }
        }
        seen += take as u64;
        reader.consume(take);
    }
    (Some(line), Some(column))
}

/// Counts the bytes consumed since the last event and refuses to go past `MAX_TOKEN_BYTES`.
struct TokenLimit<R> {
    inner: R,
    used: Rc<Cell<u64>>,
}

impl<R: BufRead> Read for TokenLimit<R> {
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        let n = {
            let available = self.fill_buf()?;
            let n = available.len().min(out.len());
            out[..n].copy_from_slice(&available[..n]);
            n
        };
        self.consume(n);
        Ok(n)
    }
}

impl<R: BufRead> BufRead for TokenLimit<R> {
    fn fill_buf(&mut self) -> io::Result<&[u8]> {
        if self.used.get() > MAX_TOKEN_BYTES {
            return Err(io::Error::other("token too large"));
        }
        self.inner.fill_buf()
    }

    fn consume(&mut self, amount: usize) {
        self.used.set(self.used.get() + amount as u64);
        self.inner.consume(amount);
    }
}

/// The elements the reader knows; everything else is skipped whole.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Elem {
    Testsuites,
    Testsuite,
    Testcase,
    Failure,
    Error,
    Skipped,
    Rerun(RerunKind),
    SystemOut,
    SystemErr,
    Properties,
    Property,
    StackTrace,
    Other,
}

fn elem(name: &str) -> Elem {
    match name {
        "testsuites" => Elem::Testsuites,
        "testsuite" => Elem::Testsuite,
        "testcase" => Elem::Testcase,
        "failure" => Elem::Failure,
        "error" => Elem::Error,
        "skipped" => Elem::Skipped,
        "flakyFailure" => Elem::Rerun(RerunKind::FlakyFailure),
        "flakyError" => Elem::Rerun(RerunKind::FlakyError),
        "rerunFailure" => Elem::Rerun(RerunKind::RerunFailure),
        "rerunError" => Elem::Rerun(RerunKind::RerunError),
        "system-out" => Elem::SystemOut,
        "system-err" => Elem::SystemErr,
        "properties" => Elem::Properties,
        "property" => Elem::Property,
        "stackTrace" => Elem::StackTrace,
        _ => Elem::Other,
    }
}

/// The attributes of one start tag as read, before they are sorted into the model.
pub(super) type RawAttrs = Vec<(Text, Text)>;

/// An event turned into owned data, so the parser can recurse while the buffer is reused.
enum Ev {
    /// A start tag; `empty` is true for `<tag/>`.
    Open {
        elem: Elem,
        name: String,
        attrs: RawAttrs,
        empty: bool,
    },
    Close,
    Text(String),
    EntityDoctype,
    Eof,
    Ignored,
}

type Failure = (ReadErrorKind, Option<u64>);

struct Parser<R: BufRead> {
    reader: Reader<TokenLimit<R>>,
    used: Rc<Cell<u64>>,
    buf: Vec<u8>,
    shared: HashSet<Shared>,
    /// Suites open when an error unwound the parse, innermost first: what a lenient read salvages.
    open_suites: Vec<Suite>,
    /// The root `<testsuites>` with the suites completed before an error.
    open_report: Option<Report>,
}

fn parse<R: BufRead>(input: R) -> Result<Report, Failure> {
    parse_salvaging(input).map_err(|boxed| boxed.0)
}

/// Parses, and on failure also returns every case completed before the problem.
fn parse_salvaging<R: BufRead>(input: R) -> Result<Report, Box<(Failure, Report)>> {
    let used = Rc::new(Cell::new(0));
    let mut reader = Reader::from_reader(TokenLimit { inner: input, used: used.clone() });
    reader.config_mut().trim_text(false);
    let mut parser = Parser {
        reader,
        used,
        buf: Vec::with_capacity(4096),
        shared: HashSet::new(),
        open_suites: Vec::new(),
        open_report: None,
    };
    parser.document().map_err(|failure| {
        let mut report = parser.open_report.take().unwrap_or_default();
        let mut innermost: Option<Suite> = None;
        for mut suite in parser.open_suites.drain(..) {
            suite.suites.extend(innermost.take());
            innermost = Some(suite);
        }
        report.suites.extend(innermost);
        Box::new((failure, report))
    })
}

/// Reads a file that may be cut short (a test process that crashed or was killed while writing):
/// returns every case completed before the problem, and the problem if there was one.
pub fn read_file_salvaging(path: &Path) -> (Report, Option<ReadError>) {
    let name = path.display().to_string();
    let file = match File::open(path) {
        Ok(file) => file,
        Err(e) => {
            return (
                Report::default(),
                Some(ReadError { source_name: name, line: None, column: None, kind: ReadErrorKind::Open(e) }),
            )
        }
    };
    match parse_salvaging(BufReader::with_capacity(64 * 1024, file)) {
        Ok(report) => (report, None),
        Err(boxed) => {
            let ((kind, offset), partial) = *boxed;
            let (line, column) = match offset {
                Some(offset) => File::open(path)
                    .ok()
                    .map(|f| line_column(BufReader::new(f), offset))
                    .unwrap_or((None, None)),
                None => (None, None),
            };
            (partial, Some(ReadError { source_name: name, line, column, kind }))
        }
    }
}

impl<R: BufRead> Parser<R> {
    fn fail<T>(&self, kind: ReadErrorKind) -> Result<T, Failure> {
        Err((kind, Some(self.reader.buffer_position())))
    }

    /// Reads the next event; text is copied only when `want_text` (whitespace between tags is not).
    fn next(&mut self, want_text: bool) -> Result<Ev, Failure> {
        self.buf.clear();
        self.used.set(0);
        // Where this event starts: a bad attribute is reported at its own tag, not after it.
        let start = self.reader.buffer_position();
        let event = match self.reader.read_event_into(&mut self.buf) {
            Ok(event) => event,
            Err(err) => {
                let position = Some(self.reader.error_position());
                let kind = if self.used.get() > MAX_TOKEN_BYTES {
                    ReadErrorKind::TokenTooLarge
                } else {
                    match err {
                        quick_xml::Error::Encoding(e) => ReadErrorKind::Encoding(e.to_string()),
                        quick_xml::Error::Io(e) if e.kind() == io::ErrorKind::InvalidData => {
                            ReadErrorKind::Encoding(e.to_string())
                        }
                        other => ReadErrorKind::Xml(other.to_string()),
                    }
                };
                return Err((kind, position));
            }
        };
        let position = self.reader.buffer_position();
        Ok(match event {
            Event::Start(e) => open(&e, false).map_err(|(k, at)| (k, Some(start + at)))?,
            Event::Empty(e) => open(&e, true).map_err(|(k, at)| (k, Some(start + at)))?,
            Event::End(_) => Ev::Close,
            Event::Text(t) if want_text => Ev::Text(t.xml10_content().into_owned()),
            Event::CData(t) if want_text => Ev::Text(t.xml10_content().into_owned()),
            // References are checked even where their text is not kept: an undeclared entity is a
            // well-formedness error wherever it appears.
            Event::GeneralRef(r) => {
                let text = match r.resolve_char_ref() {
                    Ok(Some(c)) => c.to_string(),
                    Ok(None) => match resolve_predefined_entity(&r) {
                        Some(s) => s.to_string(),
                        None => {
                            return Err((
                                ReadErrorKind::Xml(format!("unknown entity &{};", &*r)),
                                Some(position),
                            ))
                        }
                    },
                    Err(e) => return Err((ReadErrorKind::Xml(e.to_string()), Some(position))),
                };
                if want_text {
                    Ev::Text(text)
                } else {
                    Ev::Ignored
                }
            }
            Event::DocType(t) if t.contains("<!ENTITY") => Ev::EntityDoctype,
            Event::Eof => Ev::Eof,
            _ => Ev::Ignored,
        })
    }

    fn share(&mut self, s: Text) -> Shared {
        if let Some(existing) = self.shared.get(&*s) {
            return existing.clone();
        }
        let shared: Shared = Shared::from(s);
        self.shared.insert(shared.clone());
        shared
    }

    fn document(&mut self) -> Result<Report, Failure> {
        let mut saw_anything = false;
        loop {
            match self.next(true)? {
                Ev::Open { elem: Elem::Testsuites, attrs, empty, .. } => {
                    return self.testsuites(attrs, empty)
                }
                Ev::Open { elem: Elem::Testsuite, attrs, empty, .. } => {
                    let suite = self.suite(attrs, empty, 1)?;
                    return Ok(Report { suites: vec![suite], ..Report::default() });
                }
                Ev::Open { name, attrs, empty, .. } => match dialect::read_root(self, &name, attrs, empty) {
                    Some(report) => return report,
                    None => return self.fail(ReadErrorKind::NotJunit(name)),
                },
                Ev::EntityDoctype => return self.fail(ReadErrorKind::EntityDeclaration),
                Ev::Text(t) if !t.trim().is_empty() => {
                    return self.fail(ReadErrorKind::Xml("text before the root element".into()))
                }
                Ev::Eof if !saw_anything => return Err((ReadErrorKind::Empty, None)),
                Ev::Eof => return self.fail(ReadErrorKind::Xml("no root element".into())),
                _ => saw_anything = true,
            }
        }
    }

    fn testsuites(&mut self, attrs: RawAttrs, empty: bool) -> Result<Report, Failure> {
        let mut report = Report::default();
        let mut extra = AttrsBuilder::default();
        for (key, value) in attrs {
            match &*key {
                "name" => report.name = Some(value),
                "time" => report.time = parse_time(&value),
                "tests" | "failures" | "errors" | "skipped" | "disabled" | "assertions" => {}
                _ => extra.push(&key, &value),
            }
        }
        report.attrs = extra.finish();
        if empty {
            return Ok(report);
        }
        match self.testsuites_children(&mut report) {
            Ok(()) => Ok(report),
            Err(failure) => {
                self.open_report = Some(report);
                Err(failure)
            }
        }
    }

    fn testsuites_children(&mut self, report: &mut Report) -> Result<(), Failure> {
        loop {
            match self.next(false)? {
                Ev::Open { elem: Elem::Testsuite, attrs, empty, .. } => {
                    let suite = self.suite(attrs, empty, 1)?;
                    report.suites.push(suite);
                }
                // Some tools put cases straight under <testsuites>; keep them in an unnamed suite.
                Ev::Open { elem: Elem::Testcase, attrs, empty, .. } => {
                    let case = self.case(attrs, empty)?;
                    match report.suites.last_mut().filter(|s| s.name.is_empty()) {
                        Some(suite) => suite.cases.push(case),
                        None => report.suites.push(Suite { cases: vec![case], ..Suite::default() }),
                    }
                }
                Ev::Open { empty, .. } => self.skip(empty)?,
                Ev::Close => return Ok(()),
                Ev::Eof => return self.fail(ReadErrorKind::Truncated("testsuites".into())),
                _ => {}
            }
        }
    }

    fn suite(&mut self, attrs: RawAttrs, empty: bool, depth: usize) -> Result<Suite, Failure> {
        if depth > MAX_DEPTH {
            return self.fail(ReadErrorKind::TooDeep);
        }
        let mut suite = Suite::default();
        let mut extra = AttrsBuilder::default();
        for (key, value) in attrs {
            match &*key {
                "name" => suite.name = value,
                "time" => suite.time = parse_time(&value),
                "tests" | "failures" | "errors" | "skipped" | "disabled" | "assertions" => {}
                _ => extra.push(&key, &value),
            }
        }
        suite.attrs = extra.finish();
        if empty {
            return Ok(suite);
        }
        match self.suite_children(&mut suite, depth) {
            Ok(()) => Ok(suite),
            Err(failure) => {
                self.open_suites.push(suite);
                Err(failure)
            }
        }
    }

    fn suite_children(&mut self, suite: &mut Suite, depth: usize) -> Result<(), Failure> {
        loop {
            match self.next(false)? {
                Ev::Open { elem: Elem::Testcase, attrs, empty, .. } => {
                    let case = self.case(attrs, empty)?;
                    suite.cases.push(case);
                }
                Ev::Open { elem: Elem::Testsuite, attrs, empty, .. } => {
                    let child = self.suite(attrs, empty, depth + 1)?;
                    suite.suites.push(child);
                }
                Ev::Open { elem: Elem::Properties, empty, .. } => {
                    self.properties(empty, &mut suite.properties)?
                }
                Ev::Open { elem: Elem::SystemOut, empty, .. } => {
                    suite.system_out = self.text(empty, "system-out")?
                }
                Ev::Open { elem: Elem::SystemErr, empty, .. } => {
                    suite.system_err = self.text(empty, "system-err")?
                }
                Ev::Open { empty, .. } => self.skip(empty)?,
                Ev::Close => return Ok(()),
                Ev::Eof => return self.fail(ReadErrorKind::Truncated("testsuite".into())),
                _ => {}
            }
        }
    }

    fn case(&mut self, attrs: RawAttrs, empty: bool) -> Result<Case, Failure> {
        let mut case = Case::new("", Status::Passed);
        let mut extra = AttrsBuilder::default();
        let mut class_attr = None;
        let mut not_run = false;
        for (key, value) in attrs {
            match &*key {
                "name" => case.name = value,
                "classname" => case.classname = Some(self.share(value)),
                "file" => case.file = Some(self.share(value)),
                "line" => case.line = value.trim().parse().ok(),
                "time" => case.time = parse_time(&value),
                _ => {
                    // googletest marks disabled tests with status="notrun" and no <skipped/>.
                    not_run |= matches!(
                        (&*key, &*value),
                        ("status", "notrun" | "disabled") | ("result", "skipped" | "suppressed")
                    );
                    extra.push(&key, &value);
                    if &*key == "class" {
                        class_attr = Some(value);
                    }
                }
            }
        }
        // PHPUnit writes `class=` as well as `classname=`; some tools write only `class=`.
        if case.classname.is_none() {
            if let Some(class) = class_attr {
                case.classname = Some(self.share(class));
            }
        }
        case.attrs = extra.finish();
        if !empty {
            self.case_children(&mut case)?;
        }
        case.derive_status();
        if not_run && case.status == Status::Passed {
            case.status = Status::Skipped;
        }
        Ok(case)
    }

    fn case_children(&mut self, case: &mut Case) -> Result<(), Failure> {
        loop {
            match self.next(false)? {
                Ev::Open { elem, attrs, empty, .. } => match elem {
                    Elem::Failure | Elem::Error | Elem::Skipped => {
                        let (kind, element) = match elem {
                            Elem::Failure => (ProblemKind::Failure, "failure"),
                            Elem::Error => (ProblemKind::Error, "error"),
                            _ => (ProblemKind::Skipped, "skipped"),
                        };
                        let (message, ty) = message_and_type(attrs);
                        // The element really open, for a file cut short inside it.
                        let text = self.text(empty, element)?;
                        case.detail_mut().problems.push(Problem { kind, message, ty, text });
                    }
                    Elem::Rerun(kind) => {
                        let rerun = self.rerun(kind, attrs, empty)?;
                        case.detail_mut().reruns.push(rerun);
                    }
                    Elem::SystemOut => case.detail_mut().system_out = self.text(empty, "system-out")?,
                    Elem::SystemErr => case.detail_mut().system_err = self.text(empty, "system-err")?,
                    Elem::Properties => self.properties(empty, &mut case.detail_mut().properties)?,
                    _ => self.skip(empty)?,
                },
                Ev::Close => return Ok(()),
                Ev::Eof => return self.fail(ReadErrorKind::Truncated("testcase".into())),
                _ => {}
            }
        }
    }

    fn rerun(&mut self, kind: RerunKind, attrs: RawAttrs, empty: bool) -> Result<Rerun, Failure> {
        let (message, ty) = message_and_type(attrs);
        let mut rerun =
            Rerun { kind, message, ty, stack_trace: None, system_out: None, system_err: None, text: None };
        if empty {
            return Ok(rerun);
        }
        let mut loose = String::new();
        loop {
            match self.next(true)? {
                Ev::Open { elem: Elem::StackTrace, empty, .. } => {
                    rerun.stack_trace = self.text(empty, "stackTrace")?
                }
                Ev::Open { elem: Elem::SystemOut, empty, .. } => {
                    rerun.system_out = self.text(empty, "system-out")?
                }
                Ev::Open { elem: Elem::SystemErr, empty, .. } => {
                    rerun.system_err = self.text(empty, "system-err")?
                }
                Ev::Open { empty, .. } => self.skip(empty)?,
                Ev::Text(t) => loose.push_str(&t),
                Ev::Close => break,
                Ev::Eof => return self.fail(ReadErrorKind::Truncated(kind.element().into())),
                _ => {}
            }
        }
        rerun.text = non_blank(loose);
        Ok(rerun)
    }

    fn properties(&mut self, empty: bool, into: &mut Vec<Property>) -> Result<(), Failure> {
        if empty {
            return Ok(());
        }
        loop {
            match self.next(false)? {
                Ev::Open { elem: Elem::Property, attrs, empty, .. } => {
                    let mut property = Property { name: "".into(), value: "".into() };
                    for (key, value) in attrs {
                        match &*key {
                            "name" => property.name = value,
                            "value" => property.value = value,
                            _ => {}
                        }
                    }
                    // Some tools write the value as the element's text instead of an attribute.
                    if let Some(text) = self.text(empty, "property")? {
                        if property.value.is_empty() {
                            property.value = text;
                        }
                    }
                    into.push(property);
                }
                Ev::Open { empty, .. } => self.skip(empty)?,
                Ev::Close => return Ok(()),
                Ev::Eof => return self.fail(ReadErrorKind::Truncated("properties".into())),
                _ => {}
            }
        }
    }

    /// Collects the text of the element just opened (CDATA and references included) up to its end tag.
    fn text(&mut self, empty: bool, element: &str) -> Result<Option<Text>, Failure> {
        if empty {
            return Ok(None);
        }
        let mut text = String::new();
        loop {
            match self.next(true)? {
                Ev::Text(t) => text.push_str(&t),
                Ev::Open { empty, .. } => self.skip(empty)?,
                Ev::Close => return Ok(non_blank(text)),
                Ev::Eof => return self.fail(ReadErrorKind::Truncated(element.into())),
                _ => {}
            }
        }
    }

    /// Skips the element just opened, children and all.
    fn skip(&mut self, empty: bool) -> Result<(), Failure> {
        if empty {
            return Ok(());
        }
        let mut depth = 1usize;
        while depth > 0 {
            match self.next(false)? {
                Ev::Open { empty: false, .. } => depth += 1,
                Ev::Close => depth -= 1,
                Ev::Eof => return self.fail(ReadErrorKind::Truncated("an unknown element".into())),
                _ => {}
            }
        }
        Ok(())
    }
}

/// Turns a start tag into an event; an error comes with its byte offset from the tag's `<`.
fn open(e: &BytesStart<'_>, empty: bool) -> Result<Ev, (ReadErrorKind, u64)> {
    let raw_name = e.name();
    let elem = elem(raw_name.as_ref());
    let name = if elem == Elem::Other { raw_name.as_ref().to_string() } else { String::new() };
    let mut attrs = RawAttrs::new();
    for attr in e.attributes() {
        let attr = attr.map_err(|err| (ReadErrorKind::Xml(err.to_string()), 0))?;
        let key: Text = attr.key.as_ref().into();
        // quick-xml accepts `<` in a value; XML does not (xmllint and junitparser reject
        // `time="<<computed>>"`), and a reader that guesses here hides a broken writer.
        if let Some(at) = attr.value.find('<') {
            let offset = (attr.value.as_ptr() as usize).wrapping_sub(e.as_ptr() as usize) + at + 1;
            let message = format!("`<` inside the value of attribute `{key}` is not allowed in XML (the writer must escape it as &lt;)");
            return Err((ReadErrorKind::Xml(message), offset.min(e.len() + 1) as u64));
        }
        let value = attr
            .normalized_value(XmlVersion::Implicit1_0)
            .map_err(|err| (ReadErrorKind::Xml(err.to_string()), 0))?;
        attrs.push((key, value.into()));
    }
    Ok(Ev::Open { elem, name, attrs, empty })
}

fn message_and_type(attrs: RawAttrs) -> (Option<Text>, Option<Text>) {
    let (mut message, mut ty) = (None, None);
    for (key, value) in attrs {
        match &*key {
            "message" => message = Some(value),
            "type" => ty = Some(value).filter(|v| !v.is_empty()),
            _ => {}
        }
    }
    (message, ty)
}

fn non_blank(text: String) -> Option<Text> {
    (!text.trim().is_empty()).then(|| text.into_boxed_str())
}

/// Seconds from a `time` attribute; Surefire writes thousands separators (`1,234.5`).
pub(crate) fn parse_time(value: &str) -> Option<f64> {
    let cleaned: String = value.trim().chars().filter(|c| *c != ',').collect();
    cleaned.parse::<f64>().ok().filter(|t| t.is_finite() && *t >= 0.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn salvage_keeps_cases_completed_before_the_cut() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("cut.xml");
        std::fs::write(&path, r#"<testsuites><testsuite name="done"><testcase name="a"/></testsuite><testsuite name="outer"><testsuite name="inner"><testcase name="b"/><testcase name="c"><failure>x</fail"#).unwrap();
        let (report, error) = read_file_salvaging(&path);
        assert!(matches!(error.unwrap().kind, ReadErrorKind::Xml(_) | ReadErrorKind::Truncated(_)));
        assert_eq!(report.suites.len(), 2);
        assert_eq!(&*report.suites[1].name, "outer");
        assert_eq!(&*report.suites[1].suites[0].name, "inner");
        assert_eq!(report.counts().tests, 2, "a and b are complete; c is not");
    }

    #[test]
    fn a_less_than_in_an_attribute_is_malformed_at_its_own_line() {
        let xml = "<testsuite name=\"s\">\n  <testcase name=\"a\"/>\n  <testcase name=\"b\" time=\"<<computed>>\"/>\n</testsuite>";
        let err = parse_bytes(xml.as_bytes(), "c.xml").unwrap_err();
        assert_eq!((err.line, err.column), (Some(3), Some(28)), "{err}");
        assert!(err.to_string().contains("`<` inside the value of attribute `time`"), "{err}");
    }

    #[test]
    fn a_cut_file_names_the_result_element_that_is_open() {
        for element in ["skipped", "error", "failure"] {
            let xml = format!("<testsuite name=\"s\"><testcase name=\"a\"><{element} message=\"m\">text");
            let err = parse_bytes(xml.as_bytes(), "cut.xml").unwrap_err();
            assert!(
                matches!(&err.kind, ReadErrorKind::Truncated(open) if open == element),
                "{element}: {err}"
            );
        }
    }

    #[test]
    fn salvage_of_a_good_file_is_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("ok.xml");
        std::fs::write(&path, r#"<testsuite name="s"><testcase name="a"/></testsuite>"#).unwrap();
        let (report, error) = read_file_salvaging(&path);
        assert!(error.is_none());
        assert_eq!(report.counts().tests, 1);
    }
}
