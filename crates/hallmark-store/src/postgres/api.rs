//! [`Store`] for [`PgStore`]: each write is one retried transaction
//! ([`in_transaction!`]), each read one statement on a pooled connection.
//! One-transaction issuance lives in `at_once.rs`.

use async_trait::async_trait;

use super::db::in_transaction;
use super::writes::{PreparedEvent, append_audit, insert_authority_key};
use super::{PgStore, issuance, migrate, offline, orders, reads, revocation, sequencer, stations};
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
use crate::{Store, StoreError};

fn unix_now() -> UnixSeconds {
    time::OffsetDateTime::now_utc().unix_timestamp()
}

#[async_trait]
impl Store for PgStore {
    fn at_once(&self) -> Option<&dyn crate::IssueAtOnce> {
        Some(self)
    }

    async fn migrate(&self) -> Result<(), StoreError> {
        let now = unix_now();
        in_transaction!(self, |tx| migrate::run(&tx, now).await)
    }

    async fn insert_authority_key(
        &self,
        key: AuthorityKey,
        event: AuditEvent,
    ) -> Result<AuditSeq, StoreError> {
        let event = PreparedEvent::new(event)?;
        in_transaction!(self, |tx| insert_authority_key(&tx, &key, &event).await)
    }

    async fn authority_keys(&self) -> Result<Vec<AuthorityKey>, StoreError> {
        reads::authority_keys(&self.client().await?).await
    }

    async fn authority_key(&self, id: &str) -> Result<Option<AuthorityKey>, StoreError> {
        reads::authority_key(&self.client().await?, id).await
    }

    async fn reserve_issuance(
        &self,
        intent: IssuanceIntent,
        event: AuditEvent,
    ) -> Result<Reservation, StoreError> {
        intent.validate()?;
        // The event is encoded inside: a template order assigns the device
        // id that goes into it.
        in_transaction!(self, |tx| issuance::reserve_issuance(&tx, &intent, &event)
            .await)
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
        let validity = (not_before, not_after);
        in_transaction!(self, |tx| {
            issuance::complete_issuance(&tx, ca_id, serial, &certificate_der, validity, &event)
                .await
        })
    }

    async fn fail_issuance(
        &self,
        ca_id: &str,
        serial: &[u8],
        reason: String,
        event: AuditEvent,
    ) -> Result<AuditSeq, StoreError> {
        let event = PreparedEvent::new(event)?;
        in_transaction!(self, |tx| {
            issuance::fail_issuance(&tx, ca_id, serial, &reason, &event).await
        })
    }

    async fn certificate_by_device(
        &self,
        device_id: &str,
    ) -> Result<Option<CertificateRecord>, StoreError> {
        reads::certificate_by_device(&self.client().await?, device_id).await
    }

    async fn certificate_by_serial(
        &self,
        ca_id: &str,
        serial: &[u8],
    ) -> Result<Option<CertificateRecord>, StoreError> {
        reads::certificate_by_serial(&self.client().await?, ca_id, serial).await
    }

    async fn device_for_public_key(
        &self,
        public_key_sha256: &[u8; 32],
    ) -> Result<Option<String>, StoreError> {
        reads::live_device_for_key(&self.client().await?, public_key_sha256).await
    }

    async fn pending_issuances(
        &self,
        requested_before: UnixSeconds,
    ) -> Result<Vec<CertificateRecord>, StoreError> {
        reads::pending_before(&self.client().await?, requested_before).await
    }

    async fn issued_certificates(
        &self,
        order_id: Option<&str>,
    ) -> Result<Vec<CertificateRecord>, StoreError> {
        reads::issued_certificates(&self.client().await?, order_id).await
    }

    async fn count_issued(&self, ca_id: Option<&str>) -> Result<u64, StoreError> {
        reads::count_issued(&self.client().await?, ca_id).await
    }

    async fn audit_events(
        &self,
        after_seq: AuditSeq,
        limit: u32,
    ) -> Result<Vec<AuditRecord>, StoreError> {
        reads::audit_events(&self.client().await?, after_seq, limit).await
    }

    async fn append_audit(&self, event: AuditEvent) -> Result<AuditSeq, StoreError> {
        let event = PreparedEvent::new(event)?;
        in_transaction!(self, |tx| append_audit(&tx, &event).await)
    }

    async fn create_order(
        &self,
        order: NewOrder,
        station_tokens: Vec<[u8; 32]>,
        event: AuditEvent,
    ) -> Result<AuditSeq, StoreError> {
        orders::validate_new_order(&order)?;
        let event = PreparedEvent::new(event)?;
        in_transaction!(self, |tx| {
            orders::create_order(&tx, &order, &station_tokens, &event).await
        })
    }

    async fn add_station_tokens(
        &self,
        order_id: &str,
        station_tokens: Vec<[u8; 32]>,
        event: AuditEvent,
    ) -> Result<AuditSeq, StoreError> {
        let event = PreparedEvent::new(event)?;
        in_transaction!(self, |tx| {
            orders::add_station_tokens(&tx, order_id, &station_tokens, &event).await
        })
    }

    async fn order(&self, id: &str) -> Result<Option<OrderRecord>, StoreError> {
        reads::order(&self.client().await?, id).await
    }

    async fn orders(&self) -> Result<Vec<OrderRecord>, StoreError> {
        reads::orders(&self.client().await?).await
    }

    async fn close_order(&self, id: &str, event: AuditEvent) -> Result<AuditSeq, StoreError> {
        let event = PreparedEvent::new(event)?;
        in_transaction!(self, |tx| orders::close_order(&tx, id, &event).await)
    }

    async fn record_refusal(
        &self,
        order_id: Option<&str>,
        event: AuditEvent,
    ) -> Result<AuditSeq, StoreError> {
        let event = PreparedEvent::new(event)?;
        in_transaction!(self, |tx| orders::record_refusal(&tx, order_id, &event)
            .await)
    }

    async fn station_token(
        &self,
        token_sha256: &[u8; 32],
    ) -> Result<Option<StationTokenRecord>, StoreError> {
        reads::station_token(&self.client().await?, token_sha256).await
    }

    async fn enroll_station(
        &self,
        token_sha256: &[u8; 32],
        station_id: &str,
        certificate: StationCertificate,
        event: AuditEvent,
    ) -> Result<AuditSeq, StoreError> {
        stations::validate_certificate(&certificate)?;
        let event = PreparedEvent::new(event)?;
        in_transaction!(self, |tx| {
            stations::enroll_station(&tx, token_sha256, station_id, &certificate, &event).await
        })
    }

    async fn renew_station(
        &self,
        station_id: &str,
        certificate: StationCertificate,
        event: AuditEvent,
    ) -> Result<AuditSeq, StoreError> {
        stations::validate_certificate(&certificate)?;
        let event = PreparedEvent::new(event)?;
        in_transaction!(self, |tx| {
            stations::renew_station(&tx, station_id, &certificate, &event).await
        })
    }

    async fn station(&self, id: &str) -> Result<Option<StationRecord>, StoreError> {
        reads::station(&self.client().await?, id).await
    }

    async fn station_by_certificate(
        &self,
        serial: &[u8],
    ) -> Result<Option<StationRecord>, StoreError> {
        reads::station_by_certificate(&self.client().await?, serial).await
    }

    async fn stations(&self, order_id: Option<&str>) -> Result<Vec<StationRecord>, StoreError> {
        reads::stations(&self.client().await?, order_id).await
    }

    async fn acquire_sequencer(
        &self,
        holder: &str,
        now: UnixSeconds,
        ttl_seconds: i64,
    ) -> Result<bool, StoreError> {
        in_transaction!(self, |tx| {
            sequencer::acquire_sequencer(&tx, holder, now, ttl_seconds).await
        })
    }

    async fn audit_leaf_hashes(
        &self,
        after_seq: AuditSeq,
        limit: u32,
    ) -> Result<Vec<(AuditSeq, [u8; 32])>, StoreError> {
        reads::leaf_hashes(&self.client().await?, after_seq, limit).await
    }

    async fn integrate_audit(
        &self,
        holder: &str,
        now: UnixSeconds,
        first_seq: AuditSeq,
        leaf_hashes: Vec<[u8; 32]>,
        checkpoint: Option<StoredCheckpoint>,
    ) -> Result<(), StoreError> {
        in_transaction!(self, |tx| {
            sequencer::integrate_audit(
                &tx,
                holder,
                now,
                first_seq,
                &leaf_hashes,
                checkpoint.as_ref(),
            )
            .await
        })
    }

    async fn audit_checkpoints(&self) -> Result<Vec<StoredCheckpoint>, StoreError> {
        reads::checkpoints(&self.client().await?).await
    }

    async fn revoke(
        &self,
        targets: RevocationTargets,
        reason: u8,
        event: AuditEvent,
    ) -> Result<RevocationOutcome, StoreError> {
        check_reason(reason)?;
        // Encoded inside: what actually changed is written into the event.
        in_transaction!(self, |tx| revocation::revoke(&tx, &targets, reason, &event)
            .await)
    }

    async fn revocation_candidates(
        &self,
        selection: &CertificateSelection,
    ) -> Result<Vec<RevocationCandidate>, StoreError> {
        revocation::candidates(&self.client().await?, selection).await
    }

    async fn revocations(&self, ca_id: &str) -> Result<Vec<RevokedCertificate>, StoreError> {
        revocation::revocations(&self.client().await?, ca_id).await
    }

    async fn revocation_status(
        &self,
        ca_id: &str,
        serial: &[u8],
    ) -> Result<Option<SerialStatus>, StoreError> {
        revocation::status(&self.client().await?, ca_id, serial).await
    }

    async fn revocation_version(&self, ca_id: &str) -> Result<AuditSeq, StoreError> {
        revocation::version(&self.client().await?, ca_id).await
    }

    async fn next_crl_number(
        &self,
        ca_id: &str,
        this_update: UnixSeconds,
        event: AuditEvent,
    ) -> Result<u64, StoreError> {
        in_transaction!(self, |tx| {
            revocation::next_crl_number(&tx, ca_id, this_update, &event).await
        })
    }

    async fn allocate_offline_ca(
        &self,
        ca: NewOfflineCa,
        event: AuditEvent,
    ) -> Result<OfflineCaRecord, StoreError> {
        let event = PreparedEvent::new(event)?;
        in_transaction!(self, |tx| offline::allocate_offline_ca(&tx, &ca, &event)
            .await)
    }

    async fn offline_ca(&self, id: &str) -> Result<Option<OfflineCaRecord>, StoreError> {
        reads::offline_ca(&self.client().await?, id).await
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
        in_transaction!(self, |tx| offline::import_offline(&tx, &import, &events)
            .await)
    }

    async fn close_offline_ca(
        &self,
        id: &str,
        event: AuditEvent,
    ) -> Result<OfflineCaRecord, StoreError> {
        let event = PreparedEvent::new(event)?;
        in_transaction!(self, |tx| offline::close_offline_ca(&tx, id, &event).await)
    }
}
