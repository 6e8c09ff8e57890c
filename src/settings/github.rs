//! Settings for `stepkit github`: repository, commit and API from flags, then `STEPKIT_GITHUB_*`, then
//! what the CI context and GitHub's own variables say; the token from a file or the environment only.

use super::layered::{layers, Given, Origin as Layer};
use super::{flag, ConfigError, Secret};
use crate::ci::{Context, Env};
use crate::cli::{ConclusionArg, GithubApiArgs, GithubArgs, GithubCommand, StateArg};
use crate::retry::RetryPolicy;
use crate::steps::notify::github::{
    ApiSettings, CheckRunRequest, CommentRequest, Conclusion, GithubRequest, GithubSettings, State,
    StatusRequest,
};
use crate::steps::notify::message::Origin;
use std::borrow::Cow;
use std::path::{Path, PathBuf};
use std::time::Duration;

const DEFAULT_API_URL: &str = "https://api.github.com";
const DEFAULT_TIMEOUT: Duration = Duration::from_secs(30);
const DEFAULT_BUDGET: Duration = Duration::from_secs(120);

/// The flag's value, else the first of `vars` that is set, with where it came from.
fn given<'a>(flag: &str, value: Option<&'a str>, env: &'a Env, vars: &[&str]) -> Option<Given<'a>> {
    vars.iter().fold(layers(flag, value), |layers, var| layers.env(env, var)).given()
}

/// A duration above zero (GitHub's API cannot answer in no time), else `default`.
fn duration(
    (flag, value): (&str, Option<&str>),
    env: &Env,
    var: &str,
    default: Duration,
) -> Result<Duration, ConfigError> {
    let Some(given) = given(flag, value, env, &[var]) else { return Ok(default) };
    given.parse(|text| {
        humantime::parse_duration(text.trim())
            .ok()
            .filter(|d| !d.is_zero())
            .ok_or_else(|| format!("`{text}` is not a duration above zero; e.g. 30s, 2m, 1m30s"))
    })
}

fn api_url(args: &GithubApiArgs, env: &Env) -> Result<String, ConfigError> {
    let vars = ["STEPKIT_GITHUB_API_URL", "GITHUB_API_URL"];
    let Some(given) = given("--api-url", args.api_url.as_deref(), env, &vars) else {
        return Ok(DEFAULT_API_URL.into());
    };
    given.parse(|text| {
        let text = text.trim().trim_end_matches('/');
        let bad = |why: &str| {
            format!("`{text}` {why}; give the REST API root, e.g. https://api.github.com or https://ghe.example.com/api/v3")
        };
        let url = reqwest::Url::parse(text).map_err(|_| bad("is not a URL"))?;
        if !matches!(url.scheme(), "http" | "https") || url.host_str().is_none() {
            return Err(bad("is not an http(s) URL with a host"));
        }
        if url.query().is_some()
            || url.fragment().is_some()
            || !url.username().is_empty()
            || url.password().is_some()
        {
            return Err(bad("must not carry a query, fragment or credentials"));
        }
        Ok(text.to_string())
    })
}

/// The token and where it came from: --token-file, STEPKIT_GITHUB_TOKEN_FILE, STEPKIT_GITHUB_TOKEN, GITHUB_TOKEN.
/// The source names a file with its path ("--token-file /run/secrets/gh").
fn token(args: &GithubApiArgs, env: &Env, cwd: &Path) -> Result<(Secret, String), ConfigError> {
    // A path from argv need not be UTF-8, so the flag's is taken as it is; the variable's is text.
    let file = match &args.token_file {
        Some(path) => Some((path.clone(), Layer::Flag("--token-file".into()))),
        None => given("--token-file", None, env, &["STEPKIT_GITHUB_TOKEN_FILE"])
            .map(|g| (PathBuf::from(g.text.as_ref()), g.origin)),
    };
    let (secret, source, origin) = match file {
        Some((path, origin)) => {
            let path = cwd.join(path);
            let secret = Secret::from_file("the GitHub token", &path)?;
            (secret, format!("{} {}", origin.name(), path.display()), format!("{origin} {}", path.display()))
        }
        None => match given("--token-file", None, env, &["STEPKIT_GITHUB_TOKEN", "GITHUB_TOKEN"]) {
            Some(g) => (Secret::new(g.text.as_ref()), g.origin.name(), g.origin.to_string()),
            None => {
                return Err(flag(
                    "--token-file",
                    "no GitHub token: set STEPKIT_GITHUB_TOKEN or GITHUB_TOKEN (on GitHub Actions: `env: GITHUB_TOKEN: ${{ secrets.GITHUB_TOKEN }}`), or pass --token-file FILE",
                ))
            }
        },
    };
    // octocrab turns the token into a header value and panics on one it cannot hold.
    if secret.expose().is_empty() || !secret.expose().bytes().all(|b| b.is_ascii_graphic()) {
        return Err(flag(
            &origin,
            "the GitHub token is empty or holds spaces or control characters; check the secret's value",
        ));
    }
    Ok((secret, source))
}

/// `owner/name` as GitHub spells repositories.
fn valid_repo(repo: &str) -> bool {
    let ok = |part: &str| {
        !part.is_empty() && part.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
    };
    matches!(repo.split_once('/'), Some((owner, name)) if ok(owner) && ok(name) && name != "." && name != "..")
}

pub(super) fn repo(
    args: &GithubApiArgs,
    env: &Env,
    context: &Context,
) -> Result<Option<String>, ConfigError> {
    let given = given("--repo", args.repo.as_deref(), env, &["STEPKIT_GITHUB_REPOSITORY"]);
    let Some((text, source)) =
        from_context(given, context.repository.as_deref(), "the CI context's repository")
    else {
        return Ok(None);
    };
    let text = text.trim();
    if !valid_repo(text) {
        return Err(flag(
            &source,
            format!("`{text}` is not a GitHub repository OWNER/NAME; give --repo OWNER/NAME"),
        ));
    }
    Ok(Some(text.to_string()))
}

/// The flag's or variable's value, else the CI context's, with where it came from for errors.
fn from_context<'a>(
    given: Option<Given<'a>>,
    context: Option<&'a str>,
    what: &str,
) -> Option<(Cow<'a, str>, String)> {
    match given {
        Some(g) => Some((g.text, g.origin.to_string())),
        None => context.map(|text| (Cow::Borrowed(text), what.to_string())),
    }
}

fn sha(args: &GithubApiArgs, env: &Env, context: &Context) -> Result<Option<String>, ConfigError> {
    let given = given("--sha", args.sha.as_deref(), env, &["STEPKIT_GITHUB_SHA"]);
    let Some((text, source)) = from_context(given, context.sha.as_deref(), "the CI context's commit") else {
        return Ok(None);
    };
    let text = text.trim().to_ascii_lowercase();
    if !matches!(text.len(), 40 | 64) || !text.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(flag(&source, format!("`{text}` is not a full commit sha (40 hex digits); GitHub needs the full one (git rev-parse HEAD)")));
    }
    Ok(Some(text))
}

pub(super) fn missing_repo() -> ConfigError {
    flag("--repo", "no repository: give --repo OWNER/NAME or set STEPKIT_GITHUB_REPOSITORY (GitHub Actions sets GITHUB_REPOSITORY; on Jenkins it comes from GIT_URL)")
}

fn missing_sha() -> ConfigError {
    flag("--sha", "no commit: give --sha SHA or set STEPKIT_GITHUB_SHA (GitHub Actions sets GITHUB_SHA, the Jenkins Git plugin GIT_COMMIT)")
}

fn read_text(path: &Path, name: &str) -> Result<String, ConfigError> {
    std::fs::read_to_string(path).map_err(|e| flag(name, format!("read {}: {e}", path.display())))
}

pub(super) fn api_settings(args: &GithubApiArgs, env: &Env, cwd: &Path) -> Result<ApiSettings, ConfigError> {
    let (token, token_source) = token(args, env, cwd)?;
    let timeout =
        duration(("--timeout", args.timeout.as_deref()), env, "STEPKIT_GITHUB_TIMEOUT", DEFAULT_TIMEOUT)?;
    let budget = duration(
        ("--retry-budget", args.retry_budget.as_deref()),
        env,
        "STEPKIT_GITHUB_RETRY_BUDGET",
        DEFAULT_BUDGET,
    )?;
    Ok(ApiSettings {
        api_url: api_url(args, env)?,
        token,
        token_source,
        timeout,
        retry: RetryPolicy::within(budget),
    })
}

/// Resolves `stepkit github <command>`.
pub fn github_settings(
    args: &GithubArgs,
    env: &Env,
    context: &Context,
    cwd: &Path,
) -> Result<GithubSettings, ConfigError> {
    let api_args = match &args.command {
        GithubCommand::CheckRun(a) => &a.api,
        GithubCommand::Status(a) => &a.api,
        GithubCommand::Comment(a) => &a.api,
    };
    let repo = repo(api_args, env, context)?;
    let sha = sha(api_args, env, context)?;
    let results = super::result_files(&api_args.results, env, cwd);
    let request = match &args.command {
        GithubCommand::CheckRun(a) => {
            if a.name.trim().is_empty() {
                return Err(flag("--name", "the check run needs a name"));
            }
            let summary =
                a.summary_file.as_ref().map(|p| read_text(&cwd.join(p), "--summary-file")).transpose()?;
            let conclusion = match a.conclusion.unwrap_or(ConclusionArg::Auto) {
                ConclusionArg::Auto => None,
                ConclusionArg::Success => Some(Conclusion::Success),
                ConclusionArg::Failure => Some(Conclusion::Failure),
                ConclusionArg::Neutral => Some(Conclusion::Neutral),
                ConclusionArg::Cancelled => Some(Conclusion::Cancelled),
                ConclusionArg::Skipped => Some(Conclusion::Skipped),
                ConclusionArg::TimedOut => Some(Conclusion::TimedOut),
                ConclusionArg::ActionRequired => Some(Conclusion::ActionRequired),
            };
            if conclusion == Some(Conclusion::ActionRequired)
                && a.details_url.is_none()
                && context.run_url.is_none()
            {
                return Err(flag(
                    "--conclusion",
                    "action_required needs a details link: give --details-url URL",
                ));
            }
            GithubRequest::CheckRun(CheckRunRequest {
                name: a.name.clone(),
                conclusion,
                title: a.title.clone(),
                summary,
                details_url: a.details_url.clone(),
            })
        }
        GithubCommand::Status(a) => {
            if a.context.trim().is_empty() {
                return Err(flag("--context", "the status needs a context name, e.g. ci/tests"));
            }
            let state = match a.state.unwrap_or(StateArg::Auto) {
                StateArg::Auto => None,
                StateArg::Pending => Some(State::Pending),
                StateArg::Success => Some(State::Success),
                StateArg::Failure => Some(State::Failure),
                StateArg::Error => Some(State::Error),
            };
            if state.is_none() && results.is_empty() {
                return Err(flag("--state", "with no --result FILE there is nothing to take the state from: give --result FILE or --state pending|success|failure|error"));
            }
            GithubRequest::Status(StatusRequest {
                context: a.context.clone(),
                state,
                description: a.description.clone(),
                target_url: a.target_url.clone(),
            })
        }
        GithubCommand::Comment(a) => {
            let body = match (&a.body, &a.body_file) {
                (Some(text), _) => Some(text.clone()),
                (None, Some(path)) => Some(read_text(&cwd.join(path), "--body-file")?),
                (None, None) => None,
            };
            let sticky =
                if a.new { None } else { Some(a.sticky.clone().unwrap_or_else(|| "stepkit".into())) };
            if let Some(key) = &sticky {
                let ok = !key.is_empty()
                    && !key.contains("--")
                    && key.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.' | '/'));
                if !ok {
                    return Err(flag("--sticky", format!("`{key}` cannot go in an HTML comment marker: use letters, digits, '.', '_', '/' and single '-'")));
                }
            }
            let pr = a.pr.or(context.pr_number);
            if pr.is_none() {
                // Pipelines run the same step on pushes: nothing to comment on is not a reason to need a token.
                let api = ApiSettings {
                    api_url: DEFAULT_API_URL.into(),
                    token: Secret::new(""),
                    token_source: String::new(),
                    timeout: DEFAULT_TIMEOUT,
                    retry: RetryPolicy::default(),
                };
                let request = GithubRequest::Comment(CommentRequest { pr: None, body, sticky });
                return Ok(settings(api, repo.unwrap_or_default(), sha, results, context, cwd, request));
            }
            GithubRequest::Comment(CommentRequest { pr, body, sticky })
        }
    };
    let repo = repo.ok_or_else(missing_repo)?;
    if !matches!(request, GithubRequest::Comment(_)) && sha.is_none() {
        return Err(missing_sha());
    }
    let api = api_settings(api_args, env, cwd)?;
    Ok(settings(api, repo, sha, results, context, cwd, request))
}

fn settings(
    api: ApiSettings,
    repo: String,
    sha: Option<String>,
    results: Vec<PathBuf>,
    context: &Context,
    cwd: &Path,
    request: GithubRequest,
) -> GithubSettings {
    let mut origin = Origin::from_context(context);
    origin.repository = (!repo.is_empty()).then(|| repo.clone());
    origin.sha = sha.clone();
    GithubSettings {
        api,
        repo,
        sha,
        results,
        origin,
        workspace: context.workspace.clone().or_else(|| Some(cwd.to_path_buf())),
        request,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ci::Provider;
    use clap::Parser;

    const SHA: &str = "0123456789abcdef0123456789abcdef01234567";

    fn args(argv: &[&str]) -> GithubArgs {
        let mut all = vec!["stepkit", "github"];
        all.extend_from_slice(argv);
        match crate::cli::Cli::parse_from(all).command {
            crate::cli::Command::Github(args) => *args,
            other => panic!("{other:?}"),
        }
    }

    fn actions() -> Context {
        let mut context = Context::new(Provider::GitHubActions);
        context.repository = Some("octo/app".into());
        context.sha = Some(SHA.into());
        context
    }

    fn error(argv: &[&str], env: &Env, context: &Context) -> String {
        github_settings(&args(argv), env, context, Path::new("/")).expect_err("an error").to_string()
    }

    #[test]
    fn flags_beat_env_beats_the_context() {
        let env = Env::from_pairs([
            ("GITHUB_TOKEN", "t1"),
            ("STEPKIT_GITHUB_TOKEN", "t2"),
            ("GITHUB_API_URL", "https://ghe.example.com/api/v3/"),
            ("STEPKIT_GITHUB_RETRY_BUDGET", "5s"),
        ]);
        let s = github_settings(
            &args(&["status", "--context", "ci", "--state", "pending"]),
            &env,
            &actions(),
            Path::new("/"),
        )
        .unwrap();
        assert_eq!((s.repo.as_str(), s.sha.as_deref()), ("octo/app", Some(SHA)));
        assert_eq!((s.api.token.expose(), s.api.token_source.as_str()), ("t2", "STEPKIT_GITHUB_TOKEN"));
        assert_eq!(s.api.api_url, "https://ghe.example.com/api/v3");
        assert_eq!((s.api.retry.budget, s.api.timeout), (Duration::from_secs(5), DEFAULT_TIMEOUT));
        let env = Env::from_pairs([("GITHUB_TOKEN", "t1"), ("STEPKIT_GITHUB_REPOSITORY", "env/repo")]);
        let s = github_settings(
            &args(&[
                "status",
                "--context",
                "ci",
                "--state",
                "pending",
                "--repo",
                "flag/repo",
                "--timeout",
                "3s",
            ]),
            &env,
            &actions(),
            Path::new("/"),
        )
        .unwrap();
        assert_eq!(
            (s.repo.as_str(), s.api.token_source.as_str(), s.api.timeout),
            ("flag/repo", "GITHUB_TOKEN", Duration::from_secs(3))
        );
        assert_eq!(s.api.api_url, DEFAULT_API_URL);
        let s = github_settings(
            &args(&["status", "--context", "ci", "--state", "pending"]),
            &env,
            &actions(),
            Path::new("/"),
        )
        .unwrap();
        assert_eq!(s.repo, "env/repo");
    }

    #[test]
    fn missing_repo_sha_and_token_name_what_to_set() {
        let token = Env::from_pairs([("GITHUB_TOKEN", "t")]);
        let local = Context::new(Provider::Local);
        let err = error(&["check-run", "--name", "x"], &token, &local);
        assert!(err.contains("--repo") && err.contains("STEPKIT_GITHUB_REPOSITORY"), "{err}");
        let err = error(&["check-run", "--name", "x", "--repo", "o/r"], &token, &local);
        assert!(err.contains("--sha") && err.contains("STEPKIT_GITHUB_SHA"), "{err}");
        let err = error(&["check-run", "--name", "x"], &Env::default(), &actions());
        assert!(err.contains("GITHUB_TOKEN") && err.contains("--token-file"), "{err}");
        let err = error(&["status", "--context", "ci"], &token, &actions());
        assert!(err.contains("--state") && err.contains("--result"), "{err}");
        assert!(error(
            &["status", "--context", "ci", "--state", "success", "--sha", "abc123"],
            &token,
            &actions()
        )
        .contains("full commit sha"));
        assert!(error(
            &["status", "--context", "ci", "--state", "success", "--repo", "nope"],
            &token,
            &actions()
        )
        .contains("OWNER/NAME"));
        assert!(error(&["comment", "--pr", "1", "--sticky", "a b"], &token, &actions()).contains("--sticky"));
        let bad_url = Env::from_pairs([("GITHUB_TOKEN", "t"), ("GITHUB_API_URL", "ftp://x")]);
        assert!(error(&["status", "--context", "ci", "--state", "success"], &bad_url, &actions())
            .contains("GITHUB_API_URL"));
        let spaced = Env::from_pairs([("GITHUB_TOKEN", "a b")]);
        assert!(error(&["status", "--context", "ci", "--state", "success"], &spaced, &actions())
            .contains("spaces"));
    }

    #[test]
    fn errors_name_the_variable_that_was_set() {
        let status = ["status", "--context", "ci", "--state", "success"];
        let env = |pairs: &[(&'static str, &'static str)]| {
            Env::from_pairs([("GITHUB_TOKEN", "t")].into_iter().chain(pairs.iter().copied()))
        };
        let e = error(&status, &env(&[("STEPKIT_GITHUB_TIMEOUT", "0s")]), &actions());
        assert!(
            e.starts_with("use environment variable STEPKIT_GITHUB_TIMEOUT: `0s` is not a duration"),
            "{e}"
        );
        let e = error(
            &["status", "--context", "ci", "--state", "success", "--retry-budget", "x"],
            &env(&[]),
            &actions(),
        );
        assert!(e.starts_with("use --retry-budget: `x`"), "{e}");
        let e = error(&status, &env(&[("GITHUB_API_URL", "ftp://x")]), &actions());
        assert!(e.starts_with("use environment variable GITHUB_API_URL: `ftp://x` is not an http(s)"), "{e}");
        let e = error(&status, &env(&[("STEPKIT_GITHUB_REPOSITORY", "nope")]), &actions());
        assert!(e.starts_with("use environment variable STEPKIT_GITHUB_REPOSITORY: `nope`"), "{e}");
        let mut context = actions();
        context.sha = Some("abc".into());
        let e = error(&status, &env(&[]), &context);
        assert!(e.starts_with("use the CI context's commit: `abc`"), "{e}");
        let e = error(&status, &Env::from_pairs([("STEPKIT_GITHUB_TOKEN", "a b")]), &actions());
        assert!(
            e.starts_with("use environment variable STEPKIT_GITHUB_TOKEN: the GitHub token is empty"),
            "{e}"
        );
    }

    #[test]
    fn a_token_file_wins_and_a_push_build_needs_no_token_to_skip_commenting() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("tok"), "from-file\n").unwrap();
        let env = Env::from_pairs([("GITHUB_TOKEN", "t")]);
        let s = github_settings(
            &args(&["comment", "--token-file", "tok", "--new", "--pr", "3"]),
            &env,
            &actions(),
            dir.path(),
        )
        .unwrap();
        assert_eq!(s.api.token.expose(), "from-file");
        assert!(s.api.token_source.starts_with("--token-file "));
        let s =
            github_settings(&args(&["comment"]), &Env::default(), &Context::new(Provider::Local), dir.path())
                .unwrap();
        assert!(matches!(s.request, GithubRequest::Comment(CommentRequest { pr: None, .. })));
        let mut pr = actions();
        pr.pr_number = Some(7);
        let s = github_settings(&args(&["comment", "--body", "hi"]), &env, &pr, dir.path()).unwrap();
        match s.request {
            GithubRequest::Comment(c) => assert_eq!(
                (c.pr, c.sticky.as_deref(), c.body.as_deref()),
                (Some(7), Some("stepkit"), Some("hi"))
            ),
            other => panic!("{other:?}"),
        }
    }
}
