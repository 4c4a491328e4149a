//! Secret key files: encrypted at rest by default, created private, and
//! refused when others can read them.
//!
//! Two formats, told apart by their first bytes:
//!
//! * **Encrypted** (what `trail keygen` writes): the unencrypted text below,
//!   encrypted with age (age-encryption.org/v1, binary form) to a passphrase
//!   through age's scrypt recipient. Any age tool can decrypt it, e.g.
//!   `age -d FILE`, and the result is an unencrypted key file.
//! * **Unencrypted**: two lines of text, the header
//!   `trail secret key v1 (ed25519 seed, hex)` and the 32-byte ed25519 seed in
//!   hex. Whoever can read such a file can sign as its owner.
//!
//! Secret bytes (seeds, decrypted text, passphrases) are held in types that
//! wipe them when dropped, and no type here shows its secret in `Debug` or
//! `Display`.

use std::fmt;
use std::fs;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};

use age::secrecy::{ExposeSecret, SecretString};
use ed25519_dalek::SigningKey;
use zeroize::Zeroizing;

use crate::error::{EncryptError, Error};
use crate::types::PublicKey;

/// First line of an unencrypted secret key file.
const KEY_FILE_HEADER: &str = "trail secret key v1 (ed25519 seed, hex)";

/// First bytes of an age-encrypted file (the binary form).
const AGE_HEADER: &[u8] = b"age-encryption.org/v1\n";

/// Key files are a few hundred bytes; anything much larger is not one, and
/// reading it whole would let a hostile file make us allocate without bound.
const MAX_KEY_FILE_BYTES: u64 = 64 * 1024;

/// A passphrase protecting a key file; wiped from memory when dropped.
pub struct Passphrase(SecretString);

impl Passphrase {
    /// Wraps a passphrase. The `String` is moved in and wiped with it.
    pub fn new(text: String) -> Passphrase {
        Passphrase(SecretString::from(text))
    }

    /// Whether the passphrase is empty (an empty one protects nothing).
    pub fn is_empty(&self) -> bool {
        self.0.expose_secret().is_empty()
    }

    /// Whether two passphrases are the same, e.g. a prompt and its confirmation.
    pub fn matches(&self, other: &Passphrase) -> bool {
        self.0.expose_secret() == other.0.expose_secret()
    }
}

impl fmt::Debug for Passphrase {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Passphrase(hidden)")
    }
}

/// How much scrypt work protects an encrypted key file against guessing.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum WorkFactor {
    /// What age picks for this machine: about one second to derive the key.
    #[default]
    Calibrated,
    /// scrypt's N = 2^n, for n from 1 to 63. Each step down halves the cost
    /// of guessing the passphrase; values well below the calibrated one are
    /// for tests only.
    Log2(u8),
}

/// A key file read from disk, before any passphrase is asked for.
pub enum KeyFile {
    /// An unencrypted key file.
    Unencrypted(SecretKey),
    /// A passphrase-encrypted key file.
    Encrypted(EncryptedKeyFile),
}

impl KeyFile {
    /// Reads a key file, refusing one that group or others can read (as ssh does).
    pub fn read(path: &Path) -> Result<KeyFile, Error> {
        let io = |source| Error::Io {
            path: path.to_owned(),
            source,
        };
        let file = fs::File::open(path).map_err(io)?;
        let meta = file.metadata().map_err(io)?;
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
        let bad = || Error::BadKeyFile {
            path: path.to_owned(),
        };
        if meta.len() > MAX_KEY_FILE_BYTES {
            return Err(bad());
        }
        let mut bytes = Zeroizing::new(Vec::new());
        file.take(MAX_KEY_FILE_BYTES + 1)
            .read_to_end(&mut bytes)
            .map_err(io)?;
        if bytes.starts_with(AGE_HEADER) {
            return Ok(KeyFile::Encrypted(EncryptedKeyFile {
                path: path.to_owned(),
                ciphertext: bytes.to_vec(),
            }));
        }
        let text = std::str::from_utf8(&bytes).map_err(|_| bad())?;
        parse_unencrypted(text, path).map(KeyFile::Unencrypted)
    }
}

/// The bytes of an encrypted key file and where they came from.
pub struct EncryptedKeyFile {
    path: PathBuf,
    ciphertext: Vec<u8>,
}

impl EncryptedKeyFile {
    /// The file it was read from.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Decrypts the key with `passphrase`. age refuses a file that asks for
    /// much more scrypt work than this machine's calibration (about 16
    /// seconds), so a hostile file cannot pin the CPU for long.
    pub fn decrypt(&self, passphrase: &Passphrase) -> Result<SecretKey, Error> {
        let identity = age::scrypt::Identity::new(passphrase.0.clone());
        let plain = age::decrypt(&identity, &self.ciphertext)
            .map(Zeroizing::new)
            .map_err(|e| self.decrypt_error(e))?;
        let text = std::str::from_utf8(&plain).map_err(|_| Error::BadKeyFile {
            path: self.path.clone(),
        })?;
        parse_unencrypted(text, &self.path)
    }

    fn decrypt_error(&self, e: age::DecryptError) -> Error {
        use age::DecryptError as D;
        let path = self.path.clone();
        match e {
            // age cannot tell a wrong passphrase from a damaged key stanza.
            D::DecryptionFailed | D::KeyDecryptionFailed | D::NoMatchingKeys => {
                Error::WrongPassphrase { path }
            }
            D::ExcessiveWork { required, .. } => Error::BadEncryptedKeyFile {
                path,
                reason: format!(
                    "it asks for scrypt work factor {required}, more than this machine allows"
                ),
            },
            _ => Error::BadEncryptedKeyFile {
                path,
                reason: "the file is damaged or is not an age passphrase file".into(),
            },
        }
    }
}

/// Parses the unencrypted key file text.
fn parse_unencrypted(text: &str, path: &Path) -> Result<SecretKey, Error> {
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

    /// The unencrypted key file text.
    fn file_text(&self) -> Zeroizing<String> {
        let seed = Zeroizing::new(self.0.to_bytes());
        Zeroizing::new(format!("{KEY_FILE_HEADER}\n{}\n", hex::encode(*seed)))
    }

    /// Writes the key **unencrypted** to a new file readable only by its
    /// owner (mode 0600); whoever can read the file can sign as its owner.
    /// For automation and tests; prefer [`SecretKey::write_new_encrypted_file`].
    /// An existing file is never overwritten.
    pub fn write_new_file(&self, path: &Path) -> Result<(), Error> {
        write_private(path, self.file_text().as_bytes())
    }

    /// Writes the key to a new file (mode 0600), encrypted to `passphrase`
    /// with age's scrypt recipient. An existing file is never overwritten.
    pub fn write_new_encrypted_file(
        &self,
        path: &Path,
        passphrase: &Passphrase,
        work: WorkFactor,
    ) -> Result<(), Error> {
        if passphrase.is_empty() {
            return Err(EncryptError::EmptyPassphrase.into());
        }
        let mut recipient = age::scrypt::Recipient::new(passphrase.0.clone());
        if let WorkFactor::Log2(log_n) = work {
            // age panics outside 1..=63; refuse instead.
            if !(1..64).contains(&log_n) {
                return Err(EncryptError::WorkFactor(log_n).into());
            }
            recipient.set_work_factor(log_n);
        }
        let ciphertext = age::encrypt(&recipient, self.file_text().as_bytes())
            .map_err(|e| EncryptError::Failed(e.to_string()))?;
        write_private(path, &ciphertext)
    }

    /// Loads an unencrypted key file, refusing one that group or others can
    /// read. An encrypted file gives [`Error::KeyFileEncrypted`]: read it with
    /// [`KeyFile::read`] and decrypt it with a passphrase.
    pub fn load(path: &Path) -> Result<SecretKey, Error> {
        match KeyFile::read(path)? {
            KeyFile::Unencrypted(key) => Ok(key),
            KeyFile::Encrypted(_) => Err(Error::KeyFileEncrypted {
                path: path.to_owned(),
            }),
        }
    }
}

/// Creates `path` (which must not exist) with mode 0600 and writes `bytes`.
fn write_private(path: &Path, bytes: &[u8]) -> Result<(), Error> {
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
    file.write_all(bytes).map_err(io)?;
    file.sync_all().map_err(io)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Low enough to keep tests fast; never used outside tests.
    const FAST: WorkFactor = WorkFactor::Log2(4);

    fn pass(s: &str) -> Passphrase {
        Passphrase::new(s.to_owned())
    }

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

    #[test]
    fn encrypted_key_file_round_trips_and_hides_the_seed() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("k");
        let key = SecretKey::generate();
        key.write_new_encrypted_file(&path, &pass("correct horse"), FAST)
            .unwrap();
        let bytes = fs::read(&path).unwrap();
        assert!(bytes.starts_with(AGE_HEADER));
        let seed_hex = hex::encode(key.0.to_bytes());
        assert!(!String::from_utf8_lossy(&bytes).contains(&seed_hex));
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = fs::metadata(&path).unwrap().permissions().mode() & 0o777;
            assert_eq!(mode, 0o600);
        }
        let KeyFile::Encrypted(file) = KeyFile::read(&path).unwrap() else {
            panic!("an encrypted file reads as encrypted");
        };
        let loaded = file.decrypt(&pass("correct horse")).unwrap();
        assert_eq!(loaded.public_key(), key.public_key());
        assert!(matches!(
            file.decrypt(&pass("wrong horse")),
            Err(Error::WrongPassphrase { .. })
        ));
        assert!(matches!(
            SecretKey::load(&path),
            Err(Error::KeyFileEncrypted { .. })
        ));
        assert!(
            key.write_new_encrypted_file(&path, &pass("x"), FAST)
                .is_err(),
            "must not overwrite"
        );
    }

    #[test]
    fn bad_passphrases_and_work_factors_are_refused_without_panic() {
        let dir = tempfile::tempdir().unwrap();
        let key = SecretKey::generate();
        for (name, passphrase, work) in [
            ("empty", "", FAST),
            ("zero", "p", WorkFactor::Log2(0)),
            ("huge", "p", WorkFactor::Log2(64)),
        ] {
            let path = dir.path().join(name);
            assert!(
                matches!(
                    key.write_new_encrypted_file(&path, &pass(passphrase), work),
                    Err(Error::Encrypt(_))
                ),
                "{name}"
            );
            assert!(!path.exists(), "{name}: nothing is written");
        }
        assert_eq!(format!("{:?}", pass("secret")), "Passphrase(hidden)");
    }

    #[test]
    fn damaged_and_oversized_key_files_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("k");
        SecretKey::generate()
            .write_new_encrypted_file(&path, &pass("p"), FAST)
            .unwrap();
        let mut bytes = fs::read(&path).unwrap();
        let last = bytes.len() - 1;
        bytes[last] ^= 1;
        let damaged = dir.path().join("damaged");
        write_private(&damaged, &bytes).unwrap();
        let KeyFile::Encrypted(file) = KeyFile::read(&damaged).unwrap() else {
            panic!("still an age file");
        };
        assert!(file.decrypt(&pass("p")).is_err());

        let truncated = dir.path().join("truncated");
        write_private(&truncated, &bytes[..AGE_HEADER.len() + 3]).unwrap();
        let KeyFile::Encrypted(file) = KeyFile::read(&truncated).unwrap() else {
            panic!("still an age file");
        };
        assert!(matches!(
            file.decrypt(&pass("p")),
            Err(Error::BadEncryptedKeyFile { .. })
        ));

        let big = dir.path().join("big");
        write_private(&big, &vec![b'a'; MAX_KEY_FILE_BYTES as usize + 1]).unwrap();
        assert!(matches!(KeyFile::read(&big), Err(Error::BadKeyFile { .. })));
    }
}
