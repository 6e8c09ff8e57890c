//! The wasmtime engine and the compiled-component cache: only the first run of a plugin pays compilation.
//!
//! A cache entry is named by the sha256 of the component's bytes and wasmtime's compatibility hash
//! (engine version and settings), so a new stepkit or a changed plugin never loads a stale entry.
//! Only files stepkit itself wrote are ever deserialized (loading precompiled code skips validation,
//! so a `.cwasm` from a plugin author would be arbitrary native code): the input must be a
//! component binary, and entries are written atomically into stepkit's own cache directory.

use super::PluginErrorKind;
use sha2::{Digest, Sha256};
use std::hash::{Hash, Hasher};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;
use wasmtime::component::Component;
use wasmtime::{Config, Engine};

/// How often the epoch advances; deadlines are counted in these ticks.
pub const TICK: Duration = Duration::from_millis(10);

/// A component binary starts with the wasm magic and the component layer/version (0x0d, layer 1).
const COMPONENT_HEADER: [u8; 8] = [0x00, 0x61, 0x73, 0x6d, 0x0d, 0x00, 0x01, 0x00];
const MODULE_HEADER: [u8; 8] = [0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00];

/// Whether a compiled component came from the cache.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum CacheUse {
    Hit,
    Miss,
    Off,
}

/// The engine shared by every plugin run of this process, with its epoch ticker and cache.
pub struct PluginEngine {
    engine: Engine,
    cache_dir: Option<PathBuf>,
    /// Why the cache is off, for a warning (None when it works or was never asked for).
    pub cache_problem: Option<String>,
    stop: Arc<std::sync::atomic::AtomicBool>,
}

impl PluginEngine {
    /// Builds the engine; `cache_dir` is where compiled components are kept (None: no cache).
    pub fn new(cache_dir: Option<PathBuf>) -> Result<PluginEngine, String> {
        let mut config = Config::new();
        config.wasm_component_model(true).epoch_interruption(true);
        let engine = Engine::new(&config).map_err(|e| format!("{e:#}"))?;
        let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let (ticker, flag) = (engine.weak(), stop.clone());
        std::thread::Builder::new()
            .name("stepkit-epoch".into())
            .spawn(move || {
                while !flag.load(std::sync::atomic::Ordering::Relaxed) {
                    std::thread::sleep(TICK);
                    match ticker.upgrade() {
                        Some(engine) => engine.increment_epoch(),
                        None => return,
                    }
                }
            })
            .map_err(|e| format!("start the epoch thread: {e}"))?;
        let (cache_dir, cache_problem) = match cache_dir {
            None => (None, None),
            Some(dir) => {
                let dir = dir.join("components");
                match std::fs::create_dir_all(&dir).and_then(|()| private(&dir)) {
                    Ok(()) => (Some(dir), None),
                    Err(e) => (None, Some(format!("the plugin cache {} is not usable ({e}); every run compiles its plugins", dir.display()))),
                }
            }
        };
        Ok(PluginEngine { engine, cache_dir, cache_problem, stop })
    }

    /// The wasmtime engine.
    pub fn engine(&self) -> &Engine {
        &self.engine
    }

    /// Loads a component: from the cache when stepkit compiled these exact bytes before, else compiles
    /// (and caches) it. Refuses anything that is not a component binary.
    pub fn load(&self, bytes: &[u8]) -> Result<(Component, CacheUse), (PluginErrorKind, String)> {
        check_header(bytes)?;
        let Some(dir) = &self.cache_dir else {
            return Ok((self.compile(bytes)?, CacheUse::Off));
        };
        let entry = dir.join(format!("{}.cwasm", cache_key(bytes, &self.engine)));
        if entry.is_file() && private(&entry).is_ok() {
            // SAFETY: `entry` is named by the sha256 of the input and the engine's compatibility hash, and only
            // `store` below writes such names (atomically, from `Component::serialize`), so it is stepkit's own
            // compilation of exactly these bytes. wasmtime still checks the header's engine compatibility.
            if let Ok(component) = unsafe { Component::deserialize_file(&self.engine, &entry) } {
                return Ok((component, CacheUse::Hit));
            }
            // A damaged entry (disk full at write time, a different build): compile again and replace it.
            let _ = std::fs::remove_file(&entry);
        }
        let component = self.compile(bytes)?;
        store(&component, dir, &entry);
        Ok((component, CacheUse::Miss))
    }

    fn compile(&self, bytes: &[u8]) -> Result<Component, (PluginErrorKind, String)> {
        Component::from_binary(&self.engine, bytes).map_err(|e| (PluginErrorKind::Invalid, format!("{e:#}")))
    }
}

impl Drop for PluginEngine {
    fn drop(&mut self) {
        self.stop.store(true, std::sync::atomic::Ordering::Relaxed);
    }
}

fn check_header(bytes: &[u8]) -> Result<(), (PluginErrorKind, String)> {
    match bytes.get(..8) {
        Some(h) if h == COMPONENT_HEADER => Ok(()),
        Some(h) if h == MODULE_HEADER => Err((
            PluginErrorKind::NotAComponent,
            "it is a core wasm module, not a component; build it for wasm32-wasip2 (or with componentize-py)".into(),
        )),
        Some(h) if h.starts_with(&COMPONENT_HEADER[..4]) => {
            Err((PluginErrorKind::NotAComponent, "it is a wasm binary of an unknown version or layer".into()))
        }
        _ => Err((
            PluginErrorKind::NotAComponent,
            "it is not a WebAssembly component binary (precompiled .cwasm files and text are refused; give the .wasm component)".into(),
        )),
    }
}

/// Entries are native code that is loaded without validation: only trust a file or directory that belongs
/// to this user and that nobody else can write (a shared or world-writable cache could be planted).
fn private(path: &Path) -> std::io::Result<()> {
    use std::os::unix::fs::MetadataExt;
    let meta = std::fs::symlink_metadata(path)?;
    // SAFETY: getuid has no preconditions and cannot fail.
    let uid = unsafe { libc::getuid() };
    if meta.uid() != uid || meta.mode() & 0o022 != 0 || meta.file_type().is_symlink() {
        return Err(std::io::Error::new(
            std::io::ErrorKind::PermissionDenied,
            "it must belong to this user and be writable by nobody else",
        ));
    }
    Ok(())
}

/// `<sha256 of the bytes>-<compatibility hash>`.
pub fn cache_key(bytes: &[u8], engine: &Engine) -> String {
    let digest = Sha256::digest(bytes);
    let mut hasher = std::collections::hash_map::DefaultHasher::new();
    engine.precompile_compatibility_hash().hash(&mut hasher);
    let hex: String = digest.iter().map(|b| format!("{b:02x}")).collect();
    format!("{hex}-{:016x}", hasher.finish())
}

/// Writes the entry through a temporary file in the same directory and renames it into place, so a reader
/// sees a whole file or none. A failure only costs the next run a compilation.
fn store(component: &Component, dir: &Path, entry: &Path) {
    let Ok(bytes) = component.serialize() else { return };
    let Ok(mut tmp) = tempfile::NamedTempFile::new_in(dir) else { return };
    if std::io::Write::write_all(&mut tmp, &bytes).is_ok() && tmp.as_file().sync_all().is_ok() {
        let _ = tmp.persist(entry);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn headers_are_told_apart() {
        assert!(check_header(&COMPONENT_HEADER).is_ok());
        assert_eq!(check_header(&MODULE_HEADER).unwrap_err().0, PluginErrorKind::NotAComponent);
        assert_eq!(check_header(b"\x7fELF\x02\x01\x01\0rest").unwrap_err().0, PluginErrorKind::NotAComponent);
        assert_eq!(check_header(b"(component)").unwrap_err().0, PluginErrorKind::NotAComponent);
        assert_eq!(check_header(b"").unwrap_err().0, PluginErrorKind::NotAComponent);
    }

    #[test]
    fn key_depends_on_bytes_and_engine() {
        let engine = PluginEngine::new(None).unwrap();
        let a = cache_key(b"one", engine.engine());
        assert_eq!(a, cache_key(b"one", engine.engine()));
        assert_ne!(a, cache_key(b"two", engine.engine()));
        let mut config = Config::new();
        config.wasm_component_model(true);
        let other = Engine::new(&config).unwrap();
        assert_ne!(a, cache_key(b"one", &other), "different engine settings, different key");
        assert_eq!(a.len(), 64 + 1 + 16);
    }

    #[test]
    fn refused_input_never_reaches_the_cache() {
        let dir = tempfile::tempdir().unwrap();
        let engine = PluginEngine::new(Some(dir.path().to_path_buf())).unwrap();
        let err = engine.load(b"\x7fELF precompiled").err().unwrap();
        assert_eq!(err.0, PluginErrorKind::NotAComponent);
        assert_eq!(std::fs::read_dir(dir.path().join("components")).unwrap().count(), 0);
    }

    #[test]
    fn a_writable_by_others_cache_is_not_used() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("components")).unwrap();
        std::fs::set_permissions(dir.path().join("components"), std::fs::Permissions::from_mode(0o777)).unwrap();
        let engine = PluginEngine::new(Some(dir.path().to_path_buf())).unwrap();
        assert!(engine.cache_problem.as_deref().unwrap_or_default().contains("nobody else"), "{:?}", engine.cache_problem);
        assert_eq!(engine.load(&COMPONENT_HEADER).unwrap().1, CacheUse::Off);
    }

    #[test]
    fn a_component_is_cached_once_and_hit_after() {
        // The smallest valid component: the header and no sections.
        let dir = tempfile::tempdir().unwrap();
        let engine = PluginEngine::new(Some(dir.path().to_path_buf())).unwrap();
        assert_eq!(engine.load(&COMPONENT_HEADER).unwrap().1, CacheUse::Miss);
        assert_eq!(engine.load(&COMPONENT_HEADER).unwrap().1, CacheUse::Hit);
        let entries: Vec<_> = std::fs::read_dir(dir.path().join("components")).unwrap().collect();
        assert_eq!(entries.len(), 1, "one entry, no temporary files left");
    }
}
