//! Importing a station's offline log: every record is checked before
//! anything is imported, and a refused upload is audit-logged with its
//! anomaly.
//!
//! The log is a Merkle tree of [`Entry`] records (RFC 9162 leaf hashes, as
//! the server's own audit log) whose checkpoint the station signs with the
//! sub-CA key. The server keeps the tree's size and frontier from the last
//! import, so an upload must continue the log exactly: an entry removed,
//! altered or reordered anywhere changes the root the checkpoint signs.

use std::collections::HashSet;

use regex::Regex;

use base64::Engine;
use hallmark_audit::{CompactTree, Entry, SignedCheckpoint};
use hallmark_pki::{CertificateView, PublicKey};
use hallmark_store::{
    AuditEvent, KeyOrigin, OfflineCaRecord, OfflineCertificate, OfflineImport, OrderRecord,
    StoreError,
};
use serde::{Deserialize, Serialize};
use serde_json::json;

use super::anomaly::OfflineAnomaly;
use super::grant::{OfflineDeviceIds, device_ids};
use crate::error::AuthorityError;
use crate::hierarchy::sha256;
use crate::issue::Authority;
use crate::orders::compile_pattern;
use crate::stations::StationIdentity;

/// The kind of the log entry a station writes for each certificate.
pub const OFFLINE_ENTRY_KIND: &str = "certificate.issued";

/// Entry times may run ahead of the server's clock by this much (seconds).
const CLOCK_SKEW: i64 = 300;

/// The checkpoint origin of sub-CA `ca_id`'s log.
pub fn log_origin(ca_id: &str) -> String {
    format!("hallmark-offline/{ca_id}")
}

/// The `data_json` of an offline log entry (`docs/offline.md`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OfflineEntryData {
    /// The device id certified.
    pub device_id: String,
    /// The certificate's serial, hex.
    pub serial: String,
    /// The certificate, base64 DER.
    pub certificate: String,
    /// Where the device key was generated (`device` or `station`).
    pub key_origin: String,
    /// SHA-256 of the device's SubjectPublicKeyInfo, hex.
    pub public_key_sha256: String,
}

/// One upload: the entries after the last import, and a checkpoint over
/// the whole log up to the last of them, signed by the sub-CA.
#[derive(Clone, Debug)]
pub struct OfflineUpload {
    /// Log entries imported before this upload (where it starts).
    pub log_size_before: u64,
    /// The new entries, seq `log_size_before + 1` onward.
    pub entries: Vec<Entry>,
    /// The signed checkpoint.
    pub checkpoint: SignedCheckpoint,
}

/// What an accepted upload did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SyncReport {
    /// The sub-CA after the import.
    pub record: OfflineCaRecord,
    /// Certificates imported by this upload.
    pub imported: u64,
}

/// The sub-CA's facts the checks need.
struct SubCa {
    record: OfflineCaRecord,
    key: PublicKey,
    view: CertificateView,
    order: OrderRecord,
}

/// The device ids an upload may use: looked up per entry.
enum AllowedIds {
    Assigned(HashSet<String>),
    Pattern(Regex),
}

impl AllowedIds {
    fn of(sub: &SubCa) -> Result<Self, AuthorityError> {
        Ok(match device_ids(&sub.order, &sub.record) {
            OfflineDeviceIds::Assigned(ids) => Self::Assigned(ids.into_iter().collect()),
            OfflineDeviceIds::Pattern(p) => Self::Pattern(compile_pattern(&p)?),
        })
    }

    fn allows(&self, id: &str) -> bool {
        match self {
            Self::Assigned(ids) => ids.contains(id),
            Self::Pattern(pattern) => pattern.is_match(id),
        }
    }
}

impl Authority {
    /// Verifies and imports an upload of `station`'s sub-CA `ca_id` log.
    /// A refused upload imports nothing; its anomaly is audit-logged
    /// (`offline.sync_refused`) and returned as
    /// [`AuthorityError::OfflineRefused`].
    pub async fn sync_offline(
        &self,
        station: &StationIdentity,
        ca_id: &str,
        upload: OfflineUpload,
    ) -> Result<SyncReport, AuthorityError> {
        let sub = self.sub_ca(station, ca_id).await?;
        if sub.record.closed_at.is_some() {
            return Err(AuthorityError::OfflineClosed(ca_id.to_owned()));
        }
        let checked = self.check_upload(&sub, &upload);
        let outcome = match checked {
            Ok(import) => self.import(&sub, import, &upload).await,
            Err(anomaly) => Err(anomaly),
        };
        match outcome {
            Ok(report) => Ok(report),
            Err(Ok(anomaly)) => {
                self.audit_refused_sync(station, ca_id, &anomaly).await?;
                Err(AuthorityError::OfflineRefused {
                    ca_id: ca_id.to_owned(),
                    anomaly,
                })
            }
            Err(Err(other)) => Err(other),
        }
    }

    /// Closes `station`'s sub-CA `ca_id`: no more uploads; the units it did
    /// not use go back to the order.
    pub async fn close_offline_ca(
        &self,
        station: &StationIdentity,
        ca_id: &str,
    ) -> Result<OfflineCaRecord, AuthorityError> {
        let sub = self.sub_ca(station, ca_id).await?;
        let now = self.env.clock.now();
        let event = AuditEvent::new(
            "offline_ca.closed",
            Some(ca_id.to_owned()),
            now,
            json!({
                "id": ca_id,
                "station": station.station_id,
                "order": sub.record.order_id,
                "count": sub.record.count,
                "imported": sub.record.imported,
                "returned": sub.record.left(),
            }),
        );
        match self.store.close_offline_ca(ca_id, event).await {
            Err(StoreError::OfflineClosed { ca_id }) => Err(AuthorityError::OfflineClosed(ca_id)),
            other => Ok(other?),
        }
    }

    /// The station's sub-CA `ca_id` as stored.
    pub async fn offline_ca(
        &self,
        station: &StationIdentity,
        ca_id: &str,
    ) -> Result<OfflineCaRecord, AuthorityError> {
        Ok(self.sub_ca(station, ca_id).await?.record)
    }

    /// The station's sub-CA `ca_id` (another station's is "unknown").
    async fn sub_ca(
        &self,
        station: &StationIdentity,
        ca_id: &str,
    ) -> Result<SubCa, AuthorityError> {
        let unknown = || AuthorityError::UnknownOfflineCa(ca_id.to_owned());
        let record = self.store.offline_ca(ca_id).await?.ok_or_else(unknown)?;
        if record.station_id != station.station_id {
            return Err(unknown());
        }
        let key = self.store.authority_key(ca_id).await?.ok_or_else(unknown)?;
        let der = key.certificate_der.ok_or(AuthorityError::CorruptCa {
            id: ca_id.to_owned(),
            reason: "no certificate",
        })?;
        let view = CertificateView::parse(&der)?;
        let order = self.order(&record.order_id).await?;
        Ok(SubCa {
            key: PublicKey::from_spki_der(&view.spki_der)?,
            order,
            view,
            record,
        })
    }

    /// Every check that needs no database: the checkpoint, the log's
    /// continuity and each record. Returns what to import.
    fn check_upload(
        &self,
        sub: &SubCa,
        upload: &OfflineUpload,
    ) -> Result<OfflineImport, Result<OfflineAnomaly, AuthorityError>> {
        let record = &sub.record;
        let checkpoint = upload
            .checkpoint
            .verify(&sub.key)
            .map_err(|_| Ok(OfflineAnomaly::CheckpointSignature))?;
        let expected = log_origin(&record.id);
        if checkpoint.origin != expected {
            return Err(Ok(OfflineAnomaly::CheckpointOrigin {
                expected,
                found: checkpoint.origin.clone(),
            }));
        }
        if upload.log_size_before != record.log_size {
            return Err(Ok(OfflineAnomaly::OutOfSync {
                stored: record.log_size,
                given: upload.log_size_before,
            }));
        }
        let claimed = record.imported + upload.entries.len() as u64;
        if claimed > record.count {
            return Err(Ok(OfflineAnomaly::CountExceeded {
                count: record.count,
                claimed,
            }));
        }
        let mut tree = CompactTree::from_frontier(record.log_size, record.log_frontier.clone())
            .map_err(|_| {
                Err(AuthorityError::CorruptCa {
                    id: record.id.clone(),
                    reason: "stored offline log frontier is inconsistent",
                })
            })?;
        let allowed = AllowedIds::of(sub).map_err(Err)?;
        let mut seen = HashSet::new();
        let mut certificates = Vec::with_capacity(upload.entries.len());
        let now = self.env.clock.now();
        for entry in &upload.entries {
            let expected = tree.size() + 1;
            if u64::try_from(entry.seq).ok() != Some(expected) {
                return Err(Ok(OfflineAnomaly::SequenceGap {
                    expected,
                    found: entry.seq,
                }));
            }
            tree.push(entry.leaf_hash());
            let cert = check_entry(sub, entry, now).map_err(Ok)?;
            if !allowed.allows(&cert.device_id) || !seen.insert(cert.device_id.clone()) {
                return Err(Ok(OfflineAnomaly::DeviceIdNotAllowed {
                    seq: entry.seq,
                    device_id: cert.device_id,
                }));
            }
            certificates.push(cert);
        }
        if tree.size() != checkpoint.tree_size || tree.root() != checkpoint.root_hash {
            return Err(Ok(OfflineAnomaly::TreeMismatch {
                checkpoint_size: checkpoint.tree_size,
                log_size: tree.size(),
            }));
        }
        Ok(OfflineImport {
            ca_id: record.id.clone(),
            log_size_before: record.log_size,
            log_size: tree.size(),
            log_frontier: tree.frontier().to_vec(),
            certificates,
            profile: self.policy.order_profile.clone(),
        })
    }

    async fn import(
        &self,
        sub: &SubCa,
        import: OfflineImport,
        upload: &OfflineUpload,
    ) -> Result<SyncReport, Result<OfflineAnomaly, AuthorityError>> {
        let record = &sub.record;
        let events = import
            .certificates
            .iter()
            .zip(&upload.entries)
            .map(|(cert, entry)| issued_event(record, cert, entry.seq))
            .collect();
        let imported = import.certificates.len() as u64;
        match self.store.import_offline(import, events).await {
            Ok(_) => {}
            Err(e) => return Err(store_anomaly(e)),
        }
        let record = self
            .store
            .offline_ca(&record.id)
            .await
            .map_err(|e| Err(e.into()))?
            .ok_or_else(|| Err(AuthorityError::UnknownOfflineCa(record.id.clone())))?;
        Ok(SyncReport { record, imported })
    }

    async fn audit_refused_sync(
        &self,
        station: &StationIdentity,
        ca_id: &str,
        anomaly: &OfflineAnomaly,
    ) -> Result<(), AuthorityError> {
        let event = AuditEvent::new(
            "offline.sync_refused",
            Some(ca_id.to_owned()),
            self.env.clock.now(),
            json!({
                "id": ca_id,
                "station": station.station_id,
                "order": station.order_id,
                "anomaly": anomaly.code(),
                "detail": anomaly.to_string(),
            }),
        );
        self.store.append_audit(event).await?;
        Ok(())
    }
}

/// One entry's checks: its data, and its certificate against the sub-CA.
fn check_entry(sub: &SubCa, entry: &Entry, now: i64) -> Result<OfflineCertificate, OfflineAnomaly> {
    let seq = entry.seq;
    let bad = |why| OfflineAnomaly::BadEntry { seq, why };
    let mismatch = |field| OfflineAnomaly::CertificateMismatch { seq, field };
    if entry.kind != OFFLINE_ENTRY_KIND {
        return Err(OfflineAnomaly::UnexpectedKind {
            seq,
            kind: entry.kind.clone(),
        });
    }
    let data: OfflineEntryData = serde_json::from_slice(&entry.data_json)
        .map_err(|_| bad("data is not an offline record"))?;
    let der = base64::engine::general_purpose::STANDARD
        .decode(&data.certificate)
        .map_err(|_| bad("certificate is not base64"))?;
    let key_origin: KeyOrigin = data
        .key_origin
        .parse()
        .map_err(|_| bad("unknown key_origin"))?;
    CertificateView::verify_signed_by(&der, &sub.key)
        .map_err(|source| OfflineAnomaly::BadCertificate { seq, source })?;
    let view = CertificateView::parse(&der)
        .map_err(|source| OfflineAnomaly::BadCertificate { seq, source })?;
    if view.issuer_der != sub.view.subject_der {
        return Err(mismatch("issuer"));
    }
    if hex::encode(&view.serial) != data.serial.to_ascii_lowercase() {
        return Err(mismatch("serial"));
    }
    if view.common_name.as_deref() != Some(data.device_id.as_str())
        || entry.subject.as_deref() != Some(data.device_id.as_str())
    {
        return Err(mismatch("device id"));
    }
    let key_hash = sha256(&view.spki_der);
    if hex::encode(key_hash) != data.public_key_sha256.to_ascii_lowercase() {
        return Err(mismatch("public key"));
    }
    let inside = view.not_before >= sub.view.not_before - CLOCK_SKEW
        && view.not_after <= sub.view.not_after
        && entry.at <= now + CLOCK_SKEW
        && entry.at >= sub.record.created_at - CLOCK_SKEW;
    if !inside {
        return Err(mismatch("validity"));
    }
    Ok(OfflineCertificate {
        serial: view.serial,
        device_id: data.device_id,
        public_key_sha256: key_hash,
        key_origin,
        certificate_der: der,
        not_before: view.not_before,
        not_after: view.not_after,
        issued_at: entry.at,
    })
}

fn issued_event(record: &OfflineCaRecord, cert: &OfflineCertificate, seq: i64) -> AuditEvent {
    AuditEvent::new(
        "certificate.issued",
        Some(cert.device_id.clone()),
        cert.issued_at,
        json!({
            "offline": true,
            "ca": record.id,
            "serial": hex::encode(&cert.serial),
            "device_id": cert.device_id,
            "order": record.order_id,
            "station": record.station_id,
            "key_origin": cert.key_origin.as_str(),
            "public_key_sha256": hex::encode(cert.public_key_sha256),
            "certificate_sha256": hex::encode(sha256(&cert.certificate_der)),
            "not_after": cert.not_after,
            "offline_log_seq": seq,
        }),
    )
}

/// A store refusal of the import, as the anomaly it reveals.
fn store_anomaly(err: StoreError) -> Result<OfflineAnomaly, AuthorityError> {
    Ok(match err {
        StoreError::DeviceIdTaken { device_id } => OfflineAnomaly::DeviceIdTaken(device_id),
        StoreError::PublicKeyTaken { device_id } => OfflineAnomaly::PublicKeyTaken(device_id),
        StoreError::SerialTaken { serial, .. } => OfflineAnomaly::SerialTaken(hex::encode(serial)),
        StoreError::OfflineCountExceeded { count, claimed, .. } => {
            OfflineAnomaly::CountExceeded { count, claimed }
        }
        StoreError::OfflineLogOutOfSync { stored, given, .. } => {
            OfflineAnomaly::OutOfSync { stored, given }
        }
        StoreError::OfflineClosed { ca_id } => return Err(AuthorityError::OfflineClosed(ca_id)),
        other => return Err(other.into()),
    })
}
