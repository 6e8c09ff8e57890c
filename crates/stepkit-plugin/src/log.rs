//! Lines for the CI log through the host's `log` import (the host sanitizes and caps them).

use crate::bindings::stepkit::check::host;
use crate::LogLevel;

/// Log one line at `level`. Prefer this over `println!`: stdout is captured and capped, not streamed.
pub fn log(level: LogLevel, message: impl AsRef<str>) {
    host::log(level, message.as_ref());
}

/// Detail that helps when debugging the plugin itself.
pub fn debug(message: impl AsRef<str>) {
    log(LogLevel::Debug, message);
}

/// Progress worth seeing in every CI log.
pub fn info(message: impl AsRef<str>) {
    log(LogLevel::Info, message);
}

/// Something odd that does not change the verdict.
pub fn warn(message: impl AsRef<str>) {
    log(LogLevel::Warn, message);
}

/// Something went wrong; usually followed by an `Err` or a `Fail` report.
pub fn error(message: impl AsRef<str>) {
    log(LogLevel::Error, message);
}
