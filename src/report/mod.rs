//! The one result type every step returns (`Outcome`) and its renderers: human text, JSON, markdown.

mod live;
mod outcome;
mod render;

pub use live::{Live, Silent};
pub use outcome::{Annotation, AnnotationLevel, Outcome, Verdict};
pub use render::{render_error_json, render_human, render_json, render_markdown};
