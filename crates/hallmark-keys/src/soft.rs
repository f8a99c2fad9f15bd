//! Software keys, encrypted at rest.
//!
//! Each key is one file `<dir>/<label>.key.pem`: a PEM `ENCRYPTED PRIVATE
//! KEY` (PKCS#8 `EncryptedPrivateKeyInfo`, PBES2 with scrypt `log2 N = 14,
//! r = 8, p = 1` and AES-256-CBC — the `pkcs8` crate's recommended
//! parameters, which OpenSSL 3 reads too), mode `0600`.
//!
//! Keys are generated and used with aws-lc-rs. A signer decrypts its key
//! once, when it is opened, and keeps it in memory for its lifetime.

use std::fmt;
use std::fs::{self, File, OpenOptions};
use std::io::{ErrorKind, Write as _};
use std::os::unix::fs::{DirBuilderExt as _, OpenOptionsExt as _, PermissionsExt as _};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use aws_lc_rs::encoding::AsDer as _;
use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::signature::{
    ECDSA_P256_SHA256_ASN1_SIGNING, ECDSA_P384_SHA384_ASN1_SIGNING, EcdsaKeyPair,
    EcdsaSigningAlgorithm, Ed25519KeyPair, KeyPair as _,
};
use der::Decode as _;
use der::pem::PemLabel as _;
use hallmark_pki::alg::{ID_EC_PUBLIC_KEY, ID_ED25519};
use hallmark_pki::{KeyAlgorithm, SignError, Signer};
use pkcs8::{EncryptedPrivateKeyInfoRef, LineEnding, PrivateKeyInfoRef};
use zeroize::Zeroizing;

use crate::encoding::Curve;
use crate::{KeyAttributes, KeyError, KeyLabel, KeyProtection, KeyStore, KeyUri};

/// File name suffix of a key: `<label>.key.pem`.
pub const KEY_FILE_SUFFIX: &str = ".key.pem";

/// Keys in a directory, each encrypted with the store's passphrase.
pub struct SoftKeyStore {
    dir: PathBuf,
    passphrase: Zeroizing<String>,
}

impl fmt::Debug for SoftKeyStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SoftKeyStore")
            .field("dir", &self.dir)
            .field("passphrase", &"<redacted>")
            .finish()
    }
}

impl SoftKeyStore {
    /// Opens (creating it with mode `0700` if missing) the key directory.
    ///
    /// The passphrase is not checked here (an empty store has nothing to
    /// check it against); [`KeyStore::signer`] reports
    /// [`KeyError::WrongPassphrase`].
    ///
    /// # Errors
    ///
    /// [`KeyError::EmptyPassphrase`]; [`KeyError::Io`] if the directory
    /// cannot be created or is not a directory.
    pub fn open(dir: PathBuf, passphrase: Zeroizing<String>) -> Result<Self, KeyError> {
        if passphrase.is_empty() {
            return Err(KeyError::EmptyPassphrase);
        }
        fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(&dir)
            .map_err(|source| KeyError::Io {
                path: dir.clone(),
                source,
            })?;
        Ok(Self { dir, passphrase })
    }

    /// The key directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The file holding the key `label`.
    pub fn key_path(&self, label: &KeyLabel) -> PathBuf {
        self.dir.join(format!("{label}{KEY_FILE_SUFFIX}"))
    }

    fn label_of<'u>(&self, uri: &'u KeyUri) -> Result<&'u KeyLabel, KeyError> {
        match uri {
            KeyUri::Soft(label) => Ok(label),
            KeyUri::Pkcs11(_) => Err(KeyError::ForeignUri {
                uri: uri.clone(),
                store: self.describe(),
            }),
        }
    }

    fn read_key_file(&self, uri: &KeyUri, path: &Path) -> Result<String, KeyError> {
        fs::read_to_string(path).map_err(|source| {
            if source.kind() == ErrorKind::NotFound {
                KeyError::NotFound { uri: uri.clone() }
            } else {
                KeyError::Io {
                    path: path.to_owned(),
                    source,
                }
            }
        })
    }

    /// Writes `contents` to `path` with mode 0600, atomically and without
    /// replacing an existing file: write a temporary file, fsync, hard-link
    /// it to its name (fails with `EEXIST` if the name is taken), unlink the
    /// temporary name, fsync the directory.
    fn write_new(&self, uri: &KeyUri, path: &Path, contents: &[u8]) -> Result<(), KeyError> {
        let io = |path: &Path| {
            let path = path.to_owned();
            move |source| KeyError::Io { path, source }
        };
        let mut nonce = [0u8; 8];
        getrandom::fill(&mut nonce).map_err(|e| KeyError::Io {
            path: self.dir.clone(),
            source: std::io::Error::other(e),
        })?;
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let tmp = self.dir.join(format!(
            ".{name}.tmp-{}",
            nonce.iter().map(|b| format!("{b:02x}")).collect::<String>()
        ));

        let written = (|| {
            let mut file = OpenOptions::new()
                .write(true)
                .create_new(true)
                .mode(0o600)
                .open(&tmp)?;
            // The umask can only clear bits; make the mode exact anyway.
            file.set_permissions(fs::Permissions::from_mode(0o600))?;
            file.write_all(contents)?;
            file.sync_all()
        })();
        if let Err(source) = written {
            let _ = fs::remove_file(&tmp);
            return Err(KeyError::Io { path: tmp, source });
        }

        let linked = fs::hard_link(&tmp, path);
        let _ = fs::remove_file(&tmp);
        match linked {
            Ok(()) => {}
            Err(e) if e.kind() == ErrorKind::AlreadyExists => {
                return Err(KeyError::AlreadyExists { uri: uri.clone() });
            }
            Err(source) => return Err(io(path)(source)),
        }
        File::open(&self.dir)
            .and_then(|d| d.sync_all())
            .map_err(io(&self.dir))
    }

    fn decrypt(&self, uri: &KeyUri, path: &Path) -> Result<SoftSigner, KeyError> {
        let pem = self.read_key_file(uri, path)?;
        let file_err = |source| KeyError::KeyFile {
            path: path.to_owned(),
            source,
        };
        // PEM to DER first: decoding straight from PEM (`DecodePem`) failed
        // on these files with der 0.8.3 (a reader error inside the PBES2
        // parameters), while the DER decodes fine.
        let (label, der) = der::Document::from_pem(&pem).map_err(|e| file_err(e.into()))?;
        if label != EncryptedPrivateKeyInfoRef::PEM_LABEL {
            return Err(file_err(
                der::Error::from(der::pem::Error::UnexpectedTypeLabel {
                    expected: EncryptedPrivateKeyInfoRef::PEM_LABEL,
                })
                .into(),
            ));
        }
        let encrypted =
            EncryptedPrivateKeyInfoRef::from_der(der.as_bytes()).map_err(|e| file_err(e.into()))?;
        let plain =
            encrypted
                .decrypt(self.passphrase.as_bytes())
                .map_err(|source| match source {
                    // A wrong key fails the CBC padding check or, rarely, yields
                    // bytes that are not DER.
                    pkcs8::Error::EncryptedPrivateKey(pkcs8::pkcs5::Error::DecryptFailed)
                    | pkcs8::Error::Asn1(_) => KeyError::WrongPassphrase {
                        uri: uri.clone(),
                        source,
                    },
                    source => KeyError::KeyFile {
                        path: path.to_owned(),
                        source,
                    },
                })?;

        let info =
            PrivateKeyInfoRef::try_from(plain.as_bytes()).map_err(|source| KeyError::KeyFile {
                path: path.to_owned(),
                source,
            })?;
        let rejected = |source| KeyError::KeyRejected {
            path: path.to_owned(),
            source,
        };
        let unsupported = || KeyError::UnsupportedKey { uri: uri.clone() };
        let (alg, key) = if info.algorithm.oid == ID_EC_PUBLIC_KEY {
            let curve = info
                .algorithm
                .parameters_oid()
                .ok()
                .and_then(Curve::from_oid)
                .ok_or_else(unsupported)?;
            let key =
                EcdsaKeyPair::from_pkcs8(ecdsa_alg(curve), plain.as_bytes()).map_err(rejected)?;
            (curve.algorithm(), SoftKey::Ecdsa(key, SystemRandom::new()))
        } else if info.algorithm.oid == ID_ED25519 {
            let key = Ed25519KeyPair::from_pkcs8(plain.as_bytes()).map_err(rejected)?;
            (KeyAlgorithm::Ed25519, SoftKey::Ed25519(key))
        } else {
            return Err(unsupported());
        };
        let spki = match &key {
            SoftKey::Ecdsa(key, _) => key.public_key().as_der(),
            SoftKey::Ed25519(key) => key.public_key().as_der(),
        }
        .map_err(KeyError::Crypto)?
        .as_ref()
        .to_vec();
        Ok(SoftSigner {
            uri: uri.clone(),
            alg,
            key,
            spki,
        })
    }
}

fn ecdsa_alg(curve: Curve) -> &'static EcdsaSigningAlgorithm {
    match curve {
        Curve::P256 => &ECDSA_P256_SHA256_ASN1_SIGNING,
        Curve::P384 => &ECDSA_P384_SHA384_ASN1_SIGNING,
    }
}

impl KeyStore for SoftKeyStore {
    fn generate(&self, label: &str, alg: KeyAlgorithm) -> Result<KeyUri, KeyError> {
        let label = KeyLabel::new(label)?;
        let uri = KeyUri::Soft(label.clone());
        let path = self.key_path(&label);
        // Cheap early refusal; `write_new` is the authoritative check.
        if fs::symlink_metadata(&path).is_ok() {
            return Err(KeyError::AlreadyExists { uri });
        }

        let rng = SystemRandom::new();
        let pkcs8 = match alg {
            KeyAlgorithm::EcdsaP256 | KeyAlgorithm::EcdsaP384 => {
                let curve = Curve::from_algorithm(alg).ok_or(KeyError::UnsupportedAlgorithm {
                    alg,
                    backend: "software",
                })?;
                EcdsaKeyPair::generate_pkcs8(ecdsa_alg(curve), &rng)
            }
            // PKCS#8 v1: OpenSSL 3.0 cannot read the v2 (RFC 5958) form
            // aws-lc-rs produces by default.
            KeyAlgorithm::Ed25519 => Ed25519KeyPair::generate_pkcs8v1(&rng),
            KeyAlgorithm::Rsa { .. } => {
                return Err(KeyError::UnsupportedAlgorithm {
                    alg,
                    backend: "software",
                });
            }
        }
        .map_err(KeyError::Crypto)?;

        let encrypt_err = |source| KeyError::Encrypt {
            uri: uri.clone(),
            source,
        };
        let encrypted = PrivateKeyInfoRef::try_from(pkcs8.as_ref())
            .and_then(|info| info.encrypt(self.passphrase.as_bytes()))
            .map_err(encrypt_err)?;
        let pem = encrypted
            .to_pem(EncryptedPrivateKeyInfoRef::PEM_LABEL, LineEnding::LF)
            .map_err(|e| encrypt_err(e.into()))?;
        self.write_new(&uri, &path, pem.as_bytes())?;
        Ok(uri)
    }

    fn signer(&self, uri: &KeyUri) -> Result<Arc<dyn Signer>, KeyError> {
        let label = self.label_of(uri)?;
        let path = self.key_path(label);
        Ok(Arc::new(self.decrypt(uri, &path)?))
    }

    fn describe(&self) -> String {
        format!("software (encrypted) in {}", self.dir.display())
    }
}

impl KeyAttributes for SoftKeyStore {
    /// Software keys are honest about what they are: the key exists in
    /// plaintext in this process's memory once opened, and anyone holding
    /// the file and the passphrase can extract it.
    fn protection(&self, uri: &KeyUri) -> Result<KeyProtection, KeyError> {
        let label = self.label_of(uri)?;
        let path = self.key_path(label);
        self.read_key_file(uri, &path)?;
        Ok(KeyProtection {
            sensitive: false,
            extractable: true,
            never_extractable: false,
            always_sensitive: false,
        })
    }
}

enum SoftKey {
    Ecdsa(EcdsaKeyPair, SystemRandom),
    Ed25519(Ed25519KeyPair),
}

/// A decrypted software key.
struct SoftSigner {
    uri: KeyUri,
    alg: KeyAlgorithm,
    key: SoftKey,
    spki: Vec<u8>,
}

impl fmt::Debug for SoftSigner {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SoftSigner")
            .field("uri", &self.uri)
            .field("alg", &self.alg)
            .finish_non_exhaustive()
    }
}

impl Signer for SoftSigner {
    fn algorithm(&self) -> KeyAlgorithm {
        self.alg
    }

    fn public_key_der(&self) -> &[u8] {
        &self.spki
    }

    fn sign(&self, message: &[u8]) -> Result<Vec<u8>, SignError> {
        match &self.key {
            SoftKey::Ecdsa(key, rng) => key
                .sign(rng, message)
                .map(|sig| sig.as_ref().to_vec())
                .map_err(SignError::new),
            SoftKey::Ed25519(key) => Ok(key.sign(message).as_ref().to_vec()),
        }
    }

    fn signs_in_memory(&self) -> bool {
        true
    }
}
