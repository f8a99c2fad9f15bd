//! Renewals: supersede the issued record, never consume quota, and a failed
//! renewal restores what it replaced.

use hallmark_store::{IssuanceIntent, IssuanceStatus, Store, StoreError};

use super::fixtures::{
    CA, NOW, OTHER_CA, TestResult, audit_len, event, key_hash, refused, serial, setup_cas,
};
use super::order_fixtures::{ORDER, counters, create, order_intent, template_order};

const CERT: &[u8] = &[0x30, 0x00];

async fn complete(store: &dyn Store, n: u64) -> TestResult {
    store
        .complete_issuance(CA, &serial(n), CERT.to_vec(), NOW, NOW + 1, event("i", "d"))
        .await?;
    Ok(())
}

async fn status(store: &dyn Store, n: u64) -> TestResult<IssuanceStatus> {
    let record = store.certificate_by_serial(CA, &serial(n)).await?;
    Ok(record.ok_or("no record")?.status)
}

/// Issues the order's only device (serial 1, key 1); returns its id.
async fn issue_first(store: &dyn Store) -> TestResult<String> {
    setup_cas(store).await?;
    create(store, template_order(ORDER, 1)?).await?;
    let reserved = store
        .reserve_issuance(order_intent(ORDER, "", 1, 1), event("r", "d"))
        .await?;
    complete(store, 1).await?;
    Ok(reserved.device_id)
}

fn renewal(device: &str, key: u64, serial_n: u64, renews: u64) -> IssuanceIntent {
    IssuanceIntent {
        renews: Some(serial(renews)),
        ..order_intent(ORDER, device, key, serial_n)
    }
}

/// A renewal under an exhausted order succeeds, supersedes the old record
/// and counts nothing; failing it restores the old record; completing a
/// second one leaves one issued certificate.
pub async fn renewal_supersedes_and_fail_restores(store: &dyn Store) -> TestResult {
    let device = issue_first(store).await?;
    let reserved = store
        .reserve_issuance(renewal(&device, 1, 2, 1), event("renew", &device))
        .await?;
    assert_eq!(reserved.device_id, device);
    assert_eq!(status(store, 1).await?, IssuanceStatus::Superseded);
    let live = store
        .certificate_by_device(&device)
        .await?
        .ok_or("no live record")?;
    assert_eq!(live.intent.serial, serial(2));
    assert_eq!(live.intent.renews, Some(serial(1)));
    assert_eq!(
        counters(store, ORDER).await?,
        (1, 0, 0, 0),
        "renewals count nothing"
    );
    assert_eq!(store.count_issued(Some(CA)).await?, 0);

    store
        .fail_issuance(CA, &serial(2), "HSM".into(), event("f", &device))
        .await?;
    assert_eq!(status(store, 1).await?, IssuanceStatus::Issued);
    assert_eq!(status(store, 2).await?, IssuanceStatus::Failed);
    let live = store
        .certificate_by_device(&device)
        .await?
        .ok_or("no live record")?;
    assert_eq!(live.intent.serial, serial(1));
    assert_eq!(counters(store, ORDER).await?, (1, 0, 0, 0));

    store
        .reserve_issuance(renewal(&device, 1, 3, 1), event("renew", &device))
        .await?;
    complete(store, 3).await?;
    assert_eq!(status(store, 1).await?, IssuanceStatus::Superseded);
    assert_eq!(store.count_issued(Some(CA)).await?, 1);
    assert_eq!(counters(store, ORDER).await?, (1, 0, 0, 0));
    let live = store
        .certificate_by_device(&device)
        .await?
        .ok_or("no live record")?;
    assert_eq!(
        (live.intent.serial, live.status),
        (serial(3), IssuanceStatus::Issued)
    );
    assert_eq!(
        store.device_for_public_key(&key_hash(1)).await?,
        Some(device)
    );
    Ok(())
}

/// `renews` must name an issued record of the same CA and device.
pub async fn renewal_needs_issued_record(store: &dyn Store) -> TestResult {
    let device = issue_first(store).await?;
    let before = audit_len(store).await?;
    let mut other_ca = renewal(&device, 1, 2, 1);
    other_ca.ca_id = OTHER_CA.into();
    for wanted in [
        renewal(&device, 1, 2, 99),
        renewal("dev-other", 1, 2, 1),
        other_ca,
    ] {
        let err = refused(store.reserve_issuance(wanted, event("x", "d")).await)?;
        assert!(
            matches!(
                err,
                StoreError::NotFound {
                    what: "issuance to renew",
                    ..
                }
            ),
            "{err:?}"
        );
    }
    store
        .reserve_issuance(renewal(&device, 1, 2, 1), event("renew", "d"))
        .await?;
    let err = refused(
        store
            .reserve_issuance(renewal(&device, 1, 3, 1), event("x", "d"))
            .await,
    )?;
    assert!(
        matches!(err, StoreError::NotFound { .. }),
        "already superseded: {err:?}"
    );
    let err = refused(
        store
            .reserve_issuance(renewal(&device, 1, 3, 2), event("x", "d"))
            .await,
    )?;
    assert!(
        matches!(err, StoreError::NotFound { .. }),
        "pending: {err:?}"
    );
    assert_eq!(audit_len(store).await?, before + 1);
    assert_eq!(status(store, 1).await?, IssuanceStatus::Superseded);
    Ok(())
}

/// A renewal with a new key keeps the old key held while it is pending (a
/// failure restores the old record); afterwards the old key is free.
pub async fn renewal_with_new_key(store: &dyn Store) -> TestResult {
    let device = issue_first(store).await?;
    store
        .reserve_issuance(renewal(&device, 2, 2, 1), event("renew", "d"))
        .await?;
    let thief = super::fixtures::intent("dev-thief", 1, 3);
    let err = refused(store.reserve_issuance(thief.clone(), event("x", "d")).await)?;
    assert!(
        matches!(&err, StoreError::PublicKeyTaken { device_id } if *device_id == device),
        "{err:?}"
    );
    store
        .fail_issuance(CA, &serial(2), "HSM".into(), event("f", "d"))
        .await?;
    assert_eq!(
        store.device_for_public_key(&key_hash(1)).await?,
        Some(device.clone())
    );
    assert_eq!(store.device_for_public_key(&key_hash(2)).await?, None);

    store
        .reserve_issuance(renewal(&device, 2, 4, 1), event("renew", "d"))
        .await?;
    complete(store, 4).await?;
    assert_eq!(
        store.device_for_public_key(&key_hash(2)).await?,
        Some(device)
    );
    assert_eq!(store.device_for_public_key(&key_hash(1)).await?, None);
    Ok(())
}
