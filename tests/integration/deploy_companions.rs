//! `stepkit deploy` with companions, the container spec, hooks and the registry pull, against a real
//! Docker engine and the authenticated loopback registry. The app and database images are built here
//! `FROM scratch` + static busybox: the "database" is busybox httpd on 5432 whose CGI appends to a file
//! in its data volume, which is what a migration hook talks to.

use crate::deploy::{Fixture, Kind};
use crate::image::{docker, have_docker, registries, unique};
use crate::support::{stepkit, write};
use std::path::Path;

/// Containers, volumes, networks and images a test made, removed on drop (even after a panic).
/// Containers are matched by name substring (`docker ps --filter name=`), so an app's name covers its
/// versions and companions.
#[derive(Default)]
pub(crate) struct Cleanup {
    pub(crate) containers: Vec<String>,
    pub(crate) volumes: Vec<String>,
    pub(crate) networks: Vec<String>,
    pub(crate) images: Vec<String>,
}

impl Cleanup {
    pub(crate) fn run(&self) {
        for name in &self.containers {
            let ids = docker(&["ps", "-aq", "--filter", &format!("name={name}")]);
            for id in String::from_utf8_lossy(&ids.stdout).split_whitespace() {
                docker(&["rm", "-f", id]);
            }
        }
        for v in &self.volumes {
            docker(&["volume", "rm", "-f", v]);
        }
        for n in &self.networks {
            docker(&["network", "rm", n]);
        }
        for i in &self.images {
            docker(&["rmi", "-f", "--no-prune", i]);
        }
    }
}

impl Drop for Cleanup {
    fn drop(&mut self) {
        self.run();
    }
}

const BUSYBOX: &str =
    "FROM scratch\nCOPY busybox /bin/busybox\nRUN [\"/bin/busybox\", \"--install\", \"-s\", \"/bin\"]\n";

/// Builds `tag` from a busybox image plus `files` (path, content, executable) and the rest of a Dockerfile.
fn build(dir: &Path, tag: &str, files: &[(&str, String, bool)], rest: &str) {
    let ctx = dir.join(format!("ctx-{}", tag.replace(['/', ':'], "-")));
    std::fs::create_dir_all(&ctx).unwrap();
    std::fs::copy("/bin/busybox", ctx.join("busybox")).expect("busybox-static is installed");
    for (path, content, exec) in files {
        let file = write(&ctx, path, content);
        if *exec {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o755)).unwrap();
        }
    }
    write(&ctx, "Dockerfile", format!("{BUSYBOX}{rest}"));
    let out = docker(&["build", "-q", "-t", tag, ctx.to_str().unwrap()]);
    assert!(out.status.success(), "build {tag}: {}", String::from_utf8_lossy(&out.stderr));
}

/// The "database": httpd on 5432; `GET /cgi-bin/migrate?X` appends X to `DATA/migrations`; each
/// start appends to `DATA/boots`.
pub(crate) fn build_db(dir: &Path, tag: &str, data: &str) {
    let cgi = format!(
        "#!/bin/sh\necho \"$QUERY_STRING\" >> {data}/migrations\nprintf 'Status: 200 OK\\r\\nContent-Type: text/plain\\r\\n\\r\\nmigrated %s\\n' \"$QUERY_STRING\"\n"
    );
    let cmd = format!(
        "CMD [\"/bin/sh\", \"-c\", \"mkdir -p {data} && echo boot >> {data}/boots && exec httpd -f -p 5432 -h /www\"]\n"
    );
    build(
        dir,
        tag,
        &[("www/cgi-bin/migrate", cgi, true), ("www/index.html", "db".into(), false)],
        &format!("COPY www /www\n{cmd}"),
    );
}

/// The app: httpd on 8080 (`/health`, `/version`), and `/app/migrate`, which tells the database
/// (`$DB_HOST`) its version and says which password it was given (redacted in every output).
pub(crate) fn build_app(dir: &Path, tag: &str, version: &str) {
    let migrate = format!(
        "#!/bin/sh\necho \"migrating to {version} as $DB_PASSWORD\"\nwget -q -O- \"http://$DB_HOST:5432/cgi-bin/migrate?{version}\"\n"
    );
    build(
        dir,
        tag,
        &[
            ("www/health", "ok".into(), false),
            ("www/version", version.into(), false),
            ("app/migrate", migrate, true),
        ],
        "COPY www /www\nCOPY app /app\nCMD [\"httpd\", \"-f\", \"-p\", \"8080\", \"-h\", \"/www\"]\n",
    );
}

pub(crate) fn inspect(name: &str, format: &str) -> String {
    String::from_utf8_lossy(&docker(&["inspect", "--format", format, name]).stdout).trim().to_string()
}

#[test]
fn the_container_spec_flags_reach_the_container() {
    if !have_docker() {
        return;
    }
    let mut f = Fixture::new("spec");
    let v1 = f.build(Kind::Healthy, "v1");
    let volume = unique("stepkit-spec-vol");
    // The app's containers first (dropped before the fixture): a volume in use cannot be removed.
    let mut cleanup = Cleanup::default();
    cleanup.containers.push(f.app.clone());
    cleanup.volumes.push(volume.clone());
    std::fs::create_dir_all(f.dir.path().join("conf")).unwrap();
    let mount = format!("{volume}:/data");
    f.deploy(
        &v1,
        &[
            "--volume",
            &mount,
            "--volume",
            "./conf:/conf:ro",
            "--entrypoint",
            "/bin/sh -c",
            "--command",
            "'exec httpd -f -p 8080 -h /www'",
            "--restart",
            "on-failure:2",
            "--memory",
            "64m",
            "--cpus",
            "0.5",
            "--user",
            "1000:1000",
            "--add-host",
            "db.internal:10.1.2.3",
        ],
    )
    .expect_code(0);
    let conf = f.dir.path().join("conf").canonicalize().unwrap();
    assert_eq!(
        f.inspect(&f.app, "{{json .HostConfig.Binds}}"),
        format!("[\"{mount}\",\"{}:/conf:ro\"]", conf.display())
    );
    assert_eq!(
        f.inspect(&f.app, "{{json .Config.Entrypoint}} {{json .Config.Cmd}}"),
        "[\"/bin/sh\",\"-c\"] [\"exec httpd -f -p 8080 -h /www\"]"
    );
    assert_eq!(
        f.inspect(&f.app, "{{.HostConfig.RestartPolicy.Name}}:{{.HostConfig.RestartPolicy.MaximumRetryCount}} {{.HostConfig.Memory}} {{.HostConfig.NanoCpus}} {{.Config.User}}"),
        "on-failure:2 67108864 500000000 1000:1000"
    );
    assert_eq!(f.inspect(&f.app, "{{json .HostConfig.ExtraHosts}}"), "[\"db.internal:10.1.2.3\"]");
    assert_eq!(f.inspect(&f.app, "{{.State.Running}}"), "true");
    let bad = f.deploy(&v1, &["--memory", "lots"]);
    assert_eq!(bad.code, 2, "{}", bad.stderr);
    assert!(bad.stderr.contains("--memory"), "{}", bad.stderr);
}

#[test]
fn a_failing_migration_leaves_the_old_version_and_a_failing_after_switch_hook_the_new() {
    if !have_docker() {
        return;
    }
    let mut f = Fixture::new("hooks");
    let (v1, v2) = (f.build(Kind::Healthy, "v1"), f.build(Kind::Healthy, "v2"));
    f.deploy(&v1, &[]).expect_code(0);

    let failed =
        f.deploy(&v2, &["--before-switch", "sh -c 'echo checking the schema; exit 3'"]).expect_code(1);
    let json = failed.json();
    let data = &json["data"];
    assert_eq!(data["result"], "rolled-back", "{json}");
    assert!(
        data["failure"]
            .as_str()
            .unwrap()
            .contains("before-switch hook `sh -c 'echo checking the schema; exit 3'`: exited with 3"),
        "{json}"
    );
    assert_eq!(
        (data["hooks"][0]["exit_code"].as_i64(), data["hooks"][0]["output"].as_str()),
        (Some(3), Some("checking the schema\n"))
    );
    assert_eq!(f.inspect(&f.app, "{{.Config.Image}}"), v1, "the old version serves");
    assert_eq!(
        f.containers(),
        vec![format!("{} {v1} running", f.app)],
        "no candidate and no hook container left"
    );

    let slow = f.deploy(&v2, &["--before-switch", "sleep 30", "--hook-timeout", "1s"]).expect_code(1);
    let failure = slow.json()["data"]["failure"].as_str().unwrap().to_string();
    assert!(failure.contains("`sleep 30`: did not finish within 1s"), "{failure}");
    assert_eq!(
        f.containers(),
        vec![format!("{} {v1} running", f.app)],
        "the killed hook's container is gone too"
    );

    let after = f
        .deploy(&v2, &["--before-switch", "true", "--after-switch", "sh -c 'echo warming; exit 4'"])
        .expect_code(1);
    let json = after.json();
    assert!(json["headline"].as_str().unwrap().contains("the new version stays live"), "{json}");
    let phases: Vec<&str> =
        json["data"]["hooks"].as_array().unwrap().iter().map(|h| h["phase"].as_str().unwrap()).collect();
    assert_eq!(phases, ["before-switch", "after-switch"]);
    assert_eq!(f.inspect(&f.app, "{{.Config.Image}}"), v2, "kept: it passed its gate and its migration");
    assert!(f.containers().iter().all(|c| !c.contains("-hook-")), "{:?}", f.containers());
}

#[test]
fn an_image_pushed_to_an_authenticated_registry_is_pulled_with_the_push_credentials() {
    let Some((_, auth, user, password)) = registries() else { return };
    if !have_docker() {
        return;
    }
    let mut f = Fixture::new("pull");
    let local = f.build(Kind::Healthy, "v1");
    let remote = format!("{auth}/{}:1", unique("stepkit-test/pull"));
    assert!(docker(&["tag", &local, &remote]).status.success());
    stepkit()
        .env("STEPKIT_REGISTRY_PASSWORD", &password)
        .args(["image", "push", &remote, "--username", &user])
        .run()
        .expect_code(0);
    assert!(docker(&["rmi", &remote]).status.success());
    let mut cleanup = Cleanup::default();
    cleanup.images.push(remote.clone());

    let wrong = "wrong-pull-password-41c7";
    let denied = stepkit()
        .current_dir(f.dir.path())
        .env("STEPKIT_REGISTRY_USERNAME", &user)
        .env("STEPKIT_REGISTRY_PASSWORD", wrong)
        .args(["deploy", "--name", &f.app, "--image", &remote, "--interval", "200ms"])
        .run();
    assert_eq!(denied.code, 2, "{}", denied.stderr);
    assert!(
        denied.stderr.contains(&format!("pull {remote} from {auth}"))
            && denied.stderr.contains("STEPKIT_REGISTRY_PASSWORD"),
        "names the image, the registry and what to check: {}",
        denied.stderr
    );
    assert!(!denied.stderr.contains(wrong) && !denied.stdout.contains(wrong));
    assert!(f.containers().is_empty());

    let pulled = stepkit()
        .current_dir(f.dir.path())
        .env("STEPKIT_REGISTRY_USERNAME", &user)
        .env("STEPKIT_REGISTRY_PASSWORD", &password)
        .args(["--format", "json", "deploy", "--name", &f.app, "--image", &remote, "--interval", "200ms"])
        .run()
        .expect_code(0);
    assert!(
        pulled.stderr.contains(&format!("pulling {remote} from {auth} with user `{user}`")),
        "{}",
        pulled.stderr
    );
    assert!(!pulled.stderr.contains(&password) && !pulled.stdout.contains(&password));
    assert!(pulled.json()["data"]["digest"].as_str().unwrap().contains("sha256:"));
    assert_eq!(f.containers(), vec![format!("{} {remote} running", f.app)]);
}

#[test]
fn a_companion_that_fails_its_gate_fails_the_deploy_before_the_app_is_touched() {
    if !have_docker() {
        return;
    }
    let mut f = Fixture::new("companionfail");
    let v1 = f.build(Kind::Healthy, "v1");
    let network = unique("stepkit-companionfail-net");
    // The containers go before the network (dropped before the fixture): a network in use stays.
    let mut cleanup = Cleanup::default();
    cleanup.containers.push(f.app.clone());
    cleanup.networks.push(network.clone());
    assert!(docker(&["network", "create", &network]).status.success());
    // The app's own image as the companion: it serves on 8080, but its gate waits for 5999.
    write(
        f.dir.path(),
        "stepkit.toml",
        format!("[deploy.companions.cache]\nimage = \"{v1}\"\ntcp = [5999]\ngate-deadline = \"2s\"\n"),
    );
    let run = f.deploy(&v1, &["--network", &network]).expect_code(1);
    let json = run.json();
    assert_eq!(json["data"]["result"], "companion-failed", "{json}");
    let headline = json["headline"].as_str().unwrap();
    assert!(
        headline.contains(&format!("companion {}-cache failed its gate", f.app))
            && headline.contains("was not touched"),
        "{headline}"
    );
    assert_eq!(
        f.containers(),
        vec![format!("{}-cache {v1} running", f.app)],
        "no version of the app was created"
    );
    let no_network = f.deploy(&v1, &[]);
    assert_eq!(no_network.code, 2, "{}", no_network.stderr);
    assert!(no_network.stderr.contains("`network` in [deploy.companions.cache]"), "{}", no_network.stderr);
}
