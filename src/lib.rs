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
pub mod junit;
pub mod patterns;
pub mod plugin;
pub mod publish;
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
    let inputs =
        dispatch::Inputs { env: &env, file: &resolved.file, context: &context, global: &global, cwd: &cwd };
    let result = dispatch::dispatch(cli.command, &inputs, &mut sinks);
    publish::publish(command, result, &global, &mut sinks)
}
