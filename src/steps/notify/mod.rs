//! `stepkit notify` (Slack) and `stepkit github` (check runs, commit statuses, PR comments): tell people
//! and GitHub what the pipeline's steps concluded, from their result files, with retries that honour
//! the services' rate limits.

pub mod github;
pub mod message;
pub mod report;
pub mod slack;

pub use crate::retry::{Attempt, GaveUp, RetryPolicy};
pub use message::{Message, Status};
pub use report::StepReport;
