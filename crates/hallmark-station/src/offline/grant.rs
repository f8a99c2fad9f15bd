//! Requesting and storing a sub-CA grant.

use std::fs;
use std::os::unix::fs::DirBuilderExt as _;
use std::path::{Path, PathBuf};

use hallmark_pki::{Attribute, DistinguishedName, KeyAlgorithm};
use serde::{Deserialize, Serialize};

use super::OFFLINE_DIR;
use crate::files::{io_error, pem_certificates, write_atomic};
use crate::{Error, StationHome};

/// Which device ids the sub-CA may certify.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum GrantDeviceIds {
    /// These, in this order (template orders).
    Assigned(Vec<String>),
    /// Any matching this anchored pattern (pattern orders).
    Pattern(String),
}

/// The device certificate profile, as text (see
/// `hallmark_pki::LeafProfileText`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct GrantProfile {
    /// Lifetime in seconds (capped at the sub-CA's end).
    pub validity_seconds: i64,
    /// `keyUsage` bit names.
    pub key_usage: Vec<String>,
    /// `extendedKeyUsage` OIDs.
    pub extended_key_usage: Vec<String>,
    /// SAN templates.
    pub subject_alt_names: Vec<String>,
}

/// `POST /api/v1/offline-ca`'s answer, plus the key's URI: `grant.json`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Grant {
    /// The sub-CA id.
    pub id: String,
    /// Its order.
    pub order_id: String,
    /// Certificates it may issue.
    pub count: u64,
    /// The sub-CA certificate, PEM.
    pub certificate: String,
    /// Its issuers, PEM: offline CA first, root last.
    pub chain: Vec<String>,
    /// End of its validity.
    pub not_after: i64,
    /// Organization for device subjects.
    pub organization: String,
    /// The factory (for `{factory}` in SAN templates).
    pub factory: String,
    /// Device ids it may certify.
    pub device_ids: GrantDeviceIds,
    /// The device profile.
    pub profile: GrantProfile,
    /// The sub-CA key in the station's key store (set by the station).
    #[serde(default)]
    pub key_uri: String,
}

impl Grant {
    /// The grant's directory in `home`.
    pub fn dir(home: &Path, id: &str) -> PathBuf {
        home.join(OFFLINE_DIR).join(id)
    }

    /// Reads `DIR/grant.json`.
    pub fn load(dir: &Path) -> Result<Self, Error> {
        let path = dir.join("grant.json");
        let text = fs::read(&path).map_err(io_error(&path))?;
        serde_json::from_slice(&text).map_err(|e| Error::Config {
            path: path.clone(),
            message: format!("not a grant: {e}"),
        })
    }

    /// The sub-CA certificate then its issuers, DER.
    pub fn chain_der(&self) -> Result<Vec<Vec<u8>>, Error> {
        let mut chain = pem_certificates(self.certificate.as_bytes(), "the sub-CA certificate")?;
        for pem in &self.chain {
            chain.extend(pem_certificates(pem.as_bytes(), "the sub-CA chain")?);
        }
        Ok(chain)
    }
}

/// Generates a sub-CA key in the station's key store and has the server
/// certify it for `count` devices; saves and returns the grant.
pub async fn request(home: &StationHome, count: u64) -> Result<Grant, Error> {
    let store = home.config().keys.open_store(home.dir())?;
    let label = format!("offline-{}", crate::home::unix_now());
    let key_uri = store.generate(&label, KeyAlgorithm::EcdsaP256)?;
    let signer = store.signer(&key_uri)?;
    let subject = DistinguishedName::new()
        .with(Attribute::Organization, "station")
        .with(Attribute::CommonName, "offline sub-CA");
    let csr = hallmark_pki::build_csr(&subject, signer.as_ref())?;
    let csr_pem = hallmark_pki::pem::encode("CERTIFICATE REQUEST", &csr);
    let mut grant = home.client()?.request_offline_ca(&csr_pem, count).await?;
    let leaf = grant.chain_der()?;
    crate::home::check_leaf(&leaf, signer.as_ref(), "the sub-CA certificate")?;
    grant.key_uri = key_uri.to_string();
    let dir = Grant::dir(home.dir(), &grant.id);
    fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(&dir)
        .map_err(io_error(&dir))?;
    let json = serde_json::to_vec_pretty(&grant).map_err(|e| Error::Config {
        path: dir.clone(),
        message: format!("cannot encode the grant: {e}"),
    })?;
    write_atomic(&dir.join("grant.json"), &json, 0o644)?;
    Ok(grant)
}

/// The most recent grant in `home` (by its directory's creation), if any.
pub fn latest_grant(home: &Path) -> Result<Option<PathBuf>, Error> {
    let root = home.join(OFFLINE_DIR);
    let entries = match fs::read_dir(&root) {
        Ok(entries) => entries,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(io_error(&root)(e)),
    };
    let mut best: Option<(std::time::SystemTime, PathBuf)> = None;
    for entry in entries {
        let entry = entry.map_err(io_error(&root))?;
        let path = entry.path();
        if !path.join("grant.json").is_file() {
            continue;
        }
        let modified = fs::metadata(path.join("grant.json"))
            .and_then(|m| m.modified())
            .map_err(io_error(&path))?;
        if best.as_ref().is_none_or(|(t, _)| modified > *t) {
            best = Some((modified, path));
        }
    }
    Ok(best.map(|(_, p)| p))
}
