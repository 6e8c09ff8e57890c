//! stepkit: the hard steps of a CI pipeline as one binary. `run()` is the whole program:
//! parse arguments, resolve settings, detect the CI, dispatch to a step, publish its outcome.

pub mod ci;
pub mod cli;
pub mod coverage;
pub mod dispatch;
pub mod docker;
pub mod error;
pub mod exit;
pub mod fs;
pub mod github;
pub mod junit;
pub mod patterns;
pub mod plugin;
pub mod publish;
pub mod registry_auth;
pub mod report;
pub mod result;
pub mod retry;
pub mod sanitize;
pub mod secret;
pub mod settings;
pub mod signals;
pub mod steps;
pub mod tls;
mod tools;

use ci::Env;
use error::Error;
use settings::Color;
use std::ffi::OsString;

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
    let history = settings::HistoryInputs {
        flag: cli.global.history.as_deref(),
        env: &env,
        table: resolved.file.history.as_ref(),
        config_path: global.config_path.as_deref(),
        cwd: &cwd,
    };
    // A step given a history store records its own run after it ends; a bad store is a usage error
    // before the step runs, not a surprise after it.
    let record = match records_itself(&cli.command).then(|| settings::self_record_settings(history, &context))
    {
        Some(Err(err)) => return publish::early_error(command, &Error::from(err)),
        Some(Ok(record)) => record,
        None => None,
    };
    if let Some(password) = record.as_ref().and_then(|r| settings::history_password(&r.store)) {
        sinks.mask(&password);
    }
    let inputs = dispatch::Inputs {
        env: &env,
        file: &resolved.file,
        context: &context,
        global: &global,
        cwd: &cwd,
        history,
    };
    let mut result = dispatch::dispatch(cli.command, &inputs, &mut sinks);
    // After the step's runtime is gone: the PostgreSQL client runs one of its own.
    let unrecorded = match &record {
        Some(record) => !record_self(record, command, &mut result, &cwd, global.quiet),
        None => false,
    };
    let code = publish::publish(command, result, &global, &mut sinks);
    if unrecorded {
        code.max(exit::ENVIRONMENT)
    } else {
        code
    }
}

/// Steps whose runs are history: not the history (and its dashboard), hook, notification or tool commands.
fn records_itself(command: &cli::Command) -> bool {
    use cli::Command;
    !matches!(
        command,
        Command::History(_)
            | Command::Dashboard(_)
            | Command::Hook(_)
            | Command::Github(_)
            | Command::Notify(_)
            | Command::Plugin(_)
            | Command::Completions(_)
            | Command::Man(_)
    )
}

/// Records the step's result (or its error, unless it was a usage error: nothing ran) in the history.
/// Returns false when that failed: the run is then published with a warning and exits at least 3.
fn record_self(
    record: &steps::history::SelfRecord,
    command: &str,
    result: &mut Result<report::Outcome, Error>,
    cwd: &std::path::Path,
    quiet: bool,
) -> bool {
    let json = match result {
        Ok(outcome) => report::render_json(outcome),
        Err(err) if err.exit_code() == exit::USAGE => return true,
        Err(err) => report::render_error_json(command, err.exit_code(), &err.to_string()),
    };
    match (steps::history::record_self(record, &json, cwd), result) {
        (Ok((line, warnings)), Ok(outcome)) => {
            outcome.text.push_str(&format!("{line}\n"));
            outcome.warnings.extend(warnings);
            true
        }
        (Ok((line, _)), Err(_)) => {
            if !quiet {
                anstream::eprintln!("{}", sanitize::text(&line));
            }
            true
        }
        (Err(err), Ok(outcome)) => {
            outcome.warnings.push(format!("this run was not recorded in the history: failed to {err}"));
            false
        }
        (Err(err), Err(_)) => {
            anstream::eprintln!(
                "error: failed to record this run in the history: {}",
                sanitize::text(&err.to_string())
            );
            false
        }
    }
}
