//! Rows ⇄ records. Column lists are shared with the SQLite backend's
//! order, so each `SELECT` names them in the order read here.

use std::str::FromStr;

use tokio_postgres::Row;

use super::db::{get, hash, hashes, unsigned};
use crate::StoreError;
use crate::model::{AuditRecord, AuthorityKey, CertificateRecord, IssuanceIntent};
use crate::offline::OfflineCaRecord;
use crate::orders::{
    DeviceIdRule, DeviceIdTemplate, NewOrder, OrderRecord, OrderStatus, StationCertificate,
    StationRecord, StationTokenRecord,
};

/// A text column holding one of the model's enums.
pub(crate) fn text_enum<T: FromStr<Err = StoreError>>(
    row: &Row,
    index: usize,
) -> Result<T, StoreError> {
    let text: String = get(row, index)?;
    text.parse()
}

/// Columns read by [`authority_key`], in order.
pub(crate) const AUTHORITY_KEY_COLUMNS: &str = "id, role, parent_id, factory, subject, \
     algorithm, key_uri, certificate_der, not_after, created_at";

pub(crate) fn authority_key(row: &Row) -> Result<AuthorityKey, StoreError> {
    Ok(AuthorityKey {
        id: get(row, 0)?,
        role: text_enum(row, 1)?,
        parent_id: get(row, 2)?,
        factory: get(row, 3)?,
        subject: get(row, 4)?,
        algorithm: get(row, 5)?,
        key_uri: get(row, 6)?,
        certificate_der: get(row, 7)?,
        not_after: get(row, 8)?,
        created_at: get(row, 9)?,
    })
}

/// Columns read by [`certificate`], in order.
pub(crate) const CERTIFICATE_COLUMNS: &str = "ca_id, serial, device_id, public_key_sha256, \
     profile, key_origin, order_id, station_id, requested_at, status, certificate_der, \
     not_before, not_after, issued_at, failure_reason, renews";

pub(crate) fn certificate(row: &Row) -> Result<CertificateRecord, StoreError> {
    Ok(CertificateRecord {
        intent: IssuanceIntent {
            ca_id: get(row, 0)?,
            serial: get(row, 1)?,
            device_id: get(row, 2)?,
            public_key_sha256: hash(row, 3)?,
            profile: get(row, 4)?,
            key_origin: text_enum(row, 5)?,
            order_id: get(row, 6)?,
            station_id: get(row, 7)?,
            requested_at: get(row, 8)?,
            renews: get(row, 15)?,
        },
        status: text_enum(row, 9)?,
        certificate_der: get(row, 10)?,
        not_before: get(row, 11)?,
        not_after: get(row, 12)?,
        issued_at: get(row, 13)?,
        failure_reason: get(row, 14)?,
    })
}

/// Columns read by [`audit_record`], in order.
pub(crate) const AUDIT_COLUMNS: &str = "seq, kind, subject, at, data";

pub(crate) fn audit_record(row: &Row) -> Result<AuditRecord, StoreError> {
    let data_json: Vec<u8> = get(row, 4)?;
    let data = serde_json::from_slice(&data_json).map_err(|e| {
        StoreError::backend_message("decode audit record", format!("data is not JSON: {e}"))
    })?;
    Ok(AuditRecord {
        seq: get(row, 0)?,
        kind: get(row, 1)?,
        subject: get(row, 2)?,
        at: get(row, 3)?,
        data,
        data_json,
    })
}

/// Columns read by [`order`], in order (`o` = `orders`).
pub(crate) const ORDER_COLUMNS: &str = "o.id, o.factory, o.product, o.quantity, o.starts_at, \
     o.expires_at, o.device_id_kind, o.device_id_rule, o.created_at, o.status, o.closed_at, \
     o.issued, o.reserved - o.issued, o.refused, \
     (SELECT COUNT(*) FROM stations s WHERE s.order_id = o.id)";

pub(crate) fn order(row: &Row) -> Result<OrderRecord, StoreError> {
    let kind: String = get(row, 6)?;
    let rule: String = get(row, 7)?;
    let device_ids = match kind.as_str() {
        "pattern" => DeviceIdRule::Pattern(rule),
        "template" => DeviceIdRule::Template(DeviceIdTemplate::parse(&rule)?),
        other => {
            return Err(StoreError::backend_message(
                "decode order",
                format!("unknown device id rule kind {other:?}"),
            ));
        }
    };
    let status: String = get(row, 9)?;
    Ok(OrderRecord {
        order: NewOrder {
            id: get(row, 0)?,
            factory: get(row, 1)?,
            product: get(row, 2)?,
            quantity: unsigned(row, 3)?,
            starts_at: get(row, 4)?,
            expires_at: get(row, 5)?,
            device_ids,
            created_at: get(row, 8)?,
        },
        status: parse_order_status(&status)?,
        closed_at: get(row, 10)?,
        issued: unsigned(row, 11)?,
        pending: unsigned(row, 12)?,
        refused: unsigned(row, 13)?,
        stations: unsigned(row, 14)?,
    })
}

pub(crate) fn parse_order_status(text: &str) -> Result<OrderStatus, StoreError> {
    [OrderStatus::Open, OrderStatus::Closed]
        .into_iter()
        .find(|status| status.as_str() == text)
        .ok_or_else(|| {
            StoreError::backend_message("decode order", format!("unknown order status {text:?}"))
        })
}

/// Columns read by [`station_token`], in order.
pub(crate) const STATION_TOKEN_COLUMNS: &str = "token_sha256, order_id, used_by, used_at";

pub(crate) fn station_token(row: &Row) -> Result<StationTokenRecord, StoreError> {
    Ok(StationTokenRecord {
        token_sha256: hash(row, 0)?,
        order_id: get(row, 1)?,
        used_by: get(row, 2)?,
        used_at: get(row, 3)?,
    })
}

/// `SELECT` of [`station`] rows: a station joined with its newest
/// certificate. Append a `WHERE` on `s`.
pub(crate) const STATION_SELECT: &str = "SELECT s.id, s.order_id, s.enrolled_at, s.revoked_at, \
     c.serial, c.certificate_der, c.public_key_sha256, c.not_before, c.not_after \
     FROM stations s JOIN station_certificates c ON c.serial = ( \
         SELECT n.serial FROM station_certificates n WHERE n.station_id = s.id \
         ORDER BY n.issued_at DESC, n.generation DESC LIMIT 1)";

pub(crate) fn station(row: &Row) -> Result<StationRecord, StoreError> {
    Ok(StationRecord {
        id: get(row, 0)?,
        order_id: get(row, 1)?,
        enrolled_at: get(row, 2)?,
        revoked_at: get(row, 3)?,
        current: StationCertificate {
            serial: get(row, 4)?,
            certificate_der: get(row, 5)?,
            public_key_sha256: hash(row, 6)?,
            not_before: get(row, 7)?,
            not_after: get(row, 8)?,
        },
    })
}

/// Columns read by [`offline_ca`], in order.
pub(crate) const OFFLINE_CA_COLUMNS: &str = "id, order_id, station_id, count, first_seq, \
     imported, log_size, log_frontier, closed_at, created_at";

pub(crate) fn offline_ca(row: &Row) -> Result<OfflineCaRecord, StoreError> {
    let first_seq: Option<i64> = get(row, 4)?;
    let frontier: Vec<u8> = get(row, 7)?;
    Ok(OfflineCaRecord {
        id: get(row, 0)?,
        order_id: get(row, 1)?,
        station_id: get(row, 2)?,
        count: unsigned(row, 3)?,
        first_seq: first_seq.map(|_| unsigned(row, 4)).transpose()?,
        imported: unsigned(row, 5)?,
        log_size: unsigned(row, 6)?,
        log_frontier: hashes(&frontier),
        closed_at: get(row, 8)?,
        created_at: get(row, 9)?,
    })
}

/// Decodes every row.
pub(crate) fn all<T>(
    rows: &[Row],
    decode: impl Fn(&Row) -> Result<T, StoreError>,
) -> Result<Vec<T>, StoreError> {
    rows.iter().map(decode).collect()
}
