//! The simulator on TCP: persistence across restarts and fault injection.

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests report failures by panicking

use std::io::{Read as _, Write as _};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use hallmark_protocol::{
    CsrRequest, DeviceState, ErrorCode, FrameDecoder, KeyAlgorithm, MAX_FRAME_LEN, PrivateKey,
    Request, Response, SubjectAttributes,
};
use hallmark_sim::{FailMode, FailStep, SimConfig, spawn_sim};

/// A station's minimal link: one request, one owned answer (type, payload),
/// or `None` when the device closed the connection.
struct Station {
    stream: TcpStream,
    seq: u16,
}

impl Station {
    fn connect(addr: std::net::SocketAddr) -> Self {
        let stream = TcpStream::connect(addr).unwrap();
        stream
            .set_read_timeout(Some(Duration::from_secs(10)))
            .unwrap();
        Self { stream, seq: 0 }
    }

    fn call(&mut self, request: &Request<'_>) -> Option<(u8, Vec<u8>)> {
        self.seq += 1;
        let mut out = vec![0u8; MAX_FRAME_LEN];
        let n = request.encode_frame(1, self.seq, &mut out).unwrap();
        self.stream.write_all(&out[..n]).ok()?;
        let mut decoder = FrameDecoder::new();
        let mut buf = [0u8; 4096];
        loop {
            let n = self.stream.read(&mut buf).ok()?;
            if n == 0 {
                return None;
            }
            let mut answer = None;
            decoder.feed(&buf[..n], |event| {
                let frame = event.unwrap();
                assert_eq!(frame.seq, self.seq);
                answer = Some((frame.msg_type, frame.payload.to_vec()));
            });
            if answer.is_some() {
                return answer;
            }
        }
    }
}

fn hello(station: &mut Station) -> (DeviceState, Vec<u8>) {
    let (ty, payload) = station.call(&Request::Hello { versions: &[1] }).unwrap();
    match Response::decode(ty, &payload).unwrap() {
        Response::HelloOk(info) => (info.state, info.chip_id.to_vec()),
        other => panic!("{other:?}"),
    }
}

fn generate(station: &mut Station) -> Vec<u8> {
    let (ty, payload) = station
        .call(&Request::GenerateKey {
            algorithm: KeyAlgorithm::P256,
        })
        .unwrap();
    match Response::decode(ty, &payload).unwrap() {
        Response::PublicKey { spki } => spki.to_vec(),
        other => panic!("{other:?}"),
    }
}

const GET_CSR: Request<'static> = Request::GetCsr(CsrRequest {
    device_id: "",
    common_name: "sim",
    attributes: SubjectAttributes::none(),
});

#[test]
fn state_persists_across_restarts() {
    let dir = tempfile::tempdir().unwrap();
    let mut config = SimConfig::new(dir.path());
    config.keygen_delay = Duration::from_millis(60);
    let sim = spawn_sim(config.clone()).unwrap();
    let mut station = Station::connect(sim.addr);
    let (state, chip) = hello(&mut station);
    assert_eq!(state, DeviceState::FactoryNew);
    let start = Instant::now();
    let spki = generate(&mut station);
    assert!(
        start.elapsed() >= Duration::from_millis(60),
        "key generation takes time"
    );
    sim.shutdown();

    let sim = spawn_sim(config).unwrap();
    let mut station = Station::connect(sim.addr);
    assert_eq!(hello(&mut station), (DeviceState::KeyGenerated, chip));
    let start = Instant::now();
    assert_eq!(generate(&mut station), spki, "the same key after a restart");
    assert!(
        start.elapsed() < Duration::from_millis(60),
        "no new key is made"
    );
    let names: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    assert!(names.iter().all(|n| !n.ends_with(".tmp")), "{names:?}");
}

#[test]
fn a_dropped_command_succeeds_on_retry_and_errors_change_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let mut config = SimConfig::new(dir.path());
    config.fail_at = Some(FailStep::GetCsr);
    let sim = spawn_sim(config.clone()).unwrap();
    let mut station = Station::connect(sim.addr);
    generate(&mut station);
    assert!(
        station.call(&GET_CSR).is_none(),
        "the link drops at GET_CSR"
    );
    let mut station = Station::connect(sim.addr);
    assert_eq!(
        hello(&mut station).0,
        DeviceState::KeyGenerated,
        "GET_CSR was not acted on"
    );
    let (ty, _) = station.call(&GET_CSR).unwrap();
    assert_eq!(ty, 0x83, "once per start: the retry gets its CSR");
    drop(sim);

    config.fail_at = Some(FailStep::Lock);
    config.fail_mode = FailMode::Error;
    let sim = spawn_sim(config).unwrap();
    let mut station = Station::connect(sim.addr);
    let (ty, payload) = station.call(&Request::Lock).unwrap();
    match Response::decode(ty, &payload).unwrap() {
        Response::Error { code, .. } => assert_eq!(code, ErrorCode::Internal),
        other => panic!("{other:?}"),
    }
    assert_eq!(hello(&mut station).0, DeviceState::CsrIssued);
}

fn import(station: &mut Station, scalar: &[u8]) -> Response<'static> {
    let (ty, payload) = station
        .call(&Request::ImportKey {
            algorithm: KeyAlgorithm::P256,
            private_key: PrivateKey::new(scalar),
        })
        .unwrap();
    let payload: &'static [u8] = payload.leak();
    Response::decode(ty, payload).unwrap()
}

#[test]
fn key_import_works_persists_and_can_be_switched_off_or_faulted() {
    let dir = tempfile::tempdir().unwrap();
    let mut config = SimConfig::new(dir.path());
    config.fail_at = Some(FailStep::ImportKey);
    let sim = spawn_sim(config.clone()).unwrap();
    let mut station = Station::connect(sim.addr);
    assert!(
        station
            .call(&Request::ImportKey {
                algorithm: KeyAlgorithm::P256,
                private_key: PrivateKey::new(&[0x3C; 32]),
            })
            .is_none(),
        "the link drops at IMPORT_KEY"
    );
    let mut station = Station::connect(sim.addr);
    assert_eq!(hello(&mut station).0, DeviceState::FactoryNew);
    let Response::PublicKey { spki } = import(&mut station, &[0x3C; 32]) else {
        panic!("no PUBLIC_KEY");
    };
    assert_eq!(spki.len(), 91);
    sim.shutdown();

    // Restarted: the imported key is the key; without import power the
    // device says so and, with a key, GENERATE_KEY reads it back.
    config.fail_at = None;
    config.key_import = false;
    let sim = spawn_sim(config).unwrap();
    let mut station = Station::connect(sim.addr);
    assert_eq!(hello(&mut station).0, DeviceState::KeyGenerated);
    assert_eq!(generate(&mut station), spki);
    match import(&mut station, &[0x3C; 32]) {
        Response::Error { code, .. } => assert_eq!(code, ErrorCode::ImportUnsupported),
        other => panic!("{other:?}"),
    }
}
