//! Records and helpers shared by the conformance checks.

use hallmark_store::{
    AuditEvent, AuthorityKey, IssuanceIntent, KeyOrigin, KeyRole, Store, StoreError,
};
use serde_json::json;

/// What every check returns; `?` works on `StoreError` and on `&str`.
pub type TestResult<T = ()> = Result<T, Box<dyn std::error::Error + Send + Sync>>;

/// The issuing CA that [`setup_cas`] creates.
pub const CA: &str = "factory-berlin";
/// A second issuing CA, created by [`setup_cas`].
pub const OTHER_CA: &str = "factory-shenzhen";
/// A fixed "now".
pub const NOW: i64 = 1_790_000_000;

pub fn event(kind: &str, subject: &str) -> AuditEvent {
    AuditEvent::new(
        kind,
        Some(subject.to_owned()),
        NOW,
        json!({ "subject": subject }),
    )
}

pub fn authority_key(id: &str, role: KeyRole, parent: Option<&str>) -> AuthorityKey {
    let has_certificate = role != KeyRole::Audit;
    AuthorityKey {
        id: id.to_owned(),
        role,
        parent_id: parent.map(str::to_owned),
        factory: (role == KeyRole::Issuing).then(|| id.trim_start_matches("factory-").to_owned()),
        subject: has_certificate.then(|| format!("CN=Hallmark {id}")),
        algorithm: "ecdsa-p256".to_owned(),
        key_uri: format!("pkcs11:token=hallmark;object={id}"),
        certificate_der: has_certificate.then(|| vec![0x30, 0x82, 0x01, id.len() as u8]),
        not_after: has_certificate.then_some(NOW + 10 * 365 * 86_400),
        created_at: NOW,
    }
}

/// Creates `root` and the issuing CAs [`CA`] and [`OTHER_CA`] under it.
pub async fn setup_cas(store: &dyn Store) -> TestResult {
    store
        .insert_authority_key(
            authority_key("root", KeyRole::Root, None),
            event("ca.created", "root"),
        )
        .await?;
    for id in [CA, OTHER_CA] {
        store
            .insert_authority_key(
                authority_key(id, KeyRole::Issuing, Some("root")),
                event("ca.created", id),
            )
            .await?;
    }
    Ok(())
}

/// A 16-byte positive serial made from `n`.
pub fn serial(n: u64) -> Vec<u8> {
    let mut serial = vec![0x5a; 8];
    serial.extend_from_slice(&n.to_be_bytes());
    serial
}

/// A public key hash made from `n`.
pub fn key_hash(n: u64) -> [u8; 32] {
    let mut hash = [0xa5; 32];
    hash[24..].copy_from_slice(&n.to_be_bytes());
    hash
}

/// An intent for device `device` of [`CA`] with key `key_hash(key)` and
/// serial `serial(serial_n)`, under no order.
pub fn intent(device: &str, key: u64, serial_n: u64) -> IssuanceIntent {
    IssuanceIntent {
        ca_id: CA.to_owned(),
        serial: serial(serial_n),
        device_id: device.to_owned(),
        public_key_sha256: key_hash(key),
        profile: "device-default".to_owned(),
        key_origin: KeyOrigin::Device,
        order_id: None,
        station_id: Some("station-7".to_owned()),
        requested_at: NOW,
        renews: None,
    }
}

/// The error of a call that must be refused.
pub fn refused<T: std::fmt::Debug>(result: Result<T, StoreError>) -> TestResult<StoreError> {
    match result {
        Ok(value) => Err(format!("expected a refusal, got Ok({value:?})").into()),
        Err(e) => Ok(e),
    }
}

/// Number of audit records in the log.
pub async fn audit_len(store: &dyn Store) -> TestResult<usize> {
    Ok(store.audit_events(0, u32::MAX).await?.len())
}
