//! Rows ⇄ records.

use crate::model::IssuanceIntent;
use rusqlite::Row;
use rusqlite::types::{FromSql, FromSqlError, FromSqlResult, ToSql, ToSqlOutput, ValueRef};

use crate::model::{
    AuditRecord, AuthorityKey, CertificateRecord, IssuanceStatus, KeyOrigin, KeyRole,
};

macro_rules! sql_text_enum {
    ($($ty:ty),+) => {$(
        impl ToSql for $ty {
            fn to_sql(&self) -> rusqlite::Result<ToSqlOutput<'_>> {
                Ok(ToSqlOutput::from(self.as_str()))
            }
        }

        impl FromSql for $ty {
            fn column_result(value: ValueRef<'_>) -> FromSqlResult<Self> {
                value
                    .as_str()?
                    .parse()
                    .map_err(|e| FromSqlError::Other(Box::new(e)))
            }
        }
    )+};
}

sql_text_enum!(KeyRole, KeyOrigin, IssuanceStatus);

/// Columns read by [`authority_key`], in order.
pub(crate) const AUTHORITY_KEY_COLUMNS: &str = "id, role, parent_id, factory, subject, \
     algorithm, key_uri, certificate_der, not_after, created_at";

pub(crate) fn authority_key(row: &Row<'_>) -> rusqlite::Result<AuthorityKey> {
    Ok(AuthorityKey {
        id: row.get(0)?,
        role: row.get(1)?,
        parent_id: row.get(2)?,
        factory: row.get(3)?,
        subject: row.get(4)?,
        algorithm: row.get(5)?,
        key_uri: row.get(6)?,
        certificate_der: row.get(7)?,
        not_after: row.get(8)?,
        created_at: row.get(9)?,
    })
}

/// Columns read by [`certificate`], in order.
pub(crate) const CERTIFICATE_COLUMNS: &str = "ca_id, serial, device_id, public_key_sha256, \
     profile, key_origin, order_id, station_id, requested_at, status, certificate_der, \
     not_before, not_after, issued_at, failure_reason, renews";

pub(crate) fn certificate(row: &Row<'_>) -> rusqlite::Result<CertificateRecord> {
    Ok(CertificateRecord {
        intent: IssuanceIntent {
            ca_id: row.get(0)?,
            serial: row.get(1)?,
            device_id: row.get(2)?,
            public_key_sha256: row.get(3)?,
            profile: row.get(4)?,
            key_origin: row.get(5)?,
            order_id: row.get(6)?,
            station_id: row.get(7)?,
            requested_at: row.get(8)?,
            renews: row.get(15)?,
        },
        status: row.get(9)?,
        certificate_der: row.get(10)?,
        not_before: row.get(11)?,
        not_after: row.get(12)?,
        issued_at: row.get(13)?,
        failure_reason: row.get(14)?,
    })
}

/// Columns read by [`audit_record`], in order.
pub(crate) const AUDIT_COLUMNS: &str = "seq, kind, subject, at, data";

pub(crate) fn audit_record(row: &Row<'_>) -> rusqlite::Result<AuditRecord> {
    let data_json: Vec<u8> = row.get(4)?;
    let data = serde_json::from_slice(&data_json).map_err(|e| {
        rusqlite::Error::FromSqlConversionFailure(4, rusqlite::types::Type::Blob, Box::new(e))
    })?;
    Ok(AuditRecord {
        seq: row.get(0)?,
        kind: row.get(1)?,
        subject: row.get(2)?,
        at: row.get(3)?,
        data,
        data_json,
    })
}
