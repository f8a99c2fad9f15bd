//! Writes shared by all others: the audit log and authority keys.

use deadpool_postgres::GenericClient;

use super::db::{self, duplicate_or};
use crate::StoreError;
use crate::model::{AuditEvent, AuditSeq, AuthorityKey, KeyRole};

/// An audit event whose data is already encoded: these bytes are stored.
#[derive(Debug)]
pub(crate) struct PreparedEvent {
    kind: String,
    subject: Option<String>,
    /// When it happened (also the time a few operations record).
    pub(crate) at: i64,
    data_json: Vec<u8>,
}

impl PreparedEvent {
    pub(crate) fn new(event: AuditEvent) -> Result<Self, StoreError> {
        let data_json = event.encode_data()?;
        Ok(PreparedEvent {
            kind: event.kind,
            subject: event.subject,
            at: event.at,
            data_json,
        })
    }
}

/// Appends an event with the next seq. Call it as the transaction's last
/// write: the counter row stays locked until commit, which is what keeps
/// seqs gap-free and in commit order across connections.
pub(crate) async fn append_audit<C: GenericClient>(
    c: &C,
    event: &PreparedEvent,
) -> Result<AuditSeq, StoreError> {
    let row = db::query_one(
        c,
        "append audit event",
        "WITH next AS (UPDATE audit_head SET last_seq = last_seq + 1 WHERE id = 1 \
                       RETURNING last_seq) \
         INSERT INTO audit_log (seq, kind, subject, at, data) \
         SELECT last_seq, $1, $2, $3, $4 FROM next RETURNING seq",
        &[&event.kind, &event.subject, &event.at, &event.data_json],
    )
    .await?;
    db::get(&row, 0)
}

/// The role of a stored authority key.
pub(crate) async fn authority_key_role<C: GenericClient>(
    c: &C,
    id: &str,
) -> Result<Option<KeyRole>, StoreError> {
    let row = db::query_opt(
        c,
        "look up authority key",
        "SELECT role FROM authority_keys WHERE id = $1",
        &[&id],
    )
    .await?;
    row.as_ref()
        .map(|row| super::codec::text_enum(row, 0))
        .transpose()
}

pub(crate) async fn authority_key_exists<C: GenericClient>(
    c: &C,
    id: &str,
) -> Result<bool, StoreError> {
    Ok(authority_key_role(c, id).await?.is_some())
}

pub(crate) async fn insert_authority_key<C: GenericClient>(
    c: &C,
    key: &AuthorityKey,
    event: &PreparedEvent,
) -> Result<AuditSeq, StoreError> {
    if let Some(parent) = &key.parent_id
        && !authority_key_exists(c, parent).await?
    {
        return Err(StoreError::NotFound {
            what: "parent authority key",
            key: parent.clone(),
        });
    }
    db::execute_raw(
        c,
        "INSERT INTO authority_keys (id, role, parent_id, factory, subject, algorithm, \
         key_uri, certificate_der, not_after, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
        &[
            &key.id,
            &key.role.as_str(),
            &key.parent_id,
            &key.factory,
            &key.subject,
            &key.algorithm,
            &key.key_uri,
            &key.certificate_der,
            &key.not_after,
            &key.created_at,
        ],
    )
    .await
    .map_err(duplicate_or(
        "authority key",
        || key.id.clone(),
        "insert authority key",
    ))?;
    append_audit(c, event).await
}
