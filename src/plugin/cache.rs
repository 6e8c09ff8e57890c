//! The wasmtime engine and the compiled-component cache: only the first run of a plugin pays compilation.
//!
//! A cache entry is named by the sha256 of the component's bytes and wasmtime's compatibility hash
//! (engine version and settings), so a new stepkit or a changed plugin never looks at a stale entry. A name
//! proves nothing, though: every entry is authenticated (`seal`) before it is deserialized, and one that
//! fails is compiled again and replaced. The input must be a component binary (a `.cwasm` from a plugin
//! author would be arbitrary native code), and compiling it is bounded in time (`Limits::compile_timeout`).
use super::seal::{Binding, Sealer};
use super::{sanitize, PluginErrorKind};
use sha2::{Digest, Sha256};
use std::hash::{Hash, Hasher};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use wasmtime::component::Component;
use wasmtime::{Config, Engine};

/// How often the epoch advances; deadlines are counted in these ticks.
pub const TICK: Duration = Duration::from_millis(10);

/// A component binary starts with the wasm magic and the component layer/version (0x0d, layer 1).
const COMPONENT_HEADER: [u8; 8] = [0x00, 0x61, 0x73, 0x6d, 0x0d, 0x00, 0x01, 0x00];
const MODULE_HEADER: [u8; 8] = [0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00];

/// Whether a compiled component came from the cache.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, schemars::JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum CacheUse {
    Hit,
    Miss,
    Off,
}

/// Longest compiler error shown: wasmparser quotes names from the component in it.
const MAX_ERROR: usize = 2000;

/// The engine shared by every plugin run of this process, with its epoch ticker and cache.
pub struct PluginEngine {
    engine: Engine,
    cache: Option<(PathBuf, Sealer)>,
    /// Why the cache is off, for a warning (None when it works or was never asked for).
    pub cache_problem: Option<String>,
    /// What went wrong with entries along the way (each recompiled), for warnings.
    notes: Mutex<Vec<String>>,
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
        let mut notes = Vec::new();
        let (cache, cache_problem) = match cache_dir {
            None => (None, None),
            Some(dir) => {
                let dir = dir.join("components");
                match open_cache(&dir) {
                    Ok((sealer, note)) => {
                        notes.extend(note);
                        (Some((dir, sealer)), None)
                    }
                    Err(e) => (
                        None,
                        Some(format!(
                            "the plugin cache {} is not usable ({e}); every run compiles its plugins",
                            dir.display()
                        )),
                    ),
                }
            }
        };
        Ok(PluginEngine { engine, cache, cache_problem, notes: Mutex::new(notes), stop })
    }

    /// What went wrong with cache entries so far (each was compiled again), for warnings.
    pub fn notes(&self) -> Vec<String> {
        self.notes.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }

    fn note(&self, text: String) {
        self.notes.lock().unwrap_or_else(|e| e.into_inner()).push(text);
    }

    /// The wasmtime engine.
    pub fn engine(&self) -> &Engine {
        &self.engine
    }

    /// Loads a component: from the cache when an authenticated entry for these exact bytes exists, else
    /// compiles it (within `compile_timeout`) and caches it. Refuses anything that is not a component binary.
    pub fn load(
        &self,
        bytes: Vec<u8>,
        compile_timeout: Duration,
    ) -> Result<(Component, CacheUse), (PluginErrorKind, String)> {
        check_header(&bytes)?;
        let Some((dir, sealer)) = &self.cache else {
            return Ok((self.compile(bytes, compile_timeout)?, CacheUse::Off));
        };
        let binding =
            Binding { wasm_sha256: Sha256::digest(&bytes).into(), engine_hash: engine_hash(&self.engine) };
        let entry = dir.join(format!("{}.cwasm", entry_name(&binding)));
        match self.cached(sealer, &binding, &entry) {
            Ok(Some(component)) => return Ok((component, CacheUse::Hit)),
            Ok(None) => {}
            Err(why) => {
                self.note(format!(
                    "the plugin cache entry {} {why}; compiled the plugin again and replaced it",
                    entry.display()
                ));
                let _ = std::fs::remove_file(&entry);
            }
        }
        let component = self.compile(bytes, compile_timeout)?;
        store(&component, sealer, &binding, dir, &entry);
        Ok((component, CacheUse::Miss))
    }

    /// The entry's component when it exists and is authentic; `Err` says what is wrong with it.
    fn cached(&self, sealer: &Sealer, binding: &Binding, entry: &Path) -> Result<Option<Component>, String> {
        // Not following symlinks, and only regular files: a FIFO planted here would block the read.
        match std::fs::symlink_metadata(entry) {
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(format!("cannot be read ({e})")),
            Ok(meta) if !meta.is_file() => return Err("is not a regular file".into()),
            Ok(_) => {}
        }
        let sealed = std::fs::read(entry).map_err(|e| format!("cannot be read ({e})"))?;
        let compiled = sealer.open_entry(binding, &sealed).ok_or("failed authentication (copied from another plugin, corrupted or not written by this user's stepkit)")?;
        // SAFETY: `compiled` carries a MAC under this user's private key over these exact bytes, the sha256
        // of the component and the engine's compatibility hash; only `store` below makes such MACs, from
        // `Component::serialize` of that component on an engine with these settings.
        unsafe { Component::deserialize(&self.engine, compiled) }.map(Some).map_err(|e| {
            format!("was refused by wasmtime ({})", sanitize::line(&format!("{e:#}"), MAX_ERROR))
        })
    }

    /// Compiles on a thread of its own and waits at most `limit`: cranelift cannot be interrupted, so a
    /// compile past its limit is abandoned (it finishes or dies with the process) and reported.
    fn compile(&self, bytes: Vec<u8>, limit: Duration) -> Result<Component, (PluginErrorKind, String)> {
        let (sender, receiver) = std::sync::mpsc::channel();
        let engine = self.engine.clone();
        std::thread::Builder::new()
            .name("stepkit-compile".into())
            .spawn(move || {
                let _ = sender.send(Component::from_binary(&engine, &bytes));
            })
            .map_err(|e| (PluginErrorKind::Resources, format!("start a thread to compile it: {e}")))?;
        match receiver.recv_timeout(limit) {
            Ok(Ok(component)) => Ok(component),
            // wasmparser quotes the component's own names (imports, exports) in its errors.
            Ok(Err(e)) => Err((PluginErrorKind::Invalid, sanitize::line(&format!("{e:#}"), MAX_ERROR))),
            Err(std::sync::mpsc::RecvTimeoutError::Timeout) => Err((
                PluginErrorKind::CompileLimit,
                format!(
                    "compiling it took longer than {} (the compile time limit); raise it with --compile-timeout or `compile-timeout` in its [[check]] table",
                    humantime::format_duration(limit)
                ),
            )),
            Err(std::sync::mpsc::RecvTimeoutError::Disconnected) => Err((PluginErrorKind::Internal, "the compiler failed without an error (its thread died)".into())),
        }
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

/// Makes the cache directory private (0700 whatever the umask: under umask 002 a plain `create_dir_all`
/// made it group-writable, and then refused it), tightens one this user made before, and opens its key.
fn open_cache(dir: &Path) -> std::io::Result<(Sealer, Option<String>)> {
    use std::os::unix::fs::{DirBuilderExt, MetadataExt, PermissionsExt};
    std::fs::DirBuilder::new().recursive(true).mode(0o700).create(dir)?;
    let meta = std::fs::symlink_metadata(dir)?;
    // SAFETY: getuid has no preconditions and cannot fail.
    let uid = unsafe { libc::getuid() };
    if meta.uid() != uid || !meta.is_dir() {
        return Err(std::io::Error::new(
            std::io::ErrorKind::PermissionDenied,
            "it must be a directory that belongs to this user",
        ));
    }
    if meta.mode() & 0o077 != 0 {
        // Others could swap the key file in a directory they can write: ours, so make it private.
        std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700))?;
    }
    Sealer::open(dir)
}

fn engine_hash(engine: &Engine) -> u64 {
    let mut hasher = std::collections::hash_map::DefaultHasher::new();
    engine.precompile_compatibility_hash().hash(&mut hasher);
    hasher.finish()
}

/// `<sha256 of the bytes>-<compatibility hash>`.
pub fn cache_key(bytes: &[u8], engine: &Engine) -> String {
    entry_name(&Binding { wasm_sha256: Sha256::digest(bytes).into(), engine_hash: engine_hash(engine) })
}

fn entry_name(binding: &Binding) -> String {
    let hex: String = binding.wasm_sha256.iter().map(|b| format!("{b:02x}")).collect();
    format!("{hex}-{:016x}", binding.engine_hash)
}

/// Writes the sealed entry through a temporary file in the same directory and renames it into place, so a
/// reader sees a whole file or none. A failure only costs the next run a compilation.
fn store(component: &Component, sealer: &Sealer, binding: &Binding, dir: &Path, entry: &Path) {
    let Ok(bytes) = component.serialize() else { return };
    let Ok(mut tmp) = tempfile::NamedTempFile::new_in(dir) else { return };
    if std::io::Write::write_all(&mut tmp, &sealer.seal(binding, &bytes)).is_ok()
        && tmp.as_file().sync_all().is_ok()
    {
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

    /// Enough time for the tiny components below.
    const COMPILE: Duration = Duration::from_secs(60);

    /// A component importing one resource type named `name`: wasmparser checks the name, so a hostile one
    /// makes a compile error that quotes it.
    fn importing(name: &str) -> Vec<u8> {
        let mut import = vec![0x01, 0x00, u8::try_from(name.len()).unwrap()];
        import.extend_from_slice(name.as_bytes());
        import.extend_from_slice(&[0x03, 0x01]); // a type import, bound `(sub resource)`
        let mut bytes = COMPONENT_HEADER.to_vec();
        bytes.extend_from_slice(&[0x0a, u8::try_from(import.len()).unwrap()]);
        bytes.extend_from_slice(&import);
        bytes
    }

    fn entries(dir: &Path) -> Vec<PathBuf> {
        let mut found: Vec<PathBuf> = std::fs::read_dir(dir.join("components"))
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| p.extension().is_some_and(|e| e == "cwasm"))
            .collect();
        found.sort();
        found
    }

    fn imports(component: &Component, engine: &PluginEngine) -> Vec<String> {
        component.component_type().imports(engine.engine()).map(|(name, _)| name.to_string()).collect()
    }

    #[test]
    fn refused_input_never_reaches_the_cache() {
        let dir = tempfile::tempdir().unwrap();
        let engine = PluginEngine::new(Some(dir.path().to_path_buf())).unwrap();
        let err = engine.load(b"\x7fELF precompiled".to_vec(), COMPILE).err().unwrap();
        assert_eq!(err.0, PluginErrorKind::NotAComponent);
        assert!(entries(dir.path()).is_empty());
    }

    #[test]
    fn a_cache_dir_others_can_write_is_made_private() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let components = dir.path().join("components");
        std::fs::create_dir(&components).unwrap();
        std::fs::set_permissions(&components, std::fs::Permissions::from_mode(0o777)).unwrap();
        let engine = PluginEngine::new(Some(dir.path().to_path_buf())).unwrap();
        assert_eq!(engine.cache_problem, None);
        assert_eq!(std::fs::metadata(&components).unwrap().permissions().mode() & 0o777, 0o700);
        assert_eq!(engine.load(COMPONENT_HEADER.to_vec(), COMPILE).unwrap().1, CacheUse::Miss);
    }

    #[test]
    fn a_component_is_cached_once_and_hit_after() {
        // The smallest valid component: the header and no sections.
        let dir = tempfile::tempdir().unwrap();
        let engine = PluginEngine::new(Some(dir.path().to_path_buf())).unwrap();
        assert_eq!(engine.load(COMPONENT_HEADER.to_vec(), COMPILE).unwrap().1, CacheUse::Miss);
        assert_eq!(engine.load(COMPONENT_HEADER.to_vec(), COMPILE).unwrap().1, CacheUse::Hit);
        assert_eq!(entries(dir.path()).len(), 1, "one entry, no temporary files left");
        assert!(engine.notes().is_empty());
    }

    #[test]
    fn an_entry_copied_over_another_is_recompiled_not_run() {
        let dir = tempfile::tempdir().unwrap();
        let engine = PluginEngine::new(Some(dir.path().to_path_buf())).unwrap();
        let (a, b) = (importing("a"), importing("b"));
        engine.load(a.clone(), COMPILE).unwrap();
        engine.load(b.clone(), COMPILE).unwrap();
        let name = |bytes: &[u8]| {
            dir.path().join("components").join(format!("{}.cwasm", cache_key(bytes, engine.engine())))
        };
        std::fs::copy(name(&a), name(&b)).unwrap();
        let (component, cache) = engine.load(b.clone(), COMPILE).unwrap();
        assert_eq!(cache, CacheUse::Miss, "the copied entry is not trusted by its name");
        assert_eq!(imports(&component, &engine), ["b"], "b's own code, not a's");
        assert!(engine.notes()[0].contains("failed authentication"), "{:?}", engine.notes());
        assert_eq!(engine.load(b, COMPILE).unwrap().1, CacheUse::Hit, "replaced by a good entry");
    }

    #[test]
    fn a_corrupted_entry_is_recompiled_and_a_readable_one_is_still_used() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let engine = PluginEngine::new(Some(dir.path().to_path_buf())).unwrap();
        let a = importing("a");
        engine.load(a.clone(), COMPILE).unwrap();
        let entry = entries(dir.path()).remove(0);
        // A restored CI cache has 0644 entries: the MAC, not the mode, decides.
        std::fs::set_permissions(&entry, std::fs::Permissions::from_mode(0o644)).unwrap();
        assert_eq!(engine.load(a.clone(), COMPILE).unwrap().1, CacheUse::Hit);
        let mut bytes = std::fs::read(&entry).unwrap();
        let middle = bytes.len() / 2;
        bytes[middle] ^= 0xff;
        std::fs::write(&entry, &bytes).unwrap();
        let (component, cache) = engine.load(a, COMPILE).unwrap();
        assert_eq!((cache, imports(&component, &engine)), (CacheUse::Miss, vec!["a".to_string()]));
    }

    #[test]
    fn names_from_the_component_in_a_compile_error_are_sanitized() {
        let engine = PluginEngine::new(None).unwrap();
        let (kind, message) =
            engine.load(importing("x\n::add-mask::hunter2\u{1b}[2J"), COMPILE).err().unwrap();
        assert_eq!(kind, PluginErrorKind::Invalid);
        assert!(message.contains("add-mask"), "the error quotes the name: {message}");
        assert!(!message.contains('\n') && !message.contains('\u{1b}'), "{message:?}");
    }
}
