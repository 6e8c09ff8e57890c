//! Settings for `stepkit load`: the requests (from flags or a TOML requests file), the model, the
//! thresholds, and credential headers from `STEPKIT_LOAD_HEADERS`.

use super::gate::{parse_header, parse_percent, secret_headers};
use super::layered::parse_duration;
use super::{flag, ConfigError};
use crate::ci::Env;
use crate::cli::LoadArgs;
use crate::steps::load::{LoadSettings, Model, RequestSpec, Stop, Thresholds};
use serde::Deserialize;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// A requests file: the same set of requests for every run and every target.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
struct RequestsFile {
    /// Relative request URLs are joined to it; --base-url overrides it.
    base_url: Option<String>,
    /// Sent with every request (a request's own headers win).
    #[serde(default)]
    headers: BTreeMap<String, String>,
    #[serde(default)]
    request: Vec<FileRequest>,
}

/// One `[[request]]`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
struct FileRequest {
    name: String,
    method: Option<String>,
    url: String,
    #[serde(default)]
    headers: BTreeMap<String, String>,
    body: Option<String>,
    /// Relative to the requests file.
    body_file: Option<PathBuf>,
}

fn method(text: Option<&str>) -> Result<hyper::Method, String> {
    let text = text.unwrap_or("GET").trim().to_ascii_uppercase();
    hyper::Method::from_bytes(text.as_bytes()).map_err(|_| format!("`{text}` is not an HTTP method"))
}

/// An absolute http:// URL; a relative one is joined to `base`.
fn url(text: &str, base: Option<&str>) -> Result<hyper::Uri, String> {
    let text = text.trim();
    let full = if text.contains("://") {
        text.to_string()
    } else {
        let base = base.ok_or_else(|| {
            format!("`{text}` is relative: give --base-url (or base-url in the file), or an absolute URL")
        })?;
        format!("{}/{}", base.trim().trim_end_matches('/'), text.trim_start_matches('/'))
    };
    let uri: hyper::Uri = full.parse().map_err(|e| format!("`{full}` is not a URL: {e}"))?;
    match uri.scheme_str() {
        Some("http") => {}
        Some("https") => {
            return Err(format!(
            "`{full}`: https is not supported by stepkit load yet; load the service over http (its own port)"
        ))
        }
        _ => return Err(format!("`{full}`: the scheme must be http")),
    }
    if uri.host().is_none_or(str::is_empty) {
        return Err(format!("`{full}` has no host"));
    }
    Ok(uri)
}

fn headers<'a>(
    given: impl IntoIterator<Item = &'a str>,
    what: &str,
) -> Result<Vec<(String, String)>, ConfigError> {
    given.into_iter().map(|h| parse_header(h).map_err(|m| flag(what, m))).collect()
}

fn read_body(path: &Path, what: &str) -> Result<bytes::Bytes, ConfigError> {
    std::fs::read(path)
        .map(bytes::Bytes::from)
        .map_err(|e| flag(what, format!("read the body file {}: {e}", path.display())))
}

/// `[[request]]`s of a requests file, with --base-url and the file's and the flags' headers applied.
fn file_requests(
    path: &Path,
    args: &LoadArgs,
    flag_headers: &[(String, String)],
) -> Result<Vec<RequestSpec>, ConfigError> {
    let what = "--requests-file";
    let at = |message: String| flag(what, format!("{}: {message}", path.display()));
    let text = std::fs::read_to_string(path).map_err(|e| at(format!("cannot read it: {e}")))?;
    let file: RequestsFile = toml::from_str(&text).map_err(|e| at(e.to_string().trim_end().to_string()))?;
    if file.request.is_empty() {
        return Err(at("no [[request]] in it; each needs a name and a url".into()));
    }
    let base = args.base_url.as_deref().or(file.base_url.as_deref());
    let common = headers(
        file.headers.iter().map(|(k, v)| format!("{k}: {v}")).collect::<Vec<_>>().iter().map(String::as_str),
        what,
    )?;
    let mut specs: Vec<RequestSpec> = Vec::new();
    for request in &file.request {
        let name = request.name.trim();
        let at_request = |message: String| at(format!("request `{name}`: {message}"));
        if name.is_empty() {
            return Err(at("a [[request]] has an empty name".into()));
        }
        if specs.iter().any(|s| s.name == name) {
            return Err(at_request("the name is used twice; names tell the results apart".into()));
        }
        let own = headers(
            request
                .headers
                .iter()
                .map(|(k, v)| format!("{k}: {v}"))
                .collect::<Vec<_>>()
                .iter()
                .map(String::as_str),
            what,
        )?;
        let mut all = common.clone();
        for (k, v) in own.into_iter().chain(flag_headers.iter().cloned()) {
            all.retain(|(name, _)| !name.eq_ignore_ascii_case(&k));
            all.push((k, v));
        }
        let body = match (&request.body, &request.body_file) {
            (Some(_), Some(_)) => return Err(at_request("give body or body-file, not both".into())),
            (Some(text), None) => bytes::Bytes::from(text.clone()),
            (None, Some(file)) => read_body(&super::relative_to(Some(path), file.clone()), what)?,
            (None, None) => bytes::Bytes::new(),
        };
        specs.push(RequestSpec {
            name: name.to_string(),
            method: method(request.method.as_deref()).map_err(at_request)?,
            url: url(&request.url, base).map_err(at_request)?,
            headers: all,
            body,
        });
    }
    Ok(specs)
}

fn positive_duration(value: Option<&str>, name: &str, default: Duration) -> Result<Duration, ConfigError> {
    let duration =
        value.map(|t| parse_duration(t).map_err(|m| flag(name, m))).transpose()?.unwrap_or(default);
    if duration.is_zero() && !default.is_zero() {
        return Err(flag(name, "must be more than 0"));
    }
    Ok(duration)
}

fn limit(value: Option<&str>, name: &str) -> Result<Option<Duration>, ConfigError> {
    value.map(|t| parse_duration(t).map_err(|m| flag(name, m))).transpose()
}

fn percent(value: Option<&str>, name: &str) -> Result<Option<f64>, ConfigError> {
    value.map(|t| parse_percent(t).map_err(|m| flag(name, m))).transpose()
}

/// `200`, `200/s` -> 200.0.
fn rate(text: &str) -> Result<f64, String> {
    let number = text.trim().trim_end_matches("/s").trim();
    number
        .parse::<f64>()
        .ok()
        .filter(|r| r.is_finite() && *r > 0.0)
        .ok_or_else(|| format!("`{text}` is not a rate such as 200 or 200/s"))
}

/// Resolves `stepkit load`.
pub fn load_settings(args: &LoadArgs, env: &Env, cwd: &Path) -> Result<LoadSettings, ConfigError> {
    let flag_headers = headers(args.header.iter().map(String::as_str), "--header")?;
    let requests = match (&args.requests_file, &args.url) {
        (Some(path), _) => {
            for (given, name) in [
                (args.method.is_some(), "--method"),
                (args.body.is_some(), "--body"),
                (args.body_file.is_some(), "--body-file"),
            ] {
                if given {
                    return Err(flag(name, "applies to URL; in --requests-file give each request its own"));
                }
            }
            file_requests(&cwd.join(path), args, &flag_headers)?
        }
        (None, Some(text)) => {
            let uri = url(text, args.base_url.as_deref()).map_err(|m| flag("URL", m))?;
            let method = method(args.method.as_deref()).map_err(|m| flag("--method", m))?;
            let body = match (&args.body, &args.body_file) {
                (Some(text), _) => bytes::Bytes::from(text.clone()),
                (None, Some(path)) => read_body(&cwd.join(path), "--body-file")?,
                (None, None) => bytes::Bytes::new(),
            };
            let name = format!("{method} {}", uri.path_and_query().map_or("/", |p| p.as_str()));
            vec![RequestSpec { name, method, url: uri, headers: flag_headers, body }]
        }
        (None, None) => return Err(flag("URL / --requests-file", "give a URL to load, or a requests file")),
    };
    let secret_headers = secret_headers(env, "STEPKIT_LOAD_HEADERS")?;
    let connections = args.connections.unwrap_or(10);
    if !(1..=100_000).contains(&connections) {
        return Err(flag("--connections", "must be between 1 and 100000"));
    }
    let model = match &args.rate {
        Some(text) => Model::Open { rate: rate(text).map_err(|m| flag("--rate", m))? },
        None => Model::Closed,
    };
    let stop = match args.requests {
        Some(0) => return Err(flag("--requests", "must be at least 1")),
        Some(n) => Stop::Requests(n),
        None => {
            Stop::After(positive_duration(args.duration.as_deref(), "--duration", Duration::from_secs(10))?)
        }
    };
    let target = match args.target.as_deref().map(str::trim) {
        Some("") => return Err(flag("--target", "the name is empty")),
        other => other.map(str::to_string),
    };
    if let Some(min) = args.min_rps.filter(|m| !m.is_finite() || *m < 0.0) {
        return Err(flag("--min-rps", format!("`{min}` is not a number of requests per second")));
    }
    Ok(LoadSettings {
        requests,
        secret_headers,
        target,
        connections,
        model,
        stop,
        warmup: positive_duration(args.warmup.as_deref(), "--warmup", Duration::ZERO)?,
        timeout: positive_duration(args.timeout.as_deref(), "--timeout", Duration::from_secs(10))?,
        thresholds: Thresholds {
            p50: limit(args.p50.as_deref(), "--p50")?,
            p95: limit(args.p95.as_deref(), "--p95")?,
            p99: limit(args.p99.as_deref(), "--p99")?,
            min_rps: args.min_rps,
            max_error_rate_pct: percent(args.max_error_rate.as_deref(), "--max-error-rate")?,
            baseline: args.baseline.as_ref().map(|p| cwd.join(p)),
            max_regression_pct: percent(args.max_regression.as_deref(), "--max-regression")?,
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    fn args(argv: &[&str]) -> LoadArgs {
        let mut full = vec!["stepkit", "load"];
        full.extend_from_slice(argv);
        match crate::cli::Cli::try_parse_from(full).unwrap().command {
            crate::cli::Command::Load(args) => *args,
            other => panic!("not load: {other:?}"),
        }
    }

    fn resolve_in(dir: &Path, argv: &[&str]) -> Result<LoadSettings, ConfigError> {
        load_settings(&args(argv), &Env::default(), dir)
    }

    fn err(argv: &[&str]) -> String {
        resolve_in(Path::new("/"), argv).expect_err("an error").to_string()
    }

    #[test]
    fn a_url_with_defaults_and_flags() {
        let s = resolve_in(Path::new("/"), &["http://127.0.0.1:8080/a?b=1"]).unwrap();
        assert_eq!(
            (s.connections, s.model, s.stop),
            (10, Model::Closed, Stop::After(Duration::from_secs(10)))
        );
        assert_eq!((s.warmup, s.timeout), (Duration::ZERO, Duration::from_secs(10)));
        assert_eq!(s.requests[0].name, "GET /a?b=1");
        let s = resolve_in(
            Path::new("/"),
            &[
                "http://h/x",
                "-X",
                "post",
                "-H",
                "A: b",
                "--body",
                "{}",
                "--rate",
                "50/s",
                "-n",
                "100",
                "--p95",
                "20ms",
            ],
        )
        .unwrap();
        assert_eq!((s.model, s.stop), (Model::Open { rate: 50.0 }, Stop::Requests(100)));
        assert_eq!(s.requests[0].method, hyper::Method::POST);
        assert_eq!(s.requests[0].headers, vec![("A".to_string(), "b".to_string())]);
        assert_eq!(&s.requests[0].body[..], b"{}");
        assert_eq!(s.thresholds.p95, Some(Duration::from_millis(20)));
    }

    #[test]
    fn a_requests_file_with_a_base_url_and_body_files() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("order.json"), "{\"qty\":1}").unwrap();
        std::fs::write(
            dir.path().join("api.toml"),
            "base-url = \"http://file:1\"\nheaders = { Accept = \"application/json\" }\n\
             [[request]]\nname = \"list\"\nurl = \"/items\"\n\
             [[request]]\nname = \"order\"\nmethod = \"POST\"\nurl = \"orders\"\nbody-file = \"order.json\"\nheaders = { Accept = \"text/plain\" }\n",
        )
        .unwrap();
        let s = resolve_in(dir.path(), &["--requests-file", "api.toml", "--base-url", "http://flag:2/v1/"])
            .unwrap();
        assert_eq!(s.requests.len(), 2);
        assert_eq!(s.requests[0].url.to_string(), "http://flag:2/v1/items");
        assert_eq!(&s.requests[1].body[..], b"{\"qty\":1}");
        assert_eq!(s.requests[1].headers, vec![("Accept".to_string(), "text/plain".to_string())]);
        let s = resolve_in(dir.path(), &["--requests-file", "api.toml"]).unwrap();
        assert_eq!(s.requests[0].url.to_string(), "http://file:1/items");
    }

    #[test]
    fn mistakes_name_the_flag_or_the_file() {
        assert!(err(&[]).contains("give a URL"));
        assert!(err(&["localhost:8080"]).contains("URL"));
        assert!(err(&["https://x/"]).contains("https is not supported"));
        assert!(err(&["http://x/", "--rate", "fast"]).contains("--rate"));
        assert!(err(&["http://x/", "--rate", "0"]).contains("--rate"));
        assert!(err(&["http://x/", "-c", "0"]).contains("--connections"));
        assert!(err(&["http://x/", "-n", "0"]).contains("--requests"));
        assert!(err(&["http://x/", "--duration", "0s"]).contains("--duration"));
        assert!(err(&["http://x/", "--p95", "fast"]).contains("--p95"));
        assert!(err(&["http://x/", "--max-error-rate", "some"]).contains("--max-error-rate"));
        assert!(err(&["http://x/", "-H", "nocolon"]).contains("--header"));
        assert!(err(&["http://x/", "-X", "GE T"]).contains("--method"));
        assert!(err(&["http://x/", "--body-file", "/nonexistent/body"]).contains("/nonexistent/body"));
        assert!(err(&["--requests-file", "/nonexistent/api.toml"]).contains("/nonexistent/api.toml"));
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("bad.toml"), "[[request]]\nname = \"a\"\nurl = \"/x\"\nspeed = 3\n")
            .unwrap();
        let e = resolve_in(dir.path(), &["--requests-file", "bad.toml"]).err().unwrap().to_string();
        assert!(e.contains("bad.toml") && e.contains("speed"), "{e}");
        std::fs::write(dir.path().join("rel.toml"), "[[request]]\nname = \"a\"\nurl = \"/x\"\n").unwrap();
        let e = resolve_in(dir.path(), &["--requests-file", "rel.toml"]).err().unwrap().to_string();
        assert!(e.contains("rel.toml") && e.contains("request `a`") && e.contains("--base-url"), "{e}");
        std::fs::write(dir.path().join("twice.toml"), "[[request]]\nname = \"a\"\nurl = \"http://h/\"\n[[request]]\nname = \"a\"\nurl = \"http://h/b\"\n").unwrap();
        let e = resolve_in(dir.path(), &["--requests-file", "twice.toml"]).err().unwrap().to_string();
        assert!(e.contains("used twice"), "{e}");
    }

    #[test]
    fn credential_headers_come_from_the_environment_as_secrets() {
        let env = Env::from_pairs([("STEPKIT_LOAD_HEADERS", "Authorization: Bearer s3cr3t\n")]);
        let s = load_settings(&args(&["http://h/"]), &env, Path::new("/")).unwrap();
        assert_eq!(s.secret_headers[0].1.expose(), "Bearer s3cr3t");
        assert!(!format!("{s:?}").contains("s3cr3t"));
        let bad = Env::from_pairs([("STEPKIT_LOAD_HEADERS", "Authorization s3cr3t")]);
        let e = load_settings(&args(&["http://h/"]), &bad, Path::new("/")).err().unwrap().to_string();
        assert!(e.contains("STEPKIT_LOAD_HEADERS") && !e.contains("s3cr3t"), "{e}");
    }
}
