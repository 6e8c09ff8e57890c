//! Names and labels of deployed versions: the live one is `APP`, kept ones are `APP-prev-<UTC time>`
//! (the time it stopped being live, so names sort by recency), a new version under its gate is
//! `APP-next-<UTC time>`, and what stepkit records in labels.

use chrono::{DateTime, Utc};

/// The application a container belongs to.
pub const LABEL_APP: &str = "io.stepkit.deploy.app";
/// The `[env.NAME]` table the deploy used (`--environment`), when it used one.
pub const LABEL_ENVIRONMENT: &str = "io.stepkit.deploy.environment";
/// The image reference as given to `--image`.
pub const LABEL_IMAGE: &str = "io.stepkit.deploy.image";
/// The image's repo digest, or its id when it has none (a local build).
pub const LABEL_DIGEST: &str = "io.stepkit.deploy.digest";
/// When the deploy started (RFC 3339, UTC).
pub const LABEL_TIME: &str = "io.stepkit.deploy.time";
/// The image of the version this one replaced.
pub const LABEL_PREVIOUS: &str = "io.stepkit.deploy.previous";
/// The digest of the version this one replaced.
pub const LABEL_PREVIOUS_DIGEST: &str = "io.stepkit.deploy.previous-digest";
/// The names (never the values) of the variables that came from `--env-file` or `--env K`, comma
/// separated: a later `deploy rollback` reads their values from the container to redact them.
pub const LABEL_SECRET_ENV: &str = "io.stepkit.deploy.secret-env";
/// Every label stepkit owns starts with this.
pub const LABEL_PREFIX: &str = "io.stepkit.deploy.";

/// Sortable, readable and valid in a container name: `20261123T224700.123Z`.
const STAMP: &str = "%Y%m%dT%H%M%S%.3fZ";

/// The name a live version gets when it is kept: `APP-prev-20261123T224700.123Z`.
pub fn kept_name(app: &str, at: DateTime<Utc>) -> String {
    format!("{app}-prev-{}", at.format(STAMP))
}

/// The name a new version has while it is gated, before it takes the name `APP`: anything that finds the
/// app by name (Docker's DNS on a user network, `docker exec APP`, a proxy) still reaches the live version.
pub fn candidate_name(app: &str, at: DateTime<Utc>) -> String {
    format!("{app}-next-{}", at.format(STAMP))
}

/// When `name` is a new version of `app` under its gate (a crashed deploy may leave one behind).
pub fn is_candidate(app: &str, name: &str) -> bool {
    let stamp =
        name.strip_prefix('/').unwrap_or(name).strip_prefix(app).and_then(|s| s.strip_prefix("-next-"));
    stamp.is_some_and(|stamp| chrono::NaiveDateTime::parse_from_str(stamp, STAMP).is_ok())
}

/// The name the version being rolled back from carries until the restored one passes (it is then removed).
pub fn rolled_back_name(app: &str, at: DateTime<Utc>) -> String {
    format!("{app}-rolledback-{}", at.format(STAMP))
}

/// When `name` is a kept version of `app`, its time stamp (which sorts by recency).
pub fn kept_stamp<'a>(app: &str, name: &'a str) -> Option<&'a str> {
    let stamp = name.strip_prefix('/').unwrap_or(name).strip_prefix(app)?.strip_prefix("-prev-")?;
    // Exactly the stamp: `web-prev-prev-…` (the kept versions of an app called `web-prev`) is not web's.
    chrono::NaiveDateTime::parse_from_str(stamp, STAMP).ok().map(|_| stamp)
}

/// Docker's container name rule (`[a-zA-Z0-9][a-zA-Z0-9_.-]+`), checked before anything is touched.
pub fn valid_app_name(name: &str) -> Result<(), String> {
    let mut chars = name.chars();
    let first_ok = chars.next().is_some_and(|c| c.is_ascii_alphanumeric());
    if !first_ok || !chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-')) {
        return Err(format!("`{name}` is not a valid container name: letters, digits, `_`, `.` and `-`, starting with a letter or digit"));
    }
    // Kept versions add `-rolledback-` and a 20-character stamp; Docker allows far longer names, DNS labels 63.
    if name.len() > 200 {
        return Err(format!("`{name}` is longer than 200 characters"));
    }
    Ok(())
}

/// What a new version's labels record.
pub struct Record<'a> {
    pub app: &'a str,
    pub environment: Option<&'a str>,
    pub image: &'a str,
    pub digest: &'a str,
    pub at: DateTime<Utc>,
    /// The replaced version's image and digest.
    pub previous: Option<(&'a str, &'a str)>,
    /// Names of the variables whose values are secrets.
    pub secret_keys: Vec<&'a str>,
}

/// The labels of a new version: the user's, then stepkit's own (which the user may not set).
pub fn labels(user: &[(String, String)], r: &Record) -> Vec<(String, String)> {
    let Record { app, environment, image, digest, at, previous, .. } = *r;
    let mut out = user.to_vec();
    out.push((LABEL_APP.into(), app.into()));
    if let Some(environment) = environment {
        out.push((LABEL_ENVIRONMENT.into(), environment.into()));
    }
    out.push((LABEL_IMAGE.into(), image.into()));
    out.push((LABEL_DIGEST.into(), digest.into()));
    out.push((LABEL_TIME.into(), at.to_rfc3339_opts(chrono::SecondsFormat::Millis, true)));
    if let Some((image, digest)) = previous {
        out.push((LABEL_PREVIOUS.into(), image.into()));
        out.push((LABEL_PREVIOUS_DIGEST.into(), digest.into()));
    }
    let mut keys = r.secret_keys.clone();
    keys.sort_unstable();
    keys.dedup();
    if !keys.is_empty() {
        out.push((LABEL_SECRET_ENV.into(), keys.join(",")));
    }
    out
}

/// The values, in a container's `KEY=VALUE` environment, of the variables its secret-env label names.
pub fn secret_values(label: Option<&str>, env: &[String]) -> Vec<String> {
    let keys: Vec<&str> = label.unwrap_or_default().split(',').filter(|k| !k.is_empty()).collect();
    env.iter()
        .filter_map(|entry| entry.split_once('='))
        .filter(|(k, _)| keys.contains(k))
        .map(|(_, v)| v.to_string())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn at(ms: i64) -> DateTime<Utc> {
        Utc.timestamp_millis_opt(1_795_000_000_000 + ms).unwrap()
    }

    #[test]
    fn kept_names_round_trip_and_sort_by_time() {
        let a = kept_name("web", at(0));
        let b = kept_name("web", at(1));
        let c = kept_name("web", at(86_400_000 * 40));
        assert!(a.starts_with("web-prev-20") && a.ends_with('Z'), "{a}");
        assert!(valid_app_name(&a).is_ok(), "a kept name is a valid container name: {a}");
        assert!(a < b && b < c, "{a} {b} {c}");
        assert_eq!(kept_stamp("web", &format!("/{b}")), Some(&b["web-prev-".len()..]));
    }

    #[test]
    fn other_apps_and_other_names_are_not_kept_versions() {
        let stamp = at(0).format(STAMP).to_string();
        assert_eq!(kept_stamp("web", &format!("web-prev-prev-{stamp}")), None);
        assert!(kept_stamp("web-prev", &format!("web-prev-prev-{stamp}")).is_some());
        assert_eq!(kept_stamp("web", &format!("webapp-prev-{stamp}")), None);
        assert_eq!(kept_stamp("web", "web-prev-yesterday"), None);
        assert_eq!(kept_stamp("web", &rolled_back_name("web", at(0))), None);
        assert_eq!(kept_stamp("web", "web"), None);
        assert_eq!(kept_stamp("web", &candidate_name("web", at(0))), None, "a gated new version is not kept");
    }

    #[test]
    fn candidates_are_told_apart_from_other_apps() {
        let name = candidate_name("web", at(0));
        assert!(name.starts_with("web-next-20") && valid_app_name(&name).is_ok(), "{name}");
        assert!(is_candidate("web", &name) && is_candidate("web", &format!("/{name}")));
        assert!(!is_candidate("web", &candidate_name("web-next", at(0))));
        assert!(!is_candidate("web", &kept_name("web", at(0))));
        assert!(!is_candidate("web", "web-next-soon") && !is_candidate("web", "web"));
    }

    #[test]
    fn app_names_follow_dockers_rule() {
        assert!(valid_app_name("web_1.blue-2").is_ok());
        for bad in ["", "-web", "web app", "web/1", "wéb"] {
            assert!(valid_app_name(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn stepkit_labels_follow_the_users() {
        let record = |previous, secret_keys| Record {
            app: "web",
            environment: None,
            image: "web:2",
            digest: "sha256:abc",
            at: at(0),
            previous,
            secret_keys,
        };
        let l = labels(
            &[("team".into(), "ci".into())],
            &record(Some(("web:1", "sha256:old")), vec!["DB_PASSWORD", "API_TOKEN", "DB_PASSWORD"]),
        );
        assert_eq!(l[0], ("team".into(), "ci".into()));
        let get = |k: &str| l.iter().find(|(key, _)| key == k).map(|(_, v)| v.as_str());
        assert_eq!(
            (get(LABEL_APP), get(LABEL_IMAGE), get(LABEL_DIGEST)),
            (Some("web"), Some("web:2"), Some("sha256:abc"))
        );
        assert_eq!((get(LABEL_PREVIOUS), get(LABEL_PREVIOUS_DIGEST)), (Some("web:1"), Some("sha256:old")));
        assert!(get(LABEL_TIME).unwrap().ends_with('Z'));
        assert_eq!(get(LABEL_SECRET_ENV), Some("API_TOKEN,DB_PASSWORD"), "names only, once each");
        let bare = labels(&[], &record(None, vec![]));
        assert!(bare.iter().all(|(k, _)| k != LABEL_PREVIOUS && k != LABEL_SECRET_ENV));
    }

    #[test]
    fn secret_values_come_from_the_containers_env_by_the_labels_names() {
        let env =
            ["API_TOKEN=tok=en-1".to_string(), "MODE=prod".into(), "DB_PASSWORD=pw-2".into(), "BARE".into()];
        assert_eq!(
            secret_values(Some("API_TOKEN,DB_PASSWORD,GONE"), &env),
            vec!["tok=en-1".to_string(), "pw-2".into()]
        );
        assert!(
            secret_values(None, &env).is_empty(),
            "a container stepkit did not label has none it knows of"
        );
        assert!(secret_values(Some(""), &env).is_empty());
    }
}
