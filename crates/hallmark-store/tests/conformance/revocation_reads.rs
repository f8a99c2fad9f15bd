//! Reads for revocation: the selections bulk revocation uses, and CRL numbers.

use hallmark_store::{
    CertificateSelection, IssuanceIntent, IssuanceStatus, RevocationCandidate, Store, StoreError,
};

use super::fixtures::{
    CA, NOW, OTHER_CA, TestResult, audit_len, event, intent, refused, serial, setup_cas,
};
use super::order_fixtures::{ORDER, create, pattern_order};
use super::revocation::{certificates, event_at, id, issue};

fn serials(found: &[RevocationCandidate]) -> Vec<(String, Vec<u8>)> {
    found
        .iter()
        .map(|c| (c.ca_id.clone(), c.serial.clone()))
        .collect()
}

/// Selections: by device (superseded ones too), by serial under any CA, by
/// station within `[since, until)`, by order; only issued and superseded
/// records, with their revocation.
pub async fn selections_for_bulk_revocation(store: &dyn Store) -> TestResult {
    setup_cas(store).await?;
    create(store, pattern_order(ORDER, 10)).await?;
    let under_order = |device: &str, key: u64, n: u64| IssuanceIntent {
        order_id: Some(ORDER.to_owned()),
        station_id: Some("st-a".to_owned()),
        ..intent(device, key, n)
    };
    issue(store, under_order("dev-1", 1, 1), NOW).await?;
    issue(store, under_order("dev-2", 2, 2), NOW + 100).await?;
    issue(store, under_order("dev-3", 3, 3), NOW + 200).await?;
    // dev-1 renewed (serial 4 supersedes 1), through another station.
    let renewal = IssuanceIntent {
        renews: Some(serial(1)),
        station_id: Some("st-b".to_owned()),
        ..under_order("dev-1", 4, 4)
    };
    issue(store, renewal, NOW + 300).await?;
    // The same serial number under the other CA, no order, no station.
    let other = IssuanceIntent {
        ca_id: OTHER_CA.to_owned(),
        station_id: None,
        ..intent("dev-9", 9, 2)
    };
    issue(store, other, NOW + 400).await?;
    // A pending one under the order: never selected.
    store
        .reserve_issuance(
            under_order("dev-5", 5, 5),
            event("issuance.intent", "dev-5"),
        )
        .await?;
    store
        .revoke(certificates(&[id(CA, 3)]), 0, event_at("revocation", NOW))
        .await?;

    let by_device = store
        .revocation_candidates(&CertificateSelection::Device("dev-1".into()))
        .await?;
    assert_eq!(
        serials(&by_device),
        vec![(CA.into(), serial(1)), (CA.into(), serial(4))]
    );
    assert_eq!(by_device[0].status, IssuanceStatus::Superseded);
    assert_eq!(by_device[1].status, IssuanceStatus::Issued);
    assert_eq!(by_device[1].issued_at, Some(NOW + 300));
    assert_eq!(by_device[1].order_id.as_deref(), Some(ORDER));

    let by_serial = store
        .revocation_candidates(&CertificateSelection::Serial(serial(2)))
        .await?;
    assert_eq!(
        serials(&by_serial),
        vec![(CA.into(), serial(2)), (OTHER_CA.into(), serial(2))]
    );

    let station = |since, until| CertificateSelection::Station {
        station_id: "st-a".into(),
        since,
        until,
    };
    let all = store.revocation_candidates(&station(None, None)).await?;
    assert_eq!(serials(&all).len(), 3);
    let window = store
        .revocation_candidates(&station(Some(NOW + 100), Some(NOW + 200)))
        .await?;
    assert_eq!(
        serials(&window),
        vec![(CA.into(), serial(2))],
        "[since, until)"
    );
    let since = store
        .revocation_candidates(&station(Some(NOW + 150), None))
        .await?;
    assert_eq!(serials(&since), vec![(CA.into(), serial(3))]);
    assert_eq!(
        since[0].revocation.map(|r| r.revoked_at),
        Some(NOW),
        "already revoked ones carry their revocation"
    );

    let by_order = store
        .revocation_candidates(&CertificateSelection::Order(ORDER.into()))
        .await?;
    assert_eq!(serials(&by_order).len(), 4, "pending dev-5 is not selected");
    let none = store
        .revocation_candidates(&CertificateSelection::Device("dev-5".into()))
        .await?;
    assert!(none.is_empty());
    Ok(())
}

/// CRL numbers grow by one per CA, are persisted, and each is audit-logged.
pub async fn crl_numbers_grow(store: &dyn Store) -> TestResult {
    setup_cas(store).await?;
    for expected in 1..=3 {
        let before = audit_len(store).await?;
        let number = store
            .next_crl_number(CA, NOW + expected, event_at("crl.issued", NOW))
            .await?;
        assert_eq!(number, expected.unsigned_abs());
        assert_eq!(audit_len(store).await?, before + 1);
    }
    assert_eq!(
        store
            .next_crl_number(OTHER_CA, NOW, event_at("crl.issued", NOW))
            .await?,
        1
    );
    let last = store
        .audit_events(0, u32::MAX)
        .await?
        .pop()
        .ok_or("no event")?;
    assert_eq!(last.data["crl_number"], 1);
    let before = audit_len(store).await?;
    let err = refused(
        store
            .next_crl_number("factory-nowhere", NOW, event_at("crl.issued", NOW))
            .await,
    )?;
    assert!(matches!(err, StoreError::NotFound { .. }), "{err:?}");
    assert_eq!(audit_len(store).await?, before);
    Ok(())
}
