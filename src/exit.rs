//! Every process exit code stepkit returns, in one place; docs/exit-codes.md documents them for users
//! (and `--format json` carries the one a run ended with).

/// The step did its job and its verdict is "passed".
pub const OK: i32 = 0;
/// The step's verdict is "failed": tests failed, the gate closed, a check failed.
pub const FAILED: i32 = 1;
/// A usage or configuration error: a flag, a variable or stepkit.toml must change.
pub const USAGE: i32 = 2;
/// The environment failed: the daemon, a registry or an API was unreachable after retries.
pub const ENVIRONMENT: i32 = 3;
/// Nothing ran (no tests found): never mistaken for a pass.
pub const NOTHING_RAN: i32 = 4;
/// `--timeout` (or a step's deadline) passed; as GNU `timeout` says it.
pub const TIMED_OUT: i32 = 124;
/// Interrupted by SIGINT (128 + 2).
pub const INTERRUPTED: i32 = 130;
/// Stopped by SIGTERM (128 + 15): a CI cancel or abort.
pub const TERMINATED: i32 = 143;
