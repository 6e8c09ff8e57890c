//! docs/pipeline.md run as written against the real Docker engine: its `file:` blocks are written and
//! its `run` blocks run with `sh -e`, in order, then the result files, the history, the database
//! stand-ins' data and the dashboard are checked.

use crate::deploy::free_port;
use crate::deploy_companions::Cleanup;
use crate::image::{docker, docker_cli, have_docker, unique};
use crate::support::{stepkit, write};
use serde_json::Value;
use std::path::Path;
use std::process::Command;

/// One marked block of the page: a file to write, or commands and the exit code the page says they end with.
enum Block {
    File { path: String, text: String },
    Run { script: String, exit: i32 },
}

/// Every `<!-- file: PATH -->` and `<!-- run -->` / `<!-- run: exits N -->` block, in page order.
fn marked_blocks(doc: &str) -> Vec<Block> {
    let mut blocks = Vec::new();
    for (at, _) in doc.match_indices("<!-- ") {
        let marker = &doc[at + 5..at + 5 + doc[at + 5..].find(" -->").expect("a marker ends with -->")];
        if let Some(path) = marker.strip_prefix("file: ") {
            blocks.push(Block::File { path: path.into(), text: fenced_after(&doc[at..]) });
        } else if let Some(exit) =
            marker.strip_prefix("run").filter(|r| r.is_empty() || r.starts_with(": exits "))
        {
            let exit = exit.strip_prefix(": exits ").map_or(0, |n| n.parse().expect("an exit code"));
            blocks.push(Block::Run { script: fenced_after(&doc[at..]), exit });
        }
    }
    blocks
}

/// The text of the first fenced block in `text`, whatever its language.
fn fenced_after(text: &str) -> String {
    let open = text.find("\n```").expect("a fenced block follows the marker") + 1;
    let start = open + text[open..].find('\n').unwrap() + 1;
    let end = start + text[start..].find("```").expect("the block ends");
    text[start..end].to_string()
}

/// Replaces `word` where it stands alone (not inside a longer run of digits or name characters).
fn replace_word(text: &str, word: &str, with: &str) -> String {
    let mut out = String::new();
    let mut rest = text;
    while let Some(at) = rest.find(word) {
        let before = rest[..at].chars().next_back();
        let after = rest[at + word.len()..].chars().next();
        let part_of_more = |c: Option<char>| c.is_some_and(|c| c.is_ascii_alphanumeric() || c == '_');
        out.push_str(&rest[..at]);
        out.push_str(if part_of_more(before) || part_of_more(after) { word } else { with });
        rest = &rest[at + word.len()..];
    }
    out + rest
}

/// Runs `script` with `sh -e` in `dir`, with the built stepkit and the docker CLI on PATH and no CI variables.
fn run_script(dir: &Path, script: &str) -> (i32, String) {
    let stepkit_dir = Path::new(env!("CARGO_BIN_EXE_stepkit")).parent().unwrap().to_path_buf();
    let docker_dir = Path::new(&docker_cli()).parent().unwrap().to_path_buf();
    let path = std::env::join_paths(
        [stepkit_dir, docker_dir]
            .into_iter()
            .chain(std::env::split_paths(&std::env::var_os("PATH").unwrap())),
    )
    .unwrap();
    let mut command = Command::new("sh");
    command.env_clear();
    for keep in ["HOME", "TMPDIR", "LANG", "DOCKER_HOST"] {
        if let Some(value) = std::env::var_os(keep) {
            command.env(keep, value);
        }
    }
    let out = command
        .env("PATH", path)
        .env("STEPKIT_DEPLOY_LOCK_DIR", dir.join(".locks"))
        .args(["-e", "-c", script])
        .current_dir(dir)
        .output()
        .expect("sh runs");
    let log = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    (out.status.code().unwrap_or(-1), log)
}

fn result(dir: &Path, name: &str) -> Value {
    let text =
        std::fs::read_to_string(dir.join("results").join(name)).unwrap_or_else(|e| panic!("{name}: {e}"));
    serde_json::from_str(&text).unwrap()
}

fn in_db(container: &str, script: &str) -> String {
    let out = docker(&["exec", container, "sh", "-c", script]);
    assert!(out.status.success(), "{container}: {script}: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

#[test]
fn the_documented_pipeline_runs_as_written_and_shows_the_regression_on_one_flavour() {
    if !have_docker() {
        return;
    }
    let doc = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/docs/pipeline.md")).unwrap();
    // The page's names and host ports, made unique to this run: other tests share the engine and
    // the loopback ports. Every name of the example starts with `demo-shop`.
    let name = unique("demo-shop");
    let ports = [free_port().to_string(), free_port().to_string()];
    let localize = |text: &str| {
        let text = replace_word(&text.replace("demo-shop", &name), "8081", &ports[0]);
        replace_word(&text, "8082", &ports[1])
    };
    let _cleanup = Cleanup {
        containers: vec![name.clone()],
        volumes: vec![format!("{name}-logstore-data"), format!("{name}-filestore-data")],
        networks: vec![format!("{name}-logstore"), format!("{name}-filestore")],
        images: ["app:1", "app:2", "logstore:1", "filestore:1"]
            .iter()
            .map(|i| format!("{name}/{i}"))
            .collect(),
    };
    let dir = tempfile::tempdir().unwrap();
    let blocks = marked_blocks(&doc);
    let runs = blocks.iter().filter(|b| matches!(b, Block::Run { .. })).count();
    assert_eq!(runs, 4, "version 1, version 2, the dashboard, the dashboard failing on the regression");
    for block in &blocks {
        match block {
            Block::File { path, text } => {
                write(dir.path(), path, localize(text));
            }
            Block::Run { script, exit } => {
                let (code, log) = run_script(dir.path(), &localize(script));
                assert_eq!(code, *exit, "{script}\n{log}");
            }
        }
    }

    for flavour in ["logstore", "filestore"] {
        for version in ["1", "2"] {
            // Each deploy passed its gate: the HEALTHCHECK (the app reaching its database) and the probe.
            let deploy = result(dir.path(), &format!("deploy-{flavour}-{version}.json"));
            assert_eq!(
                (deploy["verdict"].as_str(), deploy["exit_code"].as_i64()),
                (Some("passed"), Some(0)),
                "{deploy}"
            );
            let gate = &deploy["data"]["gate"];
            assert_eq!(gate["state"], "open", "{deploy}");
            assert!(gate["probes"].to_string().contains("/cgi-bin/ready"), "the page's http probe: {gate}");
            let companion = &deploy["data"]["companions"][0];
            let expected = if version == "1" { "created" } else { "running" };
            assert_eq!(companion["action"], expected, "{deploy}");
            let load = result(dir.path(), &format!("load-{flavour}-{version}.json"));
            let data = &load["data"];
            assert_eq!(
                (
                    data["target"].as_str(),
                    data["overall"]["requests"].as_u64(),
                    data["overall"]["errors"].as_u64()
                ),
                (Some(flavour), Some(300), Some(0)),
                "{load}"
            );
            let names: Vec<&str> =
                data["requests"].as_array().unwrap().iter().map(|r| r["name"].as_str().unwrap()).collect();
            assert_eq!(names, ["create order", "latest orders"]);
        }
        // The history holds both versions of both steps for the flavour, version 2 against version 1.
        for step in ["deploy", "load"] {
            let query = stepkit()
                .current_dir(dir.path())
                .args(["history", "query", "--step", step, "--target", flavour])
                .run()
                .expect_code(0);
            let answer: Value = serde_json::from_str(&query.stdout).unwrap();
            let series = &answer["series"][0];
            assert_eq!(answer["series"].as_array().unwrap().len(), 1, "{answer}");
            assert_eq!(
                (
                    series["environment"].as_str(),
                    series["latest"]["version"].as_str(),
                    series["previous"]["version"].as_str()
                ),
                (Some(flavour), Some("2"), Some("1")),
                "{answer}"
            );
        }
    }

    // The stand-ins really stored every order the loads created on them, each in its own design.
    let created = |flavour: &str| -> u64 {
        ["1", "2"]
            .map(|v| result(dir.path(), &format!("load-{flavour}-{v}.json")))
            .iter()
            .map(|load| load["data"]["requests"][0]["statuses"]["200"].as_u64().unwrap())
            .sum()
    };
    let (log, files) = (format!("{name}-logstore-db"), format!("{name}-filestore-db"));
    let orders = created("logstore");
    assert_eq!(in_db(&log, "wc -l < /data/orders.log"), orders.to_string());
    assert_eq!(
        in_db(&log, "cat /data/total"),
        (orders * 2).to_string(),
        "the running total, kept under its lock"
    );
    assert_eq!(in_db(&files, "ls /data/orders | wc -l"), created("filestore").to_string());
    assert_eq!(in_db(&files, "cat /data/orders/* | sort -u"), "widget 2");

    // The dashboard: the page, and the regression named on the right target with its delta.
    let page = std::fs::read_to_string(dir.path().join("site/index.html")).unwrap();
    assert!(page.contains("<svg") && page.contains("latest orders"), "the page draws the requests");
    let markdown = std::fs::read_to_string(dir.path().join("cmp.md")).unwrap();
    let dashboard = stepkit()
        .current_dir(dir.path())
        .args(["--format", "json", "dashboard", "-o", "site/again.html", "--max-regression", "50%"])
        .run()
        .expect_code(0);
    let model = dashboard.json();
    let regressions = model["data"]["regressions"].as_array().unwrap();
    let regressed = regressions
        .iter()
        .find(|r| r["what"] == "p95 of latest orders" && r["series"].as_str().unwrap().contains("filestore"))
        .unwrap_or_else(|| panic!("latest orders on filestore regressed: {regressions:?}\n{markdown}"));
    assert_eq!(
        (regressed["previous_version"].as_str(), regressed["latest_version"].as_str()),
        (Some("1"), Some("2"))
    );
    assert!(regressed["change_pct"].as_f64().unwrap() > 50.0, "{regressed}");
    // Its row in cmp.md's regressions table, with the same change.
    let row = markdown
        .lines()
        .find(|l| l.starts_with("| latency | p95 of latest orders | filestore"))
        .unwrap_or_else(|| panic!("cmp.md names latest orders on filestore:\n{markdown}"));
    let cell = row.trim_end_matches(['|', ' ']).rsplit('|').next().unwrap().trim();
    let shown: f64 = cell.trim_matches('*').trim_end_matches('%').parse().unwrap_or_else(|_| panic!("{row}"));
    assert!((shown - regressed["change_pct"].as_f64().unwrap()).abs() < 1.0, "{row} against {regressed}");
}
