//! The [`Store`] trait every backend implements.

use async_trait::async_trait;

use crate::StoreError;
use crate::at_once::IssueAtOnce;
use crate::model::{
    AuditEvent, AuditRecord, AuditSeq, AuthorityKey, CertificateRecord, IssuanceIntent,
    Reservation, StoredCheckpoint, UnixSeconds,
};
use crate::offline::{NewOfflineCa, OfflineCaRecord, OfflineImport};
use crate::orders::{NewOrder, OrderRecord, StationCertificate, StationRecord, StationTokenRecord};
use crate::revocation::{
    CertificateSelection, RevocationCandidate, RevocationOutcome, RevocationTargets,
    RevokedCertificate, SerialStatus,
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
    /// The store's one-transaction issuance, if it has one (see
    /// [`IssueAtOnce`]). `None`, the default, means reserve, complete and
    /// fail are separate commits.
    fn at_once(&self) -> Option<&dyn IssueAtOnce> {
        None
    }

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
    /// **Under an order** (`intent.order_id` set, `intent.renews` not set)
    /// the reservation also consumes one unit of the order's quota, in the
    /// same transaction: the order must exist, be open and inside its
    /// window at `intent.requested_at`, and have quota left. If the order's
    /// rule is [`DeviceIdRule::Template`](crate::DeviceIdRule::Template),
    /// the store assigns the device id: `intent.device_id` must be empty,
    /// the order's sequence advances by one, and the rendered id is
    /// returned in the [`Reservation`], written into the record, set as the
    /// event's `subject` and as the `device_id` field of its data (when the
    /// data is a JSON object). A sequence number is never handed out twice,
    /// also not after a failed issuance.
    ///
    /// **A renewal** (`intent.renews` = the serial of an *issued* record of
    /// the same CA and device id) marks that record
    /// [`Superseded`](crate::IssuanceStatus::Superseded) in the same
    /// transaction, so the device id and (if unchanged) the key are free for
    /// the new record. Renewals never consume quota. If the renewal fails,
    /// [`fail_issuance`](Store::fail_issuance) restores the old record to
    /// `Issued`.
    ///
    /// Refusals, checked in this order:
    /// [`StoreError::Invalid`] (device id empty without a template, or set
    /// with one; serial not 1–20 bytes),
    /// [`StoreError::NotFound`] (unknown CA; unknown order; `renews` naming
    /// no issued record of this CA and device),
    /// [`StoreError::OrderUnavailable`], [`StoreError::QuotaExhausted`],
    /// [`StoreError::DeviceIdTaken`] (a pending or issued record has the
    /// device id), [`StoreError::PublicKeyTaken`] (a pending or issued
    /// record has the key; names that record's device),
    /// [`StoreError::SerialTaken`] (the CA used the serial before, in any
    /// status).
    async fn reserve_issuance(
        &self,
        intent: IssuanceIntent,
        event: AuditEvent,
    ) -> Result<Reservation, StoreError>;

    /// Marks a pending issuance as issued and stores its certificate.
    /// `issued_at` is set to `event.at`.
    ///
    /// Errors: [`StoreError::NotFound`], [`StoreError::NotPending`],
    /// [`StoreError::StationRevoked`] when the station that asked was
    /// revoked while the issuance was in flight (the revocation wins; fail
    /// the issuance).
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
    /// free again, its serial stays used, its order gets the quota unit
    /// back, and a record it was renewing is `Issued` again.
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

    /// Issued and superseded records, of one order or of all, in the order
    /// they were issued (for reconciliation and reports).
    async fn issued_certificates(
        &self,
        order_id: Option<&str>,
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

    /// Creates a production order with the SHA-256 hashes of its one-time
    /// station enrollment tokens.
    ///
    /// Errors: [`StoreError::Duplicate`] (`what: "order"` or
    /// `"station token"`); [`StoreError::NotFound`] if `order.factory` names
    /// no stored issuing CA; [`StoreError::Invalid`] for a quantity of 0 or
    /// `expires_at <= starts_at`.
    async fn create_order(
        &self,
        order: NewOrder,
        station_tokens: Vec<[u8; 32]>,
        event: AuditEvent,
    ) -> Result<AuditSeq, StoreError>;

    /// Adds station enrollment tokens to an existing, open order.
    ///
    /// Errors: [`StoreError::NotFound`], [`StoreError::OrderUnavailable`]
    /// (closed), [`StoreError::Duplicate`].
    async fn add_station_tokens(
        &self,
        order_id: &str,
        station_tokens: Vec<[u8; 32]>,
        event: AuditEvent,
    ) -> Result<AuditSeq, StoreError>;

    /// One order with its counters.
    async fn order(&self, id: &str) -> Result<Option<OrderRecord>, StoreError>;

    /// All orders with their counters, ordered by `(created_at, id)`.
    async fn orders(&self) -> Result<Vec<OrderRecord>, StoreError>;

    /// Closes an order at `event.at`: no more issuance or enrollment under
    /// it. Pending issuances may still complete.
    ///
    /// Errors: [`StoreError::NotFound`];
    /// [`StoreError::OrderUnavailable`] (`Closed`) if already closed.
    async fn close_order(&self, id: &str, event: AuditEvent) -> Result<AuditSeq, StoreError>;

    /// Appends the audit event of a refused request and, when `order_id`
    /// names a stored order, counts the refusal against it (one
    /// transaction). An unknown order id is not an error: the event is
    /// still appended.
    async fn record_refusal(
        &self,
        order_id: Option<&str>,
        event: AuditEvent,
    ) -> Result<AuditSeq, StoreError>;

    /// The token record for a token hash.
    async fn station_token(
        &self,
        token_sha256: &[u8; 32],
    ) -> Result<Option<StationTokenRecord>, StoreError>;

    /// Enrolls a station with a one-time token, in one transaction: the
    /// token must exist and be unused, its order open and inside its window
    /// at `event.at`; the token is marked used by `station_id`, the station
    /// is stored (under the token's order) with its first certificate.
    ///
    /// Errors: [`StoreError::TokenUnknown`], [`StoreError::TokenUsed`],
    /// [`StoreError::OrderUnavailable`], [`StoreError::Duplicate`] (station
    /// id or certificate serial exists).
    async fn enroll_station(
        &self,
        token_sha256: &[u8; 32],
        station_id: &str,
        certificate: StationCertificate,
        event: AuditEvent,
    ) -> Result<AuditSeq, StoreError>;

    /// Stores a station's new certificate (renewal), which becomes its
    /// current one; earlier certificates stay known until they expire.
    ///
    /// Errors: [`StoreError::NotFound`], [`StoreError::StationRevoked`],
    /// [`StoreError::Duplicate`] (serial exists).
    async fn renew_station(
        &self,
        station_id: &str,
        certificate: StationCertificate,
        event: AuditEvent,
    ) -> Result<AuditSeq, StoreError>;

    /// One station.
    async fn station(&self, id: &str) -> Result<Option<StationRecord>, StoreError>;

    /// The station holding the certificate with this serial (its current
    /// or an earlier one).
    async fn station_by_certificate(
        &self,
        serial: &[u8],
    ) -> Result<Option<StationRecord>, StoreError>;

    /// Stations of one order or of all, ordered by `(enrolled_at, id)`.
    async fn stations(&self, order_id: Option<&str>) -> Result<Vec<StationRecord>, StoreError>;

    /// Takes or renews the audit sequencer lease for `holder` until
    /// `now + ttl_seconds`. Returns `false` (and changes nothing) while
    /// another holder's lease has not expired: one sequencer at a time
    /// across every process and node on the database.
    async fn acquire_sequencer(
        &self,
        holder: &str,
        now: UnixSeconds,
        ttl_seconds: i64,
    ) -> Result<bool, StoreError>;

    /// Leaf hashes integrated so far with `seq > after_seq`, in seq order,
    /// at most `limit`.
    async fn audit_leaf_hashes(
        &self,
        after_seq: AuditSeq,
        limit: u32,
    ) -> Result<Vec<(AuditSeq, [u8; 32])>, StoreError>;

    /// Stores the leaf hashes of entries `first_seq ..` and, optionally, a
    /// checkpoint covering them, in one transaction. Refused with
    /// [`StoreError::NotSequencer`] unless `holder` holds an unexpired lease
    /// at `now`; with [`StoreError::Invalid`] unless `first_seq` follows the
    /// last integrated entry and the checkpoint's size is the new tree size
    /// and beyond the last checkpoint.
    async fn integrate_audit(
        &self,
        holder: &str,
        now: UnixSeconds,
        first_seq: AuditSeq,
        leaf_hashes: Vec<[u8; 32]>,
        checkpoint: Option<StoredCheckpoint>,
    ) -> Result<(), StoreError>;

    /// Every stored checkpoint, by tree size.
    async fn audit_checkpoints(&self) -> Result<Vec<StoredCheckpoint>, StoreError>;

    /// Revokes certificates and, optionally, a station's credential, in one
    /// transaction with `event`; the revocation time is `event.at`.
    ///
    /// Only issued and superseded certificates can be revoked. Revocation is
    /// idempotent: a target that is already revoked is skipped (its time and
    /// reason stay), as is a station already revoked. When nothing changes,
    /// nothing is written and [`RevocationOutcome::audit_seq`] is `None`.
    /// Otherwise the event is appended with what actually changed written
    /// into its data (when the data is a JSON object): `revoked` (a list of
    /// `{"ca", "serial" (hex), "device_id"}`), `already_revoked` (a count)
    /// and `station_revoked`.
    ///
    /// `reason` is an RFC 5280 `CRLReason` code
    /// ([`REVOCATION_REASON_CODES`](crate::revocation::REVOCATION_REASON_CODES)).
    ///
    /// Errors: [`StoreError::Invalid`] (reason code), [`StoreError::NotFound`]
    /// (a target that is not an issued or superseded certificate; an unknown
    /// station). A refusal writes nothing.
    async fn revoke(
        &self,
        targets: RevocationTargets,
        reason: u8,
        event: AuditEvent,
    ) -> Result<RevocationOutcome, StoreError>;

    /// Revokes a station's credential at `event.at` (see
    /// [`revoke`](Store::revoke)): authentication refuses it from then on.
    async fn revoke_station(
        &self,
        station_id: &str,
        event: AuditEvent,
    ) -> Result<RevocationOutcome, StoreError> {
        let targets = RevocationTargets {
            certificates: Vec::new(),
            station: Some(station_id.to_owned()),
        };
        self.revoke(targets, 0, event).await
    }

    /// The issued and superseded certificates a selection matches, each with
    /// its revocation if already revoked, ordered by `(issued_at, ca_id,
    /// serial)`.
    async fn revocation_candidates(
        &self,
        selection: &CertificateSelection,
    ) -> Result<Vec<RevocationCandidate>, StoreError>;

    /// Every revoked certificate of a CA, ordered by serial (what its CRL lists).
    async fn revocations(&self, ca_id: &str) -> Result<Vec<RevokedCertificate>, StoreError>;

    /// What the store knows of a CA's serial: `None` when the CA never used
    /// it (or the CA is unknown).
    async fn revocation_status(
        &self,
        ca_id: &str,
        serial: &[u8],
    ) -> Result<Option<SerialStatus>, StoreError>;

    /// The `seq` of the audit event that last revoked a certificate of the
    /// CA (0 when none): it changes exactly when the CA's revocation list
    /// does, so caches of CRLs and OCSP responses compare it.
    async fn revocation_version(&self, ca_id: &str) -> Result<AuditSeq, StoreError>;

    /// Takes the CA's next CRL number (1, 2, 3, …; never handed out twice,
    /// also across processes) for a CRL with `this_update`, and appends
    /// `event` with `crl_number` written into its data (when a JSON object).
    ///
    /// Errors: [`StoreError::NotFound`] (unknown CA).
    async fn next_crl_number(
        &self,
        ca_id: &str,
        this_update: UnixSeconds,
        event: AuditEvent,
    ) -> Result<u64, StoreError>;

    /// Allocates a station sub-CA for offline production, in one
    /// transaction: stores its authority key and takes `count` units of the
    /// order's quota (and, for a template order, `count` consecutive
    /// sequence numbers, recorded as `first_seq`). The order must be open
    /// and inside its window at `event.at` with `count` units left; the
    /// station must belong to the order and not be revoked.
    ///
    /// Errors: [`StoreError::Invalid`] (count 0, key role not
    /// `station_sub_ca`), [`StoreError::NotFound`] (order, station, parent
    /// key), [`StoreError::OrderUnavailable`], [`StoreError::QuotaExhausted`]
    /// (fewer than `count` units left), [`StoreError::StationRevoked`],
    /// [`StoreError::Duplicate`] (key id).
    async fn allocate_offline_ca(
        &self,
        ca: NewOfflineCa,
        event: AuditEvent,
    ) -> Result<OfflineCaRecord, StoreError>;

    /// One station sub-CA's allocation.
    async fn offline_ca(&self, id: &str) -> Result<Option<OfflineCaRecord>, StoreError>;

    /// Imports one verified upload of an offline log, in one transaction
    /// with `events` (appended in order): the certificates become issued
    /// records of the sub-CA under its order and station (they count as
    /// issued on the order), and the log position advances.
    ///
    /// Errors: [`StoreError::NotFound`], [`StoreError::OfflineClosed`],
    /// [`StoreError::OfflineLogOutOfSync`] (`log_size_before` is not the
    /// stored size), [`StoreError::OfflineCountExceeded`],
    /// [`StoreError::DeviceIdTaken`], [`StoreError::PublicKeyTaken`],
    /// [`StoreError::SerialTaken`], [`StoreError::Invalid`] (a serial not
    /// 1–20 bytes). A refusal writes nothing.
    async fn import_offline(
        &self,
        import: OfflineImport,
        events: Vec<AuditEvent>,
    ) -> Result<AuditSeq, StoreError>;

    /// Closes a station sub-CA at `event.at`: it takes no more uploads and
    /// its unused quota units go back to the order.
    ///
    /// Errors: [`StoreError::NotFound`], [`StoreError::OfflineClosed`].
    async fn close_offline_ca(
        &self,
        id: &str,
        event: AuditEvent,
    ) -> Result<OfflineCaRecord, StoreError>;
}
