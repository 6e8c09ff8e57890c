//! The integration tests' harness, one file per job: running stepkit (`process`), the loopback
//! contract server (`contract`), ports (`ports`), waiting on events (`wait`), fixtures (`fixtures`).

pub mod contract;
pub mod fixtures;
pub mod ports;
pub mod process;
pub mod wait;

pub use fixtures::{
    corpus, fixture, have_pytest, in_ci, processes_running_each_test_once, require_tool, write,
};
pub use process::{record, stepkit, Run, Stepkit};
