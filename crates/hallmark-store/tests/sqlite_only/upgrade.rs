//! Upgrading a version 1 database keeps its records and applies the new
//! status rules.

use hallmark_store::{IssuanceIntent, IssuanceStatus, SqliteStore, Store};
use rusqlite::{Connection, params};

use crate::conformance::fixtures::{CA, TestResult, event, intent, serial};

const VERSION_1: &str = include_str!("../../src/sqlite/migrations/0001_initial.sql");

/// Writes a version 1 database with an issued, a failed and a pending
/// record (the pending one names an order that version 1 never stored).
fn write_version_1(conn: &Connection) -> rusqlite::Result<()> {
    conn.execute_batch(VERSION_1)?;
    conn.execute_batch(
        "CREATE TABLE schema_migrations (version INTEGER NOT NULL PRIMARY KEY, \
             applied_at INTEGER NOT NULL);
         INSERT INTO schema_migrations (version, applied_at) VALUES (1, 0);",
    )?;
    conn.execute(
        "INSERT INTO authority_keys (id, role, algorithm, key_uri, created_at) \
         VALUES (?1, 'issuing', 'ecdsa-p256', 'file:ca', 0)",
        [CA],
    )?;
    for (n, status, der, order) in [
        (1u64, "issued", Some(vec![0x30u8, 0x00]), None),
        (2, "failed", None, None),
        (3, "pending", None, Some("legacy-order")),
    ] {
        let i = intent(&format!("dev-{n}"), n, n);
        conn.execute(
            "INSERT INTO certificates (ca_id, serial, device_id, public_key_sha256, profile, \
             key_origin, order_id, requested_at, status, certificate_der) \
             VALUES (?1, ?2, ?3, ?4, 'p', 'device', ?5, 0, ?6, ?7)",
            params![
                i.ca_id,
                i.serial,
                i.device_id,
                i.public_key_sha256,
                order,
                status,
                der
            ],
        )?;
    }
    Ok(())
}

async fn status(store: &dyn Store, n: u64) -> TestResult<IssuanceStatus> {
    let record = store.certificate_by_serial(CA, &serial(n)).await?;
    Ok(record.ok_or("record lost in the upgrade")?.status)
}

#[tokio::test]
async fn upgrade_from_version_1() -> TestResult {
    let dir = tempfile::tempdir()?;
    let path = dir.path().join("hallmark.db");
    write_version_1(&Connection::open(&path)?)?;
    let store = SqliteStore::open(&path)?;
    store.migrate().await?;

    assert_eq!(status(&store, 1).await?, IssuanceStatus::Issued);
    assert_eq!(status(&store, 2).await?, IssuanceStatus::Failed);
    assert_eq!(status(&store, 3).await?, IssuanceStatus::Pending);
    let legacy = store.certificate_by_serial(CA, &serial(3)).await?;
    let legacy = legacy.ok_or("record lost")?.intent;
    assert_eq!(
        (legacy.order_id.as_deref(), legacy.renews),
        (Some("legacy-order"), None)
    );

    // The unique indexes were recreated: a failed record holds nothing, a
    // pending one holds its device id.
    store
        .reserve_issuance(intent("dev-2", 2, 12), event("r", "dev-2"))
        .await?;
    assert!(
        store
            .reserve_issuance(intent("dev-3", 33, 13), event("r", "dev-3"))
            .await
            .is_err()
    );
    // 'superseded' is allowed now; a legacy record under an unknown order
    // fails without touching any order.
    let renewal = IssuanceIntent {
        renews: Some(serial(1)),
        ..intent("dev-1", 1, 11)
    };
    store
        .reserve_issuance(renewal, event("renew", "dev-1"))
        .await?;
    assert_eq!(status(&store, 1).await?, IssuanceStatus::Superseded);
    store
        .fail_issuance(CA, &serial(3), "expired".into(), event("f", "dev-3"))
        .await?;

    let conn = Connection::open(&path)?;
    let mut stmt = conn.prepare("SELECT name FROM pragma_index_list('certificates')")?;
    let mut indexes: Vec<String> = stmt
        .query_map([], |r| r.get(0))?
        .collect::<Result<_, _>>()?;
    indexes.retain(|name| name.starts_with("certificates_"));
    indexes.sort();
    assert_eq!(
        indexes,
        [
            "certificates_device",
            "certificates_live_device_id",
            "certificates_live_public_key",
            "certificates_order",
            "certificates_renews",
            "certificates_serial",
            "certificates_station",
            "certificates_status_ca"
        ]
    );
    let fk_errors: i64 =
        conn.query_row("SELECT COUNT(*) FROM pragma_foreign_key_check", [], |r| {
            r.get(0)
        })?;
    assert_eq!(fk_errors, 0);
    Ok(())
}
