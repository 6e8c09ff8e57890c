//! `data` of the `stepkit image build` and `stepkit image push` results.

use schemars::JsonSchema;
use serde::Serialize;

/// Bumped when a field of `image build`'s data changes meaning or goes away; new fields keep it.
pub const BUILD_VERSION: u32 = 1;
/// The same for `image push`.
pub const PUSH_VERSION: u32 = 1;

/// `data` of a `stepkit image build` result: the image, or the step the build failed at.
#[derive(Debug, Clone, Serialize, JsonSchema)]
#[serde(untagged)]
pub enum BuildData {
    Built {
        schema_version: u32,
        image_id: String,
        tags: Vec<String>,
        /// Files sent in the build context.
        context_files: usize,
        /// The first pushed tag's digest (`--push`), else null.
        digest: Option<String>,
        pushed: Vec<PushedData>,
    },
    Failed {
        schema_version: u32,
        /// The Dockerfile step that failed; null when the build failed before the first step.
        step: Option<String>,
        error: String,
        tags: Vec<String>,
    },
}

/// `data` of a `stepkit image push` result.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct PushData {
    pub schema_version: u32,
    /// The first tag's image.
    pub image_id: String,
    pub tags: Vec<String>,
    /// The first tag's digest.
    pub digest: String,
    pub pushed: Vec<PushedData>,
}

/// One pushed tag.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct PushedData {
    pub tag: String,
    pub image_id: String,
    /// The digest the registry serves for the tag.
    pub digest: String,
    /// Which credentials were used (where they came from, never the secret itself).
    pub credentials: String,
}
