//! The table of published result schemas: each step's command, its schema file in docs/schemas/, the
//! `schema_version` it writes, and the JSON Schema generated from its structs (so the published files
//! cannot drift from the code: a test compares them).

use super::ResultFile;
use schemars::{JsonSchema, Schema};

/// One step's published result schema.
pub struct Published {
    /// The `command` its results carry.
    pub command: &'static str,
    /// The file under docs/schemas/.
    pub file: &'static str,
    /// The `data.schema_version` this stepkit writes (and the newest it reads).
    pub version: u32,
    schema: fn() -> Schema,
}

fn envelope<D: JsonSchema>() -> Schema {
    schemars::schema_for!(ResultFile<D>)
}

/// Every step whose result is typed.
pub const PUBLISHED: &[Published] = &[
    Published {
        command: "junit merge",
        file: "junit-merge-result.schema.json",
        version: super::junit::MERGE_VERSION,
        schema: envelope::<super::junit::MergeData>,
    },
    Published {
        command: "junit summary",
        file: "junit-summary-result.schema.json",
        version: super::junit::SUMMARY_VERSION,
        schema: envelope::<super::junit::SummaryData>,
    },
    Published {
        command: "test",
        file: "test-result.schema.json",
        version: super::suite::SCHEMA_VERSION,
        schema: envelope::<super::suite::TestData>,
    },
    Published {
        command: "coverage merge",
        file: "coverage-merge-result.schema.json",
        version: super::coverage::SCHEMA_VERSION,
        schema: envelope::<super::coverage::MergeData>,
    },
    Published {
        command: "gate",
        file: "gate-result.schema.json",
        version: super::gate::SCHEMA_VERSION,
        schema: envelope::<super::gate::GateData>,
    },
    Published {
        command: "image build",
        file: "image-build-result.schema.json",
        version: super::image::BUILD_VERSION,
        schema: envelope::<super::image::BuildData>,
    },
    Published {
        command: "image push",
        file: "image-push-result.schema.json",
        version: super::image::PUSH_VERSION,
        schema: envelope::<super::image::PushData>,
    },
    Published {
        command: "check",
        file: "check-result.schema.json",
        version: super::check::CHECK_VERSION,
        schema: envelope::<super::check::CheckData<'static>>,
    },
    Published {
        command: "plugin inspect",
        file: "plugin-inspect-result.schema.json",
        version: super::check::INSPECT_VERSION,
        schema: envelope::<super::check::InspectData>,
    },
    Published {
        command: "plugin new",
        file: "plugin-new-result.schema.json",
        version: super::check::NEW_VERSION,
        schema: envelope::<super::check::NewData>,
    },
    Published {
        command: "load",
        file: "load-result.schema.json",
        version: super::load::SCHEMA_VERSION,
        schema: envelope::<super::load::LoadResult>,
    },
    Published {
        command: "notify",
        file: "notify-result.schema.json",
        version: super::notify::NOTIFY_VERSION,
        schema: envelope::<super::notify::NotifyData>,
    },
    Published {
        command: "github check-run",
        file: "github-check-run-result.schema.json",
        version: super::notify::GITHUB_VERSION,
        schema: envelope::<super::notify::CheckRunData>,
    },
    Published {
        command: "github status",
        file: "github-status-result.schema.json",
        version: super::notify::GITHUB_VERSION,
        schema: envelope::<super::notify::StatusData>,
    },
    Published {
        command: "github comment",
        file: "github-comment-result.schema.json",
        version: super::notify::GITHUB_VERSION,
        schema: envelope::<super::notify::CommentData>,
    },
    Published {
        command: "deploy",
        file: "deploy-result.schema.json",
        version: super::deploy::SCHEMA_VERSION,
        schema: envelope::<super::deploy::DeployData>,
    },
    Published {
        command: "deploy rollback",
        file: "deploy-rollback-result.schema.json",
        version: super::deploy::SCHEMA_VERSION,
        schema: envelope::<super::deploy::RollbackData>,
    },
    Published {
        command: "deploy companion restart",
        file: "deploy-companion-restart-result.schema.json",
        version: super::deploy::SCHEMA_VERSION,
        schema: envelope::<super::deploy::CompanionCommandData>,
    },
    Published {
        command: "deploy companion remove",
        file: "deploy-companion-remove-result.schema.json",
        version: super::deploy::SCHEMA_VERSION,
        schema: envelope::<super::deploy::CompanionCommandData>,
    },
    Published {
        command: "history record",
        file: "history-record-result.schema.json",
        version: super::history::RECORD_VERSION,
        schema: envelope::<super::history::RecordData>,
    },
    Published {
        command: "history query",
        file: "history-query-result.schema.json",
        version: super::history::QUERY_VERSION,
        schema: envelope::<super::history::Answer>,
    },
    Published {
        command: "dashboard",
        file: "dashboard-result.schema.json",
        version: super::dashboard::SCHEMA_VERSION,
        schema: envelope::<super::dashboard::Dashboard>,
    },
    Published {
        command: "hook serve",
        file: "hook-serve-result.schema.json",
        version: super::hook::SCHEMA_VERSION,
        schema: envelope::<super::hook::ServeData>,
    },
    Published {
        command: "hook list",
        file: "hook-list-result.schema.json",
        version: super::hook::SCHEMA_VERSION,
        schema: envelope::<super::hook::ListData>,
    },
    Published {
        command: "hook show",
        file: "hook-show-result.schema.json",
        version: super::hook::SCHEMA_VERSION,
        schema: envelope::<super::hook::ShowData>,
    },
    Published {
        command: "hook replay",
        file: "hook-replay-result.schema.json",
        version: super::hook::SCHEMA_VERSION,
        schema: envelope::<super::hook::ReplayData>,
    },
    Published {
        command: "completions",
        file: "completions-result.schema.json",
        version: super::tools::SCHEMA_VERSION,
        schema: envelope::<super::tools::CompletionsData>,
    },
    Published {
        command: "man",
        file: "man-result.schema.json",
        version: super::tools::SCHEMA_VERSION,
        schema: envelope::<super::tools::ManData>,
    },
];

/// The `schema_version` this stepkit writes for `command`; `None` for a command it does not know.
pub fn known_version(command: &str) -> Option<u32> {
    PUBLISHED.iter().find(|p| p.command == command).map(|p| p.version)
}

/// The JSON Schema of `published`'s result file, as written to docs/schemas/.
pub fn schema_json(published: &Published) -> String {
    let mut schema = (published.schema)();
    // The one value `command` has in this command's results, so a file of another step fails validation.
    if let Some(command) = schema.get_mut("properties").and_then(|p| p.get_mut("command")) {
        command["const"] = published.command.into();
    }
    schema.insert("title".into(), format!("stepkit {} result", published.command).into());
    schema.insert(
        "description".into(),
        format!(
            "The result file of `stepkit {}` (--result-file, --format json); data.schema_version {}.",
            published.command, published.version
        )
        .into(),
    );
    let mut text = serde_json::to_string_pretty(&schema).unwrap_or_default();
    text.push('\n');
    text
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    #[test]
    fn each_published_schema_is_the_one_its_structs_make() {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/schemas");
        let update = std::env::var_os("STEPKIT_UPDATE_SCHEMAS").is_some();
        let mut stale = Vec::new();
        for published in PUBLISHED {
            let path = dir.join(published.file);
            let generated = schema_json(published);
            assert!(generated.contains("\"schema_version\""), "{}: {generated}", published.command);
            if update {
                std::fs::write(&path, &generated).unwrap();
            }
            if std::fs::read_to_string(&path).ok().as_deref() != Some(generated.as_str()) {
                stale.push(path.display().to_string());
            }
        }
        assert!(
            stale.is_empty(),
            "out of date: {}; run STEPKIT_UPDATE_SCHEMAS=1 cargo test --lib result::schema",
            stale.join(", ")
        );
    }

    #[test]
    fn every_schema_file_is_published_by_a_step_and_commands_are_unique() {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/schemas");
        for entry in std::fs::read_dir(&dir).unwrap() {
            let name = entry.unwrap().file_name().to_string_lossy().into_owned();
            if name.ends_with(".schema.json") {
                assert!(PUBLISHED.iter().any(|p| p.file == name), "{name} belongs to no step: remove it");
            }
        }
        let mut commands: Vec<_> = PUBLISHED.iter().map(|p| p.command).collect();
        commands.sort_unstable();
        commands.dedup();
        assert_eq!(commands.len(), PUBLISHED.len(), "one entry per command");
    }
}
