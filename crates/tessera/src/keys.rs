//! Master keys for encryption at rest: the KMS key file, and the SSE-S3 master key kept
//! beside the data.

use std::fs::{self, OpenOptions};
use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use tessera_engine::{Encryption, KeyRing, RandomSource, SecretKey};

/// The file in a data directory that holds its SSE-S3 master key.
pub(crate) const SSE_S3_KEY_FILE: &str = "sse-master.key";

/// Random bytes from the operating system.
pub(crate) struct OsRandom;

impl RandomSource for OsRandom {
    fn fill(&self, buf: &mut [u8]) {
        // The OS source does not fail on the platforms Tessera runs on; weak key material
        // would be worse than stopping.
        if let Err(e) = getrandom::fill(buf) {
            eprintln!("tessera: random source failed: {e}");
            std::process::abort();
        }
    }
}

/// The engine's encryption: KMS keys from `kms_key_file` (none without one), and an SSE-S3
/// master key read from `data_dir` (created there on first start) or, for a memory backend
/// (`None`), made up for this process.
pub(crate) fn load(kms_key_file: Option<&Path>, data_dir: Option<&Path>) -> Result<Encryption, String> {
    let mut keys = match kms_key_file {
        Some(path) => {
            let text = fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
            KeyRing::from_key_file(&text).map_err(|e| format!("{}: {e}", path.display()))?
        }
        None => KeyRing::new(),
    };
    let sse_s3 = match data_dir {
        Some(dir) => sse_s3_key(dir)?,
        None => SecretKey::random(&OsRandom),
    };
    keys.set_sse_s3_key(sse_s3);
    Ok(Encryption::new(keys, Arc::new(OsRandom)))
}

/// Reads `<dir>/sse-master.key`, or creates it (mode 0600, durable) with a fresh key.
fn sse_s3_key(dir: &Path) -> Result<SecretKey, String> {
    let path: PathBuf = dir.join(SSE_S3_KEY_FILE);
    match fs::read_to_string(&path) {
        Ok(text) => SecretKey::from_hex(text.trim())
            .ok_or_else(|| format!("{}: expected 64 hexadecimal digits", path.display())),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            let key = SecretKey::random(&OsRandom);
            let tmp = dir.join(format!("{SSE_S3_KEY_FILE}.tmp"));
            let write = || -> std::io::Result<()> {
                let mut file = OpenOptions::new().write(true).create(true).truncate(true).mode(0o600).open(&tmp)?;
                file.write_all(format!("{}\n", hex::encode(key.as_bytes())).as_bytes())?;
                file.sync_all()?;
                // Never replace a key another process wrote meanwhile: that would orphan its data.
                fs::hard_link(&tmp, &path)?;
                fs::remove_file(&tmp)?;
                fs::File::open(dir)?.sync_all()
            };
            write().map_err(|e| format!("{}: {e}", path.display()))?;
            Ok(key)
        }
        Err(e) => Err(format!("{}: {e}", path.display())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    #[test]
    fn the_sse_s3_key_is_created_private_and_kept() {
        let dir = tempfile::tempdir().unwrap();
        let first = sse_s3_key(dir.path()).unwrap();
        let path = dir.path().join(SSE_S3_KEY_FILE);
        assert_eq!(fs::metadata(&path).unwrap().permissions().mode() & 0o777, 0o600);
        let again = sse_s3_key(dir.path()).unwrap();
        assert_eq!(first, again, "a restart reads the same key");
        fs::write(&path, "not a key").unwrap();
        assert!(sse_s3_key(dir.path()).unwrap_err().contains("64 hexadecimal digits"));
    }

    #[test]
    fn key_files_are_read_and_errors_name_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("kms.toml");
        fs::write(&file, format!("old = \"{}\"\nnew = \"{}\"\ndefault = \"new\"\n", "11".repeat(32), "22".repeat(32)))
            .unwrap();
        let enc = load(Some(&file), None).unwrap();
        assert_eq!(enc.keys().kms_key_names(), vec!["new".to_owned(), "old".to_owned()]);
        assert_eq!(enc.keys().default_kms_key(), Some("new"));
        assert!(enc.keys().has_sse_s3_key());
        fs::write(&file, "bad = \"12\"\n").unwrap();
        let err = load(Some(&file), None).unwrap_err();
        assert!(err.contains("kms.toml") && err.contains("line 1"), "{err}");
        assert!(load(Some(&dir.path().join("missing")), None).is_err());
    }
}
