//! `stepkit test`: discover -> plan (timings, LPT, shard) -> run (process groups, watchdog, retries) -> collect.

pub mod collect;
pub mod model;
pub mod plan;
pub mod preset;
pub mod run;
pub mod teamcity;
pub mod timings;
