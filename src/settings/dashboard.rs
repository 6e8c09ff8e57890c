//! Settings for `stepkit dashboard`: the store as `stepkit history` resolves it, filters, the window,
//! the regression threshold (flag > `STEPKIT_DASHBOARD_MAX_REGRESSION` > 10%), the page's path (flag >
//! `STEPKIT_DASHBOARD_OUTPUT` > `.stepkit/dashboard.html`) and title.

use super::gate::parse_percent;
use super::history::{run_filter, trimmed, HistoryInputs};
use super::layered::layers;
use super::{flag, ConfigError};
use crate::ci::Context;
use crate::cli::{DashboardArgs, PercentileArg};
use crate::steps::history::dashboard::{query_settings, DashboardSettings, Judging, Percentile};
use std::path::PathBuf;

/// The page when neither `-o` nor `STEPKIT_DASHBOARD_OUTPUT` says: beside the default store.
pub const DEFAULT_OUTPUT: &str = ".stepkit/dashboard.html";

/// `stepkit dashboard`'s own variables (the store's are `stepkit history`'s): the one place their names
/// are spelled (the help text and docs/configuration.md are checked against this list by a test).
mod var {
    pub const OUTPUT: &str = "STEPKIT_DASHBOARD_OUTPUT";
    pub const MAX_REGRESSION: &str = "STEPKIT_DASHBOARD_MAX_REGRESSION";
    #[cfg(test)]
    pub const ALL: [&str; 2] = [OUTPUT, MAX_REGRESSION];
}

/// Resolves `stepkit dashboard`.
pub fn dashboard_settings(
    args: &DashboardArgs,
    inputs: HistoryInputs,
    context: &Context,
) -> Result<DashboardSettings, ConfigError> {
    let env = inputs.env;
    let last = args.last.unwrap_or(50);
    if !(1..=10_000).contains(&last) {
        return Err(flag("--last", "must be between 1 and 10000"));
    }
    let top = args.top.unwrap_or(10);
    if top > 1_000 {
        return Err(flag("--top", "must be at most 1000"));
    }
    let max_regression_pct = layers("--max-regression", args.max_regression.as_deref())
        .env(env, var::MAX_REGRESSION)
        .parse(parse_percent)?
        .unwrap_or(10.0);
    let output = match &args.output {
        Some(path) => path.clone(),
        None => env.get(var::OUTPUT).map_or_else(|| PathBuf::from(DEFAULT_OUTPUT), PathBuf::from),
    };
    for (given, name) in [(&args.output, "-o"), (&args.markdown, "--markdown")] {
        if given.as_ref().is_some_and(|p| p.as_os_str().is_empty()) {
            return Err(flag(name, "the path is empty"));
        }
    }
    let filter = run_filter(&args.runs, None);
    let filters = [
        ("repository", &filter.repository),
        ("branch", &filter.branch),
        ("environment", &filter.environment),
        ("target", &filter.target),
    ]
    .into_iter()
    .filter_map(|(name, value)| value.as_ref().map(|v| format!("{name}={v}")))
    .collect();
    let title = trimmed(args.title.as_deref()).unwrap_or_else(|| {
        match filter.repository.clone().or_else(|| context.repository.clone()) {
            Some(repository) => format!("{repository}: pipeline dashboard"),
            None => "stepkit dashboard".into(),
        }
    });
    let percentile = match args.percentile {
        Some(PercentileArg::P50) => Percentile::P50,
        Some(PercentileArg::P90) => Percentile::P90,
        Some(PercentileArg::P99) => Percentile::P99,
        Some(PercentileArg::P95) | None => Percentile::P95,
    };
    Ok(DashboardSettings {
        store: inputs.store()?,
        output: inputs.cwd.join(output),
        markdown: args.markdown.as_ref().map(|p| inputs.cwd.join(p)),
        query: query_settings(filter, last, top),
        filters,
        judging: Judging { max_regression_pct, percentile },
        fail_on_regression: args.fail_on_regression,
        title,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ci::{Env, Provider};
    use crate::cli::RunFilterArgs;
    use std::path::Path;

    fn args() -> DashboardArgs {
        DashboardArgs {
            output: None,
            markdown: None,
            runs: RunFilterArgs::default(),
            last: None,
            max_regression: None,
            fail_on_regression: false,
            percentile: None,
            top: None,
            title: None,
        }
    }

    fn resolve(args: &DashboardArgs, env: &Env) -> Result<DashboardSettings, ConfigError> {
        let inputs =
            HistoryInputs { flag: None, env, table: None, config_path: None, cwd: Path::new("/work") };
        let mut context = Context::new(Provider::GitHubActions);
        context.repository = Some("octo/app".into());
        dashboard_settings(args, inputs, &context)
    }

    #[test]
    fn defaults_beside_the_default_store() {
        let s = resolve(&args(), &Env::default()).unwrap();
        assert_eq!(s.output, Path::new("/work/.stepkit/dashboard.html"));
        assert_eq!(s.store.to_string(), "/work/.stepkit/history.sqlite");
        assert_eq!((s.query.last, s.judging.max_regression_pct), (50, 10.0));
        assert_eq!(s.title, "octo/app: pipeline dashboard");
    }

    #[test]
    fn the_threshold_flag_beats_the_variable_and_bad_values_name_their_source() {
        let env = Env::from_pairs([("STEPKIT_DASHBOARD_MAX_REGRESSION", "25%")]);
        assert_eq!(resolve(&args(), &env).unwrap().judging.max_regression_pct, 25.0);
        let mut a = args();
        a.max_regression = Some("5%".into());
        assert_eq!(resolve(&a, &env).unwrap().judging.max_regression_pct, 5.0);
        a.max_regression = Some("lots".into());
        let e = resolve(&a, &env).unwrap_err().to_string();
        assert!(e.contains("--max-regression") && e.contains("lots"), "{e}");
        let env = Env::from_pairs([("STEPKIT_DASHBOARD_MAX_REGRESSION", "-3")]);
        let e = resolve(&args(), &env).unwrap_err().to_string();
        assert!(e.contains("STEPKIT_DASHBOARD_MAX_REGRESSION"), "{e}");
        let mut a = args();
        a.last = Some(0);
        assert!(resolve(&a, &Env::default()).unwrap_err().to_string().contains("--last"));
    }

    #[test]
    fn filters_are_shown_and_passed_on() {
        let mut a = args();
        a.runs.environment = Some(" staging ".into());
        a.runs.target = Some("postgres".into());
        let s = resolve(&a, &Env::default()).unwrap();
        assert_eq!(s.filters, ["environment=staging", "target=postgres"]);
        assert_eq!(s.query.filter.environment.as_deref(), Some("staging"));
    }

    #[test]
    fn every_variable_is_in_the_help_and_the_docs() {
        crate::settings::tests::documented(&["dashboard"], &var::ALL);
    }
}
