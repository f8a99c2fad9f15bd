//! Schema migrations and authority keys.

use hallmark_store::{KeyRole, Store, StoreError};

use super::fixtures::{TestResult, audit_len, authority_key, event, refused};

/// Migrating an up-to-date store again changes nothing and keeps the data.
pub async fn migrate_is_idempotent(store: &dyn Store) -> TestResult {
    store.migrate().await?;
    store
        .insert_authority_key(
            authority_key("root", KeyRole::Root, None),
            event("ca.created", "root"),
        )
        .await?;
    store.migrate().await?;
    store.migrate().await?;
    assert!(store.authority_key("root").await?.is_some());
    assert_eq!(
        audit_len(store).await?,
        1,
        "migrations append no audit events"
    );
    Ok(())
}

/// Every field of every role comes back as stored, ordered by
/// `(created_at, id)`, and each insert appended its audit event.
pub async fn authority_keys_round_trip(store: &dyn Store) -> TestResult {
    let root = authority_key("root", KeyRole::Root, None);
    let mut issuing = authority_key("factory-berlin", KeyRole::Issuing, Some("root"));
    issuing.created_at += 1;
    let mut station_ca = authority_key("station-ca", KeyRole::StationCa, Some("root"));
    station_ca.created_at += 1;
    let mut ocsp = authority_key(
        "ocsp-berlin",
        KeyRole::OcspResponder,
        Some("factory-berlin"),
    );
    ocsp.created_at += 2;
    let audit = authority_key("audit", KeyRole::Audit, None);
    assert_eq!(audit.certificate_der, None);

    let all = [root, issuing, station_ca, ocsp, audit];
    let mut seqs = Vec::new();
    for key in &all {
        seqs.push(
            store
                .insert_authority_key(key.clone(), event("ca.created", &key.id))
                .await?,
        );
    }
    assert!(seqs.windows(2).all(|w| w[1] == w[0] + 1), "seqs {seqs:?}");

    for key in &all {
        assert_eq!(store.authority_key(&key.id).await?.as_ref(), Some(key));
    }
    assert_eq!(store.authority_key("nope").await?, None);

    let ids: Vec<String> = store
        .authority_keys()
        .await?
        .into_iter()
        .map(|k| k.id)
        .collect();
    assert_eq!(
        ids,
        [
            "audit",
            "root",
            "factory-berlin",
            "station-ca",
            "ocsp-berlin"
        ]
    );

    let log = store.audit_events(0, 100).await?;
    let subjects: Vec<_> = log.iter().map(|r| r.subject.as_deref()).collect();
    assert_eq!(
        subjects,
        [
            Some("root"),
            Some("factory-berlin"),
            Some("station-ca"),
            Some("ocsp-berlin"),
            Some("audit")
        ]
    );
    assert!(log.iter().all(|r| r.kind == "ca.created"));
    Ok(())
}

/// A second key with the same id is refused, changes nothing and logs
/// nothing; so is a key whose parent does not exist.
pub async fn duplicate_authority_key(store: &dyn Store) -> TestResult {
    let root = authority_key("root", KeyRole::Root, None);
    store
        .insert_authority_key(root.clone(), event("ca.created", "root"))
        .await?;

    let mut again = authority_key("root", KeyRole::Issuing, None);
    again.key_uri = "pkcs11:object=other".into();
    let err = refused(
        store
            .insert_authority_key(again, event("ca.created", "root"))
            .await,
    )?;
    assert!(
        matches!(&err, StoreError::Duplicate { what: "authority key", key } if key == "root"),
        "{err:?}"
    );
    assert!(err.is_refusal());
    assert_eq!(store.authority_key("root").await?, Some(root));

    let orphan = authority_key("factory-x", KeyRole::Issuing, Some("no-such-root"));
    let err = refused(
        store
            .insert_authority_key(orphan, event("ca.created", "factory-x"))
            .await,
    )?;
    assert!(
        matches!(&err, StoreError::NotFound { key, .. } if key == "no-such-root"),
        "{err:?}"
    );
    assert_eq!(store.authority_key("factory-x").await?, None);
    assert_eq!(audit_len(store).await?, 1);
    Ok(())
}
