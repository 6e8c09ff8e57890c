//! `stepkit test`: discover -> plan (timings, LPT, shard) -> run (process groups, watchdog, retries) -> collect.

pub mod model;
pub mod plan;
pub mod run;
pub mod timings;
