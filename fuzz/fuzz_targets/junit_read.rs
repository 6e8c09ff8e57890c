//! Fuzzes the JUnit reader: whatever bytes a test tool (or an attacker) leaves behind must come
//! back as a report or a `ReadError`, never a panic, a hang or unbounded memory.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    // The verdict does not matter here; only that reading returns at all.
    let _ = stepkit::junit::parse_bytes(data, "fuzz-input");
});
