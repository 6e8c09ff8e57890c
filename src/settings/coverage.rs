//! Settings for `stepkit coverage merge` and the coverage part of `stepkit test`.

use super::layered::layers;
use super::{env_parse, ConfigError};
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
/// `coverage`/`coverage-format` in `[test]`. The format defaults like `coverage merge`'s.
pub fn test_coverage(
    flag: Option<&[String]>,
    env: &Env,
    file: Option<PathBuf>,
    file_format: Option<Format>,
) -> Result<Option<(Format, PathBuf)>, ConfigError> {
    if let Some([format, path]) = flag {
        let format = format
            .parse()
            .map_err(|message| ConfigError::Flag { flag: "--coverage FORMAT FILE".into(), message })?;
        return Ok(Some((format, PathBuf::from(path))));
    }
    if file_format == Some(Format::GoProfile) {
        return Err(ConfigError::Flag {
            flag: "coverage-format in [test]".into(),
            message: "a Go profile is read, not written; use cobertura, clover or lcov".into(),
        });
    }
    let Some(path) = env.get(var::TEST_COVERAGE).map(PathBuf::from).or(file) else { return Ok(None) };
    let format = env_parse::<Format>(env, var::TEST_COVERAGE_FORMAT, "cobertura, clover or lcov")?
        .or(file_format)
        .unwrap_or_else(|| format_for(&path));
    Ok(Some((format, path)))
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
        assert_eq!(
            test_coverage(Some(&flag), &env, None, None).unwrap(),
            Some((Format::Lcov, "a.info".into()))
        );
        assert_eq!(
            test_coverage(None, &env, Some("file.xml".into()), None).unwrap(),
            Some((Format::Clover, "env.xml".into()))
        );
        let none = Env::default();
        assert_eq!(
            test_coverage(None, &none, Some("c.lcov".into()), None).unwrap(),
            Some((Format::Lcov, "c.lcov".into()))
        );
        assert_eq!(
            test_coverage(None, &none, Some("c.xml".into()), Some(Format::Clover)).unwrap(),
            Some((Format::Clover, "c.xml".into()))
        );
        assert_eq!(test_coverage(None, &none, None, None).unwrap(), None);
        let bad = ["xml".to_string(), "a.xml".to_string()];
        let err = test_coverage(Some(&bad), &none, None, None).unwrap_err().to_string();
        assert!(err.contains("--coverage") && err.contains("cobertura, clover or lcov"), "{err}");
    }

    #[test]
    fn every_variable_is_in_the_help_and_the_docs() {
        crate::settings::tests::documented(&["coverage", "merge"], &[var::FORMAT]);
        crate::settings::tests::documented(&["test"], &[var::TEST_COVERAGE, var::TEST_COVERAGE_FORMAT]);
    }
}
