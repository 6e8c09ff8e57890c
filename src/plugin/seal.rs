//! Authenticates compiled-component cache entries with a keyed MAC, so only code this user's stepkit
//! compiled is ever deserialized.
//!
//! Deserializing a compiled component loads native code without validation (wasmtime's `unsafe`
//! contract): an entry copied from another plugin, a corrupted one, or one planted by a restored CI cache
//! would run as is. Each entry is `HMAC-SHA256(key, tag ‖ sha256(wasm) ‖ engine hash ‖ compiled) ‖
//! compiled`, with a per-user random key kept beside the entries (mode 0600). A copied entry fails because
//! the wasm hash differs, a corrupted one because the bytes differ, a planted one because the key is
//! secret; an entry's own file mode then does not matter.

use hmac::{Hmac, Mac};
use sha2::Sha256;
use std::io::{Read, Write};
use std::os::unix::fs::{MetadataExt, OpenOptionsExt};
use std::path::Path;

type HmacSha256 = Hmac<Sha256>;

/// Bytes of the MAC at the start of every entry.
pub const MAC_LEN: usize = 32;
const KEY_LEN: usize = 32;
/// The key's file name inside the cache directory.
pub const KEY_FILE: &str = "key";
/// Binds MACs to this layout, so a future layout never accepts an entry of this one.
const TAG: &[u8] = b"stepkit compiled component v1\0";

/// What a compiled component is bound to: the component's bytes and the engine that compiled it.
pub struct Binding {
    pub wasm_sha256: [u8; 32],
    pub engine_hash: u64,
}

/// The per-user key of one cache directory.
pub struct Sealer {
    key: [u8; KEY_LEN],
}

impl Sealer {
    /// Reads the key of `dir`, or makes one. A key that is not a private regular file of this user with the
    /// right length (a restored CI cache, a copy from another machine) is replaced: the entries sealed with it
    /// then fail to open and are compiled again. Returns a note when it replaced one.
    pub fn open(dir: &Path) -> std::io::Result<(Sealer, Option<String>)> {
        let path = dir.join(KEY_FILE);
        let note = match read_key(&path) {
            Ok(Some(key)) => return Ok((Sealer { key }, None)),
            Ok(None) => None,
            Err(why) => {
                std::fs::remove_file(&path)?;
                Some(format!(
                    "the plugin cache key {} {why}; made a new one, so cached plugins compile again",
                    path.display()
                ))
            }
        };
        let mut key = [0u8; KEY_LEN];
        std::fs::File::open("/dev/urandom")?.read_exact(&mut key)?;
        // A temporary file (0600) linked into place without replacing: two stepkits starting at once agree
        // on whichever key landed first.
        let mut tmp = tempfile::NamedTempFile::new_in(dir)?;
        tmp.write_all(&key)?;
        tmp.as_file().sync_all()?;
        match tmp.persist_noclobber(&path) {
            Ok(_) => Ok((Sealer { key }, note)),
            Err(e) if e.error.kind() == std::io::ErrorKind::AlreadyExists => match read_key(&path) {
                Ok(Some(key)) => Ok((Sealer { key }, note)),
                _ => {
                    Err(std::io::Error::other(format!("{} changed while it was being made", path.display())))
                }
            },
            Err(e) => Err(e.error),
        }
    }

    fn mac(&self, binding: &Binding, compiled: &[u8]) -> HmacSha256 {
        let mut mac = HmacSha256::new_from_slice(&self.key).expect("HMAC takes keys of any length");
        mac.update(TAG);
        mac.update(&binding.wasm_sha256);
        mac.update(&binding.engine_hash.to_le_bytes());
        mac.update(compiled);
        mac
    }

    /// The entry to write for `compiled`.
    pub fn seal(&self, binding: &Binding, compiled: &[u8]) -> Vec<u8> {
        let mut entry = Vec::with_capacity(MAC_LEN + compiled.len());
        entry.extend_from_slice(&self.mac(binding, compiled).finalize().into_bytes());
        entry.extend_from_slice(compiled);
        entry
    }

    /// The compiled bytes of `entry` when its MAC matches this key and binding (checked in constant time).
    pub fn open_entry<'a>(&self, binding: &Binding, entry: &'a [u8]) -> Option<&'a [u8]> {
        let (mac, compiled) = entry.split_at_checked(MAC_LEN)?;
        self.mac(binding, compiled).verify_slice(mac).ok()?;
        Some(compiled)
    }
}

/// `Ok(None)`: no key yet. `Err(why)`: a key that must not be used.
fn read_key(path: &Path) -> Result<Option<[u8; KEY_LEN]>, String> {
    // O_NOFOLLOW: a symlink planted at the key's name is refused, not followed.
    let file = match std::fs::OpenOptions::new().read(true).custom_flags(libc::O_NOFOLLOW).open(path) {
        Ok(file) => file,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(format!("cannot be opened ({e})")),
    };
    let meta = file.metadata().map_err(|e| format!("cannot be read ({e})"))?;
    // SAFETY: getuid has no preconditions and cannot fail.
    let uid = unsafe { libc::getuid() };
    if !meta.is_file() || meta.uid() != uid || meta.mode() & 0o077 != 0 {
        return Err("is not a private file of this user (mode 0600)".into());
    }
    let mut key = [0u8; KEY_LEN];
    let mut rest = Vec::new();
    (&file).read_exact(&mut key).map_err(|_| "is too short".to_string())?;
    (&file).read_to_end(&mut rest).map_err(|e| format!("cannot be read ({e})"))?;
    if !rest.is_empty() {
        return Err("is too long".into());
    }
    Ok(Some(key))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    fn binding(wasm: u8) -> Binding {
        Binding { wasm_sha256: [wasm; 32], engine_hash: 7 }
    }

    #[test]
    fn an_entry_opens_only_for_its_own_component_engine_and_bytes() {
        let dir = tempfile::tempdir().unwrap();
        let (sealer, note) = Sealer::open(dir.path()).unwrap();
        assert!(note.is_none());
        let entry = sealer.seal(&binding(1), b"compiled code");
        assert_eq!(sealer.open_entry(&binding(1), &entry), Some(&b"compiled code"[..]));
        assert_eq!(sealer.open_entry(&binding(2), &entry), None, "another component's entry");
        assert_eq!(
            sealer.open_entry(&Binding { engine_hash: 8, ..binding(1) }, &entry),
            None,
            "another engine"
        );
        let mut flipped = entry.clone();
        *flipped.last_mut().unwrap() ^= 1;
        assert_eq!(sealer.open_entry(&binding(1), &flipped), None, "a corrupted entry");
        assert_eq!(sealer.open_entry(&binding(1), &entry[..10]), None, "a truncated entry");
    }

    #[test]
    fn the_key_is_private_kept_and_replaced_when_exposed() {
        let dir = tempfile::tempdir().unwrap();
        let (first, _) = Sealer::open(dir.path()).unwrap();
        let key = dir.path().join(KEY_FILE);
        assert_eq!(std::fs::metadata(&key).unwrap().mode() & 0o777, 0o600);
        let entry = first.seal(&binding(1), b"code");
        let (again, note) = Sealer::open(dir.path()).unwrap();
        assert!(note.is_none());
        assert!(again.open_entry(&binding(1), &entry).is_some(), "the same key on the next run");
        // A key others can read (as a restored CI cache has) is no secret: a new key, old entries fail.
        std::fs::set_permissions(&key, std::fs::Permissions::from_mode(0o644)).unwrap();
        let (replaced, note) = Sealer::open(dir.path()).unwrap();
        assert!(note.unwrap().contains("0600"));
        assert!(replaced.open_entry(&binding(1), &entry).is_none());
        assert_eq!(std::fs::metadata(&key).unwrap().mode() & 0o777, 0o600);
    }
}
