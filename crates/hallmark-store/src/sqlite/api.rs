//! [`Store`] for [`SqliteStore`]: writes go to the writer thread, reads to
//! the read-only pool.

use async_trait::async_trait;

use super::txn::{self, PreparedEvent};
use super::{
    SqliteStore, queries, queries_audit, queries_orders, queries_revocation, txn_audit,
    txn_issuance, txn_offline, txn_orders, txn_revocation, txn_stations,
};
use crate::model::{
    AuditEvent, AuditRecord, AuditSeq, AuthorityKey, CertificateRecord, IssuanceIntent,
    Reservation, StoredCheckpoint, UnixSeconds,
};
use crate::offline::{NewOfflineCa, OfflineCaRecord, OfflineImport};
use crate::orders::{NewOrder, OrderRecord, StationCertificate, StationRecord, StationTokenRecord};
use crate::revocation::{
    CertificateSelection, RevocationCandidate, RevocationOutcome, RevocationTargets,
    RevokedCertificate, SerialStatus, check_reason,
};
use crate::{IssueAtOnce, Settled, SignStep, Store, StoreError};

fn unix_now() -> UnixSeconds {
    time::OffsetDateTime::now_utc().unix_timestamp()
}

#[async_trait]
impl Store for SqliteStore {
    fn at_once(&self) -> Option<&dyn IssueAtOnce> {
        Some(self)
    }

    async fn migrate(&self) -> Result<(), StoreError> {
        let now = unix_now();
        if self.read_only {
            // Through the read-only writer connection: refused like every write.
            return self.writer.submit(move |tx| txn::migrate(tx, now)).await;
        }
        let path = self.path.clone();
        tokio::task::spawn_blocking(move || super::migrate_file(&path, now))
            .await
            .map_err(|e| StoreError::backend("migrate", e))?
    }

    async fn insert_authority_key(
        &self,
        key: AuthorityKey,
        event: AuditEvent,
    ) -> Result<AuditSeq, StoreError> {
        let event = PreparedEvent::new(event)?;
        self.writer
            .submit(move |tx| txn::insert_authority_key(tx, &key, &event))
            .await
    }

    async fn authority_keys(&self) -> Result<Vec<AuthorityKey>, StoreError> {
        self.readers.read(queries::authority_keys).await
    }

    async fn authority_key(&self, id: &str) -> Result<Option<AuthorityKey>, StoreError> {
        self.readers.lookup(|conn| queries::authority_key(conn, id))
    }

    async fn reserve_issuance(
        &self,
        intent: IssuanceIntent,
        event: AuditEvent,
    ) -> Result<Reservation, StoreError> {
        intent.validate()?;
        // Encoded inside the job: a template order assigns the device id
        // that goes into the event.
        self.writer
            .submit(move |tx| txn_issuance::reserve_issuance(tx, intent, event))
            .await
    }

    async fn complete_issuance(
        &self,
        ca_id: &str,
        serial: &[u8],
        certificate_der: Vec<u8>,
        not_before: UnixSeconds,
        not_after: UnixSeconds,
        event: AuditEvent,
    ) -> Result<AuditSeq, StoreError> {
        let event = PreparedEvent::new(event)?;
        let (ca_id, serial) = (ca_id.to_owned(), serial.to_vec());
        self.writer
            .submit(move |tx| {
                let validity = (not_before, not_after);
                txn_issuance::complete_issuance(
                    tx,
                    &ca_id,
                    &serial,
                    &certificate_der,
                    validity,
                    &event,
                )
            })
            .await
    }

    async fn fail_issuance(
        &self,
        ca_id: &str,
        serial: &[u8],
        reason: String,
        event: AuditEvent,
    ) -> Result<AuditSeq, StoreError> {
        let event = PreparedEvent::new(event)?;
        let (ca_id, serial) = (ca_id.to_owned(), serial.to_vec());
        self.writer
            .submit(move |tx| txn_issuance::fail_issuance(tx, &ca_id, &serial, &reason, &event))
            .await
    }

    async fn certificate_by_device(
        &self,
        device_id: &str,
    ) -> Result<Option<CertificateRecord>, StoreError> {
        self.readers
            .lookup(|conn| queries::certificate_by_device(conn, device_id))
    }

    async fn certificate_by_serial(
        &self,
        ca_id: &str,
        serial: &[u8],
    ) -> Result<Option<CertificateRecord>, StoreError> {
        self.readers
            .lookup(|conn| queries::certificate_by_serial(conn, ca_id, serial))
    }

    async fn device_for_public_key(
        &self,
        public_key_sha256: &[u8; 32],
    ) -> Result<Option<String>, StoreError> {
        self.readers
            .lookup(|conn| queries::live_device_for_key(conn, public_key_sha256))
    }

    async fn pending_issuances(
        &self,
        requested_before: UnixSeconds,
    ) -> Result<Vec<CertificateRecord>, StoreError> {
        self.readers
            .read(move |conn| queries::pending_before(conn, requested_before))
            .await
    }

    async fn issued_certificates(
        &self,
        order_id: Option<&str>,
    ) -> Result<Vec<CertificateRecord>, StoreError> {
        let order_id = order_id.map(str::to_owned);
        self.readers
            .read(move |conn| queries::issued_certificates(conn, order_id.as_deref()))
            .await
    }

    async fn count_issued(&self, ca_id: Option<&str>) -> Result<u64, StoreError> {
        let ca_id = ca_id.map(str::to_owned);
        self.readers
            .read(move |conn| queries::count_issued(conn, ca_id.as_deref()))
            .await
    }

    async fn audit_events(
        &self,
        after_seq: AuditSeq,
        limit: u32,
    ) -> Result<Vec<AuditRecord>, StoreError> {
        self.readers
            .read(move |conn| queries::audit_events(conn, after_seq, limit))
            .await
    }

    async fn append_audit(&self, event: AuditEvent) -> Result<AuditSeq, StoreError> {
        let event = PreparedEvent::new(event)?;
        self.writer
            .submit(move |tx| txn::append_audit(tx, &event))
            .await
    }

    async fn create_order(
        &self,
        order: NewOrder,
        station_tokens: Vec<[u8; 32]>,
        event: AuditEvent,
    ) -> Result<AuditSeq, StoreError> {
        txn_orders::validate_new_order(&order)?;
        let event = PreparedEvent::new(event)?;
        self.writer
            .submit(move |tx| txn_orders::create_order(tx, &order, &station_tokens, &event))
            .await
    }

    async fn add_station_tokens(
        &self,
        order_id: &str,
        station_tokens: Vec<[u8; 32]>,
        event: AuditEvent,
    ) -> Result<AuditSeq, StoreError> {
        let event = PreparedEvent::new(event)?;
        let order_id = order_id.to_owned();
        self.writer
            .submit(move |tx| {
                txn_orders::add_station_tokens(tx, &order_id, &station_tokens, &event)
            })
            .await
    }

    async fn order(&self, id: &str) -> Result<Option<OrderRecord>, StoreError> {
        self.readers.lookup(|conn| queries_orders::order(conn, id))
    }

    async fn orders(&self) -> Result<Vec<OrderRecord>, StoreError> {
        self.readers.read(queries_orders::orders).await
    }

    async fn close_order(&self, id: &str, event: AuditEvent) -> Result<AuditSeq, StoreError> {
        let event = PreparedEvent::new(event)?;
        let id = id.to_owned();
        self.writer
            .submit(move |tx| txn_orders::close_order(tx, &id, &event))
            .await
    }

    async fn record_refusal(
        &self,
        order_id: Option<&str>,
        event: AuditEvent,
    ) -> Result<AuditSeq, StoreError> {
        let event = PreparedEvent::new(event)?;
        let order_id = order_id.map(str::to_owned);
        self.writer
            .submit(move |tx| txn_orders::record_refusal(tx, order_id.as_deref(), &event))
            .await
    }

    async fn station_token(
        &self,
        token_sha256: &[u8; 32],
    ) -> Result<Option<StationTokenRecord>, StoreError> {
        self.readers
            .lookup(|conn| queries_orders::station_token(conn, token_sha256))
    }

    async fn enroll_station(
        &self,
        token_sha256: &[u8; 32],
        station_id: &str,
        certificate: StationCertificate,
        event: AuditEvent,
    ) -> Result<AuditSeq, StoreError> {
        txn_stations::validate_certificate(&certificate)?;
        let event = PreparedEvent::new(event)?;
        let (token, station_id) = (*token_sha256, station_id.to_owned());
        self.writer
            .submit(move |tx| {
                txn_stations::enroll_station(tx, &token, &station_id, &certificate, &event)
            })
            .await
    }

    async fn renew_station(
        &self,
        station_id: &str,
        certificate: StationCertificate,
        event: AuditEvent,
    ) -> Result<AuditSeq, StoreError> {
        txn_stations::validate_certificate(&certificate)?;
        let event = PreparedEvent::new(event)?;
        let station_id = station_id.to_owned();
        self.writer
            .submit(move |tx| txn_stations::renew_station(tx, &station_id, &certificate, &event))
            .await
    }

    async fn station(&self, id: &str) -> Result<Option<StationRecord>, StoreError> {
        self.readers
            .lookup(|conn| queries_orders::station(conn, id))
    }

    async fn station_by_certificate(
        &self,
        serial: &[u8],
    ) -> Result<Option<StationRecord>, StoreError> {
        self.readers
            .lookup(|conn| queries_orders::station_by_certificate(conn, serial))
    }

    async fn stations(&self, order_id: Option<&str>) -> Result<Vec<StationRecord>, StoreError> {
        let order_id = order_id.map(str::to_owned);
        self.readers
            .read(move |conn| queries_orders::stations(conn, order_id.as_deref()))
            .await
    }

    async fn acquire_sequencer(
        &self,
        holder: &str,
        now: UnixSeconds,
        ttl_seconds: i64,
    ) -> Result<bool, StoreError> {
        let holder = holder.to_owned();
        self.writer
            .submit(move |tx| txn_audit::acquire_sequencer(tx, &holder, now, ttl_seconds))
            .await
    }

    async fn audit_leaf_hashes(
        &self,
        after_seq: AuditSeq,
        limit: u32,
    ) -> Result<Vec<(AuditSeq, [u8; 32])>, StoreError> {
        self.readers
            .read(move |conn| queries_audit::leaf_hashes(conn, after_seq, limit))
            .await
    }

    async fn integrate_audit(
        &self,
        holder: &str,
        now: UnixSeconds,
        first_seq: AuditSeq,
        leaf_hashes: Vec<[u8; 32]>,
        checkpoint: Option<StoredCheckpoint>,
    ) -> Result<(), StoreError> {
        let holder = holder.to_owned();
        self.writer
            .submit(move |tx| {
                txn_audit::integrate_audit(
                    tx,
                    &holder,
                    now,
                    first_seq,
                    &leaf_hashes,
                    checkpoint.as_ref(),
                )
            })
            .await
    }

    async fn audit_checkpoints(&self) -> Result<Vec<StoredCheckpoint>, StoreError> {
        self.readers.read(queries_audit::checkpoints).await
    }

    async fn revoke(
        &self,
        targets: RevocationTargets,
        reason: u8,
        event: AuditEvent,
    ) -> Result<RevocationOutcome, StoreError> {
        check_reason(reason)?;
        // Encoded inside the job, which writes what actually changed into it.
        self.writer
            .submit(move |tx| txn_revocation::revoke(tx, &targets, reason, event))
            .await
    }

    async fn revocation_candidates(
        &self,
        selection: &CertificateSelection,
    ) -> Result<Vec<RevocationCandidate>, StoreError> {
        let selection = selection.clone();
        self.readers
            .read(move |conn| queries_revocation::candidates(conn, &selection))
            .await
    }

    async fn revocations(&self, ca_id: &str) -> Result<Vec<RevokedCertificate>, StoreError> {
        let ca_id = ca_id.to_owned();
        self.readers
            .read(move |conn| queries_revocation::revocations(conn, &ca_id))
            .await
    }

    async fn revocation_status(
        &self,
        ca_id: &str,
        serial: &[u8],
    ) -> Result<Option<SerialStatus>, StoreError> {
        self.readers
            .lookup(|conn| queries_revocation::status(conn, ca_id, serial))
    }

    async fn revocation_version(&self, ca_id: &str) -> Result<AuditSeq, StoreError> {
        self.readers
            .lookup(|conn| queries_revocation::version(conn, ca_id))
    }

    async fn next_crl_number(
        &self,
        ca_id: &str,
        this_update: UnixSeconds,
        event: AuditEvent,
    ) -> Result<u64, StoreError> {
        // Encoded inside the job, which writes the number into it.
        let ca_id = ca_id.to_owned();
        self.writer
            .submit(move |tx| txn_revocation::next_crl_number(tx, &ca_id, this_update, event))
            .await
    }

    async fn allocate_offline_ca(
        &self,
        ca: NewOfflineCa,
        event: AuditEvent,
    ) -> Result<OfflineCaRecord, StoreError> {
        let event = PreparedEvent::new(event)?;
        self.writer
            .submit(move |tx| txn_offline::allocate_offline_ca(tx, &ca, &event))
            .await
    }

    async fn offline_ca(&self, id: &str) -> Result<Option<OfflineCaRecord>, StoreError> {
        self.readers
            .lookup(|conn| txn_offline::offline_ca(conn, id))
    }

    async fn import_offline(
        &self,
        import: OfflineImport,
        events: Vec<AuditEvent>,
    ) -> Result<AuditSeq, StoreError> {
        let events = events
            .into_iter()
            .map(PreparedEvent::new)
            .collect::<Result<Vec<_>, _>>()?;
        self.writer
            .submit(move |tx| txn_offline::import_offline(tx, &import, &events))
            .await
    }

    async fn close_offline_ca(
        &self,
        id: &str,
        event: AuditEvent,
    ) -> Result<OfflineCaRecord, StoreError> {
        let event = PreparedEvent::new(event)?;
        let id = id.to_owned();
        self.writer
            .submit(move |tx| txn_offline::close_offline_ca(tx, &id, &event))
            .await
    }
}

#[async_trait]
impl IssueAtOnce for SqliteStore {
    async fn issue_at_once(
        &self,
        intent: IssuanceIntent,
        event: AuditEvent,
        sign: SignStep,
    ) -> Result<Settled, StoreError> {
        intent.validate()?;
        self.writer
            .submit(move |tx| txn_issuance::issue_at_once(tx, intent, event, sign))
            .await
    }
}
