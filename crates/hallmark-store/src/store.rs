//! The [`Store`] trait every backend implements.

use async_trait::async_trait;

use crate::StoreError;
use crate::model::{
    AuditEvent, AuditRecord, AuditSeq, AuthorityKey, CertificateRecord, IssuanceIntent, UnixSeconds,
};

/// Hallmark's durable state: the CA hierarchy's keys, issuance records and
/// the audit log.
///
/// Rules every backend keeps (checked by the conformance suite):
///
/// * **Atomic with its audit event.** Every mutating method takes the
///   [`AuditEvent`] describing it and commits the change and the event
///   together, or neither. On a refusal nothing at all is written; log the
///   refusal with [`append_audit`](Store::append_audit).
/// * **Durable before answered.** A mutating method returns `Ok` only after
///   its transaction is durably committed, so a certificate may be handed
///   out as soon as [`complete_issuance`](Store::complete_issuance) returns.
/// * **Uniqueness by the database.** Device ids, public keys (among pending
///   and issued records), serials (per CA, forever) and authority key ids
///   are unique indexes; under concurrency the database decides who wins,
///   across processes and server nodes.
/// * **Gap-free audit sequence.** Appended events get `seq` 1, 2, 3, … in
///   commit order.
///
/// Methods that return `Result<AuditSeq, _>` return the `seq` of the audit
/// event they appended.
#[async_trait]
pub trait Store: Send + Sync + std::fmt::Debug {
    /// Creates or upgrades the schema. Idempotent; call before anything else.
    async fn migrate(&self) -> Result<(), StoreError>;

    /// Stores a new authority key.
    ///
    /// Errors: [`StoreError::Duplicate`] (`what: "authority key"`) if the id
    /// exists; [`StoreError::NotFound`] if `parent_id` names no stored key.
    async fn insert_authority_key(
        &self,
        key: AuthorityKey,
        event: AuditEvent,
    ) -> Result<AuditSeq, StoreError>;

    /// All authority keys, ordered by `(created_at, id)`.
    async fn authority_keys(&self) -> Result<Vec<AuthorityKey>, StoreError>;

    /// One authority key by id.
    async fn authority_key(&self, id: &str) -> Result<Option<AuthorityKey>, StoreError>;

    /// Reserves device id, public key and serial for an issuance, inserting
    /// a pending record.
    ///
    /// Refusals, checked in this order:
    /// [`StoreError::Invalid`] (device id empty, serial not 1–20 bytes),
    /// [`StoreError::NotFound`] (unknown CA),
    /// [`StoreError::DeviceIdTaken`] (a pending or issued record has the
    /// device id), [`StoreError::PublicKeyTaken`] (a pending or issued
    /// record has the key; names that record's device),
    /// [`StoreError::SerialTaken`] (the CA used the serial before, in any
    /// status).
    async fn reserve_issuance(
        &self,
        intent: IssuanceIntent,
        event: AuditEvent,
    ) -> Result<AuditSeq, StoreError>;

    /// Marks a pending issuance as issued and stores its certificate.
    /// `issued_at` is set to `event.at`.
    ///
    /// Errors: [`StoreError::NotFound`], [`StoreError::NotPending`].
    async fn complete_issuance(
        &self,
        ca_id: &str,
        serial: &[u8],
        certificate_der: Vec<u8>,
        not_before: UnixSeconds,
        not_after: UnixSeconds,
        event: AuditEvent,
    ) -> Result<AuditSeq, StoreError>;

    /// Marks a pending issuance as failed: its device id and public key are
    /// free again, its serial stays used.
    ///
    /// Errors: [`StoreError::NotFound`], [`StoreError::NotPending`].
    async fn fail_issuance(
        &self,
        ca_id: &str,
        serial: &[u8],
        reason: String,
        event: AuditEvent,
    ) -> Result<AuditSeq, StoreError>;

    /// The pending or issued record for a device id (failed ones are
    /// ignored).
    async fn certificate_by_device(
        &self,
        device_id: &str,
    ) -> Result<Option<CertificateRecord>, StoreError>;

    /// The record for a serial of a CA, in any status.
    async fn certificate_by_serial(
        &self,
        ca_id: &str,
        serial: &[u8],
    ) -> Result<Option<CertificateRecord>, StoreError>;

    /// The device whose pending or issued record has this public key.
    async fn device_for_public_key(
        &self,
        public_key_sha256: &[u8; 32],
    ) -> Result<Option<String>, StoreError>;

    /// Pending records reserved before `requested_before` (unix seconds),
    /// oldest first: issuances that never completed (a crash between
    /// reserve and complete). They hold their device id and key until
    /// [`fail_issuance`](Store::fail_issuance) releases them.
    async fn pending_issuances(
        &self,
        requested_before: UnixSeconds,
    ) -> Result<Vec<CertificateRecord>, StoreError>;

    /// Number of issued certificates, of one CA or of all.
    async fn count_issued(&self, ca_id: Option<&str>) -> Result<u64, StoreError>;

    /// Up to `limit` audit records with `seq > after_seq`, in `seq` order.
    /// Start with `after_seq = 0`.
    async fn audit_events(
        &self,
        after_seq: AuditSeq,
        limit: u32,
    ) -> Result<Vec<AuditRecord>, StoreError>;

    /// Appends an audit event on its own (refusals, configuration changes).
    async fn append_audit(&self, event: AuditEvent) -> Result<AuditSeq, StoreError>;
}
