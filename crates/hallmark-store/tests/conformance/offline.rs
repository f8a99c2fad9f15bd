//! Offline production: station sub-CA allocations, log imports, closing.

use hallmark_store::{
    IssuanceStatus, KeyOrigin, KeyRole, NewOfflineCa, OfflineCertificate, OfflineImport, Store,
    StoreError,
};

use super::fixtures::{
    NOW, TestResult, audit_len, authority_key, event, key_hash, refused, serial, setup_cas,
};
use super::order_fixtures::{
    ORDER, counters, order, order_intent, pattern_order, station_cert, template_order, token,
};

const OFFLINE_CA: &str = "offline-berlin";

/// CAs, an order of `quantity` (template ids when `template`), the offline
/// CA under the root and station `st-1` (and `st-2`) enrolled in the order.
async fn setup(store: &dyn Store, quantity: u64, template: bool) -> TestResult {
    setup_cas(store).await?;
    store
        .insert_authority_key(
            authority_key(OFFLINE_CA, KeyRole::OfflineCa, Some("root")),
            event("ca.created", OFFLINE_CA),
        )
        .await?;
    let order = if template {
        template_order(ORDER, quantity)?
    } else {
        pattern_order(ORDER, quantity)
    };
    store
        .create_order(
            order,
            vec![token(1), token(2)],
            event("order.created", ORDER),
        )
        .await?;
    for (n, id) in [(1, "st-1"), (2, "st-2")] {
        store
            .enroll_station(
                &token(n),
                id,
                station_cert(n),
                event("station.enrolled", id),
            )
            .await?;
    }
    Ok(())
}

fn sub_ca(id: &str, station: &str, count: u64) -> NewOfflineCa {
    NewOfflineCa {
        key: authority_key(id, KeyRole::StationSubCa, Some(OFFLINE_CA)),
        order_id: ORDER.to_owned(),
        station_id: station.to_owned(),
        count,
    }
}

async fn allocate(store: &dyn Store, ca: NewOfflineCa) -> Result<u64, StoreError> {
    let subject = ca.key.id.clone();
    store
        .allocate_offline_ca(ca, event("offline_ca.issued", &subject))
        .await
        .map(|record| record.count)
}

fn offline_cert(n: u64) -> OfflineCertificate {
    OfflineCertificate {
        serial: serial(100 + n),
        device_id: format!("dev-{n}"),
        public_key_sha256: key_hash(100 + n),
        key_origin: KeyOrigin::Device,
        certificate_der: vec![0x30, 0x01, n as u8],
        not_before: NOW,
        not_after: NOW + 3_600,
        issued_at: NOW + n as i64,
    }
}

fn upload(before: u64, after: u64, certs: Vec<OfflineCertificate>) -> OfflineImport {
    OfflineImport {
        ca_id: "sub-1".to_owned(),
        log_size_before: before,
        log_size: after,
        log_frontier: vec![[after as u8; 32]],
        certificates: certs,
        profile: "device".to_owned(),
    }
}

async fn import(store: &dyn Store, upload: OfflineImport) -> Result<i64, StoreError> {
    let events = upload
        .certificates
        .iter()
        .map(|c| event("certificate.issued", &c.device_id))
        .collect();
    store.import_offline(upload, events).await
}

/// An allocation takes its count from the quota at once; the order can
/// never be promised more than its quantity.
pub async fn allocation_takes_quota(store: &dyn Store) -> TestResult {
    setup(store, 5, false).await?;
    assert_eq!(allocate(store, sub_ca("sub-1", "st-1", 3)).await?, 3);
    let record = store.offline_ca("sub-1").await?.ok_or("sub-CA missing")?;
    assert_eq!(
        (
            record.order_id.as_str(),
            record.station_id.as_str(),
            record.first_seq,
            record.imported,
            record.log_size,
            record.created_at,
            record.closed_at,
        ),
        (ORDER, "st-1", None, 0, 0, NOW, None)
    );
    assert!(record.log_frontier.is_empty());
    let key = store.authority_key("sub-1").await?.ok_or("key missing")?;
    assert_eq!(key.role, KeyRole::StationSubCa);
    assert_eq!(order(store, ORDER).await?.left(), 2);

    let before = audit_len(store).await?;
    let err = refused(allocate(store, sub_ca("sub-2", "st-2", 3)).await)?;
    assert!(
        matches!(err, StoreError::QuotaExhausted { quantity: 5, .. }),
        "{err:?}"
    );
    assert_eq!(store.offline_ca("sub-2").await?, None);
    assert_eq!(store.authority_key("sub-2").await?, None);
    assert_eq!(audit_len(store).await?, before);
    assert_eq!(allocate(store, sub_ca("sub-2", "st-2", 2)).await?, 2);
    assert_eq!(order(store, ORDER).await?.left(), 0);
    let err = refused(
        store
            .reserve_issuance(order_intent(ORDER, "dev-9", 9, 9), event("r", "dev-9"))
            .await,
    )?;
    assert!(matches!(err, StoreError::QuotaExhausted { .. }), "{err:?}");
    Ok(())
}

/// Bad allocations are refused and write nothing.
pub async fn bad_allocations_refused(store: &dyn Store) -> TestResult {
    setup(store, 5, false).await?;
    let before = audit_len(store).await?;
    let err = refused(allocate(store, sub_ca("sub-1", "st-1", 0)).await)?;
    assert!(
        matches!(err, StoreError::Invalid { .. }),
        "count 0: {err:?}"
    );
    let mut wrong_role = sub_ca("sub-1", "st-1", 1);
    wrong_role.key.role = KeyRole::Issuing;
    let err = refused(allocate(store, wrong_role).await)?;
    assert!(matches!(err, StoreError::Invalid { .. }), "role: {err:?}");
    let err = refused(allocate(store, sub_ca("sub-1", "st-9", 1)).await)?;
    assert!(
        matches!(err, StoreError::NotFound { .. }),
        "station: {err:?}"
    );
    let mut other_order = sub_ca("sub-1", "st-1", 1);
    other_order.order_id = "ord-none".to_owned();
    let err = refused(allocate(store, other_order).await)?;
    assert!(matches!(err, StoreError::NotFound { .. }), "order: {err:?}");
    let mut late = sub_ca("sub-1", "st-1", 1);
    late.key.created_at = NOW;
    let mut expired = event("offline_ca.issued", "sub-1");
    expired.at = pattern_order(ORDER, 5).expires_at;
    let err = refused(store.allocate_offline_ca(late, expired).await)?;
    assert!(
        matches!(err, StoreError::OrderUnavailable { .. }),
        "expired order: {err:?}"
    );
    assert_eq!(audit_len(store).await?, before);
    assert_eq!(store.offline_ca("sub-1").await?, None);
    assert_eq!(counters(store, ORDER).await?, (0, 0, 0, 2));

    store
        .revoke_station("st-1", event("station.revoked", "st-1"))
        .await?;
    let err = refused(allocate(store, sub_ca("sub-1", "st-1", 1)).await)?;
    assert!(
        matches!(err, StoreError::StationRevoked { .. }),
        "revoked station: {err:?}"
    );
    Ok(())
}

/// Template orders reserve a block of consecutive sequence numbers; online
/// issuance continues after the block.
pub async fn template_block_reserved(store: &dyn Store) -> TestResult {
    setup(store, 10, true).await?;
    allocate(store, sub_ca("sub-1", "st-1", 3)).await?;
    allocate(store, sub_ca("sub-2", "st-2", 4)).await?;
    let first = |id: &'static str| async move {
        Ok::<_, StoreError>(store.offline_ca(id).await?.and_then(|r| r.first_seq))
    };
    assert_eq!(first("sub-1").await?, Some(1));
    assert_eq!(first("sub-2").await?, Some(4));
    let online = store
        .reserve_issuance(order_intent(ORDER, "", 1, 1), event("r", "online"))
        .await?;
    assert_eq!(online.device_id, "ACME-sensor-0008");
    Ok(())
}

/// An upload continues the log where the last ended; its certificates
/// become issued records of the sub-CA, counted on the order, with one
/// audit event each.
pub async fn import_continues_log(store: &dyn Store) -> TestResult {
    setup(store, 5, false).await?;
    allocate(store, sub_ca("sub-1", "st-1", 3)).await?;
    let before = audit_len(store).await?;
    let seq = import(store, upload(0, 4, vec![offline_cert(1), offline_cert(2)])).await?;
    assert_eq!(audit_len(store).await?, before + 2);
    assert_eq!(seq, (before + 2) as i64);
    let record = store
        .certificate_by_serial("sub-1", &serial(101))
        .await?
        .ok_or("imported certificate missing")?;
    assert_eq!(record.status, IssuanceStatus::Issued);
    assert_eq!(
        (
            record.intent.device_id.as_str(),
            record.intent.order_id.as_deref(),
            record.intent.station_id.as_deref(),
            record.intent.profile.as_str(),
            record.not_after,
            record.issued_at,
        ),
        (
            "dev-1",
            Some(ORDER),
            Some("st-1"),
            "device",
            Some(NOW + 3_600),
            Some(NOW + 1)
        )
    );
    assert_eq!(record.certificate_der, Some(vec![0x30, 0x01, 1]));
    assert_eq!(
        store
            .certificate_by_device("dev-2")
            .await?
            .map(|r| r.intent.serial),
        Some(serial(102))
    );
    let ca = store.offline_ca("sub-1").await?.ok_or("sub-CA missing")?;
    assert_eq!((ca.imported, ca.log_size, ca.left()), (2, 4, 1));
    assert_eq!(ca.log_frontier, vec![[4u8; 32]]);
    let o = order(store, ORDER).await?;
    assert_eq!((o.issued, o.left()), (2, 2));

    import(store, upload(4, 5, vec![offline_cert(3)])).await?;
    assert_eq!(order(store, ORDER).await?.issued, 3);
    Ok(())
}

/// A repeated, skipped or over-count upload, or one with a taken device id,
/// key or serial, is refused and writes nothing (not even its valid part).
pub async fn bad_imports_refused(store: &dyn Store) -> TestResult {
    setup(store, 5, false).await?;
    allocate(store, sub_ca("sub-1", "st-1", 3)).await?;
    import(store, upload(0, 1, vec![offline_cert(1)])).await?;
    store
        .reserve_issuance(order_intent(ORDER, "dev-7", 7, 7), event("r", "dev-7"))
        .await?;
    let before = audit_len(store).await?;

    let err = refused(import(store, upload(0, 1, vec![offline_cert(2)])).await)?;
    assert!(
        matches!(
            err,
            StoreError::OfflineLogOutOfSync {
                stored: 1,
                given: 0,
                ..
            }
        ),
        "replayed: {err:?}"
    );
    let err = refused(import(store, upload(3, 4, vec![offline_cert(2)])).await)?;
    assert!(
        matches!(
            err,
            StoreError::OfflineLogOutOfSync {
                stored: 1,
                given: 3,
                ..
            }
        ),
        "skipped: {err:?}"
    );
    let three = vec![offline_cert(2), offline_cert(3), offline_cert(4)];
    let err = refused(import(store, upload(1, 4, three)).await)?;
    assert!(
        matches!(
            err,
            StoreError::OfflineCountExceeded {
                count: 3,
                claimed: 4,
                ..
            }
        ),
        "over count: {err:?}"
    );
    let mut taken_id = offline_cert(3);
    taken_id.device_id = "dev-7".to_owned();
    let mut taken_key = offline_cert(4);
    taken_key.public_key_sha256 = key_hash(101);
    let mut taken_serial = offline_cert(5);
    taken_serial.serial = serial(101);
    for (bad, what) in [
        (taken_id, "id"),
        (taken_key, "key"),
        (taken_serial, "serial"),
    ] {
        let err = refused(import(store, upload(1, 2, vec![offline_cert(2), bad])).await)?;
        let expected = match what {
            "id" => matches!(err, StoreError::DeviceIdTaken { .. }),
            "key" => matches!(err, StoreError::PublicKeyTaken { .. }),
            _ => matches!(err, StoreError::SerialTaken { .. }),
        };
        assert!(expected, "taken {what}: {err:?}");
    }
    let err = refused(
        store
            .import_offline(
                OfflineImport {
                    ca_id: "sub-none".to_owned(),
                    ..upload(0, 1, vec![offline_cert(2)])
                },
                vec![event("certificate.issued", "dev-2")],
            )
            .await,
    )?;
    assert!(matches!(err, StoreError::NotFound { .. }), "{err:?}");

    assert_eq!(audit_len(store).await?, before);
    assert_eq!(store.certificate_by_device("dev-2").await?, None);
    let ca = store.offline_ca("sub-1").await?.ok_or("sub-CA missing")?;
    assert_eq!((ca.imported, ca.log_size), (1, 1));
    assert_eq!(counters(store, ORDER).await?.0, 1);
    Ok(())
}

/// Closing returns the unused units to the order and ends uploads.
pub async fn close_returns_unused_quota(store: &dyn Store) -> TestResult {
    setup(store, 5, false).await?;
    allocate(store, sub_ca("sub-1", "st-1", 4)).await?;
    import(store, upload(0, 1, vec![offline_cert(1)])).await?;
    assert_eq!(order(store, ORDER).await?.left(), 1);
    let mut closing = event("offline_ca.closed", "sub-1");
    closing.at = NOW + 60;
    let closed = store.close_offline_ca("sub-1", closing).await?;
    assert_eq!((closed.closed_at, closed.imported), (Some(NOW + 60), 1));
    let o = order(store, ORDER).await?;
    assert_eq!((o.issued, o.pending, o.left()), (1, 0, 4));

    let before = audit_len(store).await?;
    let err = refused(import(store, upload(1, 2, vec![offline_cert(2)])).await)?;
    assert!(matches!(err, StoreError::OfflineClosed { .. }), "{err:?}");
    let err = refused(
        store
            .close_offline_ca("sub-1", event("offline_ca.closed", "sub-1"))
            .await,
    )?;
    assert!(matches!(err, StoreError::OfflineClosed { .. }), "{err:?}");
    let err = refused(
        store
            .close_offline_ca("sub-none", event("offline_ca.closed", "sub-none"))
            .await,
    )?;
    assert!(matches!(err, StoreError::NotFound { .. }), "{err:?}");
    assert_eq!(audit_len(store).await?, before);
    Ok(())
}
