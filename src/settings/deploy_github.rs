//! Settings for `stepkit deploy --github-deployment`: the GitHub environment, ref and URLs from flags,
//! then `STEPKIT_DEPLOY_*`, then the CI context; repository, API and token as `stepkit github` takes
//! them (flags named `--github-*` here, since a deploy's `--repo` or `--token-file` would be ambiguous).

use super::deploy::given;
use super::github::{api_settings, missing_repo, repo};
use super::{flag, ConfigError};
use crate::ci::{Context, Env, Provider};
use crate::cli::{GithubApiArgs, GithubDeploymentArgs};
use crate::steps::deploy::github::GithubDeployment;
use crate::steps::deploy::DeploySettings;
use std::path::Path;

/// `stepkit github`'s flag names and the deploy's for the same settings.
const RENAMED: [(&str, &str); 3] =
    [("--token-file", "--github-token-file"), ("--api-url", "--github-api-url"), ("--repo", "--github-repo")];

/// `stepkit github`'s errors and token source, in the deploy's flag names.
fn rename(text: &str) -> String {
    let mut out = text.to_string();
    for (from, to) in RENAMED {
        // `--repo` must not turn `--repository`-like words into nonsense: only whole flags.
        out = out
            .replace(&format!("{from} "), &format!("{to} "))
            .replace(&format!("{from}:"), &format!("{to}:"));
        if out == from {
            out = to.to_string();
        }
    }
    out
}

fn renamed(error: ConfigError) -> ConfigError {
    match error {
        ConfigError::Flag { flag, message } => {
            ConfigError::Flag { flag: rename(&flag), message: rename(&message) }
        }
        other => other,
    }
}

/// An absolute http(s) URL, as GitHub's `environment_url` and `log_url` must be.
fn url(text: &str) -> Result<String, String> {
    let text = text.trim();
    match reqwest::Url::parse(text) {
        Ok(u) if matches!(u.scheme(), "http" | "https") && u.host_str().is_some() => Ok(text.to_string()),
        _ => Err(format!(
            "`{text}` is not an http(s) URL; give the app's address, e.g. https://stage.example.com"
        )),
    }
}

/// Resolves `--github-deployment` and its flags; `None` when it is off. `deploy` gives the
/// `--environment` the deploy was resolved with (the GitHub environment's default).
pub fn github_deployment_settings(
    args: &GithubDeploymentArgs,
    env: &Env,
    context: &Context,
    cwd: &Path,
    deploy: &DeploySettings,
) -> Result<Option<GithubDeployment>, ConfigError> {
    let on = args.github_deployment
        || match env.get("STEPKIT_DEPLOY_GITHUB_DEPLOYMENT") {
            None => false,
            Some(v) if matches!(v.trim(), "true" | "1" | "yes") => true,
            Some(v) if matches!(v.trim(), "false" | "0" | "no") => false,
            Some(v) => {
                return Err(ConfigError::Env {
                    name: "STEPKIT_DEPLOY_GITHUB_DEPLOYMENT".into(),
                    value: v.into(),
                    expected: "true or false".into(),
                })
            }
        };
    if !on {
        let given = [
            ("--github-environment", args.github_environment.is_some()),
            ("--environment-url", args.environment_url.is_some()),
            ("--github-ref", args.github_ref.is_some()),
            ("--github-repo", args.github_repo.is_some()),
            ("--github-api-url", args.github_api_url.is_some()),
            ("--github-token-file", args.github_token_file.is_some()),
            ("--github-transient", args.github_transient),
            ("--github-production", args.github_production.is_some()),
        ];
        if let Some((name, _)) = given.iter().find(|(_, set)| *set) {
            return Err(flag(
                name,
                "works only with --github-deployment (STEPKIT_DEPLOY_GITHUB_DEPLOYMENT=true)",
            ));
        }
        return Ok(None);
    }
    let api_args = GithubApiArgs {
        repo: args.github_repo.clone(),
        sha: None,
        api_url: args.github_api_url.clone(),
        token_file: args.github_token_file.clone(),
        timeout: None,
        retry_budget: None,
        results: Vec::new(),
    };
    let repo = repo(&api_args, env, context).map_err(renamed)?.ok_or_else(|| renamed(missing_repo()))?;
    let mut api = api_settings(&api_args, env, cwd).map_err(renamed)?;
    api.token_source = rename(&api.token_source);
    let git_ref = match given("--github-ref", &args.github_ref, env, "STEPKIT_DEPLOY_GITHUB_REF") {
        Some(g) => g.parse(|text| match text.trim() {
            r if r.contains(char::is_whitespace) => Err(format!("`{r}` is not a git ref or commit")),
            r => Ok(r.to_string()),
        })?,
        None => context.sha.clone().map(|r| r.trim().to_string()).filter(|r| !r.is_empty()).ok_or_else(|| flag("--github-ref", "no commit to report: give --github-ref SHA or set STEPKIT_DEPLOY_GITHUB_REF (GitHub Actions sets GITHUB_SHA, the Jenkins Git plugin GIT_COMMIT)"))?,
    };
    let environment = match given(
        "--github-environment",
        &args.github_environment,
        env,
        "STEPKIT_DEPLOY_GITHUB_ENVIRONMENT",
    ) {
        Some(g) => g.parse(|text| match text.chars().count() {
            1..=255 => Ok(text.to_string()),
            _ => Err("a GitHub environment name has 1 to 255 characters".to_string()),
        })?,
        None => deploy.environment.clone().unwrap_or_else(|| "production".into()),
    };
    let environment_url =
        given("--environment-url", &args.environment_url, env, "STEPKIT_DEPLOY_ENVIRONMENT_URL")
            .map(|g| g.parse(url))
            .transpose()?;
    // The CI context knows the web host (GITHUB_SERVER_URL); else it is derived from the API's.
    let repo_url = match (&context.repository, &context.repository_url) {
        (Some(r), Some(url)) if *r == repo && context.provider == Provider::GitHubActions => url.clone(),
        _ => web_root(&api.api_url, &repo),
    };
    Ok(Some(GithubDeployment {
        api,
        repo_url,
        repo,
        git_ref,
        environment,
        environment_url,
        log_url: context.run_url.clone(),
        transient: args.github_transient,
        production: args.github_production,
    }))
}

/// The web root for an API root: github.com for api.github.com, the host for GitHub Enterprise.
fn web_root(api_url: &str, repo: &str) -> String {
    let root = match api_url.strip_suffix("/api/v3") {
        Some(host) => host.to_string(),
        None if api_url == "https://api.github.com" => "https://github.com".to_string(),
        None => api_url.to_string(),
    };
    format!("{root}/{repo}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stepkit_githubs_flag_names_become_the_deploys() {
        assert_eq!(rename("--token-file"), "--github-token-file");
        assert_eq!(rename("--token-file /run/gh"), "--github-token-file /run/gh");
        assert_eq!(
            rename("no repository: give --repo OWNER/NAME or set STEPKIT_GITHUB_REPOSITORY"),
            "no repository: give --github-repo OWNER/NAME or set STEPKIT_GITHUB_REPOSITORY"
        );
        assert_eq!(rename("GITHUB_TOKEN"), "GITHUB_TOKEN");
    }

    #[test]
    fn the_environment_page_is_on_the_web_host() {
        assert_eq!(web_root("https://api.github.com", "o/r"), "https://github.com/o/r");
        assert_eq!(web_root("https://ghe.example.com/api/v3", "o/r"), "https://ghe.example.com/o/r");
    }

    #[test]
    fn urls_must_be_absolute_http() {
        assert!(url("https://stage.example.com/").is_ok());
        let e = url("stage.example.com").unwrap_err();
        assert!(e.contains("not an http(s) URL"), "{e}");
    }

    #[test]
    fn a_bad_variable_is_named_not_the_flag() {
        let context = Context::new(Provider::Local);
        let argv = ["stepkit", "deploy", "--name", "web", "--image", "web:1", "--github-deployment"];
        let crate::cli::Command::Deploy(cli) = <crate::cli::Cli as clap::Parser>::parse_from(argv).command
        else {
            panic!()
        };
        let none = Env::default();
        let deploy = super::super::deploy_settings(
            &cli.run,
            &none,
            Path::new("/"),
            Default::default(),
            Default::default(),
        )
        .unwrap();
        let args = cli.run.github.clone();
        let base = [("STEPKIT_GITHUB_TOKEN", "t0k3n-for-tests"), ("STEPKIT_GITHUB_REPOSITORY", "o/r")];
        for (var, value) in [
            ("STEPKIT_DEPLOY_ENVIRONMENT_URL", "stage.example.com"),
            ("STEPKIT_DEPLOY_GITHUB_REF", "main branch"),
        ] {
            let env = Env::from_pairs(
                base.into_iter().chain([("STEPKIT_DEPLOY_GITHUB_REF", "abc123"), (var, value)]),
            );
            let e = github_deployment_settings(&args, &env, &context, Path::new("/"), &deploy)
                .unwrap_err()
                .to_string();
            assert!(
                e.starts_with(&format!("use environment variable {var}:")) && !e.contains("use --"),
                "{e}"
            );
        }
        let env = Env::from_pairs(base.into_iter().chain([("STEPKIT_DEPLOY_GITHUB_REF", " abc123 ")]));
        let s = github_deployment_settings(&args, &env, &context, Path::new("/"), &deploy).unwrap().unwrap();
        assert_eq!((s.git_ref.as_str(), s.environment.as_str()), ("abc123", "production"));
    }
}
