//! `stepkit notify` (Slack) and `stepkit github` (check runs, commit statuses, PR comments): tell people
//! and GitHub what the pipeline's steps concluded, from their result files, with retries that honour
//! the services' rate limits.

pub mod github;
pub mod message;
pub mod report;
pub mod retry;
pub mod slack;

pub use message::{Message, Status};
pub use report::StepReport;
pub use retry::{Attempt, GaveUp, RetryPolicy};
