//! The table of steps: each command resolves its settings into a `Step` that declares, once, its name,
//! the secrets to keep out of every output and how it meets SIGINT/SIGTERM; `execute` runs any of them
//! the same way (masking, the async runtime, the signal policy).

use crate::ci::{self, Env};
use crate::cli::{
    Command, CompanionCommand, CoverageCommand, DeployCommand, HistoryCommand, HookCommand, ImageCommand,
    JunitCommand, PluginCommand,
};
use crate::error::Error;
use crate::publish::StderrLive;
use crate::report::{Live, Outcome};
use crate::settings::{self, ConfigFile, GlobalSettings};
use crate::steps::{check, coverage, deploy, gate, history, hook, image, junit, load, notify, suite};
use crate::{signals, tools};
use futures_util::future::LocalBoxFuture;
use std::path::{Path, PathBuf};

/// How a step meets SIGINT/SIGTERM.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OnSignal {
    /// Quick local work (reading and writing files): it runs to its end.
    RunsToEnd,
    /// Dropping the step's future is the clean stop (a daemon cancels a build or push when its connection
    /// closes, an HTTP request is simply not made): a signal ends it with an "interrupted" outcome.
    Dropped,
    /// The step listens itself, to leave things whole: the previous version back (deploy), the finished
    /// tests and plugins reported (test, check), the running job finished (hook serve).
    Handled,
}

/// One resolved command, ready to run.
pub trait Step {
    /// The command's name in outcomes and messages (`image push`).
    fn name(&self) -> &'static str;
    /// Values that must never reach any output, even if a tool or a plugin prints them.
    fn secrets(&self) -> Vec<&str> {
        vec![]
    }
    fn on_signal(&self) -> OnSignal;
    /// Work left on blocking threads when the step ends (a plugin still running after SIGTERM) is left
    /// behind rather than waited for.
    fn leaves_blocking_work(&self) -> bool {
        false
    }
    fn run<'a>(&'a self, live: &'a mut dyn Live) -> LocalBoxFuture<'a, Result<Outcome, Error>>;
}

/// What every command may read while it resolves its settings.
pub struct Inputs<'a> {
    pub env: &'a Env,
    pub file: &'a ConfigFile,
    pub context: &'a ci::Context,
    pub global: &'a GlobalSettings,
    pub cwd: &'a Path,
    /// `--history`, `STEPKIT_HISTORY`, `[history]`: the store `stepkit history` uses.
    pub history: settings::HistoryInputs<'a>,
}

impl Inputs<'_> {
    /// The CI workspace, else the working directory: where paths in reports are made relative.
    fn workspace(&self) -> Option<PathBuf> {
        self.context.workspace.clone().or_else(|| Some(self.cwd.to_path_buf()))
    }

    fn gate_file(&self) -> settings::GateFile<'_> {
        settings::GateFile { table: self.file.gate.as_ref(), path: self.global.config_path.as_deref() }
    }
}

/// Resolves the command's settings (usage errors come from here) and runs it.
pub fn dispatch(command: Command, inputs: &Inputs, sinks: &mut ci::Sinks) -> Result<Outcome, Error> {
    let step = resolve(command, inputs)?;
    execute(step.as_ref(), inputs.global, sinks)
}

/// The table: a command and its settings to a step.
fn resolve(command: Command, inputs: &Inputs) -> Result<Box<dyn Step>, Error> {
    let Inputs { env, file, context, global, cwd, history } = *inputs;
    let config = global.config_path.as_deref();
    Ok(match command {
        Command::Test(args) => {
            use std::io::IsTerminal;
            let progress = ci::progress_mode(context, std::io::stderr().is_terminal(), global.quiet);
            let settings =
                settings::test_settings(&args, env, file, config, cwd, progress, inputs.workspace())?;
            Box::new(Test(settings))
        }
        Command::Image(args) => match args.command {
            ImageCommand::Build(args) => {
                Box::new(ImageBuild(settings::build_settings(&args, env, context, cwd, std::io::stdin())?))
            }
            ImageCommand::Push(args) => {
                let (references, settings) = settings::push_args(&args, env, std::io::stdin())?;
                Box::new(ImagePush(references, settings))
            }
        },
        Command::Junit(args) => match args.command {
            JunitCommand::Merge(args) => {
                let settings = settings::merge_settings(&args, env, file)?;
                local("junit merge", settings, |_| vec![], |s| Ok(junit::merge(s)?))
            }
            JunitCommand::Summary(args) => {
                let settings = settings::summary_settings(&args, env, file, inputs.workspace())?;
                local("junit summary", settings, |_| vec![], |s| Ok(junit::summary(s)?))
            }
        },
        Command::Coverage(args) => match args.command {
            CoverageCommand::Merge(args) => {
                let settings = settings::coverage_merge_settings(&args, env, cwd)?;
                local("coverage merge", settings, |_| vec![], |s| Ok(coverage::merge(s)?))
            }
        },
        Command::Gate(args) => Box::new(Gate(settings::gate_settings(&args, env, inputs.gate_file())?)),
        Command::Load(args) => Box::new(Load(settings::load_settings(&args, env, cwd)?)),
        Command::Deploy(args) => {
            let envs = settings::Environments {
                tables: Some(&file.env),
                path: config,
                deploy: file.deploy.as_ref(),
            };
            let gate = inputs.gate_file();
            match args.command {
                Some(DeployCommand::Rollback(args)) => {
                    Box::new(Rollback(settings::rollback_settings(&args, env, cwd, gate, envs)?))
                }
                Some(DeployCommand::Companion(args)) => {
                    let (action, target) = match &args.command {
                        CompanionCommand::Restart(t) => (deploy::CompanionAction::Restart, t),
                        CompanionCommand::Remove(t) => (deploy::CompanionAction::Remove, t),
                    };
                    Box::new(Companion(settings::companion_command_settings(target, action, env, cwd, envs)?))
                }
                None => {
                    let deploy = settings::deploy_settings(&args.run, env, cwd, gate, envs)?;
                    let github =
                        settings::github_deployment_settings(&args.run.github, env, context, cwd, &deploy)?;
                    Box::new(Deploy(deploy, github))
                }
            }
        }
        Command::Check(args) => {
            Box::new(Check(settings::check_settings(&args, env, file, config, context, cwd)?))
        }
        Command::Github(args) => Box::new(Github(settings::github_settings(&args, env, context, cwd)?)),
        Command::Notify(args) => {
            Box::new(Notify(settings::notify_settings(&args, env, file.notify.as_ref(), context, cwd)?))
        }
        Command::Plugin(args) => match args.command {
            PluginCommand::Inspect(args) => {
                Box::new(PluginInspect { file: cwd.join(&args.file), cache: settings::cache_dir(env) })
            }
            PluginCommand::New(args) => Box::new(PluginNew(settings::scaffold_settings(&args, cwd))),
        },
        Command::Hook(args) => {
            let table = file.hook.as_ref();
            match args.command {
                HookCommand::Serve(args) => {
                    let exe = std::env::current_exe().map_err(|source| Error::Output {
                        what: "find the stepkit executable the steps run as".into(),
                        source,
                    })?;
                    Box::new(HookServe(settings::hook_serve_settings(&args, env, table, config, cwd, exe)?))
                }
                HookCommand::List(args) => {
                    let settings =
                        settings::hook_log_settings(&args.state, Some(&args), env, table, config, cwd)?;
                    Box::new(HookLog(settings, LogQuery::List))
                }
                HookCommand::Show(args) => {
                    let settings = settings::hook_log_settings(&args.state, None, env, table, config, cwd)?;
                    Box::new(HookLog(settings, LogQuery::Show(args.id, args.job)))
                }
                HookCommand::Replay(args) => {
                    let settings = settings::hook_log_settings(&args.state, None, env, table, config, cwd)?;
                    Box::new(HookLog(settings, LogQuery::Replay(args.id)))
                }
            }
        }
        Command::History(args) => match args.command {
            HistoryCommand::Record(args) => {
                let settings = settings::history_record_settings(&args, history, context)?;
                local(
                    "history record",
                    settings,
                    |s| s.store.password().into_iter().collect(),
                    |s| Ok(history::record(s)?),
                )
            }
            HistoryCommand::Query(args) => {
                let settings = settings::history_query_settings(&args, history)?;
                local(
                    "history query",
                    settings,
                    |(store, _)| store.password().into_iter().collect(),
                    |(store, s)| Ok(history::query(store, s)?),
                )
            }
        },
        Command::Dashboard(args) => {
            let settings = settings::dashboard_settings(&args, history, context)?;
            local(
                "dashboard",
                settings,
                |s| s.store.password().into_iter().collect(),
                |s| Ok(history::dashboard::dashboard(s)?),
            )
        }
        Command::Completions(args) => Box::new(Completions(args.shell)),
        Command::Man(args) => Box::new(Man(args.output)),
    })
}

/// Runs one step: its secrets masked in every sink, on the runtime its signal policy needs.
fn execute(step: &dyn Step, global: &GlobalSettings, sinks: &mut ci::Sinks) -> Result<Outcome, Error> {
    let mut live = StderrLive { sinks, quiet: global.quiet };
    for secret in step.secrets() {
        live.sinks.mask(secret);
    }
    let runtime = match step.on_signal() {
        // No threads for a step that does not wait on anything.
        OnSignal::RunsToEnd => tokio::runtime::Builder::new_current_thread().enable_all().build(),
        OnSignal::Dropped | OnSignal::Handled => {
            tokio::runtime::Builder::new_multi_thread().enable_all().build()
        }
    }
    .map_err(|source| Error::Output { what: "start the async runtime".into(), source })?;
    let outcome = match step.on_signal() {
        OnSignal::Dropped => runtime.block_on(interruptible(step.name(), step.run(&mut live))),
        OnSignal::RunsToEnd | OnSignal::Handled => runtime.block_on(step.run(&mut live)),
    };
    if step.leaves_blocking_work() {
        runtime.shutdown_timeout(std::time::Duration::from_millis(500));
    }
    outcome
}

/// Runs a step until it ends or SIGINT/SIGTERM arrives. Dropping the step's future closes its
/// connection to the daemon, which cancels the build or push there, well within 5 s.
async fn interruptible(
    command: &str,
    step: impl std::future::Future<Output = Result<Outcome, Error>>,
) -> Result<Outcome, Error> {
    let mut signals = signals::Signals::install();
    tokio::select! {
        result = step => result,
        signal = signals.recv() => Ok(Outcome::new(
            command,
            signal.verdict(),
            format!(
                "{} by {}; the daemon cancels the unfinished work",
                if signal == signals::Signal::Int { "interrupted" } else { "stopped" },
                signal.name()
            ),
        )),
    }
}

/// A step's future, boxed, with its error made the crate's.
fn boxed<'a, E: Into<Error>>(
    step: impl std::future::Future<Output = Result<Outcome, E>> + 'a,
) -> LocalBoxFuture<'a, Result<Outcome, Error>> {
    Box::pin(async move { step.await.map_err(Into::into) })
}

/// A step that does its work at once, without waiting on anything.
fn done<'a, E: Into<Error>>(result: Result<Outcome, E>) -> LocalBoxFuture<'a, Result<Outcome, Error>> {
    Box::pin(std::future::ready(result.map_err(Into::into)))
}

/// Quick local work that runs to its end on a signal (reading and writing files, the history store):
/// one step type for all such commands, declared by its name, its secrets and the function doing it.
// The work runs in `done`, that is when `run` is called, before the runtime is entered: the history's
// PostgreSQL client (the `postgres` crate) drives a runtime of its own, which cannot start inside another.
struct Local<S> {
    name: &'static str,
    settings: S,
    secrets: fn(&S) -> Vec<&str>,
    work: fn(&S) -> Result<Outcome, Error>,
}

/// A `Local` step; `secrets` lists what its settings hold that must never be printed.
fn local<S: 'static>(
    name: &'static str,
    settings: S,
    secrets: fn(&S) -> Vec<&str>,
    work: fn(&S) -> Result<Outcome, Error>,
) -> Box<dyn Step> {
    Box::new(Local { name, settings, secrets, work })
}

impl<S> Step for Local<S> {
    fn name(&self) -> &'static str {
        self.name
    }
    fn secrets(&self) -> Vec<&str> {
        (self.secrets)(&self.settings)
    }
    fn on_signal(&self) -> OnSignal {
        OnSignal::RunsToEnd
    }
    fn run<'a>(&'a self, _: &'a mut dyn Live) -> LocalBoxFuture<'a, Result<Outcome, Error>> {
        done((self.work)(&self.settings))
    }
}

struct Test(suite::TestSettings);
impl Step for Test {
    fn name(&self) -> &'static str {
        "test"
    }
    fn on_signal(&self) -> OnSignal {
        OnSignal::Handled
    }
    fn run<'a>(&'a self, live: &'a mut dyn Live) -> LocalBoxFuture<'a, Result<Outcome, Error>> {
        boxed(suite::run(&self.0, live))
    }
}

struct ImageBuild(image::BuildSettings);
impl Step for ImageBuild {
    fn name(&self) -> &'static str {
        "image build"
    }
    fn secrets(&self) -> Vec<&str> {
        self.0.push.iter().filter_map(|push| push.password.as_ref()).map(|s| s.expose()).collect()
    }
    fn on_signal(&self) -> OnSignal {
        OnSignal::Dropped
    }
    fn run<'a>(&'a self, live: &'a mut dyn Live) -> LocalBoxFuture<'a, Result<Outcome, Error>> {
        boxed(image::build_image(&self.0, live))
    }
}

struct ImagePush(Vec<image::reference::Reference>, image::PushSettings);
impl Step for ImagePush {
    fn name(&self) -> &'static str {
        "image push"
    }
    fn secrets(&self) -> Vec<&str> {
        self.1.password.iter().map(|s| s.expose()).collect()
    }
    fn on_signal(&self) -> OnSignal {
        OnSignal::Dropped
    }
    fn run<'a>(&'a self, live: &'a mut dyn Live) -> LocalBoxFuture<'a, Result<Outcome, Error>> {
        boxed(image::push_images(&self.0, &self.1, live))
    }
}

struct Gate(gate::GateSettings);
impl Step for Gate {
    fn name(&self) -> &'static str {
        "gate"
    }
    fn secrets(&self) -> Vec<&str> {
        self.0.secrets().into_iter().map(|s| s.expose()).collect()
    }
    fn on_signal(&self) -> OnSignal {
        OnSignal::Dropped
    }
    fn run<'a>(&'a self, live: &'a mut dyn Live) -> LocalBoxFuture<'a, Result<Outcome, Error>> {
        boxed(gate::run(&self.0, live))
    }
}

struct Load(load::LoadSettings);
impl Step for Load {
    fn name(&self) -> &'static str {
        "load"
    }
    fn secrets(&self) -> Vec<&str> {
        self.0.secret_headers.iter().map(|(_, s)| s.expose()).collect()
    }
    fn on_signal(&self) -> OnSignal {
        // What was measured until the signal is still the result.
        OnSignal::Handled
    }
    fn run<'a>(&'a self, live: &'a mut dyn Live) -> LocalBoxFuture<'a, Result<Outcome, Error>> {
        boxed(load::run(&self.0, live))
    }
}

struct Deploy(deploy::DeploySettings, Option<deploy::github::GithubDeployment>);
impl Step for Deploy {
    fn name(&self) -> &'static str {
        "deploy"
    }
    fn secrets(&self) -> Vec<&str> {
        // Very short values (an env var `DEBUG=1`) would mask every "1" in the log.
        let secrets = self.0.secrets().into_iter().map(|s| s.expose());
        let token = self.1.iter().map(|g| g.api.token.expose());
        secrets.filter(|s| s.len() >= deploy::MIN_SECRET_LEN).chain(token).collect()
    }
    fn on_signal(&self) -> OnSignal {
        // The previous version must be back before the process exits.
        OnSignal::Handled
    }
    fn run<'a>(&'a self, live: &'a mut dyn Live) -> LocalBoxFuture<'a, Result<Outcome, Error>> {
        boxed(deploy::github::deploy(&self.0, self.1.as_ref(), live))
    }
}

struct Rollback(deploy::RollbackSettings);
impl Step for Rollback {
    fn name(&self) -> &'static str {
        "deploy rollback"
    }
    fn secrets(&self) -> Vec<&str> {
        self.0.gate.secrets().into_iter().map(|s| s.expose()).collect()
    }
    fn on_signal(&self) -> OnSignal {
        OnSignal::Handled
    }
    fn run<'a>(&'a self, live: &'a mut dyn Live) -> LocalBoxFuture<'a, Result<Outcome, Error>> {
        boxed(deploy::rollback(&self.0, live))
    }
}

struct Companion(deploy::CompanionCommandSettings);
impl Step for Companion {
    fn name(&self) -> &'static str {
        self.0.command()
    }
    fn secrets(&self) -> Vec<&str> {
        let secrets = self.0.companion.secrets().chain(self.0.pull.password.as_ref()).map(|s| s.expose());
        secrets.filter(|s| s.len() >= deploy::MIN_SECRET_LEN).collect()
    }
    fn on_signal(&self) -> OnSignal {
        OnSignal::Handled
    }
    fn run<'a>(&'a self, live: &'a mut dyn Live) -> LocalBoxFuture<'a, Result<Outcome, Error>> {
        boxed(deploy::companion_command(&self.0, live))
    }
}

struct Check(check::CheckSettings);
impl Step for Check {
    fn name(&self) -> &'static str {
        "check"
    }
    fn secrets(&self) -> Vec<&str> {
        // A granted variable may be a token, and so may a `--set` value whose key says so (api-token=...).
        // Very short values would mask every occurrence of, say, "1" in the whole log.
        let plugins = &self.0.plugins;
        let granted = plugins.iter().flat_map(|p| p.grants.env.iter().map(|(_, v)| v.as_str()));
        let configured = settings::secret_config_values(plugins);
        granted.chain(configured).filter(|v| v.len() >= 4).collect()
    }
    fn on_signal(&self) -> OnSignal {
        // The plugins that finished are still reported.
        OnSignal::Handled
    }
    fn leaves_blocking_work(&self) -> bool {
        // After SIGINT/SIGTERM plugins may still run on blocking threads, up to their deadline.
        true
    }
    fn run<'a>(&'a self, live: &'a mut dyn Live) -> LocalBoxFuture<'a, Result<Outcome, Error>> {
        boxed(check::run(&self.0, live))
    }
}

struct Github(notify::github::GithubSettings);
impl Step for Github {
    fn name(&self) -> &'static str {
        match self.0.request {
            notify::github::GithubRequest::CheckRun(_) => "github check-run",
            notify::github::GithubRequest::Status(_) => "github status",
            notify::github::GithubRequest::Comment(_) => "github comment",
        }
    }
    fn secrets(&self) -> Vec<&str> {
        let token = self.0.api.token.expose();
        if token.is_empty() {
            vec![]
        } else {
            vec![token]
        }
    }
    fn on_signal(&self) -> OnSignal {
        OnSignal::Dropped
    }
    fn run<'a>(&'a self, live: &'a mut dyn Live) -> LocalBoxFuture<'a, Result<Outcome, Error>> {
        boxed(notify::github::run(&self.0, live))
    }
}

struct Notify(notify::slack::SlackSettings);
impl Step for Notify {
    fn name(&self) -> &'static str {
        "notify"
    }
    fn secrets(&self) -> Vec<&str> {
        // The webhook URL is itself a credential, like the token.
        self.0.secrets().into_iter().map(|s| s.expose()).collect()
    }
    fn on_signal(&self) -> OnSignal {
        OnSignal::Dropped
    }
    fn run<'a>(&'a self, live: &'a mut dyn Live) -> LocalBoxFuture<'a, Result<Outcome, Error>> {
        boxed(notify::slack::notify(&self.0, live))
    }
}

struct PluginInspect {
    file: PathBuf,
    cache: Option<PathBuf>,
}
impl Step for PluginInspect {
    fn name(&self) -> &'static str {
        "plugin inspect"
    }
    fn on_signal(&self) -> OnSignal {
        OnSignal::RunsToEnd
    }
    fn run<'a>(&'a self, _: &'a mut dyn Live) -> LocalBoxFuture<'a, Result<Outcome, Error>> {
        done(check::inspect(&self.file, self.cache.clone()))
    }
}

struct PluginNew(check::scaffold::ScaffoldSettings);
impl Step for PluginNew {
    fn name(&self) -> &'static str {
        "plugin new"
    }
    fn on_signal(&self) -> OnSignal {
        OnSignal::RunsToEnd
    }
    fn run<'a>(&'a self, _: &'a mut dyn Live) -> LocalBoxFuture<'a, Result<Outcome, Error>> {
        let written = check::scaffold(&self.0).map_err(check::CheckError::from);
        done(written.map(|written| check::scaffolded(&self.0, &written)))
    }
}

struct HookServe(hook::ServeSettings);
impl Step for HookServe {
    fn name(&self) -> &'static str {
        "hook serve"
    }
    fn secrets(&self) -> Vec<&str> {
        vec![self.0.secret.expose()]
    }
    fn on_signal(&self) -> OnSignal {
        // SIGTERM lets the running job finish within the grace period; the server runs until then.
        OnSignal::Handled
    }
    fn run<'a>(&'a self, live: &'a mut dyn Live) -> LocalBoxFuture<'a, Result<Outcome, Error>> {
        boxed(hook::serve(&self.0, live))
    }
}

enum LogQuery {
    List,
    Show(i64, bool),
    Replay(i64),
}

/// `hook list|show|replay`: read (or add to) the server's store.
struct HookLog(hook::LogSettings, LogQuery);
impl Step for HookLog {
    fn name(&self) -> &'static str {
        match self.1 {
            LogQuery::List => "hook list",
            LogQuery::Show(..) => "hook show",
            LogQuery::Replay(_) => "hook replay",
        }
    }
    fn on_signal(&self) -> OnSignal {
        OnSignal::RunsToEnd
    }
    fn run<'a>(&'a self, _: &'a mut dyn Live) -> LocalBoxFuture<'a, Result<Outcome, Error>> {
        done(match self.1 {
            LogQuery::List => hook::list(&self.0),
            LogQuery::Show(id, job) => hook::show(&self.0, id, job),
            LogQuery::Replay(id) => hook::replay(&self.0, id),
        })
    }
}

struct Completions(crate::cli::Shell);
impl Step for Completions {
    fn name(&self) -> &'static str {
        "completions"
    }
    fn on_signal(&self) -> OnSignal {
        OnSignal::RunsToEnd
    }
    fn run<'a>(&'a self, _: &'a mut dyn Live) -> LocalBoxFuture<'a, Result<Outcome, Error>> {
        done(Ok::<_, Error>(tools::completions(self.0)))
    }
}

struct Man(Option<PathBuf>);
impl Step for Man {
    fn name(&self) -> &'static str {
        "man"
    }
    fn on_signal(&self) -> OnSignal {
        OnSignal::RunsToEnd
    }
    fn run<'a>(&'a self, _: &'a mut dyn Live) -> LocalBoxFuture<'a, Result<Outcome, Error>> {
        done(tools::man(self.0.clone()))
    }
}
