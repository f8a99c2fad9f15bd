//! Revoking certificates (by device, serial, station and issue window,
//! order) and station credentials, audit-logged.

use std::collections::HashSet;

use hallmark_revocation::Reason;
use hallmark_store::{
    AuditEvent, AuditSeq, CertificateId, CertificateSelection, RevocationCandidate,
    RevocationTargets, StationRecord,
};
use serde_json::{Value, json};

use crate::error::AuthorityError;
use crate::issue::Authority;

/// Most certificates revoked in one store transaction (and listed in one
/// `revocation` audit event).
pub const REVOKE_CHUNK: usize = 10_000;

/// What a revocation would do (`hallmark revoke --dry-run`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RevocationPlan {
    /// What was asked.
    pub selection: CertificateSelection,
    /// Issued or superseded certificates that will be revoked, by issue time.
    pub to_revoke: Vec<RevocationCandidate>,
    /// Selected certificates that are revoked already (left as they are).
    pub already_revoked: Vec<RevocationCandidate>,
    /// For a station selection: the station, whose credential is revoked too.
    pub station: Option<StationRecord>,
}

/// What a revocation did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RevocationReport {
    /// Certificates revoked by this call, by issue time.
    pub revoked: Vec<RevocationCandidate>,
    /// Selected certificates that were revoked already.
    pub already_revoked: u64,
    /// True when a station's credential was revoked by this call.
    pub station_revoked: bool,
    /// The revocation time written (unix seconds).
    pub revoked_at: i64,
    /// The reason written.
    pub reason: Reason,
    /// The `revocation` audit events appended (none when nothing changed).
    pub audit_seqs: Vec<AuditSeq>,
}

/// The selection as audit data and a subject.
fn describe(selection: &CertificateSelection) -> (Value, String) {
    match selection {
        CertificateSelection::Device(id) => (json!({ "device": id }), id.clone()),
        CertificateSelection::Serial(serial) => {
            let hex = hex::encode(serial);
            (json!({ "serial": hex }), hex)
        }
        CertificateSelection::Station {
            station_id,
            since,
            until,
        } => (
            json!({ "station": station_id, "since": since, "until": until }),
            station_id.clone(),
        ),
        CertificateSelection::Order(id) => (json!({ "order": id }), id.clone()),
    }
}

impl Authority {
    /// Lists what [`revoke`](Self::revoke) would revoke, changing nothing.
    ///
    /// Refuses an unknown station or order, and a device or serial
    /// selection that matches no issued certificate
    /// ([`AuthorityError::NothingToRevoke`]).
    pub async fn plan_revocation(
        &self,
        selection: &CertificateSelection,
    ) -> Result<RevocationPlan, AuthorityError> {
        let station = match selection {
            CertificateSelection::Station { station_id, .. } => Some(
                self.store
                    .station(station_id)
                    .await?
                    .ok_or_else(|| AuthorityError::UnknownStationId(station_id.clone()))?,
            ),
            CertificateSelection::Order(id) => {
                self.order(id).await?;
                None
            }
            CertificateSelection::Device(_) | CertificateSelection::Serial(_) => None,
        };
        let (already_revoked, to_revoke): (Vec<_>, Vec<_>) = self
            .store
            .revocation_candidates(selection)
            .await?
            .into_iter()
            .partition(|c| c.revocation.is_some());
        if station.is_none() && to_revoke.is_empty() && already_revoked.is_empty() {
            let what = match selection {
                CertificateSelection::Device(id) => format!("device {id:?}"),
                CertificateSelection::Serial(s) => format!("serial {}", hex::encode(s)),
                CertificateSelection::Order(id) => format!("order {id:?}"),
                CertificateSelection::Station { station_id, .. } => {
                    format!("station {station_id:?}")
                }
            };
            if !matches!(selection, CertificateSelection::Order(_)) {
                return Err(AuthorityError::NothingToRevoke(what));
            }
        }
        Ok(RevocationPlan {
            selection: selection.clone(),
            to_revoke,
            already_revoked,
            station,
        })
    }

    /// Revokes what `selection` matches for `reason`, at the clock's now.
    ///
    /// Each store transaction revokes up to [`REVOKE_CHUNK`] certificates
    /// with one `revocation` audit event (data: `selector`, `reason`,
    /// `reason_code`, `part`, `parts`, and from the store the `revoked`
    /// list, `already_revoked`, `station_revoked`). A station selection
    /// revokes the station's credential in the first transaction, so it
    /// cannot enroll another device from then on. Already revoked
    /// certificates are skipped, never re-dated.
    pub async fn revoke(
        &self,
        selection: &CertificateSelection,
        reason: Reason,
    ) -> Result<RevocationReport, AuthorityError> {
        let plan = self.plan_revocation(selection).await?;
        let now = self.env.clock.now();
        let (selector, subject) = describe(selection);
        let chunks: Vec<&[RevocationCandidate]> = plan.to_revoke.chunks(REVOKE_CHUNK).collect();
        let parts = chunks.len().max(1);
        let mut report = RevocationReport {
            revoked: Vec::new(),
            already_revoked: plan.already_revoked.len() as u64,
            station_revoked: false,
            revoked_at: now,
            reason,
            audit_seqs: Vec::new(),
        };
        for part in 0..parts {
            let chunk = chunks.get(part).copied().unwrap_or_default();
            let targets = RevocationTargets {
                certificates: chunk
                    .iter()
                    .map(|c| CertificateId {
                        ca_id: c.ca_id.clone(),
                        serial: c.serial.clone(),
                    })
                    .collect(),
                station: plan
                    .station
                    .as_ref()
                    .filter(|_| part == 0)
                    .map(|s| s.id.clone()),
            };
            if targets.certificates.is_empty() && targets.station.is_none() {
                continue;
            }
            let event = AuditEvent::new(
                "revocation",
                Some(subject.clone()),
                now,
                json!({
                    "selector": selector,
                    "reason": reason.name(),
                    "reason_code": reason.code(),
                    "part": part + 1,
                    "parts": parts,
                }),
            );
            let outcome = self.store.revoke(targets, reason.code(), event).await?;
            let revoked: HashSet<_> = outcome.revoked.iter().collect();
            report.revoked.extend(
                chunk
                    .iter()
                    .filter(|c| {
                        revoked.contains(&CertificateId {
                            ca_id: c.ca_id.clone(),
                            serial: c.serial.clone(),
                        })
                    })
                    .cloned(),
            );
            report.already_revoked += outcome.already_revoked;
            report.station_revoked |= outcome.station_revoked;
            report.audit_seqs.extend(outcome.audit_seq);
        }
        Ok(report)
    }
}
