//! The steps. Each takes resolved settings and returns an `Outcome` or an error; none prints or reads env vars.

pub mod check;
pub mod coverage;
pub mod deploy;
pub mod gate;
pub mod history;
pub mod hook;
pub mod image;
pub mod junit;
pub mod load;
pub mod notify;
pub mod suite;
