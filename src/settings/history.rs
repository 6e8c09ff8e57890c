//! Settings for `stepkit history` and for any step that records itself: the store (`--history` >
//! `STEPKIT_HISTORY` > `[history] store` in stepkit.toml > `.stepkit/history.sqlite`), its password
//! (`STEPKIT_HISTORY_PASSWORD` or inside `STEPKIT_HISTORY`, never argv or the config file), retention,
//! and the run key: flags > `STEPKIT_HISTORY_*` > stepkit.toml > the CI context.

use super::layered::{layers, layers_shown, Origin};
use super::{flag, relative_to, ConfigError, Secret};
use crate::ci::{Context, Env};
use crate::cli::{AgainstArg, HistoryQueryArgs, HistoryRecordArgs, RunFilterArgs};
use crate::steps::history::{
    Against, Filter, Keys, Location, PgLocation, QuerySettings, RecordSettings, SelfRecord,
};
use serde::Deserialize;
use std::path::{Path, PathBuf};
use std::str::FromStr;

/// `[history]` in stepkit.toml.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct HistoryConfig {
    /// A SQLite path (relative to this file) or a postgres:// URL without a password. When set, every
    /// step records its run there.
    pub store: Option<String>,
    pub keep_runs: Option<u64>,
    pub environment: Option<String>,
}

/// The store when none is configured (`history record|query` only; steps record only when told).
pub const DEFAULT_STORE: &str = ".stepkit/history.sqlite";

/// The stepkit.toml table of these settings.
const TABLE: &str = "history";

/// `stepkit history`'s variables: the one place their names are spelled (the help text and
/// docs/configuration.md are checked against this list by a test).
pub(super) mod var {
    pub const STORE: &str = "STEPKIT_HISTORY";
    pub const PASSWORD: &str = "STEPKIT_HISTORY_PASSWORD";
    pub const KEEP_RUNS: &str = "STEPKIT_HISTORY_KEEP_RUNS";
    pub const ENVIRONMENT: &str = "STEPKIT_HISTORY_ENVIRONMENT";
    pub const VERSION: &str = "STEPKIT_HISTORY_VERSION";
    #[cfg(test)]
    pub const ALL: [&str; 5] = [STORE, PASSWORD, KEEP_RUNS, ENVIRONMENT, VERSION];
}

/// The history settings every command can see: the global `--history`, the env, `[history]`.
#[derive(Clone, Copy)]
pub struct HistoryInputs<'a> {
    pub flag: Option<&'a str>,
    pub env: &'a Env,
    pub table: Option<&'a HistoryConfig>,
    pub config_path: Option<&'a Path>,
    pub cwd: &'a Path,
}

impl HistoryInputs<'_> {
    /// The store given explicitly, if any.
    fn configured(&self) -> Result<Option<Location>, ConfigError> {
        let given = layers("--history", self.flag)
            .env(self.env, var::STORE)
            .file_key(TABLE, "store", self.table.and_then(|t| t.store.as_deref()))
            .given();
        given.map(|given| parse_location(&given.text, &given.origin, self)).transpose()
    }

    /// The store, or the default file.
    pub(super) fn store(&self) -> Result<Location, ConfigError> {
        Ok(self.configured()?.unwrap_or_else(|| Location::Sqlite(self.cwd.join(DEFAULT_STORE))))
    }

    fn keep_runs(&self, flag_value: Option<u64>) -> Result<Option<u64>, ConfigError> {
        let keep = layers_shown("--keep-runs", flag_value)
            .env(self.env, var::KEEP_RUNS)
            .file_shown(TABLE, self.table.and_then(|t| t.keep_runs))
            .parse_from(|text| {
                text.trim().parse::<u64>().map_err(|_| format!("`{text}` is not a number of runs"))
            })?;
        match keep {
            Some((0, origin)) => Err(origin.error("must be at least 1 (leave it out to keep every run)")),
            other => Ok(other.map(|(n, _)| n)),
        }
    }
}

pub(super) fn trimmed(value: Option<&str>) -> Option<String> {
    value.map(str::trim).filter(|v| !v.is_empty()).map(str::to_string)
}

/// A store location from text: a postgres:// URL, a sqlite: URL or a plain path. Where it came from
/// decides whether a password may be in it and what a relative path is relative to.
fn parse_location(text: &str, origin: &Origin, inputs: &HistoryInputs) -> Result<Location, ConfigError> {
    let text = text.trim();
    // Never quote the text: it may hold a password.
    let error = |message: String| origin.error(message);
    let lower = text.to_ascii_lowercase();
    if lower.starts_with("postgres://") || lower.starts_with("postgresql://") {
        let mut config = ::postgres::Config::from_str(text)
            .map_err(|e| error(format!("a PostgreSQL URL such as postgres://user@host:5432/db ({e})")))?;
        if config.get_password().is_some() && !matches!(origin, Origin::Env(_)) {
            return Err(error(format!(
                "the URL has a password, and {} is visible to others (process list, the repository); put the password in {}, or the whole URL in {}",
                if matches!(origin, Origin::Flag(_)) { "the command line" } else { "stepkit.toml" },
                var::PASSWORD,
                var::STORE,
            )));
        }
        if config.get_password().is_none() {
            if let Some(password) = Secret::from_env(inputs.env, var::PASSWORD) {
                config.password(password.expose());
            }
        }
        if config.get_hosts().is_empty() {
            return Err(error("the PostgreSQL URL names no host".into()));
        }
        let shown = shown_url(&config);
        return Ok(Location::Postgres(Box::new(PgLocation { config, shown })));
    }
    let path = if let Some(rest) = lower.strip_prefix("sqlite:").map(|_| &text["sqlite:".len()..]) {
        // sqlite:///abs/path, sqlite://rel/path, sqlite:rel/path
        rest.strip_prefix("//").unwrap_or(rest)
    } else if let Some((scheme, _)) = text.split_once("://") {
        return Err(error(format!(
            "`{scheme}://` is not a store stepkit knows; give a file path (SQLite), sqlite:PATH or postgres://user@host/db"
        )));
    } else {
        text
    };
    if path.is_empty() {
        return Err(error("the store path is empty".into()));
    }
    let path = PathBuf::from(path);
    let path = match origin {
        Origin::File { .. } => relative_to(inputs.config_path, path),
        _ => path,
    };
    Ok(Location::Sqlite(if path.is_absolute() { path } else { inputs.cwd.join(path) }))
}

/// `postgres://user@host:port/db`, rebuilt from the parsed URL so no password (in the user part or a
/// `password=` parameter) can be shown.
fn shown_url(config: &::postgres::Config) -> String {
    let hosts: Vec<String> = config
        .get_hosts()
        .iter()
        .enumerate()
        .map(|(i, host)| {
            let name = match host {
                ::postgres::config::Host::Tcp(name) => name.clone(),
                #[cfg(unix)]
                ::postgres::config::Host::Unix(path) => path.display().to_string(),
            };
            match config.get_ports().get(i).or(config.get_ports().first()) {
                Some(port) => format!("{name}:{port}"),
                None => name,
            }
        })
        .collect();
    format!(
        "postgres://{}{}/{}",
        config.get_user().map(|u| format!("{u}@")).unwrap_or_default(),
        hosts.join(","),
        config.get_dbname().unwrap_or_default()
    )
}

/// The run key from flags, env, `[history]` and the CI context.
#[derive(Default)]
struct KeyFlags<'a> {
    repository: Option<&'a str>,
    branch: Option<&'a str>,
    commit: Option<&'a str>,
    ci_run: Option<&'a str>,
    step: Option<&'a str>,
    environment: Option<&'a str>,
    target: Option<&'a str>,
    version: Option<&'a str>,
}

fn keys(flags: KeyFlags, inputs: &HistoryInputs, context: &Context) -> Keys {
    let env = inputs.env;
    let commit = trimmed(flags.commit).or_else(|| context.sha.clone()).unwrap_or_default();
    let version = trimmed(flags.version)
        .or_else(|| trimmed(env.get(var::VERSION)))
        .or_else(|| context.tag.clone())
        .unwrap_or_else(|| commit.get(..12).unwrap_or(&commit).to_string());
    Keys {
        repository: trimmed(flags.repository).or_else(|| context.repository.clone()).unwrap_or_default(),
        branch: trimmed(flags.branch).or_else(|| context.branch.clone()).unwrap_or_default(),
        commit,
        ci_run: trimmed(flags.ci_run).or_else(|| context.run_id.clone()).unwrap_or_default(),
        environment: trimmed(flags.environment)
            .or_else(|| trimmed(env.get(var::ENVIRONMENT)))
            .or_else(|| trimmed(inputs.table.and_then(|t| t.environment.as_deref())))
            .unwrap_or_default(),
        version,
        step: trimmed(flags.step),
        target: trimmed(flags.target),
    }
}

/// Resolves `stepkit history record`.
pub fn history_record_settings(
    args: &HistoryRecordArgs,
    inputs: HistoryInputs,
    context: &Context,
) -> Result<RecordSettings, ConfigError> {
    let flags = KeyFlags {
        repository: args.repository.as_deref(),
        branch: args.branch.as_deref(),
        commit: args.commit.as_deref(),
        ci_run: args.ci_run.as_deref(),
        step: args.step.as_deref(),
        environment: args.environment.as_deref(),
        target: args.target.as_deref(),
        version: args.version.as_deref(),
    };
    for (given, name) in [(&args.step, "--step"), (&args.target, "--target"), (&args.version, "--version")] {
        if given.as_deref().is_some_and(|v| v.trim().is_empty()) {
            return Err(flag(name, "the value is empty"));
        }
    }
    Ok(RecordSettings {
        store: inputs.store()?,
        inputs: args.inputs.iter().map(|p| inputs.cwd.join(p)).collect(),
        keys: keys(flags, &inputs, context),
        keep_runs: inputs.keep_runs(args.keep_runs)?,
        cwd: inputs.cwd.to_path_buf(),
    })
}

/// Resolves `stepkit history query`.
pub fn history_query_settings(
    args: &HistoryQueryArgs,
    inputs: HistoryInputs,
) -> Result<(Location, QuerySettings), ConfigError> {
    let last = args.last.unwrap_or(10);
    if !(1..=10_000).contains(&last) {
        return Err(flag("--last", "must be between 1 and 10000"));
    }
    let top = args.top.unwrap_or(10);
    if top > 10_000 {
        return Err(flag("--top", "must be at most 10000"));
    }
    let filter = run_filter(&args.runs, args.step.as_deref());
    let against = match args.against {
        Some(AgainstArg::Run) => Against::Run,
        _ => Against::Version,
    };
    Ok((inputs.store()?, QuerySettings { filter, last, against, top }))
}

/// The runs `--repository`, `--branch`, `--environment` and `--target` select (blank means any), of
/// `step` when given.
pub(crate) fn run_filter(runs: &RunFilterArgs, step: Option<&str>) -> Filter {
    Filter {
        repository: trimmed(runs.repository.as_deref()),
        branch: trimmed(runs.branch.as_deref()),
        step: trimmed(step),
        environment: trimmed(runs.environment.as_deref()),
        target: trimmed(runs.target.as_deref()),
    }
}

/// For any other step: `Some` when a store is configured (flag, env or stepkit.toml), so the step
/// records its run there after it ends.
pub fn self_record_settings(
    inputs: HistoryInputs,
    context: &Context,
) -> Result<Option<SelfRecord>, ConfigError> {
    let Some(store) = inputs.configured()? else { return Ok(None) };
    let none = KeyFlags::default();
    Ok(Some(SelfRecord { store, keys: keys(none, &inputs, context), keep_runs: inputs.keep_runs(None)? }))
}

/// The password of a PostgreSQL store, to mask in CI logs.
pub fn history_password(location: &Location) -> Option<String> {
    location.password().filter(|p| !p.is_empty()).map(str::to_string)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ci::Provider;

    fn inputs<'a>(
        flag: Option<&'a str>,
        env: &'a Env,
        table: Option<&'a HistoryConfig>,
    ) -> HistoryInputs<'a> {
        HistoryInputs {
            flag,
            env,
            table,
            config_path: Some(Path::new("/repo/ci/stepkit.toml")),
            cwd: Path::new("/work"),
        }
    }

    #[test]
    fn flag_beats_env_beats_file_beats_the_default_file() {
        let env = Env::from_pairs([("STEPKIT_HISTORY", "env.sqlite")]);
        let table = HistoryConfig { store: Some("hist/db.sqlite".into()), ..Default::default() };
        let none = Env::default();
        let at = |i: HistoryInputs| i.store().unwrap().to_string();
        assert_eq!(at(inputs(Some("sqlite:///tmp/x.db"), &env, Some(&table))), "/tmp/x.db");
        assert_eq!(at(inputs(None, &env, Some(&table))), "/work/env.sqlite");
        assert_eq!(at(inputs(None, &none, Some(&table))), "/repo/ci/hist/db.sqlite");
        assert_eq!(at(inputs(None, &none, None)), "/work/.stepkit/history.sqlite");
        assert!(inputs(None, &none, None).configured().unwrap().is_none(), "steps record only when told");
    }

    #[test]
    fn passwords_only_from_the_environment_and_never_shown() {
        let none = Env::default();
        let e = inputs(Some("postgres://u:hunter2@db/h"), &none, None).store().unwrap_err().to_string();
        assert!(
            e.contains("--history") && e.contains("STEPKIT_HISTORY_PASSWORD") && !e.contains("hunter2"),
            "{e}"
        );
        let table = HistoryConfig { store: Some("postgres://u:hunter2@db/h".into()), ..Default::default() };
        let e = inputs(None, &none, Some(&table)).store().unwrap_err().to_string();
        assert!(e.contains("stepkit.toml") && !e.contains("hunter2"), "{e}");

        let env = Env::from_pairs([("STEPKIT_HISTORY", "postgresql://u:hunter2@db:5433/h?sslmode=disable")]);
        let store = inputs(None, &env, None).store().unwrap();
        assert_eq!(store.to_string(), "postgres://u@db:5433/h");
        assert!(!format!("{store:?}").contains("hunter2"));
        assert_eq!(history_password(&store).as_deref(), Some("hunter2"));

        let env = Env::from_pairs([("STEPKIT_HISTORY_PASSWORD", "s3")]);
        let store = inputs(Some("postgres://u@db/h?password=leak"), &env, None).store();
        assert!(store.is_err(), "a password= parameter is a password too");
        let store = inputs(Some("postgres://u@db/h"), &env, None).store().unwrap();
        assert_eq!(history_password(&store).as_deref(), Some("s3"));
    }

    #[test]
    fn unknown_schemes_and_bad_values_name_the_setting() {
        let none = Env::default();
        let e = inputs(Some("mysql://db/h"), &none, None).store().unwrap_err().to_string();
        assert!(e.contains("--history") && e.contains("mysql://"), "{e}");
        let env = Env::from_pairs([("STEPKIT_HISTORY_KEEP_RUNS", "many")]);
        let e = inputs(None, &env, None).keep_runs(None).unwrap_err().to_string();
        assert!(e.contains("STEPKIT_HISTORY_KEEP_RUNS"), "{e}");
        assert!(inputs(None, &none, None).keep_runs(Some(0)).is_err());
    }

    #[test]
    fn keep_runs_of_zero_names_where_it_was_given() {
        let none = Env::default();
        let e = inputs(None, &none, None).keep_runs(Some(0)).unwrap_err().to_string();
        assert!(e.starts_with("use --keep-runs: must be at least 1"), "{e}");
        // It used to say "--keep-runs" whichever layer the 0 came from.
        let env = Env::from_pairs([("STEPKIT_HISTORY_KEEP_RUNS", "0")]);
        let e = inputs(None, &env, None).keep_runs(None).unwrap_err().to_string();
        assert!(e.starts_with("use environment variable STEPKIT_HISTORY_KEEP_RUNS: must be"), "{e}");
        let table = HistoryConfig { keep_runs: Some(0), ..Default::default() };
        let e = inputs(None, &none, Some(&table)).keep_runs(None).unwrap_err().to_string();
        assert!(e.starts_with("use keep-runs in the [history] table of stepkit.toml: must be"), "{e}");
        assert_eq!(inputs(None, &env, Some(&table)).keep_runs(Some(7)).unwrap(), Some(7));
        let env = Env::from_pairs([("STEPKIT_HISTORY_KEEP_RUNS", "5")]);
        assert_eq!(inputs(None, &env, Some(&table)).keep_runs(None).unwrap(), Some(5));
    }

    #[test]
    fn every_variable_is_in_the_help_and_the_docs() {
        crate::settings::tests::documented(&["history", "record"], &var::ALL);
    }

    #[test]
    fn keys_come_from_flags_then_env_then_the_ci() {
        let mut context = Context::new(Provider::GitHubActions);
        context.repository = Some("octo/app".into());
        context.sha = Some("0123456789abcdef0123".into());
        context.branch = Some("main".into());
        context.run_id = Some("42".into());
        let env = Env::from_pairs([("STEPKIT_HISTORY_ENVIRONMENT", "staging")]);
        let none = KeyFlags::default();
        let k = keys(none, &inputs(None, &env, None), &context);
        assert_eq!((k.repository.as_str(), k.branch.as_str(), k.ci_run.as_str()), ("octo/app", "main", "42"));
        assert_eq!((k.environment.as_str(), k.version.as_str()), ("staging", "0123456789ab"));
        context.tag = Some("v1.2.0".into());
        let flags = KeyFlags {
            repository: None,
            branch: None,
            commit: None,
            ci_run: None,
            step: Some("unit"),
            environment: Some("prod"),
            target: None,
            version: None,
        };
        let k = keys(flags, &inputs(None, &env, None), &context);
        assert_eq!(
            (k.environment.as_str(), k.version.as_str(), k.step.as_deref()),
            ("prod", "v1.2.0", Some("unit"))
        );
    }
}
