//! Station enrollment (one-time tokens) and renewal.

use deadpool_postgres::GenericClient;

use super::db::{self, duplicate_or, get};
use super::reads;
use super::writes::{PreparedEvent, append_audit};
use crate::StoreError;
use crate::error::Hex;
use crate::model::AuditSeq;
use crate::orders::StationCertificate;

/// Checks what can be checked without the database.
pub(crate) fn validate_certificate(certificate: &StationCertificate) -> Result<(), StoreError> {
    if !(1..=20).contains(&certificate.serial.len()) {
        return Err(StoreError::Invalid {
            what: "serial",
            reason: format!("{} bytes, expected 1 to 20", certificate.serial.len()),
        });
    }
    Ok(())
}

pub(crate) async fn enroll_station<C: GenericClient>(
    c: &C,
    token_sha256: &[u8; 32],
    station_id: &str,
    certificate: &StationCertificate,
    event: &PreparedEvent,
) -> Result<AuditSeq, StoreError> {
    let order_id = lock_unused_token(c, token_sha256).await?;
    let order = reads::order(c, &order_id)
        .await?
        .ok_or_else(|| StoreError::NotFound {
            what: "order",
            key: order_id.clone(),
        })?;
    order
        .availability(event.at)
        .map_err(|reason| StoreError::OrderUnavailable {
            order_id: order_id.clone(),
            reason,
        })?;
    db::execute_raw(
        c,
        "INSERT INTO stations (id, order_id, enrolled_at) VALUES ($1, $2, $3)",
        &[&station_id, &order_id, &event.at],
    )
    .await
    .map_err(duplicate_or(
        "station",
        || station_id.to_owned(),
        "insert station",
    ))?;
    insert_certificate(c, station_id, certificate, event.at).await?;
    db::execute_one(
        c,
        "use station token",
        "UPDATE station_tokens SET used_by = $2, used_at = $3 \
         WHERE token_sha256 = $1 AND used_by IS NULL",
        &[&&token_sha256[..], &station_id, &event.at],
    )
    .await?;
    append_audit(c, event).await
}

/// The order of an unused token, its row locked (a concurrent use of the
/// same token waits, then finds it used); refuses unknown and used tokens.
async fn lock_unused_token<C: GenericClient>(
    c: &C,
    token_sha256: &[u8; 32],
) -> Result<String, StoreError> {
    let row = db::query_opt(
        c,
        "look up station token",
        "SELECT order_id, used_by FROM station_tokens WHERE token_sha256 = $1 FOR UPDATE",
        &[&&token_sha256[..]],
    )
    .await?
    .ok_or(StoreError::TokenUnknown)?;
    let order_id: String = get(&row, 0)?;
    let used_by: Option<String> = get(&row, 1)?;
    match used_by {
        Some(_) => Err(StoreError::TokenUsed { order_id }),
        None => Ok(order_id),
    }
}

pub(crate) async fn renew_station<C: GenericClient>(
    c: &C,
    station_id: &str,
    certificate: &StationCertificate,
    event: &PreparedEvent,
) -> Result<AuditSeq, StoreError> {
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
        return Err(StoreError::StationRevoked {
            station_id: station_id.to_owned(),
        });
    }
    insert_certificate(c, station_id, certificate, event.at).await?;
    append_audit(c, event).await
}

/// Stores a station's next certificate (generation = previous + 1; the
/// caller holds the station's row lock or just created it).
async fn insert_certificate<C: GenericClient>(
    c: &C,
    station_id: &str,
    certificate: &StationCertificate,
    issued_at: i64,
) -> Result<(), StoreError> {
    db::execute_raw(
        c,
        "INSERT INTO station_certificates (serial, station_id, generation, certificate_der, \
         public_key_sha256, not_before, not_after, issued_at) \
         VALUES ($1, $2, (SELECT COALESCE(MAX(generation), 0) + 1 FROM station_certificates \
                          WHERE station_id = $2), $3, $4, $5, $6, $7)",
        &[
            &certificate.serial,
            &station_id,
            &certificate.certificate_der,
            &&certificate.public_key_sha256[..],
            &certificate.not_before,
            &certificate.not_after,
            &issued_at,
        ],
    )
    .await
    .map(drop)
    .map_err(duplicate_or(
        "station certificate",
        || Hex(&certificate.serial).to_string(),
        "insert station certificate",
    ))
}
