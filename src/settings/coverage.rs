//! Settings for `stepkit coverage merge` and the coverage part of `stepkit test`.

use super::layered::{layers, Origin};
use super::ConfigError;
use crate::ci::Env;
use crate::cli::CoverageMergeArgs;
use crate::coverage::Format;
use crate::steps::coverage::CoverageMergeSettings;
use std::path::{Path, PathBuf};

/// The coverage variables: the one place their names are spelled (the help texts and
/// docs/configuration.md are checked against this list by a test).
mod var {
    /// `coverage merge --to`.
    pub const FORMAT: &str = "STEPKIT_COVERAGE_FORMAT";
    /// `test --coverage FORMAT FILE`'s FILE and FORMAT.
    pub const TEST_COVERAGE: &str = "STEPKIT_TEST_COVERAGE";
    pub const TEST_COVERAGE_FORMAT: &str = "STEPKIT_TEST_COVERAGE_FORMAT";
}

/// `stepkit test`'s table in stepkit.toml.
const TEST_TABLE: &str = "test";

/// Resolves `coverage merge`: flag > STEPKIT_COVERAGE_FORMAT > the output's extension > cobertura.
pub fn coverage_merge_settings(
    args: &CoverageMergeArgs,
    env: &Env,
    cwd: &Path,
) -> Result<CoverageMergeSettings, ConfigError> {
    let format = layers("--to", args.to.as_deref())
        .env(env, var::FORMAT)
        .parse(str::parse)?
        .unwrap_or_else(|| format_for(&args.output));
    Ok(CoverageMergeSettings {
        inputs: args.inputs.clone(),
        output: args.output.clone(),
        format,
        root: args.root.as_ref().map_or_else(|| cwd.to_path_buf(), |r| cwd.join(r)),
    })
}

/// lcov for `.info`/`.lcov` files (lcov's own names), Cobertura for everything else.
fn format_for(path: &Path) -> Format {
    match path.extension().and_then(|e| e.to_str()) {
        Some("info" | "lcov") => Format::Lcov,
        _ => Format::Cobertura,
    }
}

/// `--coverage FORMAT FILE` for `stepkit test`, else STEPKIT_TEST_COVERAGE (+ _FORMAT), else
/// `coverage`/`coverage-format` in `[test]`. The format defaults like `coverage merge`'s. The path's
/// origin comes back too, so a later check (the command preset writes no coverage) names what was set.
pub fn test_coverage(
    flag: Option<&[String]>,
    env: &Env,
    file: Option<&str>,
    file_format: Option<Format>,
) -> Result<Option<(Format, PathBuf, Origin)>, ConfigError> {
    // The flag gives both halves of the pair: its FORMAT is never taken from a lower layer.
    let (path, format) = match flag {
        Some([format, path]) => {
            let format = layers("--coverage FORMAT FILE", Some(format)).given();
            (layers("--coverage", Some(path)).given(), format)
        }
        _ => {
            // A Go profile is a valid key for serde but never an output: refused even when overridden,
            // like any other bad value in the file.
            if file_format == Some(Format::GoProfile) {
                return Err(Origin::File { key: "coverage-format".into(), table: TEST_TABLE.into() }
                    .error("a Go profile is read, not written; use cobertura, clover or lcov"));
            }
            let path = layers("--coverage", None)
                .env(env, var::TEST_COVERAGE)
                .file_key(TEST_TABLE, "coverage", file)
                .given();
            let format = layers("--coverage", None)
                .env(env, var::TEST_COVERAGE_FORMAT)
                .file_key(TEST_TABLE, "coverage-format", file_format.map(Format::name))
                .given();
            (path, format)
        }
    };
    let Some(path) = path else { return Ok(None) };
    let format = match format {
        Some(given) => given.parse(str::parse)?,
        None => format_for(Path::new(path.text.as_ref())),
    };
    Ok(Some((format, PathBuf::from(path.text.as_ref()), path.origin)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn test_coverage_layers_flag_env_file() {
        let flag = ["lcov".to_string(), "a.info".to_string()];
        let env = Env::from_pairs([
            ("STEPKIT_TEST_COVERAGE", "env.xml"),
            ("STEPKIT_TEST_COVERAGE_FORMAT", "clover"),
        ]);
        let pick = |flag: Option<&[String]>, env: &Env, file: Option<&str>, format: Option<Format>| {
            test_coverage(flag, env, file, format).unwrap().map(|(f, p, o)| (f, p, o.to_string()))
        };
        assert_eq!(
            pick(Some(&flag), &env, None, None),
            Some((Format::Lcov, "a.info".into(), "--coverage".into()))
        );
        assert_eq!(
            pick(None, &env, Some("file.xml"), None),
            Some((Format::Clover, "env.xml".into(), "environment variable STEPKIT_TEST_COVERAGE".into()))
        );
        let none = Env::default();
        let in_file = "coverage in the [test] table of stepkit.toml".to_string();
        assert_eq!(
            pick(None, &none, Some("c.lcov"), None),
            Some((Format::Lcov, "c.lcov".into(), in_file.clone()))
        );
        assert_eq!(
            pick(None, &none, Some("c.xml"), Some(Format::Clover)),
            Some((Format::Clover, "c.xml".into(), in_file))
        );
        assert_eq!(pick(None, &none, None, None), None);
        let bad = ["xml".to_string(), "a.xml".to_string()];
        let err = test_coverage(Some(&bad), &none, None, None).unwrap_err().to_string();
        assert!(err.starts_with("use --coverage FORMAT FILE: `xml` is not a coverage format"), "{err}");
    }

    #[test]
    fn a_bad_coverage_format_names_the_variable_or_key_that_set_it() {
        let env = Env::from_pairs([("STEPKIT_TEST_COVERAGE_FORMAT", "xml")]);
        let err = test_coverage(None, &env, Some("c.xml"), None).unwrap_err().to_string();
        assert!(err.starts_with("use environment variable STEPKIT_TEST_COVERAGE_FORMAT: `xml`"), "{err}");
        let err = test_coverage(None, &Env::default(), Some("c.out"), Some(Format::GoProfile))
            .unwrap_err()
            .to_string();
        assert!(
            err.starts_with("use coverage-format in the [test] table of stepkit.toml: a Go profile is read"),
            "{err}"
        );
    }

    #[test]
    fn every_variable_is_in_the_help_and_the_docs() {
        crate::settings::tests::documented(&["coverage", "merge"], &[var::FORMAT]);
        crate::settings::tests::documented(&["test"], &[var::TEST_COVERAGE, var::TEST_COVERAGE_FORMAT]);
    }
}
