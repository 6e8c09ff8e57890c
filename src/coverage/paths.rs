//! Path normalisation: every report's file names become `/`-separated paths relative to one root
//! (the working directory), so shards and tools that name the same file differently merge.

use std::path::{Path, PathBuf};

/// The directory report paths are made relative to, and the Go module that lives there.
#[derive(Debug, Clone)]
pub struct PathRoot {
    root: PathBuf,
    /// The root with symlinks resolved: tools often print the real path (`/private/tmp`, bind mounts).
    canonical: Option<PathBuf>,
    /// `module` from the root's go.mod: cover profiles name files by import path.
    go_module: Option<String>,
}

impl PathRoot {
    /// A root; reads `go.mod` there when present.
    pub fn new(root: &Path) -> PathRoot {
        let go_module = std::fs::read_to_string(root.join("go.mod")).ok().and_then(|text| {
            text.lines().find_map(|l| {
                l.trim().strip_prefix("module ").map(|m| m.trim().trim_matches('"').to_string())
            })
        });
        PathRoot { root: root.to_path_buf(), canonical: root.canonicalize().ok(), go_module }
    }

    /// The root as a string, for Cobertura's `<source>`.
    pub fn display(&self) -> String {
        self.canonical.as_deref().unwrap_or(&self.root).display().to_string()
    }

    /// `path` as a report wrote it; `base` is the directory it is relative to (a Cobertura `<source>`).
    /// A base outside the root (another machine's checkout) is dropped: the tool wrote the path
    /// relative to its project, which is what the root stands for here.
    pub fn normalize(&self, path: &str, base: Option<&str>) -> String {
        let path = path.replace('\\', "/");
        let joined = match base.map(|b| b.replace('\\', "/")) {
            Some(base) if !is_absolute(&path) && !base.is_empty() => {
                let full = format!("{}/{path}", base.trim_end_matches('/'));
                if is_absolute(&full) && self.relative(&full).is_none() {
                    path
                } else {
                    full
                }
            }
            _ => path,
        };
        let relative = if is_absolute(&joined) { self.relative(&joined).unwrap_or(joined) } else { joined };
        clean(&relative)
    }

    /// A cover-profile file name (`example.com/m/calc/calc.go`) as a path under the root.
    pub fn go_path(&self, name: &str) -> String {
        if let Some(rest) =
            self.go_module.as_deref().and_then(|m| name.strip_prefix(m)).and_then(|r| r.strip_prefix('/'))
        {
            return clean(rest);
        }
        self.normalize(name, None)
    }

    fn relative(&self, absolute: &str) -> Option<String> {
        let path = Path::new(absolute);
        let strip = |root: &Path| path.strip_prefix(root).ok().map(|p| p.display().to_string());
        strip(&self.root).or_else(|| self.canonical.as_deref().and_then(strip)).or_else(|| {
            let real = path.canonicalize().ok()?;
            self.canonical.as_deref().and_then(|c| real.strip_prefix(c).ok().map(|p| p.display().to_string()))
        })
    }
}

fn is_absolute(path: &str) -> bool {
    // A Windows drive path from a shard on another OS counts too: it is never under this root.
    path.starts_with('/') || path.as_bytes().get(1) == Some(&b':')
}

/// Removes `.` and empty segments and folds `..` lexically (the file may not exist here).
fn clean(path: &str) -> String {
    let absolute = path.starts_with('/');
    let mut parts: Vec<&str> = Vec::new();
    for part in path.split('/') {
        match part {
            "" | "." => {}
            ".." if parts.last().is_some_and(|p| *p != "..") => {
                parts.pop();
            }
            other => parts.push(other),
        }
    }
    let joined = parts.join("/");
    if absolute {
        format!("/{joined}")
    } else {
        joined
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_become_relative_to_the_root_with_slashes() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("go.mod"), "module example.com/m\n\ngo 1.19\n").unwrap();
        let root = PathRoot::new(dir.path());
        let abs = format!("{}/src/./a/../Calc.php", dir.path().display());
        assert_eq!(root.normalize(&abs, None), "src/Calc.php");
        assert_eq!(root.normalize("./src\\win\\x.py", None), "src/win/x.py");
        // A source on this machine keeps its place; another machine's checkout is dropped.
        assert_eq!(
            root.normalize("pkg/m.py", Some(&format!("{}/src", dir.path().display()))),
            "src/pkg/m.py"
        );
        assert_eq!(root.normalize("pkg/m.py", Some("/home/runner/work/other/src")), "pkg/m.py");
        assert_eq!(root.normalize("/elsewhere/x.php", None), "/elsewhere/x.php");
        assert_eq!(root.go_path("example.com/m/calc/calc.go"), "calc/calc.go");
        assert_eq!(root.go_path("other.org/x/y.go"), "other.org/x/y.go");
    }
}
