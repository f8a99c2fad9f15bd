//! Shared test fixtures: a deterministic RNG, an identity, a two-level test
//! CA (rcgen), and a station that talks to a device through frames.
#![allow(dead_code)]

use hallmark_device::protocol::{
    CertChain, CsrRequest, DeviceState, ErrorCode, Frame, Install, KeyAlgorithm, PROTOCOL_VERSION,
    Request, Response, SemVer, Stamp, SubjectAttributes,
};
use hallmark_device::{
    Device, DeviceError, DeviceIdentity, Link, MemStorage, Reply, Rng, SoftKey, Storage,
};
use rcgen::{
    BasicConstraints, CertificateParams, DistinguishedName, DnType, IsCa, Issuer, KeyPair,
    PKCS_ECDSA_P256_SHA256, PKCS_ECDSA_P384_SHA384, PublicKeyData, SignatureAlgorithm,
};

/// xorshift64*: deterministic key material for tests (never for devices).
#[derive(Debug)]
pub struct TestRng(pub u64);

impl Rng for TestRng {
    fn fill_bytes(&mut self, dest: &mut [u8]) -> Result<(), DeviceError> {
        for byte in dest {
            self.0 ^= self.0 >> 12;
            self.0 ^= self.0 << 25;
            self.0 ^= self.0 >> 27;
            *byte = (self.0.wrapping_mul(0x2545_F491_4F6C_DD1D) >> 56) as u8;
        }
        Ok(())
    }
}

pub type TestDevice<S = MemStorage> = Device<SoftKey<TestRng>, S>;

pub fn identity() -> DeviceIdentity {
    DeviceIdentity {
        model: "sensor-x".into(),
        hardware_revision: "rev C".into(),
        firmware_version: SemVer::new(1, 4, 2),
        bootloader_version: SemVer::new(0, 9, 1),
        chip_id: vec![0xC0, 0xFF, 0xEE, 0x01, 0x02, 0x03, 0x04, 0x05],
        secure_element: false,
    }
}

pub fn device<S: Storage>(storage: S) -> TestDevice<S> {
    Device::new(
        identity(),
        SoftKey::new(TestRng(0x1234_5678_9ABC_DEF1)),
        storage,
    )
    .unwrap()
}

/// Sends `request` to `device` as a version-1 payload.
pub fn call<S: Storage>(device: &mut TestDevice<S>, request: &Request<'_>) -> Reply {
    let mut payload = vec![0u8; request.encoded_len().unwrap()];
    request.encode(&mut payload).unwrap();
    device.handle(PROTOCOL_VERSION, request.message_type().code(), &payload)
}

/// Sends `request` through a [`Link`] as a frame, byte by byte; returns the
/// response frame's payload as a [`Reply`] after checking its SEQ.
pub fn over_link<S: Storage>(
    link: &mut Link<SoftKey<TestRng>, S>,
    request: &Request<'_>,
    seq: u16,
) -> Reply {
    let mut frame = vec![0u8; hallmark_device::protocol::MAX_FRAME_LEN];
    let n = request
        .encode_frame(PROTOCOL_VERSION, seq, &mut frame)
        .unwrap();
    let mut out = Vec::new();
    for byte in &frame[..n] {
        out.extend(link.receive(&[*byte]));
    }
    let (response, used) = Frame::decode(&out).unwrap();
    assert_eq!(used, out.len(), "exactly one response frame");
    assert_eq!((response.seq, response.version), (seq, PROTOCOL_VERSION));
    let message_type =
        hallmark_device::protocol::MessageType::from_code(response.msg_type).unwrap();
    Reply {
        message_type,
        payload: response.payload.to_vec(),
    }
}

pub fn hello<S: Storage>(device: &mut TestDevice<S>) -> DeviceState {
    match call(device, &Request::Hello { versions: &[1] })
        .response()
        .unwrap()
    {
        Response::HelloOk(info) => info.state,
        other => panic!("HELLO answered {other:?}"),
    }
}

pub fn expect_error(reply: &Reply, code: ErrorCode) {
    assert_eq!(reply.error_code(), Some(code), "{:?}", reply.response());
}

pub fn expect_ok(reply: &Reply) {
    assert_eq!(reply.response().unwrap(), Response::Ok);
}

pub fn public_key(reply: &Reply) -> Vec<u8> {
    match reply.response().unwrap() {
        Response::PublicKey { spki } => spki.to_vec(),
        other => panic!("expected PUBLIC_KEY, got {other:?}"),
    }
}

pub fn csr(reply: &Reply) -> Vec<u8> {
    match reply.response().unwrap() {
        Response::Csr { der } => der.to_vec(),
        other => panic!("expected CSR, got {other:?}"),
    }
}

pub fn signature(reply: &Reply) -> Vec<u8> {
    match reply.response().unwrap() {
        Response::Signature { der } => der.to_vec(),
        other => panic!("expected SIGNATURE, got {other:?}"),
    }
}

pub fn get_csr<'a>(device_id: &'a str, common_name: &'a str) -> Request<'a> {
    Request::GetCsr(CsrRequest {
        device_id,
        common_name,
        attributes: SubjectAttributes::none(),
    })
}

pub fn install<'a>(chain: &'a [&'a [u8]], device_id: &'a str) -> Request<'a> {
    Request::Install(Install {
        chain: CertChain::new(chain),
        stamp: Stamp {
            device_id,
            endpoint: "mqtts://iot.example.com:8883",
            pop_code: Some("claim-7"),
        },
    })
}

/// A device public key as rcgen sees it: the SPKI's BIT STRING and curve.
struct DevicePublicKey {
    point: Vec<u8>,
    algorithm: &'static SignatureAlgorithm,
}

impl PublicKeyData for DevicePublicKey {
    fn der_bytes(&self) -> &[u8] {
        &self.point
    }
    fn algorithm(&self) -> &'static SignatureAlgorithm {
        self.algorithm
    }
}

/// A root (P-384) and an issuing CA (P-256), made fresh.
pub struct TestCa {
    root_der: Vec<u8>,
    issuing_der: Vec<u8>,
    issuing: Issuer<'static, KeyPair>,
}

fn ca_params(cn: &str) -> CertificateParams {
    let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
    params.distinguished_name = DistinguishedName::new();
    params.distinguished_name.push(DnType::CommonName, cn);
    params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    params
}

impl TestCa {
    pub fn new() -> Self {
        let root_key = KeyPair::generate_for(&PKCS_ECDSA_P384_SHA384).unwrap();
        let root_params = ca_params("Test Root");
        let root_der = root_params.self_signed(&root_key).unwrap().der().to_vec();
        let root = Issuer::new(root_params, root_key);
        let issuing_key = KeyPair::generate_for(&PKCS_ECDSA_P256_SHA256).unwrap();
        let issuing_params = ca_params("Test Issuing CA");
        let issuing_der = issuing_params
            .signed_by(&issuing_key, &root)
            .unwrap()
            .der()
            .to_vec();
        Self {
            root_der,
            issuing_der,
            issuing: Issuer::new(issuing_params, issuing_key),
        }
    }

    /// `[leaf, issuing CA, root]` for `spki` with subject CN `common_name`.
    pub fn issue(&self, spki: &[u8], common_name: &str) -> Vec<Vec<u8>> {
        use x509_cert::der::Decode;
        let parsed = x509_cert::spki::SubjectPublicKeyInfoOwned::from_der(spki).unwrap();
        let algorithm = if spki.len() > 100 {
            &PKCS_ECDSA_P384_SHA384
        } else {
            &PKCS_ECDSA_P256_SHA256
        };
        let key = DevicePublicKey {
            point: parsed.subject_public_key.raw_bytes().to_vec(),
            algorithm,
        };
        let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
        params.distinguished_name = DistinguishedName::new();
        params
            .distinguished_name
            .push(DnType::CommonName, common_name);
        let leaf = params
            .signed_by(&key, &self.issuing)
            .unwrap()
            .der()
            .to_vec();
        vec![leaf, self.issuing_der.clone(), self.root_der.clone()]
    }
}

pub fn as_slices(chain: &[Vec<u8>]) -> Vec<&[u8]> {
    chain.iter().map(Vec::as_slice).collect()
}

/// Runs a device through GENERATE_KEY, GET_CSR, INSTALL; returns the chain.
pub fn provision_to_installed<S: Storage>(
    device: &mut TestDevice<S>,
    ca: &TestCa,
    id: &str,
) -> Vec<Vec<u8>> {
    let spki = public_key(&call(
        device,
        &Request::GenerateKey {
            algorithm: KeyAlgorithm::P256,
        },
    ));
    csr(&call(device, &get_csr(id, id)));
    let chain = ca.issue(&spki, id);
    expect_ok(&call(device, &install(&as_slices(&chain), id)));
    chain
}
