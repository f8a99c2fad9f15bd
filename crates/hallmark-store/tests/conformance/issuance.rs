//! Reserve / complete / fail and the uniqueness rules.

use hallmark_store::{AuditSeq, IssuanceStatus, KeyOrigin, Store, StoreError};

use super::fixtures::{
    CA, NOW, OTHER_CA, TestResult, audit_len, event, intent, key_hash, refused, serial, setup_cas,
};

const CERT: &[u8] = &[0x30, 0x82, 0x02, 0x10, 0xde, 0xad];

/// Pending after reserve, issued after complete, visible through every read.
pub async fn reserve_complete_lifecycle(store: &dyn Store) -> TestResult {
    setup_cas(store).await?;
    let mut wanted = intent("dev-1", 1, 1);
    wanted.key_origin = KeyOrigin::Pregenerated;
    let reserved = store
        .reserve_issuance(wanted.clone(), event("issuance.reserved", "dev-1"))
        .await?;

    let pending = store
        .certificate_by_device("dev-1")
        .await?
        .ok_or("no pending record")?;
    assert_eq!(pending.status, IssuanceStatus::Pending);
    assert_eq!(pending.intent.key_origin, KeyOrigin::Pregenerated);
    assert_eq!(
        (pending.certificate_der.as_ref(), pending.issued_at),
        (None, None)
    );
    assert_eq!(
        store.device_for_public_key(&key_hash(1)).await?.as_deref(),
        Some("dev-1")
    );
    assert_eq!(store.count_issued(None).await?, 0, "pending is not issued");

    let mut issued_event = event("certificate.issued", "dev-1");
    issued_event.at = NOW + 5;
    let completed = store
        .complete_issuance(
            CA,
            &serial(1),
            CERT.to_vec(),
            NOW - 60,
            NOW + 86_400,
            issued_event,
        )
        .await?;
    assert_eq!(completed, reserved.audit_seq + 1);
    assert_eq!(reserved.device_id, "dev-1", "the given device id is kept");

    let record = store
        .certificate_by_serial(CA, &serial(1))
        .await?
        .ok_or("no record")?;
    assert_eq!(record.status, IssuanceStatus::Issued);
    assert_eq!(record.certificate_der.as_deref(), Some(CERT));
    assert_eq!(
        (record.not_before, record.not_after),
        (Some(NOW - 60), Some(NOW + 86_400))
    );
    assert_eq!(
        record.issued_at,
        Some(NOW + 5),
        "issued_at is the event's time"
    );
    assert_eq!(
        (
            &record.intent.ca_id,
            &record.intent.serial,
            &record.intent.device_id,
            &record.intent.public_key_sha256
        ),
        (
            &wanted.ca_id,
            &wanted.serial,
            &wanted.device_id,
            &wanted.public_key_sha256
        )
    );
    assert_eq!(
        (
            &record.intent.profile,
            &record.intent.order_id,
            &record.intent.station_id,
            record.intent.requested_at
        ),
        (
            &wanted.profile,
            &wanted.order_id,
            &wanted.station_id,
            wanted.requested_at
        )
    );
    assert_eq!(store.certificate_by_device("dev-1").await?, Some(record));
    assert_eq!(
        store.certificate_by_serial(OTHER_CA, &serial(1)).await?,
        None
    );
    assert_eq!(store.count_issued(None).await?, 1);
    assert_eq!(store.count_issued(Some(CA)).await?, 1);
    assert_eq!(store.count_issued(Some(OTHER_CA)).await?, 0);
    Ok(())
}

/// Failing a reservation frees device id and key but not the serial.
pub async fn fail_frees_device_and_key(store: &dyn Store) -> TestResult {
    setup_cas(store).await?;
    store
        .reserve_issuance(intent("dev-1", 1, 1), event("issuance.reserved", "dev-1"))
        .await?;
    store
        .fail_issuance(
            CA,
            &serial(1),
            "HSM timeout".into(),
            event("issuance.failed", "dev-1"),
        )
        .await?;

    let failed = store
        .certificate_by_serial(CA, &serial(1))
        .await?
        .ok_or("no record")?;
    assert_eq!(failed.status, IssuanceStatus::Failed);
    assert_eq!(failed.failure_reason.as_deref(), Some("HSM timeout"));
    assert_eq!(store.certificate_by_device("dev-1").await?, None);
    assert_eq!(store.device_for_public_key(&key_hash(1)).await?, None);

    // Same device, same key, new serial: fine now.
    store
        .reserve_issuance(intent("dev-1", 1, 2), event("issuance.reserved", "dev-1"))
        .await?;
    let live = store
        .certificate_by_device("dev-1")
        .await?
        .ok_or("no record")?;
    assert_eq!(live.intent.serial, serial(2));
    Ok(())
}

/// Pending records older than a cut-off are listed (oldest first); issued,
/// failed and newer ones are not.
pub async fn pending_issuances_listed(store: &dyn Store) -> TestResult {
    setup_cas(store).await?;
    for (n, age) in [(1u64, 300i64), (2, 200), (3, 100), (4, 50)] {
        let mut i = intent(&format!("dev-{n}"), n, n);
        i.requested_at = NOW - age;
        store
            .reserve_issuance(i, event("issuance.intent", "d"))
            .await?;
    }
    store
        .complete_issuance(
            CA,
            &serial(2),
            CERT.to_vec(),
            NOW,
            NOW + 1,
            event("issued", "dev-2"),
        )
        .await?;
    store
        .fail_issuance(
            CA,
            &serial(3),
            "HSM timeout".into(),
            event("issuance.failed", "dev-3"),
        )
        .await?;

    let stuck = store.pending_issuances(NOW - 60).await?;
    let devices: Vec<&str> = stuck.iter().map(|r| r.intent.device_id.as_str()).collect();
    assert_eq!(
        devices,
        ["dev-1"],
        "only pending and older than the cut-off"
    );
    assert!(stuck.iter().all(|r| r.status == IssuanceStatus::Pending));
    let all: Vec<String> = store
        .pending_issuances(NOW + 1)
        .await?
        .into_iter()
        .map(|r| r.intent.device_id)
        .collect();
    assert_eq!(all, ["dev-1", "dev-4"]);
    Ok(())
}

/// A pending or issued device id cannot be reserved again.
pub async fn device_id_taken(store: &dyn Store) -> TestResult {
    setup_cas(store).await?;
    store
        .reserve_issuance(intent("dev-1", 1, 1), event("issuance.reserved", "dev-1"))
        .await?;
    let err = refused(
        store
            .reserve_issuance(intent("dev-1", 2, 2), event("x", "dev-1"))
            .await,
    )?;
    assert!(
        matches!(&err, StoreError::DeviceIdTaken { device_id } if device_id == "dev-1"),
        "{err:?}"
    );

    store
        .complete_issuance(
            CA,
            &serial(1),
            CERT.to_vec(),
            NOW,
            NOW + 1,
            event("issued", "dev-1"),
        )
        .await?;
    let mut other_ca = intent("dev-1", 3, 3);
    other_ca.ca_id = OTHER_CA.into();
    let err = refused(store.reserve_issuance(other_ca, event("x", "dev-1")).await)?;
    assert!(matches!(err, StoreError::DeviceIdTaken { .. }), "{err:?}");
    assert_eq!(store.certificate_by_serial(CA, &serial(2)).await?, None);
    Ok(())
}

/// A public key held by a pending or issued record is refused, naming the
/// device that holds it; when the device id also collides, DeviceIdTaken
/// wins.
pub async fn public_key_taken(store: &dyn Store) -> TestResult {
    setup_cas(store).await?;
    store
        .reserve_issuance(intent("dev-1", 1, 1), event("issuance.reserved", "dev-1"))
        .await?;
    let err = refused(
        store
            .reserve_issuance(intent("dev-2", 1, 2), event("x", "dev-2"))
            .await,
    )?;
    assert!(
        matches!(&err, StoreError::PublicKeyTaken { device_id } if device_id == "dev-1"),
        "{err:?}"
    );
    assert_eq!(store.certificate_by_device("dev-2").await?, None);

    let err = refused(
        store
            .reserve_issuance(intent("dev-1", 1, 3), event("x", "dev-1"))
            .await,
    )?;
    assert!(matches!(err, StoreError::DeviceIdTaken { .. }), "{err:?}");
    Ok(())
}

/// A serial is never reused by its CA, also after failure; another CA may
/// use the same bytes.
pub async fn serial_never_reused(store: &dyn Store) -> TestResult {
    setup_cas(store).await?;
    store
        .reserve_issuance(intent("dev-1", 1, 7), event("issuance.reserved", "dev-1"))
        .await?;
    let err = refused(
        store
            .reserve_issuance(intent("dev-2", 2, 7), event("x", "dev-2"))
            .await,
    )?;
    assert!(
        matches!(&err, StoreError::SerialTaken { ca_id, serial: s } if ca_id == CA && *s == serial(7)),
        "{err:?}"
    );

    store
        .fail_issuance(CA, &serial(7), "bad CSR".into(), event("failed", "dev-1"))
        .await?;
    let err = refused(
        store
            .reserve_issuance(intent("dev-2", 2, 7), event("x", "dev-2"))
            .await,
    )?;
    assert!(matches!(err, StoreError::SerialTaken { .. }), "{err:?}");

    let mut other_ca = intent("dev-2", 2, 7);
    other_ca.ca_id = OTHER_CA.into();
    store
        .reserve_issuance(other_ca, event("issuance.reserved", "dev-2"))
        .await?;
    Ok(())
}

/// Only pending records can be completed or failed.
pub async fn complete_requires_pending(store: &dyn Store) -> TestResult {
    setup_cas(store).await?;
    let err = refused(complete(store, 1).await)?;
    assert!(
        matches!(
            err,
            StoreError::NotFound {
                what: "issuance",
                ..
            }
        ),
        "{err:?}"
    );

    store
        .reserve_issuance(intent("dev-1", 1, 1), event("issuance.reserved", "dev-1"))
        .await?;
    complete(store, 1).await?;
    let before = audit_len(store).await?;
    let err = refused(complete(store, 1).await)?;
    assert!(
        matches!(
            err,
            StoreError::NotPending {
                status: IssuanceStatus::Issued,
                ..
            }
        ),
        "{err:?}"
    );
    let err = refused(
        store
            .fail_issuance(CA, &serial(1), "late".into(), event("f", "d"))
            .await,
    )?;
    assert!(matches!(err, StoreError::NotPending { .. }), "{err:?}");
    let issued = store
        .certificate_by_serial(CA, &serial(1))
        .await?
        .ok_or("no record")?;
    assert_eq!(issued.status, IssuanceStatus::Issued);

    store
        .reserve_issuance(intent("dev-2", 2, 2), event("issuance.reserved", "dev-2"))
        .await?;
    store
        .fail_issuance(CA, &serial(2), "no".into(), event("failed", "dev-2"))
        .await?;
    let err = refused(complete(store, 2).await)?;
    assert!(
        matches!(
            err,
            StoreError::NotPending {
                status: IssuanceStatus::Failed,
                ..
            }
        ),
        "{err:?}"
    );
    assert_eq!(
        audit_len(store).await?,
        before + 2,
        "refusals logged nothing"
    );
    Ok(())
}

async fn complete(store: &dyn Store, n: u64) -> Result<AuditSeq, StoreError> {
    let issued = event("certificate.issued", "d");
    store
        .complete_issuance(CA, &serial(n), CERT.to_vec(), NOW, NOW + 1, issued)
        .await
}

/// Unknown CAs and malformed intents are refused before anything is written.
pub async fn bad_reservations_refused(store: &dyn Store) -> TestResult {
    setup_cas(store).await?;
    let before = audit_len(store).await?;
    let mut unknown_ca = intent("dev-1", 1, 1);
    unknown_ca.ca_id = "factory-nowhere".into();
    let err = refused(
        store
            .reserve_issuance(unknown_ca, event("x", "dev-1"))
            .await,
    )?;
    assert!(
        matches!(
            err,
            StoreError::NotFound {
                what: "authority key",
                ..
            }
        ),
        "{err:?}"
    );

    let mut no_serial = intent("dev-1", 1, 1);
    no_serial.serial.clear();
    let err = refused(store.reserve_issuance(no_serial, event("x", "dev-1")).await)?;
    assert!(
        matches!(err, StoreError::Invalid { what: "serial", .. }),
        "{err:?}"
    );

    let err = refused(
        store
            .reserve_issuance(intent("", 1, 1), event("x", ""))
            .await,
    )?;
    assert!(
        matches!(
            err,
            StoreError::Invalid {
                what: "device id",
                ..
            }
        ),
        "{err:?}"
    );

    assert_eq!(audit_len(store).await?, before);
    assert_eq!(store.certificate_by_device("dev-1").await?, None);
    Ok(())
}

/// `issued_certificates` lists issued and superseded records in issue
/// order, never pending or failed ones.
pub async fn issued_certificates_listed(store: &dyn Store) -> TestResult {
    setup_cas(store).await?;
    for (n, device) in [(1, "dev-a"), (2, "dev-b"), (3, "dev-c")] {
        store
            .reserve_issuance(intent(device, n, n), event("issuance.intent", device))
            .await?;
    }
    for (n, at) in [(2, NOW + 1), (1, NOW + 2)] {
        store
            .complete_issuance(
                CA,
                &serial(n),
                vec![0x30, 0x00],
                NOW,
                NOW + 10,
                event_at(at),
            )
            .await?;
    }
    store
        .fail_issuance(
            CA,
            &serial(3),
            "test".into(),
            event("issuance.failed", "dev-c"),
        )
        .await?;
    let listed: Vec<String> = store
        .issued_certificates(None)
        .await?
        .into_iter()
        .map(|r| r.intent.device_id)
        .collect();
    assert_eq!(listed, ["dev-b", "dev-a"]);
    assert!(
        store
            .issued_certificates(Some("no-such-order"))
            .await?
            .is_empty()
    );
    Ok(())
}

/// Every key origin is stored with the certificate and read back, pending
/// and issued, by device, serial and listing.
pub async fn key_origin_is_kept(store: &dyn Store) -> TestResult {
    setup_cas(store).await?;
    let origins = [
        KeyOrigin::Device,
        KeyOrigin::Station,
        KeyOrigin::Pregenerated,
    ];
    for (n, origin) in (1u64..).zip(origins) {
        let device = format!("dev-{n}");
        let mut wanted = intent(&device, n, n);
        wanted.key_origin = origin;
        store
            .reserve_issuance(wanted, event("issuance.intent", &device))
            .await?;
        let pending = store.certificate_by_device(&device).await?.ok_or("none")?;
        assert_eq!(pending.intent.key_origin, origin);
        store
            .complete_issuance(CA, &serial(n), CERT.to_vec(), NOW, NOW + 10, event_at(NOW))
            .await?;
        let issued = store
            .certificate_by_serial(CA, &serial(n))
            .await?
            .ok_or("none")?;
        assert_eq!(
            (issued.status, issued.intent.key_origin),
            (IssuanceStatus::Issued, origin)
        );
    }
    let listed: Vec<(String, KeyOrigin)> = store
        .issued_certificates(None)
        .await?
        .into_iter()
        .map(|r| (r.intent.device_id, r.intent.key_origin))
        .collect();
    for (n, origin) in (1u64..).zip(origins) {
        assert!(listed.contains(&(format!("dev-{n}"), origin)), "{listed:?}");
    }
    Ok(())
}

fn event_at(at: i64) -> hallmark_store::AuditEvent {
    hallmark_store::AuditEvent::new("certificate.issued", None, at, serde_json::json!({}))
}
