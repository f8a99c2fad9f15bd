//! Revocation: revoking certificates and stations (idempotent, atomic with
//! the audit event), CRL entries, OCSP status and revocation versions.
//! Selections and CRL numbers are in `revocation_reads`.

use hallmark_store::{
    AuditEvent, CertificateId, IssuanceIntent, IssuanceStatus, Revocation, RevocationTargets,
    SerialStatus, Store, StoreError,
};
use serde_json::json;

use super::fixtures::{
    CA, NOW, OTHER_CA, TestResult, audit_len, event, intent, refused, serial, setup_cas,
};
use super::order_fixtures::{ORDER, pattern_order, station_cert, token};

const KEY_COMPROMISE: u8 = 1;
const SUPERSEDED: u8 = 4;

pub(super) fn event_at(kind: &str, at: i64) -> AuditEvent {
    AuditEvent::new(kind, None, at, json!({ "selector": "test" }))
}

/// Reserves and completes `wanted`, issued at `at`.
pub(super) async fn issue(store: &dyn Store, wanted: IssuanceIntent, at: i64) -> TestResult {
    let (ca, n, device) = (
        wanted.ca_id.clone(),
        wanted.serial.clone(),
        wanted.device_id.clone(),
    );
    store
        .reserve_issuance(wanted, event("issuance.intent", &device))
        .await?;
    store
        .complete_issuance(
            &ca,
            &n,
            vec![0x30, 0x00],
            at,
            at + 86_400,
            event_at("certificate.issued", at),
        )
        .await?;
    Ok(())
}

pub(super) fn id(ca: &str, n: u64) -> CertificateId {
    CertificateId {
        ca_id: ca.to_owned(),
        serial: serial(n),
    }
}

pub(super) fn certificates(ids: &[CertificateId]) -> RevocationTargets {
    RevocationTargets {
        certificates: ids.to_vec(),
        station: None,
    }
}

/// Issued dev-1 (serial 1) and dev-2 (serial 2), pending dev-3 (serial 3).
async fn three_devices(store: &dyn Store) -> TestResult {
    setup_cas(store).await?;
    issue(store, intent("dev-1", 1, 1), NOW).await?;
    issue(store, intent("dev-2", 2, 2), NOW).await?;
    store
        .reserve_issuance(intent("dev-3", 3, 3), event("issuance.intent", "dev-3"))
        .await?;
    Ok(())
}

/// Revoked certificates are listed for the CRL (by serial), answered for
/// OCSP, and recorded in the audit event with what changed.
pub async fn revoke_issued_certificates(store: &dyn Store) -> TestResult {
    three_devices(store).await?;
    assert_eq!(store.revocation_version(CA).await?, 0);
    let outcome = store
        .revoke(
            certificates(&[id(CA, 2), id(CA, 1)]),
            KEY_COMPROMISE,
            event_at("revocation", NOW + 10),
        )
        .await?;
    assert_eq!(outcome.revoked, vec![id(CA, 2), id(CA, 1)]);
    assert_eq!(
        (outcome.already_revoked, outcome.station_revoked),
        (0, false)
    );
    let seq = outcome.audit_seq.ok_or("no audit event")?;

    let revocation = Revocation {
        revoked_at: NOW + 10,
        reason: KEY_COMPROMISE,
    };
    let listed = store.revocations(CA).await?;
    let serials: Vec<_> = listed.iter().map(|r| r.serial.clone()).collect();
    assert_eq!(serials, vec![serial(1), serial(2)], "ordered by serial");
    assert!(listed.iter().all(|r| r.revocation == revocation));
    assert!(store.revocations(OTHER_CA).await?.is_empty());

    assert_eq!(
        store.revocation_status(CA, &serial(1)).await?,
        Some(SerialStatus {
            status: IssuanceStatus::Issued,
            revocation: Some(revocation),
        })
    );
    assert_eq!(
        store.revocation_status(CA, &serial(3)).await?,
        Some(SerialStatus {
            status: IssuanceStatus::Pending,
            revocation: None,
        })
    );
    assert_eq!(store.revocation_status(CA, &serial(9)).await?, None);
    assert_eq!(store.revocation_status(OTHER_CA, &serial(1)).await?, None);
    assert_eq!(store.revocation_version(CA).await?, seq);
    assert_eq!(store.revocation_version(OTHER_CA).await?, 0);

    let record = store
        .audit_events(seq - 1, 1)
        .await?
        .pop()
        .ok_or("event missing")?;
    assert_eq!((record.seq, record.kind.as_str()), (seq, "revocation"));
    assert_eq!(record.data["selector"], "test", "the caller's data is kept");
    assert_eq!(record.data["revoked"][0]["device_id"], "dev-2");
    assert_eq!(
        record.data["revoked"][1]["serial"],
        "5a5a5a5a5a5a5a5a0000000000000001"
    );
    assert_eq!(record.data["already_revoked"], 0);
    Ok(())
}

/// Revoking again skips what is revoked (not re-dated, reason kept); a call
/// that changes nothing writes nothing.
pub async fn revocation_is_idempotent(store: &dyn Store) -> TestResult {
    three_devices(store).await?;
    store
        .revoke(
            certificates(&[id(CA, 1)]),
            KEY_COMPROMISE,
            event_at("revocation", NOW),
        )
        .await?;
    let outcome = store
        .revoke(
            certificates(&[id(CA, 1), id(CA, 2), id(CA, 2)]),
            SUPERSEDED,
            event_at("revocation", NOW + 100),
        )
        .await?;
    assert_eq!(outcome.revoked, vec![id(CA, 2)], "duplicates count once");
    assert_eq!(outcome.already_revoked, 1);
    let status = store.revocation_status(CA, &serial(1)).await?;
    assert_eq!(
        status.and_then(|s| s.revocation),
        Some(Revocation {
            revoked_at: NOW,
            reason: KEY_COMPROMISE,
        })
    );
    let version = store.revocation_version(CA).await?;
    assert_eq!(Some(version), outcome.audit_seq);

    let before = audit_len(store).await?;
    let outcome = store
        .revoke(
            certificates(&[id(CA, 1), id(CA, 2)]),
            KEY_COMPROMISE,
            event_at("revocation", NOW + 200),
        )
        .await?;
    assert_eq!((outcome.revoked.len(), outcome.already_revoked), (0, 2));
    assert_eq!(outcome.audit_seq, None);
    assert_eq!(audit_len(store).await?, before);
    assert_eq!(store.revocation_version(CA).await?, version);
    Ok(())
}

/// Pending, failed and unknown certificates, unknown stations and hold
/// reasons are refused, and a refusal writes nothing (not even the part of
/// the call that was fine).
pub async fn revocation_refusals_write_nothing(store: &dyn Store) -> TestResult {
    three_devices(store).await?;
    enroll_station(store).await?;
    let before = audit_len(store).await?;
    for (targets, reason) in [
        (certificates(&[id(CA, 1), id(CA, 3)]), KEY_COMPROMISE),
        (certificates(&[id(CA, 1), id(CA, 9)]), KEY_COMPROMISE),
        (certificates(&[id(OTHER_CA, 1)]), KEY_COMPROMISE),
        (
            RevocationTargets {
                certificates: vec![id(CA, 1)],
                station: Some("st-unknown".into()),
            },
            KEY_COMPROMISE,
        ),
        (
            RevocationTargets {
                certificates: vec![id(CA, 3)],
                station: Some("st-1".into()),
            },
            KEY_COMPROMISE,
        ),
    ] {
        let err = refused(store.revoke(targets, reason, event_at("r", NOW)).await)?;
        assert!(matches!(err, StoreError::NotFound { .. }), "{err:?}");
    }
    for hold in [6, 8, 7, 11] {
        let err = refused(
            store
                .revoke(certificates(&[id(CA, 1)]), hold, event_at("r", NOW))
                .await,
        )?;
        assert!(matches!(err, StoreError::Invalid { .. }), "{hold}: {err:?}");
    }
    assert_eq!(audit_len(store).await?, before);
    assert!(store.revocations(CA).await?.is_empty());
    let station = store.station("st-1").await?.ok_or("station missing")?;
    assert_eq!(station.revoked_at, None);
    Ok(())
}

async fn enroll_station(store: &dyn Store) -> TestResult {
    store
        .create_order(
            pattern_order(ORDER, 10),
            vec![token(1)],
            event("order.created", ORDER),
        )
        .await?;
    store
        .enroll_station(
            &token(1),
            "st-1",
            station_cert(1),
            event("station.enrolled", "st-1"),
        )
        .await?;
    Ok(())
}

/// A station's credential stops with its revocation, once.
pub async fn revoke_station_stops_credential(store: &dyn Store) -> TestResult {
    setup_cas(store).await?;
    enroll_station(store).await?;
    let outcome = store
        .revoke_station("st-1", event_at("station.revoked", NOW + 5))
        .await?;
    assert!(outcome.station_revoked && outcome.audit_seq.is_some());
    let station = store.station("st-1").await?.ok_or("station missing")?;
    assert_eq!(station.revoked_at, Some(NOW + 5));
    let err = refused(
        store
            .renew_station("st-1", station_cert(2), event("station.renewed", "st-1"))
            .await,
    )?;
    assert!(matches!(err, StoreError::StationRevoked { .. }), "{err:?}");

    let before = audit_len(store).await?;
    let again = store
        .revoke_station("st-1", event_at("station.revoked", NOW + 50))
        .await?;
    assert!(!again.station_revoked && again.audit_seq.is_none());
    assert_eq!(audit_len(store).await?, before);
    let station = store.station("st-1").await?.ok_or("station missing")?;
    assert_eq!(station.revoked_at, Some(NOW + 5), "not re-dated");
    let err = refused(store.revoke_station("st-2", event_at("x", NOW)).await)?;
    assert!(matches!(err, StoreError::NotFound { .. }), "{err:?}");
    Ok(())
}
