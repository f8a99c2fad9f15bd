//! Revocation: revoking certificates and stations, CRL numbers, and the
//! reads behind CRLs, OCSP and bulk selections.

use std::collections::HashSet;

use deadpool_postgres::GenericClient;
use serde_json::{Value, json};
use tokio_postgres::Row;

use super::codec::text_enum;
use super::db::{self, get};
use super::writes::{PreparedEvent, append_audit, authority_key_exists};
use crate::StoreError;
use crate::error::Hex;
use crate::model::{AuditEvent, IssuanceStatus};
use crate::revocation::{
    CertificateId, CertificateSelection, Revocation, RevocationCandidate, RevocationOutcome,
    RevocationTargets, RevokedCertificate, SerialStatus,
};

/// `(status, device id)` of each target that exists, in the order given.
type Locked = Vec<Option<(IssuanceStatus, String)>>;

pub(crate) async fn revoke<C: GenericClient>(
    c: &C,
    targets: &RevocationTargets,
    reason: u8,
    event: &AuditEvent,
) -> Result<RevocationOutcome, StoreError> {
    let mut event = event.clone();
    // Certificates before the station (the order completing an issuance
    // takes them in), each set in a fixed order: no deadlock between
    // concurrent revocations and completions.
    let unique: Vec<&CertificateId> = {
        let mut seen = HashSet::new();
        targets
            .certificates
            .iter()
            .filter(|t| seen.insert(*t))
            .collect()
    };
    let locked = lock_certificates(c, &unique).await?;
    let station_revoked = match &targets.station {
        Some(station_id) => revoke_station(c, station_id, event.at).await?,
        None => false,
    };
    let mut outcome = RevocationOutcome {
        station_revoked,
        ..RevocationOutcome::default()
    };
    let mut listed = Vec::new();
    for (target, found) in unique.into_iter().zip(locked) {
        match found {
            Some((IssuanceStatus::Issued | IssuanceStatus::Superseded, device_id)) => {
                if is_revoked(c, target).await? {
                    outcome.already_revoked += 1;
                } else {
                    listed.push(json!({
                        "ca": target.ca_id,
                        "serial": Hex(&target.serial).to_string(),
                        "device_id": device_id,
                    }));
                    outcome.revoked.push(target.clone());
                }
            }
            _ => {
                return Err(StoreError::NotFound {
                    what: "issued certificate",
                    key: format!("{}/{}", target.ca_id, Hex(&target.serial)),
                });
            }
        }
    }
    if outcome.revoked.is_empty() && !station_revoked {
        return Ok(outcome);
    }
    if let Some(data) = event.data.as_object_mut() {
        data.insert("revoked".into(), Value::Array(listed));
        data.insert("already_revoked".into(), outcome.already_revoked.into());
        data.insert("station_revoked".into(), station_revoked.into());
    }
    let at = event.at;
    let seq = append_audit(c, &PreparedEvent::new(event)?).await?;
    for target in &outcome.revoked {
        db::execute(
            c,
            "record revocation",
            "INSERT INTO revocations (ca_id, serial, revoked_at, reason, audit_seq) \
             VALUES ($1, $2, $3, $4, $5)",
            &[&target.ca_id, &target.serial, &at, &i64::from(reason), &seq],
        )
        .await?;
    }
    outcome.audit_seq = Some(seq);
    Ok(outcome)
}

/// Locks every target's record, in `(ca, serial)` order, so concurrent
/// revocations of one certificate queue and the later one finds it
/// revoked.
async fn lock_certificates<C: GenericClient>(
    c: &C,
    targets: &[&CertificateId],
) -> Result<Locked, StoreError> {
    let mut order: Vec<usize> = (0..targets.len()).collect();
    order.sort_by(|&a, &b| {
        (&targets[a].ca_id, &targets[a].serial).cmp(&(&targets[b].ca_id, &targets[b].serial))
    });
    let mut locked: Locked = vec![None; targets.len()];
    for i in order {
        let row = db::query_opt(
            c,
            "look up certificate",
            "SELECT status, device_id FROM certificates \
             WHERE ca_id = $1 AND serial = $2 FOR UPDATE",
            &[&targets[i].ca_id, &targets[i].serial],
        )
        .await?;
        locked[i] = match row {
            Some(row) => Some((text_enum(&row, 0)?, get(&row, 1)?)),
            None => None,
        };
    }
    Ok(locked)
}

/// Read after the record's lock was taken, so it sees a revocation that
/// committed while this transaction waited.
async fn is_revoked<C: GenericClient>(c: &C, target: &CertificateId) -> Result<bool, StoreError> {
    Ok(db::query_opt(
        c,
        "look up revocation",
        "SELECT 1 FROM revocations WHERE ca_id = $1 AND serial = $2",
        &[&target.ca_id, &target.serial],
    )
    .await?
    .is_some())
}

/// Sets the station's `revoked_at` unless already set; `true` if it changed.
async fn revoke_station<C: GenericClient>(
    c: &C,
    station_id: &str,
    at: i64,
) -> Result<bool, StoreError> {
    let row = db::query_opt(
        c,
        "look up station",
        "SELECT revoked_at FROM stations WHERE id = $1 FOR UPDATE",
        &[&station_id],
    )
    .await?
    .ok_or_else(|| StoreError::NotFound {
        what: "station",
        key: station_id.to_owned(),
    })?;
    let revoked_at: Option<i64> = get(&row, 0)?;
    if revoked_at.is_some() {
        return Ok(false);
    }
    db::execute(
        c,
        "revoke station",
        "UPDATE stations SET revoked_at = $2 WHERE id = $1",
        &[&station_id, &at],
    )
    .await?;
    Ok(true)
}

pub(crate) async fn next_crl_number<C: GenericClient>(
    c: &C,
    ca_id: &str,
    this_update: i64,
    event: &AuditEvent,
) -> Result<u64, StoreError> {
    if !authority_key_exists(c, ca_id).await? {
        return Err(StoreError::NotFound {
            what: "authority key",
            key: ca_id.to_owned(),
        });
    }
    let row = db::query_one(
        c,
        "take CRL number",
        "INSERT INTO crl_numbers (ca_id, last_number, last_this_update) VALUES ($1, 1, $2) \
         ON CONFLICT (ca_id) DO UPDATE SET last_number = crl_numbers.last_number + 1, \
         last_this_update = excluded.last_this_update \
         RETURNING last_number",
        &[&ca_id, &this_update],
    )
    .await?;
    // CHECK (last_number >= 1) holds it positive.
    let number = get::<i64>(&row, 0)?.unsigned_abs();
    let mut event = event.clone();
    if let Some(data) = event.data.as_object_mut() {
        data.insert("crl_number".into(), number.into());
    }
    append_audit(c, &PreparedEvent::new(event)?).await?;
    Ok(number)
}

const CANDIDATE_SELECT: &str = "SELECT c.ca_id, c.serial, c.device_id, c.status, c.order_id, \
     c.station_id, c.issued_at, c.not_after, r.revoked_at, r.reason \
     FROM certificates c LEFT JOIN revocations r ON r.ca_id = c.ca_id AND r.serial = c.serial \
     WHERE c.status IN ('issued', 'superseded') AND ";

const CANDIDATE_ORDER: &str = " ORDER BY c.issued_at, c.ca_id, c.serial";

/// A revocation from two nullable columns.
fn revocation(row: &Row, at: usize) -> Result<Option<Revocation>, StoreError> {
    let revoked_at: Option<i64> = get(row, at)?;
    let reason: Option<i64> = get(row, at + 1)?;
    revoked_at
        .zip(reason)
        .map(|(revoked_at, reason)| {
            Ok(Revocation {
                revoked_at,
                reason: reason_code(reason)?,
            })
        })
        .transpose()
}

fn reason_code(reason: i64) -> Result<u8, StoreError> {
    u8::try_from(reason).map_err(|_| {
        StoreError::backend_message("decode revocation", format!("reason code {reason}"))
    })
}

fn candidate(row: &Row) -> Result<RevocationCandidate, StoreError> {
    Ok(RevocationCandidate {
        ca_id: get(row, 0)?,
        serial: get(row, 1)?,
        device_id: get(row, 2)?,
        status: text_enum(row, 3)?,
        order_id: get(row, 4)?,
        station_id: get(row, 5)?,
        issued_at: get(row, 6)?,
        not_after: get(row, 7)?,
        revocation: revocation(row, 8)?,
    })
}

pub(crate) async fn candidates<C: GenericClient>(
    c: &C,
    selection: &CertificateSelection,
) -> Result<Vec<RevocationCandidate>, StoreError> {
    let query = async |condition: &str, params: db::Params<'_>| {
        let sql = format!("{CANDIDATE_SELECT}{condition}{CANDIDATE_ORDER}");
        let rows = db::query(c, "select certificates", &sql, params).await?;
        rows.iter().map(candidate).collect()
    };
    match selection {
        CertificateSelection::Device(device_id) => query("c.device_id = $1", &[device_id]).await,
        CertificateSelection::Serial(serial) => query("c.serial = $1", &[serial]).await,
        CertificateSelection::Order(order_id) => query("c.order_id = $1", &[order_id]).await,
        CertificateSelection::Station {
            station_id,
            since,
            until,
        } => {
            query(
                "c.station_id = $1 AND ($2::bigint IS NULL OR c.issued_at >= $2) \
                 AND ($3::bigint IS NULL OR c.issued_at < $3)",
                &[station_id, since, until],
            )
            .await
        }
    }
}

pub(crate) async fn revocations<C: GenericClient>(
    c: &C,
    ca_id: &str,
) -> Result<Vec<RevokedCertificate>, StoreError> {
    let rows = db::query(
        c,
        "list revocations",
        "SELECT serial, revoked_at, reason FROM revocations WHERE ca_id = $1 ORDER BY serial",
        &[&ca_id],
    )
    .await?;
    rows.iter()
        .map(|row| {
            Ok(RevokedCertificate {
                serial: get(row, 0)?,
                revocation: Revocation {
                    revoked_at: get(row, 1)?,
                    reason: reason_code(get(row, 2)?)?,
                },
            })
        })
        .collect()
}

pub(crate) async fn status<C: GenericClient>(
    c: &C,
    ca_id: &str,
    serial: &[u8],
) -> Result<Option<SerialStatus>, StoreError> {
    let row = db::query_opt(
        c,
        "look up serial status",
        "SELECT c.status, r.revoked_at, r.reason FROM certificates c \
         LEFT JOIN revocations r ON r.ca_id = c.ca_id AND r.serial = c.serial \
         WHERE c.ca_id = $1 AND c.serial = $2",
        &[&ca_id, &serial],
    )
    .await?;
    row.map(|row| {
        Ok(SerialStatus {
            status: text_enum(&row, 0)?,
            revocation: revocation(&row, 1)?,
        })
    })
    .transpose()
}

pub(crate) async fn version<C: GenericClient>(c: &C, ca_id: &str) -> Result<i64, StoreError> {
    let row = db::query_one(
        c,
        "read revocation version",
        "SELECT COALESCE(MAX(audit_seq), 0)::bigint FROM revocations WHERE ca_id = $1",
        &[&ca_id],
    )
    .await?;
    get(&row, 0)
}
