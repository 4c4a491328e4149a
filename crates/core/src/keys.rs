//! Secret key files: creating them private, and refusing to load them when they are not.

use std::fs;
use std::io::Write;
use std::path::Path;

use ed25519_dalek::SigningKey;
use zeroize::Zeroizing;

use crate::error::Error;
use crate::types::PublicKey;

/// First line of an unencrypted secret key file.
const KEY_FILE_HEADER: &str = "trail secret key v1 (ed25519 seed, hex)";

/// An ed25519 secret key; its bytes are wiped from memory when dropped.
pub struct SecretKey(SigningKey);

impl SecretKey {
    /// A new random key from the operating system's generator.
    pub fn generate() -> SecretKey {
        SecretKey(SigningKey::generate(&mut rand_core::OsRng))
    }

    /// The key derived from a 32-byte seed; used for test vectors.
    pub fn from_seed(seed: &[u8; 32]) -> SecretKey {
        SecretKey(SigningKey::from_bytes(seed))
    }

    /// The matching public key.
    pub fn public_key(&self) -> PublicKey {
        PublicKey(self.0.verifying_key().to_bytes())
    }

    pub(crate) fn signing_key(&self) -> &SigningKey {
        &self.0
    }

    /// Writes the key to a new file readable only by its owner (mode 0600).
    /// An existing file is never overwritten.
    pub fn write_new_file(&self, path: &Path) -> Result<(), Error> {
        let io = |source| Error::Io {
            path: path.to_owned(),
            source,
        };
        let mut options = fs::OpenOptions::new();
        options.write(true).create_new(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt;
            options.mode(0o600);
        }
        let mut file = options.open(path).map_err(io)?;
        let text = Zeroizing::new(format!(
            "{KEY_FILE_HEADER}\n{}\n",
            hex::encode(self.0.to_bytes())
        ));
        file.write_all(text.as_bytes()).map_err(io)?;
        file.sync_all().map_err(io)
    }

    /// Loads a key file, refusing one that group or others can read (as ssh does).
    pub fn load(path: &Path) -> Result<SecretKey, Error> {
        let io = |source| Error::Io {
            path: path.to_owned(),
            source,
        };
        let meta = fs::metadata(path).map_err(io)?;
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = meta.permissions().mode() & 0o777;
            if mode & 0o077 != 0 {
                return Err(Error::KeyFileTooOpen {
                    path: path.to_owned(),
                    mode,
                });
            }
        }
        #[cfg(not(unix))]
        let _ = meta;
        let text = Zeroizing::new(fs::read_to_string(path).map_err(io)?);
        let bad = || Error::BadKeyFile {
            path: path.to_owned(),
        };
        let mut lines = text.lines();
        if lines.next() != Some(KEY_FILE_HEADER) {
            return Err(bad());
        }
        let hex_seed = lines.next().ok_or_else(bad)?;
        let mut seed = Zeroizing::new([0u8; 32]);
        hex::decode_to_slice(hex_seed.trim(), &mut seed[..]).map_err(|_| bad())?;
        Ok(SecretKey::from_seed(&seed))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_file_round_trips_and_is_private() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("k");
        let key = SecretKey::generate();
        key.write_new_file(&path).unwrap();
        assert_eq!(
            SecretKey::load(&path).unwrap().public_key(),
            key.public_key()
        );
        assert!(key.write_new_file(&path).is_err(), "must not overwrite");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            fs::set_permissions(&path, fs::Permissions::from_mode(0o644)).unwrap();
            assert!(matches!(
                SecretKey::load(&path),
                Err(Error::KeyFileTooOpen { mode: 0o644, .. })
            ));
        }
    }
}
