//! GitHub workflow-command formatting: escaping, `::error file=..::` annotations, and the per-step display limit.

use crate::report::{Annotation, AnnotationLevel};
use crate::sanitize;

/// Longest title or file property sent (GitHub shows a title on one line).
const PROPERTY_MAX: usize = 500;

/// GitHub displays at most this many annotations of each level per step and drops the rest silently.
pub const MAX_ANNOTATIONS_PER_LEVEL: usize = 10;

/// Escape a workflow command's data part (what follows the second `::`), as the runner's toolkit does.
pub fn escape_data(s: &str) -> String {
    s.replace('%', "%25").replace('\r', "%0D").replace('\n', "%0A")
}

/// Escape a workflow command property value (`file=`, `title=`): data escaping plus the `:` and `,` separators.
pub fn escape_property(s: &str) -> String {
    escape_data(s).replace(':', "%3A").replace(',', "%2C")
}

/// The workflow command name for an annotation level.
fn command(level: AnnotationLevel) -> &'static str {
    match level {
        AnnotationLevel::Error => "error",
        AnnotationLevel::Warning => "warning",
        AnnotationLevel::Notice => "notice",
    }
}

/// A slot per level; a match (not `as usize`) so a new level is a compile error here, not a panic.
fn level_index(level: AnnotationLevel) -> usize {
    match level {
        AnnotationLevel::Error => 0,
        AnnotationLevel::Warning => 1,
        AnnotationLevel::Notice => 2,
    }
}

/// One annotation as a GitHub workflow command, e.g. `::error file=src/a.rs,line=3,title=T::message`.
/// Its parts come from reports and plugins, so they are sanitized (controls, bidi, `##[`) before the
/// command's own escaping; the message keeps its line breaks (as `%0A`).
pub fn format_annotation(a: &Annotation) -> String {
    let mut props = Vec::new();
    if let Some(file) = &a.file {
        props.push(format!("file={}", escape_property(&sanitize::line(file, PROPERTY_MAX))));
        // GitHub ignores a line without a file, so only send it with one.
        if let Some(line) = a.line {
            props.push(format!("line={line}"));
        }
    }
    if let Some(title) = &a.title {
        props.push(format!("title={}", escape_property(&sanitize::line(title, PROPERTY_MAX))));
    }
    let props = if props.is_empty() { String::new() } else { format!(" {}", props.join(",")) };
    format!("::{}{}::{}", command(a.level), props, escape_data(&sanitize::text(&a.message)))
}

/// Keep what GitHub will display and say what was dropped.
///
/// Keeps the first 10 errors and the first 10 warnings. The caller emits the returned summary as one more
/// notice annotation, and that notice counts against the notice budget like any other, so when anything is
/// dropped at most 9 notices are kept (9 + the summary = 10); when nothing is dropped all 10 notices fit.
/// Order is preserved. The summary is `None` when everything fits.
pub fn limit_annotations(all: &[Annotation]) -> (Vec<Annotation>, Option<String>) {
    let count = |level| all.iter().filter(|a| a.level == level).count();
    let (errors, warnings, notices) =
        (count(AnnotationLevel::Error), count(AnnotationLevel::Warning), count(AnnotationLevel::Notice));
    let needs_summary = errors > MAX_ANNOTATIONS_PER_LEVEL
        || warnings > MAX_ANNOTATIONS_PER_LEVEL
        || notices > MAX_ANNOTATIONS_PER_LEVEL;
    let budget = |level| match level {
        AnnotationLevel::Notice if needs_summary => MAX_ANNOTATIONS_PER_LEVEL - 1,
        _ => MAX_ANNOTATIONS_PER_LEVEL,
    };

    let mut kept_per_level = [0usize; 3];
    let kept: Vec<Annotation> = all
        .iter()
        .filter(|a| {
            let slot = &mut kept_per_level[level_index(a.level)];
            *slot += 1;
            *slot <= budget(a.level)
        })
        .cloned()
        .collect();
    if !needs_summary {
        return (kept, None);
    }

    let dropped = |total: usize, level| total.saturating_sub(budget(level));
    let parts: Vec<String> = [
        (dropped(errors, AnnotationLevel::Error), "error", "errors"),
        (dropped(warnings, AnnotationLevel::Warning), "warning", "warnings"),
        (dropped(notices, AnnotationLevel::Notice), "notice", "notices"),
    ]
    .into_iter()
    .filter(|(n, _, _)| *n > 0)
    .map(|(n, one, many)| format!("{n} more {}", if n == 1 { one } else { many }))
    .collect();
    let list = match parts.as_slice() {
        [only] => only.clone(),
        [init @ .., last] => format!("{} and {last}", init.join(", ")),
        [] => unreachable!("a summary is needed only when something was dropped"),
    };
    (kept, Some(format!("{list} not shown as annotations; see the step summary")))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ann(level: AnnotationLevel, message: &str) -> Annotation {
        Annotation { level, title: None, message: message.to_string(), file: None, line: None }
    }

    fn many(level: AnnotationLevel, n: usize) -> Vec<Annotation> {
        (0..n).map(|i| ann(level, &format!("{level:?} {i}"))).collect()
    }

    #[test]
    fn formats_with_all_properties() {
        let a = Annotation {
            level: AnnotationLevel::Error,
            title: Some("T".into()),
            message: "message".into(),
            file: Some("src/a.rs".into()),
            line: Some(3),
        };
        assert_eq!(format_annotation(&a), "::error file=src/a.rs,line=3,title=T::message");
    }

    #[test]
    fn formats_without_properties_and_each_level() {
        assert_eq!(format_annotation(&ann(AnnotationLevel::Error, "boom")), "::error::boom");
        assert_eq!(format_annotation(&ann(AnnotationLevel::Warning, "hm")), "::warning::hm");
        assert_eq!(format_annotation(&ann(AnnotationLevel::Notice, "fyi")), "::notice::fyi");
        let mut line_only = ann(AnnotationLevel::Notice, "x");
        line_only.line = Some(4);
        assert_eq!(format_annotation(&line_only), "::notice::x");
    }

    #[test]
    fn escapes_data_and_properties() {
        let a = Annotation {
            level: AnnotationLevel::Warning,
            title: Some("a: b, c%\n".into()),
            message: "50% done\r\nnext: a, b ::x".into(),
            file: Some("dir,1/f:2.rs".into()),
            line: None,
        };
        assert_eq!(
            format_annotation(&a),
            // A title is one line (its break shown as `\x0a`); a message keeps its lines, CRLF as LF.
            r"::warning file=dir%2C1/f%3A2.rs,title=a%3A b%2C c%25\x0a::50%25 done%0Anext: a, b ::x"
        );
        // `%` is escaped first, so an already-escaped looking input survives the round trip.
        assert_eq!(escape_data("%0A"), "%250A");
    }

    #[test]
    fn hostile_parts_stay_inside_one_command() {
        let a = Annotation {
            level: AnnotationLevel::Error,
            title: Some("Failed: \u{202e}x\n::add-mask::t".into()),
            message: "boom\n      ::stop-commands::tok3n\n##[error]x \u{1b}[2J".into(),
            file: Some("a\u{200b}.py".into()),
            line: Some(2),
        };
        assert_eq!(
            format_annotation(&a),
            r"::error file=a\u{200b}.py,line=2,title=Failed%3A \u{202e}x\x0a%3A%3Aadd-mask%3A%3At::boom%0A      : :stop-commands::tok3n%0A# #[error]x \x1b[2J"
        );
    }

    #[test]
    fn nothing_dropped_keeps_ten_of_each_level() {
        let mut all = many(AnnotationLevel::Error, 10);
        all.extend(many(AnnotationLevel::Warning, 10));
        all.extend(many(AnnotationLevel::Notice, 10));
        let (kept, summary) = limit_annotations(&all);
        assert_eq!(kept, all);
        assert_eq!(summary, None);
    }

    #[test]
    fn drops_beyond_ten_and_summarises() {
        let mut all = many(AnnotationLevel::Error, 22);
        all.extend(many(AnnotationLevel::Warning, 13));
        let (kept, summary) = limit_annotations(&all);
        assert_eq!(kept.len(), 20);
        assert_eq!(kept[..10], all[..10], "the first errors are kept, in order");
        assert_eq!(kept[10..], all[22..32]);
        assert_eq!(
            summary.as_deref(),
            Some("12 more errors and 3 more warnings not shown as annotations; see the step summary")
        );
    }

    #[test]
    fn summary_takes_a_notice_slot() {
        let mut all = many(AnnotationLevel::Notice, 10);
        all.push(ann(AnnotationLevel::Error, "e"));
        all.extend(many(AnnotationLevel::Error, 10));
        let (kept, summary) = limit_annotations(&all);
        let notices = kept.iter().filter(|a| a.level == AnnotationLevel::Notice).count();
        assert_eq!(notices, 9);
        assert_eq!(kept.iter().filter(|a| a.level == AnnotationLevel::Error).count(), 10);
        assert_eq!(kept[0].message, "Notice 0");
        assert_eq!(
            summary.as_deref(),
            Some("1 more error and 1 more notice not shown as annotations; see the step summary")
        );
    }

    #[test]
    fn three_kinds_dropped() {
        let mut all = many(AnnotationLevel::Warning, 11);
        all.extend(many(AnnotationLevel::Notice, 12));
        all.extend(many(AnnotationLevel::Error, 11));
        let (kept, summary) = limit_annotations(&all);
        assert_eq!(kept.len(), 29);
        assert_eq!(
            summary.as_deref(),
            Some("1 more error, 1 more warning and 3 more notices not shown as annotations; see the step summary")
        );
    }
}
