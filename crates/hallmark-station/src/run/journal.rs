//! The station's journal: for each device (by chip id) the certificate the
//! server issued for it, written before INSTALL and removed once the device
//! is locked.
//!
//! It is what lets a device that dropped after INSTALL (state INSTALLED or
//! VERIFIED, where the device makes no new CSR) be finished by a later run:
//! the station installs the journaled chain again, verifies and locks.
//! Before INSTALL no journal is needed: the server returns the certificate
//! it already issued for the device's key.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::failure::{Failure, error_chain};
use crate::files::write_atomic;

/// One device's issued certificate.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub(crate) struct Entry {
    pub device_id: String,
    pub serial: String,
    /// The chain as installed: leaf first, PEM each.
    pub chain: Vec<String>,
    pub key_origin: String,
    /// SHA-256 of the device key's SPKI DER, hex.
    #[serde(default)]
    pub public_key_sha256: Option<String>,
}

/// A key the station made and installed on a device (IMPORT_KEY), written
/// before the import: a later run then knows the device's key came from a
/// station even if the session ended before enrollment.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub(crate) struct KeyEntry {
    pub key_origin: String,
    /// SHA-256 of the SPKI DER, hex.
    pub public_key_sha256: String,
}

impl Entry {
    /// The chain, DER.
    pub(crate) fn chain_der(&self) -> Result<Vec<Vec<u8>>, Failure> {
        self.chain
            .iter()
            .map(|pem| hallmark_pki::pem::decode(pem.as_bytes(), &["CERTIFICATE"]))
            .collect::<Result<_, _>>()
            .map_err(|e| Failure::Check("journal_corrupt", format!("the station journal: {e}")))
    }
}

/// A directory of one JSON file per chip id.
#[derive(Clone, Debug)]
pub(crate) struct Journal {
    dir: PathBuf,
}

impl Journal {
    pub(crate) fn new(dir: &Path) -> Self {
        Self {
            dir: dir.to_owned(),
        }
    }

    fn path(&self, chip_id: &str) -> PathBuf {
        self.dir.join(format!("{chip_id}.json"))
    }

    /// The entry for `chip_id`, if any.
    pub(crate) fn load(&self, chip_id: &str) -> Option<Entry> {
        let bytes = std::fs::read(self.path(chip_id)).ok()?;
        serde_json::from_slice(&bytes).ok()
    }

    /// Records `entry` durably.
    pub(crate) async fn save(&self, chip_id: &str, entry: &Entry) -> Result<(), Failure> {
        self.write(self.path(chip_id), serde_json::to_vec_pretty(entry))
            .await
    }

    /// Forgets `chip_id` (the device is locked). Best effort: a stale entry
    /// is only read for a device in state INSTALLED or VERIFIED.
    pub(crate) async fn remove(&self, chip_id: &str) {
        let paths = [self.path(chip_id), self.key_path(chip_id)];
        let _ = tokio::task::spawn_blocking(move || {
            for path in paths {
                let _ = std::fs::remove_file(path);
            }
        })
        .await;
    }

    fn key_path(&self, chip_id: &str) -> PathBuf {
        self.dir.join(format!("{chip_id}.key.json"))
    }

    /// The station-made key recorded for `chip_id`, if any.
    pub(crate) fn load_key(&self, chip_id: &str) -> Option<KeyEntry> {
        let bytes = std::fs::read(self.key_path(chip_id)).ok()?;
        serde_json::from_slice(&bytes).ok()
    }

    /// Records durably that the station installs `entry`'s key on `chip_id`.
    pub(crate) async fn save_key(&self, chip_id: &str, entry: &KeyEntry) -> Result<(), Failure> {
        self.write(self.key_path(chip_id), serde_json::to_vec_pretty(entry))
            .await
    }

    /// Writes `json` to `path` atomically and durably, on the blocking
    /// pool: an fsync takes milliseconds, and the station's runtime drives
    /// every other fixture meanwhile.
    async fn write(&self, path: PathBuf, json: serde_json::Result<Vec<u8>>) -> Result<(), Failure> {
        let failed =
            |e: String| Failure::Check("journal_failed", format!("the station journal: {e}"));
        let json = json.map_err(|e| failed(e.to_string()))?;
        let dir = self.dir.clone();
        tokio::task::spawn_blocking(move || {
            std::fs::create_dir_all(&dir).map_err(|e| failed(e.to_string()))?;
            write_atomic(&path, &json, 0o600).map_err(|e| failed(error_chain(&e)))
        })
        .await
        .map_err(|e| failed(e.to_string()))?
    }
}
