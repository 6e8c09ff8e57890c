//! Per-plugin resource limits and the store's `ResourceLimiter` that enforces them.

use std::time::Duration;

/// Longest `--timeout` / `--compile-timeout` accepted: far past any CI job, and small enough that adding
/// it to an `Instant` or a deadline can never overflow (`18446744073709551615s` used to panic a task).
pub const MAX_DURATION: Duration = Duration::from_secs(7 * 24 * 3600);

/// What one plugin run may use. Defaults: 256 MiB of memory, 30 s, bounded output.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Limits {
    /// Total bytes over all the plugin's linear memories.
    pub memory: usize,
    /// Wall time from instantiation to the report, host calls (HTTP) included.
    pub timeout: Duration,
    /// Bytes of `host.log` messages kept; later lines are counted, not kept.
    pub log_bytes: usize,
    /// Findings kept from one report; the rest are counted.
    pub findings: usize,
    /// Bytes of WASI stdout and of stderr kept (each).
    pub output_bytes: usize,
    /// Largest HTTP response body handed to the plugin.
    pub http_body_bytes: usize,
    /// Wall time to compile the component on a cache miss (not counted in `timeout`, which starts after).
    pub compile_timeout: Duration,
    /// Largest component file read; compiling takes time and memory in proportion to it.
    pub component_bytes: u64,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            memory: 256 << 20,
            timeout: Duration::from_secs(30),
            log_bytes: 64 << 10,
            findings: 1000,
            output_bytes: 64 << 10,
            http_body_bytes: 10 << 20,
            // A Python component (~20-40 MB) compiles in tens of seconds on a slow runner.
            compile_timeout: Duration::from_secs(300),
            component_bytes: 64 << 20,
        }
    }
}

/// Table entries allowed over all tables; generous for real guests (Python needs tens of thousands).
const TABLE_ELEMENTS: usize = 1 << 20;

/// Enforces `Limits::memory` over the sum of all memories (wasmtime's `StoreLimits` caps each
/// memory separately, and a component may have several) and remembers whether a limit was hit,
/// so the trap that follows can be reported as "memory limit" rather than a bare trap.
pub struct Limiter {
    memory_budget: usize,
    memory_used: usize,
    table_used: usize,
    /// Set when a growth was refused.
    pub hit: bool,
}

impl Limiter {
    pub fn new(memory: usize) -> Self {
        Limiter { memory_budget: memory, memory_used: 0, table_used: 0, hit: false }
    }
}

impl wasmtime::ResourceLimiter for Limiter {
    fn memory_growing(
        &mut self,
        current: usize,
        desired: usize,
        _maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        let after = self.memory_used.saturating_sub(current).saturating_add(desired);
        if after > self.memory_budget {
            self.hit = true;
            return Ok(false);
        }
        self.memory_used = after;
        Ok(true)
    }

    fn table_growing(
        &mut self,
        current: usize,
        desired: usize,
        _maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        let after = self.table_used.saturating_sub(current).saturating_add(desired);
        if after > TABLE_ELEMENTS {
            self.hit = true;
            return Ok(false);
        }
        self.table_used = after;
        Ok(true)
    }

    fn instances(&self) -> usize {
        1000
    }

    fn memories(&self) -> usize {
        100
    }

    fn tables(&self) -> usize {
        1000
    }
}

/// Parses `256MiB`, `64M`, `1GiB`, `1048576` into bytes.
pub fn parse_size(text: &str) -> Result<usize, String> {
    let t = text.trim();
    let split = t.find(|c: char| !c.is_ascii_digit()).unwrap_or(t.len());
    let (number, unit) = t.split_at(split);
    let number: usize = number.parse().map_err(|_| format!("`{text}` is not a size such as 256MiB"))?;
    let factor: usize = match unit.trim().to_ascii_lowercase().as_str() {
        "" | "b" => 1,
        "k" | "kb" | "kib" => 1 << 10,
        "m" | "mb" | "mib" => 1 << 20,
        "g" | "gb" | "gib" => 1 << 30,
        _ => return Err(format!("`{text}` has an unknown unit; use KiB, MiB or GiB")),
    };
    number.checked_mul(factor).filter(|n| *n > 0).ok_or_else(|| format!("`{text}` is not a usable size"))
}

/// Parses `30s`, `2m`, `1h 30m`: not zero and at most [`MAX_DURATION`].
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    let duration = humantime::parse_duration(text.trim())
        .map_err(|_| format!("`{text}` is not a duration such as 30s or 2m"))?;
    if duration.is_zero() {
        return Err(format!("`{text}` is zero; give a duration such as 30s or 2m"));
    }
    if duration > MAX_DURATION {
        return Err(format!(
            "`{text}` is longer than the most accepted, {}",
            humantime::format_duration(MAX_DURATION)
        ));
    }
    Ok(duration)
}

#[cfg(test)]
mod tests {
    use super::*;
    use wasmtime::ResourceLimiter;

    #[test]
    fn durations_parse_within_bounds() {
        assert_eq!(parse_duration("2s"), Ok(Duration::from_secs(2)));
        assert_eq!(parse_duration(" 7days "), Ok(MAX_DURATION));
        assert!(parse_duration("0s").unwrap_err().contains("zero"));
        assert!(parse_duration("soon").unwrap_err().contains("not a duration"));
        // u64::MAX seconds: humantime accepts it; it must not reach the deadline arithmetic.
        assert!(parse_duration("18446744073709551615s").unwrap_err().contains("longer than"));
        assert!(parse_duration("8days").is_err());
    }

    #[test]
    fn sizes_parse() {
        assert_eq!(parse_size("256MiB"), Ok(256 << 20));
        assert_eq!(parse_size("64m"), Ok(64 << 20));
        assert_eq!(parse_size("4096"), Ok(4096));
        assert!(parse_size("lots").is_err());
        assert!(parse_size("0").is_err());
        assert!(parse_size("3TB").is_err());
    }

    /// A core module whose `grow(n)` runs `table.grow` by `n` null funcrefs and returns the old size or -1
    /// (no Rust guest can emit `table.grow`, so it is assembled here byte by byte).
    const TABLE_GROWER: &[u8] = &[
        0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00, // magic, version
        0x01, 0x06, 0x01, 0x60, 0x01, 0x7f, 0x01, 0x7f, // type: (i32) -> i32
        0x03, 0x02, 0x01, 0x00, // one function of that type
        0x04, 0x04, 0x01, 0x70, 0x00, 0x00, // table 0 funcref, no maximum
        0x07, 0x08, 0x01, 0x04, b'g', b'r', b'o', b'w', 0x00, 0x00, // export "grow"
        0x0a, 0x0b, 0x01, 0x09, 0x00, 0xd0, 0x70, 0x20, 0x00, 0xfc, 0x0f, 0x00,
        0x0b, // ref.null func; local.get 0; table.grow 0
    ];

    #[test]
    fn table_growth_from_wasm_code_stops_at_the_limit() {
        let engine = wasmtime::Engine::default();
        let module = wasmtime::Module::new(&engine, TABLE_GROWER).unwrap();
        let mut store = wasmtime::Store::new(&engine, Limiter::new(64 << 20));
        store.limiter(|limiter| limiter);
        let instance = wasmtime::Instance::new(&mut store, &module, &[]).unwrap();
        let grow = instance.get_typed_func::<i32, i32>(&mut store, "grow").unwrap();
        assert_eq!(grow.call(&mut store, 1000).unwrap(), 0, "a modest table grows");
        assert!(!store.data().hit);
        let over = i32::try_from(TABLE_ELEMENTS).unwrap();
        assert_eq!(
            grow.call(&mut store, over).unwrap(),
            -1,
            "past the limit table.grow fails as wasm defines it"
        );
        assert!(store.data().hit, "the refusal is remembered, so a trap that follows reads as memory-limit");
    }

    #[test]
    fn table_budget_is_over_all_tables() {
        let mut limiter = Limiter::new(1 << 20);
        assert!(limiter.table_growing(0, TABLE_ELEMENTS - 10, None).unwrap());
        assert!(!limiter.table_growing(0, 20, None).unwrap());
        assert!(limiter.hit);
    }

    #[test]
    fn budget_is_over_all_memories() {
        let mut limiter = Limiter::new(100);
        assert!(limiter.memory_growing(0, 60, None).unwrap());
        // A second memory of 60 would pass a per-memory cap of 100; it must not pass the total.
        assert!(!limiter.memory_growing(0, 60, None).unwrap());
        assert!(limiter.hit);
        assert!(limiter.memory_growing(60, 90, None).is_ok());
    }
}
