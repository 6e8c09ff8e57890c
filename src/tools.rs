//! `stepkit completions` and `stepkit man`: generated from the clap definition, so they never drift.

use crate::cli::{self, Shell};
use crate::error::Error;
use crate::report::{Outcome, Verdict};
use crate::result::tools::{CompletionsData, ManData, SCHEMA_VERSION};
use std::path::PathBuf;

/// The completion script for `shell`.
pub fn completions(shell: Shell) -> Outcome {
    use clap_complete::Shell as S;
    let target = match shell {
        Shell::Bash => S::Bash,
        Shell::Zsh => S::Zsh,
        Shell::Fish => S::Fish,
        Shell::Elvish => S::Elvish,
        Shell::Powershell => S::PowerShell,
    };
    let mut script = Vec::new();
    clap_complete::generate(target, &mut cli::command(), "stepkit", &mut script);
    let script = String::from_utf8_lossy(&script).into_owned();
    let mut outcome =
        Outcome::new("completions", Verdict::Passed, format!("{target} completion script written to stdout"));
    outcome.set_data(&CompletionsData {
        schema_version: SCHEMA_VERSION,
        shell: target.to_string(),
        script: script.clone(),
    });
    outcome.stdout = Some(script);
    outcome
}

/// The man page on stdout, or one page per command written into `dir`.
pub fn man(dir: Option<PathBuf>) -> Result<Outcome, Error> {
    let command = cli::command();
    match dir {
        None => {
            let mut page = Vec::new();
            clap_mangen::Man::new(command)
                .render(&mut page)
                .map_err(|source| Error::Output { what: "man page".into(), source })?;
            let page = String::from_utf8_lossy(&page).into_owned();
            let mut outcome = Outcome::new("man", Verdict::Passed, "stepkit(1) written to stdout");
            outcome.set_data(&ManData::Page { schema_version: SCHEMA_VERSION, page: page.clone() });
            outcome.stdout = Some(page);
            Ok(outcome)
        }
        Some(dir) => {
            std::fs::create_dir_all(&dir).map_err(|source| Error::Output {
                what: format!("man directory {}", dir.display()),
                source,
            })?;
            clap_mangen::generate_to(command, &dir).map_err(|source| Error::Output {
                what: format!("man pages into {}", dir.display()),
                source,
            })?;
            let mut pages: Vec<String> = std::fs::read_dir(&dir)
                .map(|entries| {
                    entries
                        .filter_map(|e| e.ok())
                        .map(|e| e.path().display().to_string())
                        .filter(|p| p.ends_with(".1"))
                        .collect()
                })
                .unwrap_or_default();
            pages.sort();
            let mut outcome = Outcome::new(
                "man",
                Verdict::Passed,
                format!("{} man pages written to {}", pages.len(), dir.display()),
            );
            outcome.set_data(&ManData::Pages { schema_version: SCHEMA_VERSION, pages });
            Ok(outcome)
        }
    }
}
