//! Settings for `stepkit gate`: probes and their checks from flags; policy and TLS from flags, then
//! `STEPKIT_GATE_*`, then `[gate]` in stepkit.toml, then defaults.

use super::layered::{layers, parse_duration};
use super::{env_parse, flag, relative_to, ConfigError, Secret};
use crate::ci::Env;
use crate::cli::GateArgs;
use crate::steps::gate::{
    Expectations, GateSettings, HttpProbe, JsonExpect, LatencySettings, Probe, StatusRanges, TlsSettings,
};
use serde::Deserialize;
use std::path::{Path, PathBuf};

/// `[gate]` in stepkit.toml: the policy a team wants for every gate (and deploy), and its TLS trust.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct GateConfig {
    pub interval: Option<String>,
    pub timeout: Option<String>,
    pub initial_delay: Option<String>,
    pub deadline: Option<String>,
    pub successes: Option<u32>,
    pub failures: Option<u32>,
    pub expect_status: Option<String>,
    /// Relative to the config file.
    #[serde(default)]
    pub ca_cert: Vec<PathBuf>,
    pub insecure: Option<bool>,
}

/// The config file's `[gate]` table and where the file is (for its relative paths).
#[derive(Debug, Clone, Copy, Default)]
pub struct GateFile<'a> {
    pub table: Option<&'a GateConfig>,
    pub path: Option<&'a Path>,
}

/// An error in `[gate]`, named by its key.
fn in_file(flag_name: &str, message: String) -> ConfigError {
    ConfigError::Flag {
        flag: format!("{} in the [gate] table of stepkit.toml", flag_name.trim_start_matches('-')),
        message,
    }
}

/// `20%` or `20` -> 20.0.
pub(super) fn parse_percent(text: &str) -> Result<f64, String> {
    let number = text.trim().trim_end_matches('%').trim();
    number
        .parse::<f64>()
        .ok()
        .filter(|p| p.is_finite() && *p >= 0.0)
        .ok_or_else(|| format!("`{text}` is not a percentage such as 20%"))
}

/// `K: V` -> (K, V), checked to be a valid header name and value.
pub(super) fn parse_header(text: &str) -> Result<(String, String), String> {
    let (name, value) = text.split_once(':').ok_or_else(|| format!("`{text}` is not `Name: value`"))?;
    let (name, value) = (name.trim(), value.trim());
    reqwest::header::HeaderName::from_bytes(name.as_bytes())
        .map_err(|_| format!("`{name}` is not a valid header name"))?;
    reqwest::header::HeaderValue::from_str(value)
        .map_err(|_| format!("the value of {name} is not a valid header value"))?;
    Ok((name.to_string(), value.to_string()))
}

/// Headers that carry credentials, from the environment variable `var` (one `Name: value` per line),
/// never argv. A bad line is reported without its value.
pub(super) fn secret_headers(env: &Env, var: &str) -> Result<Vec<(String, Secret)>, ConfigError> {
    let Some(text) = env.get(var) else { return Ok(Vec::new()) };
    text.lines()
        .filter(|l| !l.trim().is_empty())
        .map(|line| {
            parse_header(line).map(|(name, value)| (name, Secret::new(value))).map_err(|_| ConfigError::Env {
                name: var.into(),
                value: "***".into(),
                expected: "one `Name: value` header per line".into(),
            })
        })
        .collect()
}

/// `HOST:PORT` or `[::1]:PORT`.
fn parse_host_port(text: &str) -> Result<(String, u16), String> {
    let bad = || format!("`{text}` is not HOST:PORT (e.g. localhost:5432 or [::1]:5432)");
    let (host, port) = text.trim().rsplit_once(':').ok_or_else(bad)?;
    let host = host.strip_prefix('[').and_then(|h| h.strip_suffix(']')).unwrap_or(host);
    let port = port.parse::<u16>().ok().filter(|p| *p > 0).ok_or_else(bad)?;
    if host.is_empty() {
        return Err(bad());
    }
    Ok((host.to_string(), port))
}

fn count(
    value: Option<u32>,
    env: &Env,
    var: &str,
    name: &str,
    file: Option<u32>,
) -> Result<Option<u32>, ConfigError> {
    let value = match value {
        Some(v) => Some(v),
        None => env_parse::<u32>(env, var, "a whole number of at least 1")?.or(file),
    };
    match value {
        Some(0) => Err(flag(name, "must be at least 1")),
        other => Ok(other),
    }
}

/// The CA files from the flags, else STEPKIT_GATE_CA_CERT, else the config file; each read and
/// checked now, so a wrong path fails before the service is waited for.
fn tls_settings(args: &GateArgs, env: &Env, file: GateFile) -> Result<TlsSettings, ConfigError> {
    let table = file.table.cloned().unwrap_or_default();
    let (paths, source): (Vec<PathBuf>, &str) = if !args.ca_cert.is_empty() {
        (args.ca_cert.clone(), "--ca-cert")
    } else if let Some(path) = env.get("STEPKIT_GATE_CA_CERT") {
        (vec![PathBuf::from(path)], "STEPKIT_GATE_CA_CERT")
    } else {
        (
            table.ca_cert.iter().map(|p| relative_to(file.path, p.clone())).collect(),
            "ca-cert in the [gate] table of stepkit.toml",
        )
    };
    let mut ca_certs = Vec::new();
    for path in paths {
        let pem = std::fs::read(&path).map_err(|e| flag(source, format!("read {}: {e}", path.display())))?;
        let certs =
            reqwest::Certificate::from_pem_bundle(&pem).ok().filter(|c| !c.is_empty()).ok_or_else(|| {
                flag(
                    source,
                    format!("{} holds no PEM certificate (-----BEGIN CERTIFICATE-----)", path.display()),
                )
            })?;
        ca_certs.extend(certs);
    }
    let insecure = args.insecure
        || env_parse::<bool>(env, "STEPKIT_GATE_INSECURE", "true or false")?
            .or(table.insecure)
            .unwrap_or(false);
    Ok(TlsSettings { ca_certs, insecure })
}

/// Resolves `stepkit gate`.
pub fn gate_settings(args: &GateArgs, env: &Env, file: GateFile) -> Result<GateSettings, ConfigError> {
    let table = file.table.cloned().unwrap_or_default();
    let http_checks_given = args.expect_status.is_some()
        || !args.body_contains.is_empty()
        || !args.body_regex.is_empty()
        || !args.json.is_empty()
        || !args.header.is_empty()
        || args.max_latency.is_some();
    if args.http.is_empty() && http_checks_given {
        return Err(flag("--http", "the HTTP checks (--expect-status, --body-contains, --body-regex, --json, --header, --max-latency) need an --http URL"));
    }
    let expect_status = match (&args.expect_status, &table.expect_status) {
        (Some(text), _) => StatusRanges::parse(text).map_err(|m| flag("--expect-status", m))?,
        (None, Some(text)) => StatusRanges::parse(text).map_err(|m| in_file("expect-status", m))?,
        (None, None) => StatusRanges::default(),
    };
    let body_regex = args
        .body_regex
        .iter()
        .map(|re| {
            regex::Regex::new(re)
                .map_err(|e| flag("--body-regex", format!("`{re}` is not a valid regex: {e}")))
        })
        .collect::<Result<Vec<_>, _>>()?;
    let json = args
        .json
        .iter()
        .map(|spec| JsonExpect::parse(spec).map_err(|m| flag("--json", m)))
        .collect::<Result<Vec<_>, _>>()?;
    let headers = args
        .header
        .iter()
        .map(|h| parse_header(h).map_err(|m| flag("--header", m)))
        .collect::<Result<Vec<_>, _>>()?;
    // Headers that carry credentials come from the environment, one `Name: value` per line, never argv.
    let secret_headers = secret_headers(env, "STEPKIT_GATE_HEADERS")?;
    let max_latency = args
        .max_latency
        .as_deref()
        .map(|t| parse_duration(t).map_err(|m| flag("--max-latency", m)))
        .transpose()?;

    let mut probes = Vec::new();
    for url in &args.http {
        let parsed = reqwest::Url::parse(url.trim())
            .map_err(|e| flag("--http", format!("`{url}` is not a URL: {e}")))?;
        if !matches!(parsed.scheme(), "http" | "https") {
            return Err(flag(
                "--http",
                format!("`{url}`: the scheme must be http or https, not {}", parsed.scheme()),
            ));
        }
        probes.push(Probe::Http(Box::new(HttpProbe {
            expect: Expectations {
                status: expect_status.clone(),
                body_contains: args.body_contains.clone(),
                body_regex: body_regex.clone(),
                json: json.clone(),
            },
            headers: headers.clone(),
            secret_headers: secret_headers.clone(),
            max_latency,
            ..HttpProbe::new(parsed)
        })));
    }
    for spec in &args.tcp {
        let (host, port) = parse_host_port(spec).map_err(|m| flag("--tcp", m))?;
        probes.push(Probe::Tcp { host, port });
    }
    for name in &args.container {
        let name = name.trim();
        if name.is_empty() {
            return Err(flag("--container", "the container name is empty"));
        }
        probes.push(Probe::Container { name: name.to_string(), target: None });
    }
    if probes.is_empty() {
        return Err(flag("--http / --tcp / --container", "give at least one probe"));
    }

    let mut settings = GateSettings::new(probes);
    settings.tls = tls_settings(args, env, file)?;
    settings.interval = layers("--interval", args.interval.as_deref())
        .env(env, "STEPKIT_GATE_INTERVAL")
        .file("gate", table.interval.as_deref())
        .duration(settings.interval)?;
    settings.timeout = layers("--timeout", args.timeout.as_deref())
        .env(env, "STEPKIT_GATE_TIMEOUT")
        .file("gate", table.timeout.as_deref())
        .duration(settings.timeout)?;
    settings.initial_delay = layers("--initial-delay", args.initial_delay.as_deref())
        .env(env, "STEPKIT_GATE_INITIAL_DELAY")
        .file("gate", table.initial_delay.as_deref())
        .duration(settings.initial_delay)?;
    settings.deadline = layers("--deadline", args.deadline.as_deref())
        .env(env, "STEPKIT_GATE_DEADLINE")
        .file("gate", table.deadline.as_deref())
        .duration(settings.deadline)?;
    if settings.interval.is_zero() {
        return Err(flag("--interval", "must be more than 0"));
    }
    if settings.timeout.is_zero() {
        return Err(flag("--timeout", "must be more than 0"));
    }
    if settings.initial_delay >= settings.deadline {
        return Err(flag(
            "--initial-delay",
            format!(
                "{} leaves no time before the deadline of {}",
                humantime::format_duration(settings.initial_delay),
                humantime::format_duration(settings.deadline)
            ),
        ));
    }
    settings.successes =
        count(args.successes, env, "STEPKIT_GATE_SUCCESSES", "--successes", table.successes)?.unwrap_or(1);
    settings.failures = count(args.failures, env, "STEPKIT_GATE_FAILURES", "--failures", table.failures)?;

    let latency_flags = args.p95.is_some() || args.baseline.is_some() || args.max_regression.is_some();
    settings.latency = match args.samples {
        Some(0) => return Err(flag("--samples", "must be at least 1")),
        Some(samples) => {
            if args.http.is_empty() {
                return Err(flag("--samples", "latency is measured on --http probes; give at least one"));
            }
            if args.max_regression.is_some() && args.baseline.is_none() {
                return Err(flag("--max-regression", "needs --baseline FILE to compare with"));
            }
            Some(LatencySettings {
                samples,
                p95: args
                    .p95
                    .as_deref()
                    .map(|t| parse_duration(t).map_err(|m| flag("--p95", m)))
                    .transpose()?,
                baseline: args.baseline.clone(),
                max_regression_pct: args
                    .max_regression
                    .as_deref()
                    .map(|t| parse_percent(t).map_err(|m| flag("--max-regression", m)))
                    .transpose()?,
            })
        }
        None if latency_flags => {
            return Err(flag(
                "--p95 / --baseline / --max-regression",
                "need --samples N: how many requests to measure after the gate opens",
            ))
        }
        None => None,
    };
    if let Some(n) = args.show_attempts {
        settings.show_attempts = n;
    }
    if let Some(n) = args.log_lines {
        settings.log_lines = n;
    }
    Ok(settings)
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;
    use std::time::Duration;

    fn args(argv: &[&str]) -> GateArgs {
        let mut full = vec!["stepkit", "gate"];
        full.extend_from_slice(argv);
        match crate::cli::Cli::try_parse_from(full).unwrap().command {
            crate::cli::Command::Gate(args) => *args,
            other => panic!("not gate: {other:?}"),
        }
    }

    fn resolve(argv: &[&str]) -> Result<GateSettings, ConfigError> {
        gate_settings(&args(argv), &Env::default(), GateFile::default())
    }

    fn err(argv: &[&str]) -> String {
        resolve(argv).expect_err("an error").to_string()
    }

    #[test]
    fn defaults() {
        let s = resolve(&["--http", "http://localhost:8080/health"]).unwrap();
        assert_eq!(
            (s.interval, s.timeout, s.initial_delay, s.deadline),
            (Duration::from_secs(2), Duration::from_secs(5), Duration::ZERO, Duration::from_secs(120))
        );
        assert_eq!((s.successes, s.failures), (1, None));
        assert!(s.latency.is_none());
        let Probe::Http(h) = &s.probes[0] else { panic!() };
        assert_eq!(h.expect.status, StatusRanges::default());
    }

    #[test]
    fn every_probe_kind_and_check() {
        let s = resolve(&[
            "--http",
            "http://a:1/h",
            "--http",
            "http://b:2/",
            "--expect-status",
            "200-299,304",
            "--body-contains",
            "ok",
            "--body-regex",
            "v\\d+",
            "--json",
            "/status=ok",
            "-H",
            "Host: app.local",
            "--max-latency",
            "300ms",
            "--tcp",
            "db:5432",
            "--tcp",
            "[::1]:6379",
            "--container",
            "web",
            "--interval",
            "500ms",
            "--timeout",
            "1s",
            "--initial-delay",
            "0",
            "--successes",
            "3",
            "--failures",
            "5",
            "--deadline",
            "1m30s",
        ])
        .unwrap();
        assert_eq!(s.probes.len(), 5);
        let Probe::Http(b) = &s.probes[1] else { panic!() };
        assert!(b.expect.status.contains(304) && !b.expect.status.contains(302));
        assert_eq!(b.headers, vec![("Host".to_string(), "app.local".to_string())]);
        assert_eq!(b.expect.json[0].pointer, "/status");
        assert_eq!(b.max_latency, Some(Duration::from_millis(300)));
        assert!(matches!(&s.probes[2], Probe::Tcp { host, port: 5432 } if host == "db"));
        assert!(matches!(&s.probes[3], Probe::Tcp { host, port: 6379 } if host == "::1"));
        assert!(matches!(&s.probes[4], Probe::Container { name, .. } if name == "web"));
        assert_eq!(
            (s.interval, s.timeout, s.deadline, s.successes, s.failures),
            (Duration::from_millis(500), Duration::from_secs(1), Duration::from_secs(90), 3, Some(5))
        );
    }

    #[test]
    fn latency_flags() {
        let s = resolve(&[
            "--http",
            "http://a/",
            "--samples",
            "50",
            "--p95",
            "250ms",
            "--baseline",
            "last.json",
            "--max-regression",
            "20%",
        ])
        .unwrap();
        let l = s.latency.unwrap();
        assert_eq!(
            (l.samples, l.p95, l.max_regression_pct),
            (50, Some(Duration::from_millis(250)), Some(20.0))
        );
        assert_eq!(l.baseline.unwrap().to_str(), Some("last.json"));
        assert!(err(&["--http", "http://a/", "--p95", "1s"]).contains("--samples"));
        assert!(
            err(&["--http", "http://a/", "--samples", "5", "--max-regression", "20"]).contains("--baseline")
        );
        assert!(err(&["--tcp", "a:1", "--samples", "5"]).contains("--http"));
        assert!(err(&[
            "--http",
            "http://a/",
            "--samples",
            "5",
            "--baseline",
            "b",
            "--max-regression",
            "lots"
        ])
        .contains("percentage"));
    }

    #[test]
    fn flag_beats_env_beats_default() {
        let env = Env::from_pairs([
            ("STEPKIT_GATE_INTERVAL", "250ms"),
            ("STEPKIT_GATE_FAILURES", "4"),
            ("STEPKIT_GATE_DEADLINE", ""),
        ]);
        let s =
            gate_settings(&args(&["--tcp", "a:1", "--interval", "1s"]), &env, GateFile::default()).unwrap();
        assert_eq!(
            (s.interval, s.failures, s.deadline),
            (Duration::from_secs(1), Some(4), Duration::from_secs(120))
        );
        let s = gate_settings(&args(&["--tcp", "a:1"]), &env, GateFile::default()).unwrap();
        assert_eq!(s.interval, Duration::from_millis(250));
        let bad = Env::from_pairs([("STEPKIT_GATE_TIMEOUT", "soon")]);
        let e = gate_settings(&args(&["--tcp", "a:1"]), &bad, GateFile::default()).err().unwrap().to_string();
        assert!(e.contains("STEPKIT_GATE_TIMEOUT") && e.contains("soon"), "{e}");
    }

    #[test]
    fn credential_headers_come_from_the_environment_as_secrets() {
        let env = Env::from_pairs([(
            "STEPKIT_GATE_HEADERS",
            "Authorization: Bearer s3cr3t-token\nX-Tenant: blue\n",
        )]);
        let s =
            gate_settings(&args(&["--http", "http://a/", "--http", "http://b/"]), &env, GateFile::default())
                .unwrap();
        let Probe::Http(h) = &s.probes[1] else { panic!() };
        assert_eq!(h.secret_headers.len(), 2);
        assert_eq!(h.secret_headers[0].1.expose(), "Bearer s3cr3t-token");
        assert_eq!(s.secrets().len(), 2, "deduplicated across probes");
        assert!(!format!("{s:?}").contains("s3cr3t"));
        let bad = Env::from_pairs([("STEPKIT_GATE_HEADERS", "Authorization s3cr3t")]);
        let e = gate_settings(&args(&["--http", "http://a/"]), &bad, GateFile::default())
            .err()
            .unwrap()
            .to_string();
        assert!(e.contains("STEPKIT_GATE_HEADERS") && !e.contains("s3cr3t"), "{e}");
    }

    #[test]
    fn mistakes_name_the_flag() {
        assert!(err(&[]).contains("at least one probe"));
        assert!(err(&["--json", "/a=1"]).contains("need an --http URL"));
        assert!(err(&["--http", "localhost:8080"]).contains("--http"));
        assert!(err(&["--http", "ftp://x/"]).contains("http or https"));
        assert!(err(&["--http", "https://x/", "--ca-cert", "/nonexistent/ca.pem"])
            .contains("/nonexistent/ca.pem"));
        assert!(err(&["--http", "http://x/", "--expect-status", "2xx,abc"]).contains("--expect-status"));
        assert!(err(&["--http", "http://x/", "--json", "status=ok"]).contains("JSON Pointer"));
        assert!(err(&["--http", "http://x/", "--header", "no colon"]).contains("--header"));
        assert!(err(&["--http", "http://x/", "--body-regex", "("]).contains("--body-regex"));
        assert!(err(&["--tcp", "localhost"]).contains("HOST:PORT"));
        assert!(err(&["--tcp", "a:1", "--interval", "2"]).contains("--interval"));
        assert!(err(&["--tcp", "a:1", "--successes", "0"]).contains("--successes"));
        assert!(err(&["--tcp", "a:1", "--initial-delay", "5m"]).contains("deadline"));
    }

    #[test]
    fn the_config_file_comes_after_flags_and_env() {
        let table: GateConfig = toml::from_str("interval = \"3s\"\nsuccesses = 2\nfailures = 7\nexpect-status = \"204\"\ndeadline = \"5m\"\ninsecure = true\n").unwrap();
        let file = GateFile { table: Some(&table), path: None };
        let env = Env::from_pairs([("STEPKIT_GATE_FAILURES", "4")]);
        let s = gate_settings(&args(&["--http", "http://a/", "--successes", "1"]), &env, file).unwrap();
        assert_eq!(
            (s.interval, s.successes, s.failures, s.deadline),
            (Duration::from_secs(3), 1, Some(4), Duration::from_secs(300))
        );
        let Probe::Http(h) = &s.probes[0] else { panic!() };
        assert!(h.expect.status.contains(204) && !h.expect.status.contains(200));
        assert!(s.tls.insecure);
        let bad: GateConfig = toml::from_str("timeout = \"soon\"").unwrap();
        let e = gate_settings(
            &args(&["--tcp", "a:1"]),
            &Env::default(),
            GateFile { table: Some(&bad), path: None },
        )
        .err()
        .unwrap()
        .to_string();
        assert!(e.contains("[gate]") && e.contains("timeout") && e.contains("soon"), "{e}");
    }

    #[test]
    fn ca_files_are_read_and_checked_up_front() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("not.pem"), "hello").unwrap();
        let table: GateConfig = toml::from_str("ca-cert = [\"not.pem\"]").unwrap();
        let config = dir.path().join("stepkit.toml");
        let e = gate_settings(
            &args(&["--http", "https://a/"]),
            &Env::default(),
            GateFile { table: Some(&table), path: Some(&config) },
        )
        .err()
        .unwrap()
        .to_string();
        assert!(
            e.contains("not.pem") && e.contains("no PEM certificate"),
            "relative to the config file: {e}"
        );
    }

    #[test]
    fn the_env_table_in_docs_names_every_variable_the_help_does() {
        let names =
            crate::settings::tests::env_table_matches_help("gate.md", &[&["gate"]], &["STEPKIT_GATE_"]);
        for var in ["STEPKIT_GATE_DEADLINE", "STEPKIT_GATE_INSECURE", "STEPKIT_GATE_HEADERS"] {
            assert!(names.contains(var), "{var} in {names:?}");
        }
    }
}
