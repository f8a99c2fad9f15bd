//! Shared fixture of the authority's integration tests: real backends
//! (encrypted software keys, SQLite in a tempdir), a clock the tests move,
//! a key store whose signers can be broken or slowed, and CSR helpers.

#![allow(dead_code)] // each test binary uses a different part

pub mod checks;
pub mod revocation;

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicI64, AtomicU64, Ordering};
use std::time::Duration;

use hallmark_authority::{
    Authority, AuthorityError, Clock, CreatedOrder, DeviceIdSpec, Env, HierarchySpec, Issued,
    OrderSpec, OsEntropy, Policy, StationIdentity, StationIssued, create_hierarchy,
};
use hallmark_keys::{KeyError, KeyStore, KeyUri, SoftKeyStore};
use hallmark_pki::profile::YEAR;
use hallmark_pki::{KeyAlgorithm, Profile, SignError, Signer};
use hallmark_store::{AuditRecord, SqliteStore, Store};
use hallmark_testkit::tools::{self, KeySpec};

/// The client address refusals are logged with.
pub const PEER: &str = "192.0.2.7";

/// The time every fixture starts at.
pub const NOW: i64 = 1_795_000_000;
pub const HOUR: i64 = 3600;
pub const DAY: i64 = 24 * HOUR;

/// A clock that stands still until a test moves it.
#[derive(Debug)]
pub struct TestClock(AtomicI64);

impl TestClock {
    pub fn new(now: i64) -> Self {
        Self(AtomicI64::new(now))
    }
    pub fn set(&self, now: i64) {
        self.0.store(now, Ordering::SeqCst);
    }
    pub fn advance(&self, seconds: i64) {
        self.0.fetch_add(seconds, Ordering::SeqCst);
    }
}

impl Clock for TestClock {
    fn now(&self) -> i64 {
        self.0.load(Ordering::SeqCst)
    }
}

/// Wraps a key store; its signers fail while `broken` is set (an HSM pulled mid-shift).
/// It can also be slow (a network HSM under load).
#[derive(Debug)]
pub struct FlakyKeys {
    inner: SoftKeyStore,
    broken: Arc<AtomicBool>,
    in_memory: Arc<AtomicBool>,
    delay_ms: Arc<AtomicU64>,
    opens: Arc<AtomicU64>,
}

#[derive(Debug)]
pub struct FlakySigner {
    inner: Arc<dyn Signer>,
    broken: Arc<AtomicBool>,
    in_memory: Arc<AtomicBool>,
    delay_ms: Arc<AtomicU64>,
}

impl Signer for FlakySigner {
    fn algorithm(&self) -> KeyAlgorithm {
        self.inner.algorithm()
    }
    fn public_key_der(&self) -> &[u8] {
        self.inner.public_key_der()
    }
    fn sign(&self, message: &[u8]) -> Result<Vec<u8>, SignError> {
        std::thread::sleep(Duration::from_millis(self.delay_ms.load(Ordering::SeqCst)));
        if self.broken.load(Ordering::SeqCst) {
            return Err(SignError::new(std::io::Error::other("token removed")));
        }
        self.inner.sign(message)
    }
    fn signs_in_memory(&self) -> bool {
        self.in_memory.load(Ordering::SeqCst)
    }
}

impl KeyStore for FlakyKeys {
    fn generate(&self, label: &str, alg: KeyAlgorithm) -> Result<KeyUri, KeyError> {
        self.inner.generate(label, alg)
    }
    fn signer(&self, uri: &KeyUri) -> Result<Arc<dyn Signer>, KeyError> {
        self.opens.fetch_add(1, Ordering::SeqCst);
        Ok(Arc::new(FlakySigner {
            inner: self.inner.signer(uri)?,
            broken: self.broken.clone(),
            in_memory: self.in_memory.clone(),
            delay_ms: self.delay_ms.clone(),
        }))
    }
    fn describe(&self) -> String {
        "flaky".into()
    }
}

pub struct Fixture {
    pub dir: tempfile::TempDir,
    pub authority: Arc<Authority>,
    pub store: Arc<dyn Store>,
    pub clock: Arc<TestClock>,
    pub broken: Arc<AtomicBool>,
    /// Whether signers say they sign in memory (then the authority issues
    /// in one store transaction); `false`, the default, behaves like an HSM.
    pub in_memory: Arc<AtomicBool>,
    pub delay_ms: Arc<AtomicU64>,
    /// The store, for its writer's commit counters.
    pub sqlite: Arc<SqliteStore>,
    /// How many times a signer was opened (each software key open decrypts).
    pub opens: Arc<AtomicU64>,
}

/// A hierarchy with one factory, `berlin`.
pub async fn fixture() -> Fixture {
    fixture_with(&["berlin"]).await
}

/// A hierarchy with these factories (issuing CAs), at [`NOW`].
pub async fn fixture_with(factories: &[&str]) -> Fixture {
    let dir = tempfile::tempdir().unwrap();
    let broken = Arc::new(AtomicBool::new(false));
    let delay_ms = Arc::new(AtomicU64::new(0));
    let opens = Arc::new(AtomicU64::new(0));
    let in_memory = Arc::new(AtomicBool::new(false));
    let keys = Arc::new(FlakyKeys {
        in_memory: in_memory.clone(),
        delay_ms: delay_ms.clone(),
        opens: opens.clone(),
        inner: SoftKeyStore::open(
            dir.path().join("keys"),
            "test passphrase".to_string().into(),
        )
        .unwrap(),
        broken: broken.clone(),
    });
    let sqlite = Arc::new(SqliteStore::open(&dir.path().join("db.sqlite")).unwrap());
    let store: Arc<dyn Store> = sqlite.clone();
    store.migrate().await.unwrap();
    let clock = Arc::new(TestClock::new(NOW));
    let env = Env {
        clock: clock.clone(),
        entropy: Arc::new(OsEntropy),
    };
    let factories = factories.iter().map(|f| f.to_string()).collect();
    let spec = HierarchySpec::new("Acme Devices", factories, "hm-test");
    create_hierarchy(&spec, keys.as_ref(), store.as_ref(), &env)
        .await
        .unwrap();
    let mut profile = Profile::client(
        3 * YEAR,
        vec!["DNS:{device_id}.devices.example.com".parse().unwrap()],
    );
    profile.crl_urls = vec!["http://crl.example.com/{ca}.crl".into()];
    let policy = Policy {
        organization: "Acme Devices".into(),
        profiles: HashMap::from([("device".to_string(), profile)]),
        factory_locations: HashMap::from([("berlin".to_string(), "Berlin, DE".to_string())]),
        order_profile: "device".into(),
        station_validity: hallmark_authority::DEFAULT_STATION_VALIDITY,
    };
    let authority = Arc::new(Authority::new(store.clone(), keys, env, policy));
    Fixture {
        dir,
        authority,
        store,
        clock,
        broken,
        in_memory,
        delay_ms,
        sqlite,
        opens,
    }
}

impl Fixture {
    /// The SQLite database file.
    pub fn db_path(&self) -> PathBuf {
        self.dir.path().join("db.sqlite")
    }

    /// The whole audit log, in `seq` order.
    pub async fn audit(&self) -> Vec<AuditRecord> {
        let mut all: Vec<AuditRecord> = Vec::new();
        loop {
            let after = all.last().map_or(0, |r| r.seq);
            let page = self.store.audit_events(after, 500).await.unwrap();
            if page.is_empty() {
                return all;
            }
            all.extend(page);
        }
    }

    /// Creates an order (one station token) and enrolls a station with it.
    pub async fn enrolled_station(
        &self,
        spec: OrderSpec,
    ) -> (CreatedOrder, StationIssued, StationIdentity) {
        let created = self.authority.create_order(spec).await.unwrap();
        let issued = self
            .authority
            .enroll_station(&created.station_tokens[0], &rcgen_csr(Some("station")))
            .await
            .unwrap();
        let identity = self
            .authority
            .authenticate_station(&issued.certificate.der)
            .await
            .unwrap();
        (created, issued, identity)
    }

    /// `enroll_device` from [`PEER`].
    pub async fn enroll(
        &self,
        station: &StationIdentity,
        csr: &[u8],
        device_id: Option<&str>,
    ) -> Result<Issued, AuthorityError> {
        let id = device_id.map(String::from);
        let peer = Some(PEER.to_string());
        self.authority.enroll_device(station, csr, id, peer).await
    }

    /// `reenroll_device` with `current`'s certificate, from [`PEER`].
    pub async fn reenroll(&self, current: &Issued, csr: &[u8]) -> Result<Issued, AuthorityError> {
        let peer = Some(PEER.to_string());
        let der = &current.certificate.der;
        self.authority.reenroll_device(der, csr, peer).await
    }
}

/// An order of `quantity` sensors at `berlin` (default window), one station
/// token, ids from the template `ACME-{product}-{seq:06}`.
pub fn template_order(quantity: u64) -> OrderSpec {
    OrderSpec {
        factory: "berlin".into(),
        product: "sensor".into(),
        quantity,
        starts_at: None,
        expires_at: None,
        device_ids: Some(DeviceIdSpec::Template("ACME-{product}-{seq:06}".into())),
        stations: 1,
    }
}

/// Like [`template_order`], but stations propose ids matching `pattern`.
pub fn pattern_order(quantity: u64, pattern: &str) -> OrderSpec {
    OrderSpec {
        device_ids: Some(DeviceIdSpec::Pattern(pattern.into())),
        ..template_order(quantity)
    }
}

/// A P-256 key and CSR made with OpenSSL (DER), the key file named `name`.
pub fn csr(dir: &Path, name: &str) -> Vec<u8> {
    let key = tools::make_key(dir, name, KeySpec::Ec("prime256v1"));
    tools::make_csr(&key, name, Some("sha256")).1
}

/// A fresh P-256 key and its CSR (PEM) made with rcgen; `None` gives an
/// empty subject.
pub fn rcgen_csr(common_name: Option<&str>) -> Vec<u8> {
    rcgen_key_and_csr(common_name).1
}

/// Like [`rcgen_csr`], keeping the key (for a second CSR with the same key).
pub fn rcgen_key_and_csr(common_name: Option<&str>) -> (rcgen::KeyPair, Vec<u8>) {
    let key = rcgen::KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256).unwrap();
    let csr = csr_for(&key, common_name);
    (key, csr)
}

/// A CSR (PEM) for an existing key.
pub fn csr_for(key: &rcgen::KeyPair, common_name: Option<&str>) -> Vec<u8> {
    let mut params = rcgen::CertificateParams::default();
    params.distinguished_name = rcgen::DistinguishedName::new();
    if let Some(cn) = common_name {
        params
            .distinguished_name
            .push(rcgen::DnType::CommonName, cn);
    }
    params
        .serialize_request(key)
        .unwrap()
        .pem()
        .unwrap()
        .into_bytes()
}
