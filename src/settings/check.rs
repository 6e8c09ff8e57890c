//! Settings for `stepkit check` and `stepkit plugin`: plugins and their grants from flags or `[[check]]`
//! tables, limits, the compiled-component cache directory.

use super::layered::{layers, Origin};
use super::{flag, ConfigError, ConfigFile};
use crate::ci::{Context, Env};
use crate::cli::{CheckArgs, LangArg, NewArgs};
use crate::plugin::{CheckInput, CiInfo, Grants, HostGrant, Limits, PluginSpec};
use crate::steps::check::{CheckSettings, Lang, ScaffoldSettings};
use serde::Deserialize;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// One `[[check]]` table of stepkit.toml. Paths are relative to the config file.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct CheckConfig {
    /// Name in reports [default: the file's stem].
    pub name: Option<String>,
    /// The component file.
    pub plugin: PathBuf,
    #[serde(default)]
    pub allow_read: Vec<PathBuf>,
    #[serde(default)]
    pub allow_host: Vec<String>,
    #[serde(default)]
    pub allow_env: Vec<String>,
    /// Handed to the plugin as `config`, in key order.
    #[serde(default)]
    pub config: BTreeMap<String, String>,
    pub timeout: Option<String>,
    pub memory: Option<String>,
    pub compile_timeout: Option<String>,
    pub max_component_size: Option<String>,
}

fn in_file(path: Option<&Path>, key: &str, message: String) -> ConfigError {
    ConfigError::Parse {
        path: path.map(Path::to_path_buf).unwrap_or_else(|| "stepkit.toml".into()),
        message: format!("[[check]] {key}: {message}"),
    }
}

/// `stepkit check`'s variables: the one place their names are spelled (the help text and
/// docs/configuration.md are checked against this list by a test).
mod var {
    pub const CACHE_DIR: &str = "STEPKIT_CACHE_DIR";
    pub const CHANGED_SINCE: &str = "STEPKIT_CHECK_CHANGED_SINCE";
    pub const STRICT: &str = "STEPKIT_CHECK_STRICT";
}

/// The user cache directory: `STEPKIT_CACHE_DIR`, else `$XDG_CACHE_HOME/stepkit`, else `~/.cache/stepkit`.
pub fn cache_dir(env: &Env) -> Option<PathBuf> {
    env.get(var::CACHE_DIR)
        .map(PathBuf::from)
        .or_else(|| env.get("XDG_CACHE_HOME").map(|d| Path::new(d).join("stepkit")))
        .or_else(|| env.get("HOME").map(|h| Path::new(h).join(".cache/stepkit")))
}

/// Resolves `stepkit check`.
pub fn check_settings(
    args: &CheckArgs,
    env: &Env,
    file: &ConfigFile,
    config_path: Option<&Path>,
    context: &Context,
    cwd: &Path,
) -> Result<CheckSettings, ConfigError> {
    let base = Limits::default();
    let given = LimitTexts {
        timeout: args.timeout.as_deref(),
        memory: args.memory.as_deref(),
        compile_timeout: args.compile_timeout.as_deref(),
        max_component_size: args.max_component_size.as_deref(),
    };
    let limits = limits(&base, &given).map_err(|(key, m)| flag(&format!("--{key}"), m))?;
    let mut plugins = Vec::new();
    if !args.plugin.is_empty() {
        let named = |key: &str, m| Origin::Flag(format!("--{key}")).error(m);
        let config = args
            .set
            .iter()
            .enumerate()
            .map(|(i, kv)| parse_kv(kv, i + 1))
            .collect::<Result<_, _>>()
            .map_err(|m| named("set", m))?;
        let lists = GrantLists { read: &args.allow_read, hosts: &args.allow_host, env: &args.allow_env };
        let grants = grants(lists, config, cwd, env, named)?;
        for path in &args.plugin {
            plugins.push(PluginSpec {
                name: stem(path),
                file: cwd.join(path),
                grants: grants.clone(),
                limits: limits.clone(),
            });
        }
    } else {
        // Name the grant flag that was given (not a family of flags), so the user knows which to move.
        let given = [
            ("--allow-read", args.allow_read.is_empty()),
            ("--allow-host", args.allow_host.is_empty()),
            ("--allow-env", args.allow_env.is_empty()),
            ("--set", args.set.is_empty()),
        ];
        if let Some((name, _)) = given.into_iter().find(|(_, empty)| !empty) {
            return Err(Origin::Flag(name.into()).error(
                "grants on the command line apply to --plugin plugins; the [[check]] tables carry their own",
            ));
        }
        let dir = config_path
            .and_then(Path::parent)
            .filter(|d| !d.as_os_str().is_empty())
            .map(Path::to_path_buf)
            .unwrap_or_else(|| cwd.to_path_buf());
        let dir = if dir.is_relative() { cwd.join(dir) } else { dir };
        for table in &file.check {
            let lists =
                GrantLists { read: &table.allow_read, hosts: &table.allow_host, env: &table.allow_env };
            let config = table.config.iter().map(|(k, v)| (k.clone(), v.clone())).collect();
            let grants = grants(lists, config, &dir, env, |key, m| in_file(config_path, key, m))?;
            let given = LimitTexts {
                timeout: table.timeout.as_deref(),
                memory: table.memory.as_deref(),
                compile_timeout: table.compile_timeout.as_deref(),
                max_component_size: table.max_component_size.as_deref(),
            };
            let limits =
                super::check::limits(&limits, &given).map_err(|(key, m)| in_file(config_path, key, m))?;
            let name = table.name.clone().unwrap_or_else(|| stem(&table.plugin));
            plugins.push(PluginSpec { name, file: dir.join(&table.plugin), grants, limits });
        }
    }
    dedupe_names(&mut plugins);
    // --changed-files (which clap keeps apart from --changed-since) also wins over the variable.
    let changed_since = match &args.changed_files {
        Some(_) => None,
        None => layers("--changed-since", args.changed_since.as_deref()).env(env, var::CHANGED_SINCE).given(),
    };
    let changed_files = match (&args.changed_files, changed_since) {
        (Some(path), _) => std::fs::read_to_string(cwd.join(path))
            .map_err(|e| flag("--changed-files", format!("read {}: {e}", path.display())))?
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty())
            .map(str::to_string)
            .collect(),
        (None, Some(base)) => {
            let rev = base.parse(|text| revision(text).map(str::to_string))?;
            crate::ci::git_changed_files(cwd, &rev).map_err(|m| base.origin.error(m))?
        }
        (None, None) => Vec::new(),
    };
    let ci = CiInfo {
        provider: match context.provider {
            crate::ci::Provider::GitHubActions => "github",
            crate::ci::Provider::Jenkins => "jenkins",
            crate::ci::Provider::GitLab => "gitlab",
            crate::ci::Provider::Local => "local",
        }
        .into(),
        repository: context.repository.clone(),
        sha: context.sha.clone(),
        branch: context.branch.clone(),
        pull_request: context.pr_number,
    };
    let jobs = match args.jobs {
        Some(0) => return Err(flag("--jobs", "must be at least 1")),
        Some(n) => n,
        None => std::thread::available_parallelism().map(|n| n.get()).unwrap_or(2),
    };
    Ok(CheckSettings {
        plugins,
        strict: args.strict || env.is_true(var::STRICT),
        cache_dir: cache_dir(env),
        input: CheckInput { changed_files, ci },
        jobs,
    })
}

/// A plugin's grant lists as one source gave them: the `--allow-*` flags or one `[[check]]` table.
struct GrantLists<'a> {
    read: &'a [PathBuf],
    hosts: &'a [String],
    env: &'a [String],
}

/// The grants, checked; `named` turns a bad list's key (`allow-read`) and message into an error that
/// names where the list came from (the flag, or the key in the config file).
fn grants(
    lists: GrantLists,
    config: Vec<(String, String)>,
    base: &Path,
    env: &Env,
    named: impl Fn(&str, String) -> ConfigError,
) -> Result<Grants, ConfigError> {
    Ok(Grants {
        read: read_dirs(lists.read, base).map_err(|m| named("allow-read", m))?,
        hosts: hosts(lists.hosts).map_err(|m| named("allow-host", m))?,
        env: env_grants(lists.env, env).map_err(|m| named("allow-env", m))?,
        config,
    })
}

/// The limits given as flags or as a `[[check]]` table's keys (same names, without `--`).
#[derive(Debug, Default)]
pub(crate) struct LimitTexts<'a> {
    pub timeout: Option<&'a str>,
    pub memory: Option<&'a str>,
    pub compile_timeout: Option<&'a str>,
    pub max_component_size: Option<&'a str>,
}

/// The given limits over `base`; the error names the key.
pub(crate) fn limits(base: &Limits, given: &LimitTexts) -> Result<Limits, (&'static str, String)> {
    use crate::plugin::limits::{parse_duration, parse_size};
    let mut limits = base.clone();
    if let Some(text) = given.timeout {
        limits.timeout = parse_duration(text).map_err(|m| ("timeout", m))?;
    }
    if let Some(text) = given.memory {
        limits.memory = parse_size(text).map_err(|m| ("memory", m))?;
    }
    if let Some(text) = given.compile_timeout {
        limits.compile_timeout = parse_duration(text).map_err(|m| ("compile-timeout", m))?;
    }
    if let Some(text) = given.max_component_size {
        limits.component_bytes = parse_size(text).map_err(|m| ("max-component-size", m))? as u64;
    }
    Ok(limits)
}

/// The granted directories, canonical. A grant that leads through a symlink is refused: the preopen would be
/// the link's target, so `--allow-read data` with `data -> /` would grant the whole file system while the
/// command line says `data`. The error names the target, which can be granted by its own name.
fn read_dirs(dirs: &[PathBuf], base: &Path) -> Result<Vec<PathBuf>, String> {
    // Only what the user wrote is checked: the working directory or the config file's own directory
    // may sit behind a symlink of the machine's (a workspace mounted elsewhere).
    let base = base.canonicalize().map_err(|e| format!("{}: {e}", base.display()))?;
    dirs.iter()
        .map(|d| {
            let path = base.join(d);
            // Canonical: the preopen is the real directory, and the guest sees the same absolute path.
            let real = path.canonicalize().map_err(|e| format!("{}: {e}", path.display()))?;
            // What the path says, `.` and `..` resolved by name, before any link is followed.
            if crate::steps::image::dockerignore::lexical_clean(&path) != real {
                return Err(format!(
                    "{} leads through a symlink to {}; a grant is never widened by a link: grant {} itself if the plugin may read it",
                    d.display(),
                    real.display(),
                    real.display()
                ));
            }
            if real.is_dir() {
                Ok(real)
            } else {
                Err(format!("{} is not a directory", path.display()))
            }
        })
        .collect()
}

fn hosts(list: &[String]) -> Result<Vec<HostGrant>, String> {
    list.iter().map(|h| HostGrant::parse(h)).collect()
}

/// The granted variables that are set, with their values (an unset one is simply absent for the plugin).
fn env_grants(names: &[String], env: &Env) -> Result<Vec<(String, String)>, String> {
    let mut out = Vec::new();
    for name in names {
        if name.is_empty() || name.contains('=') || name.contains('\0') {
            return Err(format!("`{name}` is not an environment variable name"));
        }
        if let Some(value) = env.get(name) {
            out.push((name.clone(), value.to_string()));
        }
    }
    Ok(out)
}

/// One `--set K=V`. A malformed one is named by its position only: its text may be a secret.
fn parse_kv(text: &str, position: usize) -> Result<(String, String), String> {
    match text.split_once('=') {
        Some((k, v)) if !k.trim().is_empty() => Ok((k.trim().to_string(), v.to_string())),
        _ => Err(format!("value {position} is not KEY=VALUE (its text is not shown, it may be a secret)")),
    }
}

/// Whether a plugin config key names a secret (`api-token`, `password`, `slack_webhook_secret`): its
/// value is masked in the CI log (`::add-mask::`) before anything is printed. Secrets belong in the
/// environment (`--allow-env`); this catches the ones passed as `--set` anyway.
pub fn is_secret_key(key: &str) -> bool {
    let key = key.to_ascii_lowercase();
    [
        "token",
        "secret",
        "password",
        "passwd",
        "passphrase",
        "pwd",
        "credential",
        "auth",
        "apikey",
        "api-key",
        "api_key",
        "private",
        "access-key",
        "access_key",
        "webhook",
    ]
    .iter()
    .any(|word| key.contains(word))
}

/// The values of secret config keys of these plugins, to mask before any output.
pub fn secret_config_values(plugins: &[PluginSpec]) -> Vec<&str> {
    let mut out: Vec<&str> = plugins
        .iter()
        .flat_map(|p| p.grants.config.iter())
        .filter(|(k, _)| is_secret_key(k))
        .map(|(_, v)| v.as_str())
        .collect();
    out.sort_unstable();
    out.dedup();
    out
}

/// `--changed-since REF`: a revision, never an option. Git would read `--output=PATH` as its own flag
/// (and write that file); git_changed_files also puts `--end-of-options` before it.
fn revision(text: &str) -> Result<&str, String> {
    let rev = text.trim();
    if rev.is_empty() || rev.starts_with('-') {
        return Err(format!("`{rev}` is not a git revision such as origin/main or a commit sha (a value starting with `-` would be an option to git)"));
    }
    Ok(rev)
}

fn stem(path: &Path) -> String {
    path.file_stem().map(|s| s.to_string_lossy().into_owned()).unwrap_or_else(|| path.display().to_string())
}

/// Two plugins with one name would be indistinguishable in reports: number the later ones.
fn dedupe_names(plugins: &mut [PluginSpec]) {
    let mut seen: BTreeMap<String, usize> = BTreeMap::new();
    for plugin in plugins.iter_mut() {
        let n = seen.entry(plugin.name.clone()).or_insert(0);
        *n += 1;
        if *n > 1 {
            plugin.name = format!("{}#{n}", plugin.name);
        }
    }
}

/// Resolves `stepkit plugin new`.
pub fn scaffold_settings(args: &NewArgs, cwd: &Path) -> ScaffoldSettings {
    ScaffoldSettings {
        name: args.name.clone(),
        lang: match args.lang {
            LangArg::Rust => Lang::Rust,
            LangArg::Python => Lang::Python,
        },
        dir: cwd.join(args.dir.clone().unwrap_or_else(|| PathBuf::from(&args.name))),
        sdk_path: args.sdk_path.as_ref().map(|p| cwd.join(p)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[test]
    fn kv_and_limits() {
        assert_eq!(parse_kv("a=b=c", 1), Ok(("a".into(), "b=c".into())));
        assert!(parse_kv("=x", 1).is_err() && parse_kv("novalue", 1).is_err());
        // A malformed value is never echoed: it may be a token typed with `:` instead of `=`.
        assert_eq!(
            parse_kv("token:hunter2", 3).unwrap_err(),
            "value 3 is not KEY=VALUE (its text is not shown, it may be a secret)"
        );
        let given = LimitTexts {
            timeout: Some("2s"),
            memory: Some("64MiB"),
            compile_timeout: Some("1m"),
            max_component_size: Some("8MiB"),
        };
        let l = limits(&Limits::default(), &given).unwrap();
        assert_eq!(
            (l.timeout.as_secs(), l.memory, l.compile_timeout.as_secs(), l.component_bytes),
            (2, 64 << 20, 60, 8 << 20)
        );
        let bad = |given: LimitTexts| limits(&Limits::default(), &given).unwrap_err().0;
        assert_eq!(bad(LimitTexts { timeout: Some("soon"), ..LimitTexts::default() }), "timeout");
        assert_eq!(
            bad(LimitTexts { timeout: Some("18446744073709551615s"), ..LimitTexts::default() }),
            "timeout"
        );
        assert_eq!(
            bad(LimitTexts { compile_timeout: Some("0s"), ..LimitTexts::default() }),
            "compile-timeout"
        );
        assert_eq!(
            bad(LimitTexts { max_component_size: Some("lots"), ..LimitTexts::default() }),
            "max-component-size"
        );
    }

    fn args(argv: &[&str]) -> CheckArgs {
        let full = ["stepkit", "check"].iter().chain(argv).copied();
        match crate::cli::Cli::try_parse_from(full).unwrap().command {
            crate::cli::Command::Check(args) => *args,
            other => panic!("parsed as {other:?}"),
        }
    }

    fn resolve(argv: &[&str], file: &ConfigFile) -> CheckSettings {
        let dir = tempfile::tempdir().unwrap();
        let env = Env::from_pairs([("HOME", "/nonexistent")]);
        let context = crate::ci::detect(&env, dir.path());
        check_settings(&args(argv), &env, file, None, &context, dir.path()).unwrap()
    }

    #[test]
    fn limits_default_to_256_mib_and_30_s_and_flags_or_tables_override_them() {
        let s = resolve(&["--plugin", "a.wasm"], &ConfigFile::default());
        let limits = &s.plugins[0].limits;
        assert_eq!((limits.memory, limits.timeout), (256 << 20, std::time::Duration::from_secs(30)));
        let s =
            resolve(&["--plugin", "a.wasm", "--memory", "64MiB", "--timeout", "2s"], &ConfigFile::default());
        assert_eq!((s.plugins[0].limits.memory, s.plugins[0].limits.timeout.as_secs()), (64 << 20, 2));

        let file = super::super::file::parse("[[check]]\nplugin = \"a.wasm\"\n\n[[check]]\nplugin = \"b.wasm\"\nmemory = \"128MiB\"\ntimeout = \"10s\"\n").unwrap();
        let s = resolve(&[], &file);
        let got: Vec<_> =
            s.plugins.iter().map(|p| (p.limits.memory >> 20, p.limits.timeout.as_secs())).collect();
        assert_eq!(got, [(256, 30), (128, 10)]);
    }

    #[test]
    fn env_grants_take_only_named_set_variables() {
        let env = Env::from_pairs([("A", "1"), ("B", "2"), ("E", "")]);
        assert_eq!(
            env_grants(&["A".into(), "E".into(), "Z".into()], &env).unwrap(),
            vec![("A".to_string(), "1".to_string())]
        );
        assert!(env_grants(&["A=1".into()], &env).is_err());
    }

    #[test]
    fn read_grants_are_canonical_directories() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("sub")).unwrap();
        std::fs::write(dir.path().join("f"), "x").unwrap();
        let got = read_dirs(&["sub/../sub".into()], dir.path()).unwrap();
        assert_eq!(got, vec![dir.path().canonicalize().unwrap().join("sub")]);
        assert!(read_dirs(&["f".into()], dir.path()).is_err());
        assert!(read_dirs(&["missing".into()], dir.path()).is_err());
    }

    #[test]
    fn a_symlinked_grant_is_refused_with_its_target() {
        let dir = tempfile::tempdir().unwrap();
        let outside = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("real")).unwrap();
        std::os::unix::fs::symlink(outside.path(), dir.path().join("data")).unwrap();
        std::os::unix::fs::symlink(dir.path().join("real"), dir.path().join("alias")).unwrap();
        std::os::unix::fs::symlink("/", dir.path().join("root")).unwrap();
        let target = outside.path().canonicalize().unwrap();
        let why = read_dirs(&["data".into()], dir.path()).unwrap_err();
        assert!(
            why.contains("data leads through a symlink to") && why.contains(&target.display().to_string()),
            "{why}"
        );
        // Through a link in the middle of the path, to a directory inside the base, or to `/`: refused too.
        assert!(read_dirs(&["data/.".into()], dir.path()).is_err());
        assert!(read_dirs(&["alias".into()], dir.path()).is_err());
        assert!(read_dirs(&["root".into()], dir.path()).unwrap_err().contains("symlink to /;"));
        // The target granted by its own name is fine.
        assert_eq!(read_dirs(std::slice::from_ref(&target), dir.path()).unwrap(), vec![target]);
    }

    #[test]
    fn secret_keys_and_revisions() {
        for key in [
            "api-token",
            "GITHUB_TOKEN",
            "password",
            "db_passwd",
            "client-secret",
            "Authorization",
            "apiKey",
            "webhook-url",
        ] {
            assert!(is_secret_key(key), "{key}");
        }
        for key in ["min", "path", "sort-key", "url", "samples"] {
            assert!(!is_secret_key(key), "{key}");
        }
        assert_eq!(revision(" origin/main "), Ok("origin/main"));
        assert!(revision("--output=/tmp/x").is_err() && revision("-p").is_err() && revision("").is_err());
    }

    #[test]
    fn a_bad_changed_since_names_the_variable_it_came_from() {
        let resolve = |argv: &[&str], env: &[(&str, &str)]| {
            let mut full = vec!["stepkit", "check", "--plugin", "x.wasm"];
            full.extend_from_slice(argv);
            let crate::cli::Command::Check(args) = crate::cli::Cli::parse_from(full).command else {
                unreachable!()
            };
            let context = Context::new(crate::ci::Provider::Local);
            let env = Env::from_pairs(env.iter().copied());
            check_settings(&args, &env, &ConfigFile::default(), None, &context, Path::new("/"))
        };
        // It used to say "use --changed-since" for the variable's value too.
        let e = resolve(&[], &[("STEPKIT_CHECK_CHANGED_SINCE", "-p")]).err().unwrap().to_string();
        assert!(e.starts_with("use environment variable STEPKIT_CHECK_CHANGED_SINCE: `-p`"), "{e}");
        let e = resolve(&["--changed-since=-p"], &[("STEPKIT_CHECK_CHANGED_SINCE", "main")]).err().unwrap();
        assert!(e.to_string().starts_with("use --changed-since: `-p`"), "{e}");
    }

    #[test]
    fn a_grant_without_a_plugin_names_the_flag_given_and_bad_grants_their_source() {
        let context = Context::new(crate::ci::Provider::Local);
        let run = |argv: &[&str], file: &ConfigFile| {
            let env = Env::from_pairs([("HOME", "/nonexistent")]);
            check_settings(&args(argv), &env, file, None, &context, Path::new("/")).err().unwrap().to_string()
        };
        // It used to say "use --allow-*/--set", a flag that does not exist.
        let e = run(&["--allow-env", "API_TOKEN"], &ConfigFile::default());
        assert!(e.starts_with("use --allow-env: grants on the command line apply to --plugin"), "{e}");
        let e = run(&["--set", "min=80"], &ConfigFile::default());
        assert!(e.starts_with("use --set: grants"), "{e}");
        let e = run(&["--plugin", "a.wasm", "--allow-env", "A=1"], &ConfigFile::default());
        assert!(e.starts_with("use --allow-env: "), "{e}");
        let file =
            super::super::file::parse("[[check]]\nplugin = \"a.wasm\"\nallow-env = [\"A=1\"]\n").unwrap();
        let e = run(&[], &file);
        assert!(e.starts_with("parse config file stepkit.toml: [[check]] allow-env: "), "{e}");
    }

    #[test]
    fn every_variable_is_in_the_help_and_the_docs() {
        crate::settings::tests::documented(&["check"], &[var::CHANGED_SINCE, var::STRICT]);
    }

    #[test]
    fn names_are_unique() {
        let spec = |name: &str| PluginSpec {
            name: name.into(),
            file: "x".into(),
            grants: Grants::default(),
            limits: Limits::default(),
        };
        let mut plugins = vec![spec("a"), spec("a"), spec("b")];
        dedupe_names(&mut plugins);
        let names: Vec<_> = plugins.iter().map(|p| p.name.as_str()).collect();
        assert_eq!(names, ["a", "a#2", "b"]);
    }
}
