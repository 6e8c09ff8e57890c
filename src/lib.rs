//! stepkit: the hard steps of a CI pipeline as one binary. `run()` is the whole program:
//! parse arguments, resolve settings, detect the CI, dispatch to a step, publish its outcome.

pub mod ci;
pub mod cli;
pub mod coverage;
pub mod docker;
pub mod error;
pub mod exit;
pub mod fs;
pub mod junit;
pub mod plugin;
pub mod publish;
pub mod report;
pub mod sanitize;
pub mod secret;
pub mod settings;
pub mod signals;
pub mod steps;
pub mod tls;
mod tools;

use ci::Env;
use cli::{Command, CoverageCommand, DeployCommand, HookCommand, ImageCommand, JunitCommand, PluginCommand};
use error::Error;
use report::Outcome;
use settings::{Color, ConfigFile};
use std::ffi::OsString;
use std::path::Path;

/// Runs stepkit with these arguments (the first is the program name) and returns the exit code.
pub fn run(args: impl IntoIterator<Item = OsString>) -> i32 {
    let args = match cli::expand_args_from_env(args.into_iter().collect(), |name| std::env::var_os(name)) {
        Ok(args) => args,
        Err(err) => {
            anstream::eprintln!("error: {err}");
            return exit::USAGE;
        }
    };
    let cli = match cli::parse(args) {
        Ok(cli) => cli,
        Err(err) => {
            let _ = err.print();
            return if err.use_stderr() { exit::USAGE } else { 0 };
        }
    };
    let env = Env::from_process();
    let cwd = std::env::current_dir().unwrap_or_else(|_| ".".into());
    let command = cli.command.name();
    let resolved = match settings::resolve(&cli.global, &env, &cwd) {
        Ok(resolved) => resolved,
        Err(err) => return publish::early_error(command, &Error::from(err)),
    };
    let global = resolved.global;
    anstream::ColorChoice::write_global(match global.color {
        Color::Auto => anstream::ColorChoice::Auto,
        Color::Always => anstream::ColorChoice::Always,
        Color::Never => anstream::ColorChoice::Never,
    });
    let context = ci::detect(&env, &cwd);
    let mut sinks = ci::Sinks::new(&context, &env, Box::new(anstream::stderr()));
    let result = dispatch(cli.command, &env, &resolved.file, &context, &global, &mut sinks, &cwd);
    publish::publish(command, result, &global, &mut sinks)
}

fn dispatch(
    command: Command,
    env: &Env,
    file: &ConfigFile,
    context: &ci::Context,
    global: &settings::GlobalSettings,
    sinks: &mut ci::Sinks,
    cwd: &Path,
) -> Result<Outcome, Error> {
    match command {
        Command::Test(args) => {
            use std::io::IsTerminal;
            let progress = ci::progress_mode(context, std::io::stderr().is_terminal(), global.quiet);
            let workspace = context.workspace.clone().or_else(|| Some(cwd.to_path_buf()));
            let settings = settings::test_settings(
                &args,
                env,
                file,
                global.config_path.as_deref(),
                cwd,
                progress,
                workspace,
            )?;
            let runtime = runtime()?;
            let mut live = publish::StderrLive { sinks, quiet: global.quiet };
            Ok(runtime.block_on(steps::suite::run(&settings, &mut live))?)
        }
        Command::Image(args) => {
            let runtime = runtime()?;
            let mut live = publish::StderrLive { sinks, quiet: global.quiet };
            match args.command {
                ImageCommand::Build(args) => {
                    let settings = settings::build_settings(&args, env, context, cwd, std::io::stdin())?;
                    if let Some(secret) = settings.push.as_ref().and_then(|p| p.password.as_ref()) {
                        live.sinks.mask(secret.expose());
                    }
                    runtime.block_on(interruptible(
                        "image build",
                        steps::image::build_image(&settings, &mut live),
                    ))
                }
                ImageCommand::Push(args) => {
                    let (references, settings) = settings::push_args(&args, env, std::io::stdin())?;
                    if let Some(secret) = &settings.password {
                        live.sinks.mask(secret.expose());
                    }
                    runtime.block_on(interruptible(
                        "image push",
                        steps::image::push_images(&references, &settings, &mut live),
                    ))
                }
            }
        }
        Command::Junit(args) => match args.command {
            JunitCommand::Merge(args) => {
                let settings = settings::merge_settings(&args, env, file)?;
                Ok(steps::junit::merge(&settings)?)
            }
            JunitCommand::Summary(args) => {
                let workspace = context.workspace.clone().or_else(|| Some(cwd.to_path_buf()));
                let settings = settings::summary_settings(&args, env, file, workspace)?;
                Ok(steps::junit::summary(&settings)?)
            }
        },
        Command::Coverage(args) => match args.command {
            CoverageCommand::Merge(args) => {
                let settings = settings::coverage_merge_settings(&args, env, cwd)?;
                Ok(steps::coverage::merge(&settings)?)
            }
        },
        Command::Gate(args) => {
            let gate_file =
                settings::GateFile { table: file.gate.as_ref(), path: global.config_path.as_deref() };
            let settings = settings::gate_settings(&args, env, gate_file)?;
            let runtime = runtime()?;
            let mut live = publish::StderrLive { sinks, quiet: global.quiet };
            for secret in settings.secrets() {
                live.sinks.mask(secret.expose());
            }
            runtime.block_on(interruptible("gate", steps::gate::run(&settings, &mut live)))
        }
        Command::Load(args) => {
            let settings = settings::load_settings(&args, env, cwd)?;
            let runtime = runtime()?;
            let mut live = publish::StderrLive { sinks, quiet: global.quiet };
            for (_, secret) in &settings.secret_headers {
                live.sinks.mask(secret.expose());
            }
            runtime.block_on(interruptible("load", steps::load::run(&settings, &mut live)))
        }
        Command::Deploy(args) => {
            let gate_file =
                settings::GateFile { table: file.gate.as_ref(), path: global.config_path.as_deref() };
            let envs =
                settings::Environments { tables: Some(&file.env), path: global.config_path.as_deref() };
            let runtime = runtime()?;
            let mut live = publish::StderrLive { sinks, quiet: global.quiet };
            // The deploy catches SIGINT/SIGTERM itself: it must put the previous version back before exiting.
            match args.command {
                Some(DeployCommand::Rollback(args)) => {
                    let settings = settings::rollback_settings(&args, env, cwd, gate_file, envs)?;
                    for secret in settings.gate.secrets() {
                        live.sinks.mask(secret.expose());
                    }
                    Ok(runtime.block_on(steps::deploy::rollback(&settings, &mut live))?)
                }
                None => {
                    let settings = settings::deploy_settings(&args.run, env, cwd, gate_file, envs)?;
                    for secret in settings
                        .secrets()
                        .into_iter()
                        .filter(|s| s.expose().len() >= steps::deploy::MIN_SECRET_LEN)
                    {
                        live.sinks.mask(secret.expose());
                    }
                    Ok(runtime.block_on(steps::deploy::deploy(&settings, &mut live))?)
                }
            }
        }
        Command::Check(args) => {
            let settings =
                settings::check_settings(&args, env, file, global.config_path.as_deref(), context, cwd)?;
            let runtime = runtime()?;
            let mut live = publish::StderrLive { sinks, quiet: global.quiet };
            // A granted variable may be a token, and so may a `--set` value whose key says so (api-token=...):
            // keep them out of the log even if a plugin prints them.
            for plugin in &settings.plugins {
                // Very short values would mask every occurrence of, say, "1" in the whole log.
                for (_, value) in plugin.grants.env.iter().filter(|(_, v)| v.len() >= 4) {
                    live.sinks.mask(value);
                }
            }
            for value in
                settings::secret_config_values(&settings.plugins).into_iter().filter(|v| v.len() >= 4)
            {
                live.sinks.mask(value);
            }
            // The step handles SIGINT/SIGTERM itself, so the plugins that finished are still reported.
            let outcome = runtime.block_on(steps::check::run(&settings, &mut live)).map_err(Error::from);
            // After SIGINT/SIGTERM plugins may still be running on blocking threads; dropping the runtime
            // would wait for them (up to their deadline), so leave them behind.
            runtime.shutdown_timeout(std::time::Duration::from_millis(500));
            outcome
        }
        Command::Github(args) => {
            let settings = settings::github_settings(&args, env, context, cwd)?;
            let runtime = runtime()?;
            let mut live = publish::StderrLive { sinks, quiet: global.quiet };
            if !settings.api.token.expose().is_empty() {
                live.sinks.mask(settings.api.token.expose());
            }
            let name = match settings.request {
                steps::notify::github::GithubRequest::CheckRun(_) => "github check-run",
                steps::notify::github::GithubRequest::Status(_) => "github status",
                steps::notify::github::GithubRequest::Comment(_) => "github comment",
            };
            runtime.block_on(interruptible(name, steps::notify::github::run(&settings, &mut live)))
        }
        Command::Notify(args) => {
            let settings = settings::notify_settings(&args, env, file.notify.as_ref(), context, cwd)?;
            let runtime = runtime()?;
            let mut live = publish::StderrLive { sinks, quiet: global.quiet };
            // The webhook URL is itself a credential: mask it like the token.
            for secret in settings.secrets() {
                live.sinks.mask(secret.expose());
            }
            runtime.block_on(interruptible("notify", steps::notify::slack::notify(&settings, &mut live)))
        }
        Command::Plugin(args) => match args.command {
            PluginCommand::Inspect(args) => {
                Ok(steps::check::inspect(&cwd.join(&args.file), settings::cache_dir(env))?)
            }
            PluginCommand::New(args) => {
                let settings = settings::scaffold_settings(&args, cwd);
                let written = steps::check::scaffold(&settings).map_err(steps::check::CheckError::from)?;
                Ok(steps::check::scaffolded(&settings, &written))
            }
        },
        Command::Hook(args) => hook(args.command, env, file, global, sinks, cwd),
        Command::Completions(args) => Ok(tools::completions(args.shell)),
        Command::Man(args) => tools::man(args.output.as_deref().map(Path::to_path_buf)),
    }
}

/// `stepkit hook ...`: the server runs until SIGTERM/SIGINT; the others read (or add to) its store.
fn hook(
    command: HookCommand,
    env: &Env,
    file: &ConfigFile,
    global: &settings::GlobalSettings,
    sinks: &mut ci::Sinks,
    cwd: &Path,
) -> Result<Outcome, Error> {
    let (table, config) = (file.hook.as_ref(), global.config_path.as_deref());
    match command {
        HookCommand::Serve(args) => {
            let exe = std::env::current_exe().map_err(|source| Error::Output {
                what: "find the stepkit executable the steps run as".into(),
                source,
            })?;
            let settings = settings::hook_serve_settings(&args, env, table, config, cwd, exe)?;
            let mut live = publish::StderrLive { sinks, quiet: global.quiet };
            live.sinks.mask(settings.secret.expose());
            let runtime = runtime()?;
            Ok(runtime.block_on(steps::hook::serve(&settings, &mut live))?)
        }
        HookCommand::List(args) => {
            let settings = settings::hook_log_settings(&args.state, Some(&args), env, table, config, cwd)?;
            Ok(steps::hook::list(&settings)?)
        }
        HookCommand::Show(args) => {
            let settings = settings::hook_log_settings(&args.state, None, env, table, config, cwd)?;
            Ok(steps::hook::show(&settings, args.id, args.job)?)
        }
        HookCommand::Replay(args) => {
            let settings = settings::hook_log_settings(&args.state, None, env, table, config, cwd)?;
            Ok(steps::hook::replay(&settings, args.id)?)
        }
    }
}

fn runtime() -> Result<tokio::runtime::Runtime, Error> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|source| Error::Output { what: "start the async runtime".into(), source })
}

/// Runs a docker step until it ends or SIGINT/SIGTERM arrives. Dropping the step's future closes its
/// connection to the daemon, which cancels the build or push there, well within 5 s.
async fn interruptible<E: Into<Error>>(
    command: &str,
    step: impl std::future::Future<Output = Result<Outcome, E>>,
) -> Result<Outcome, Error> {
    let mut signals = signals::Signals::install();
    tokio::select! {
        result = step => result.map_err(Into::into),
        signal = signals.recv() => Ok(Outcome::new(
            command,
            signal.verdict(),
            format!("{} by {}; the daemon cancels the unfinished work", if signal == signals::Signal::Int { "interrupted" } else { "stopped" }, signal.name()),
        )),
    }
}
