//! `stepkit deploy --environment NAME` with `[env.NAME]` tables in stepkit.toml, against a real Docker
//! engine: the table gives the app, image, port and probe; the environment is in the result and a label.

use crate::deploy::{free_port, get, Fixture, Kind};
use crate::image::have_docker;
use crate::support::{stepkit, write};

#[test]
fn an_environment_table_deploys_and_is_recorded() {
    if !have_docker() {
        return;
    }
    let mut f = Fixture::new("envtable");
    let (stage, prod) = (f.build(Kind::Healthy, "v1-stage"), f.build(Kind::Healthy, "v1-prod"));
    let (stage_port, prod_port) = (free_port(), free_port());
    let table = |name: &str, app: &str, image: &str, port: u16| {
        format!(
            "[env.{name}]\nname = \"{app}\"\nimage = \"{image}\"\npublish = [\"{port}:8080\"]\nhttp = [\"http://127.0.0.1:{port}/cgi-bin/health\"]\nstop-timeout = \"1s\"\n"
        )
    };
    let prod_app = format!("{}-prod", f.app);
    write(
        f.dir.path(),
        "stepkit.toml",
        format!(
            "{}\n{}",
            table("stage", &f.app, &stage, stage_port),
            table("prod", &prod_app, &prod, prod_port)
        ),
    );
    let run = stepkit()
        .current_dir(f.dir.path())
        .args(["--format", "json", "deploy", "--environment", "stage", "--interval", "200ms"])
        .run()
        .expect_code(0);
    let data = &run.json()["data"];
    assert_eq!(
        (data["environment"].as_str(), data["app"].as_str()),
        (Some("stage"), Some(f.app.as_str())),
        "{data}"
    );
    assert_eq!(get(stage_port, "/version"), "v1-stage");
    assert_eq!(f.inspect(&f.app, "{{index .Config.Labels \"io.stepkit.deploy.environment\"}}"), "stage");

    // STEPKIT_ENVIRONMENT chooses the other table (its app's name contains the fixture's, so it is cleaned up).
    let run = stepkit()
        .current_dir(f.dir.path())
        .env("STEPKIT_ENVIRONMENT", "prod")
        .args(["--format", "json", "deploy", "--interval", "200ms"])
        .run()
        .expect_code(0);
    assert_eq!(run.json()["data"]["environment"], "prod", "{}", run.stdout);
    assert_eq!(get(prod_port, "/version"), "v1-prod");

    let unknown = stepkit().current_dir(f.dir.path()).args(["deploy", "--environment", "qa"]).run();
    assert_eq!(unknown.code, 2, "{}", unknown.stderr);
    assert!(
        unknown.stderr.contains("no [env.qa] table") && unknown.stderr.contains("prod, stage"),
        "{}",
        unknown.stderr
    );
}
