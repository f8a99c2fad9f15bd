//! [`spawn_sim`]: one simulated device on a TCP listener, on its own thread.

use std::io::{ErrorKind, Read as _, Write as _};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::JoinHandle;
use std::time::Duration;

use hallmark_device::{
    Device, DeviceError, DeviceIdentity, DeviceKey, GeneratedKey, KeyImport, KeyRef, Reply,
    SoftKey, SystemRng, frame_error_response,
};
use hallmark_protocol::KeyAlgorithm;
use hallmark_protocol::{ErrorCode, FrameDecoder, MessageType, SemVer};

use crate::storage::{FileStorage, write_atomic};
use crate::{FailMode, SimConfig, SimError};

/// How often a blocked read looks at the stop flag.
const POLL: Duration = Duration::from_millis(100);
/// The file holding the simulated chip's unique id (8 random bytes).
const CHIP_ID_FILE: &str = "chip_id";

type SimDevice = Device<SimKey, FileStorage>;

/// The simulator's key backend: [`SoftKey`], with its import power only
/// when the configuration allows it.
#[derive(Debug)]
struct SimKey {
    soft: SoftKey<SystemRng>,
    import: bool,
}

impl DeviceKey for SimKey {
    fn generate(&mut self, algorithm: KeyAlgorithm) -> Result<GeneratedKey, DeviceError> {
        self.soft.generate(algorithm)
    }
    fn public_key(&mut self, key: KeyRef<'_>) -> Result<Vec<u8>, DeviceError> {
        self.soft.public_key(key)
    }
    fn sign(&mut self, key: KeyRef<'_>, message: &[u8]) -> Result<Vec<u8>, DeviceError> {
        self.soft.sign(key, message)
    }
    fn importer(&mut self) -> Option<&mut dyn KeyImport> {
        if self.import {
            self.soft.importer()
        } else {
            None
        }
    }
}

/// A running simulated device. Dropping it stops the device (as does
/// [`SimHandle::shutdown`]); its state stays in the state directory.
#[derive(Debug)]
pub struct SimHandle {
    /// The address it listens on (the real port when bound to port 0).
    pub addr: SocketAddr,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl SimHandle {
    /// Stops the device: closes the listener and any open connection, and
    /// waits for its thread.
    pub fn shutdown(mut self) {
        self.stop_now();
    }

    /// The `tcp://HOST:PORT` address stations use.
    pub fn url(&self) -> String {
        format!("tcp://{}", self.addr)
    }

    fn stop_now(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        let Some(thread) = self.thread.take() else {
            return;
        };
        // Wake the accept call.
        let mut wake = self.addr;
        if wake.ip().is_unspecified() {
            wake.set_ip(std::net::Ipv4Addr::LOCALHOST.into());
        }
        let _ = TcpStream::connect_timeout(&wake, Duration::from_secs(1));
        let _ = thread.join();
    }
}

impl Drop for SimHandle {
    fn drop(&mut self) {
        self.stop_now();
    }
}

/// Starts a simulated device: opens (or creates) its state in
/// `config.state_dir`, binds `config.listen` and serves one connection at a
/// time on a new thread until the handle is shut down or dropped.
///
/// # Errors
///
/// [`SimError::Io`] (state directory, chip id, bind), [`SimError::Device`]
/// (a corrupt record), [`SimError::Invalid`] (an identity field out of the
/// protocol's bounds).
pub fn spawn_sim(config: SimConfig) -> Result<SimHandle, SimError> {
    let device = open_device(&config)?;
    let listener = TcpListener::bind(config.listen).map_err(|source| SimError::Io {
        what: format!("cannot listen on {}", config.listen),
        source,
    })?;
    let addr = listener.local_addr().map_err(|source| SimError::Io {
        what: "cannot read the listening address".into(),
        source,
    })?;
    let stop = Arc::new(AtomicBool::new(false));
    let mut sim = Sim {
        device,
        config,
        stop: Arc::clone(&stop),
        fault_fired: false,
        secret_seen: false,
    };
    let thread = std::thread::Builder::new()
        .name(format!("hallmark-sim {addr}"))
        .spawn(move || sim.serve(&listener))
        .map_err(|source| SimError::Io {
            what: "cannot start the simulator thread".into(),
            source,
        })?;
    Ok(SimHandle {
        addr,
        stop,
        thread: Some(thread),
    })
}

fn open_device(config: &SimConfig) -> Result<SimDevice, SimError> {
    let io = |what: &str| {
        let what = format!("{what} {}", config.state_dir.display());
        move |source| SimError::Io { what, source }
    };
    let storage = FileStorage::open(&config.state_dir).map_err(io("cannot create"))?;
    let chip_id = chip_id(&config.state_dir).map_err(io("cannot read or make the chip id in"))?;
    let identity = DeviceIdentity {
        model: config.model.clone(),
        hardware_revision: config.hardware_revision.clone(),
        firmware_version: config.firmware,
        bootloader_version: SemVer::new(1, 0, 0),
        chip_id,
        secure_element: false,
    };
    let key = SimKey {
        soft: SoftKey::new(SystemRng),
        import: config.key_import,
    };
    Device::new(identity, key, storage).map_err(|e| match e {
        hallmark_device::DeviceError::Protocol(p) => {
            SimError::Invalid(format!("the device identity is out of bounds: {p}"))
        }
        other => SimError::Device(other),
    })
}

/// The chip id: made once (8 random bytes) and kept in the state directory.
fn chip_id(dir: &Path) -> std::io::Result<Vec<u8>> {
    let path = dir.join(CHIP_ID_FILE);
    match std::fs::read(&path) {
        Ok(id) if (1..=32).contains(&id.len()) => return Ok(id),
        Ok(_) => return Err(std::io::Error::other("the chip id file is corrupt")),
        Err(e) if e.kind() == ErrorKind::NotFound => {}
        Err(e) => return Err(e),
    }
    let mut id = vec![0u8; 8];
    getrandom::fill(&mut id).map_err(|e| std::io::Error::other(e.to_string()))?;
    write_atomic(&path, &id)?;
    Ok(id)
}

struct Sim {
    device: SimDevice,
    config: SimConfig,
    stop: Arc<AtomicBool>,
    fault_fired: bool,
    /// An IMPORT_KEY frame was received since the buffers were last wiped.
    secret_seen: bool,
}

/// What to do with one request.
enum Action {
    Answer(Vec<u8>),
    Drop,
}

impl Sim {
    fn stopping(&self) -> bool {
        self.stop.load(Ordering::SeqCst)
    }

    fn serve(&mut self, listener: &TcpListener) {
        for stream in listener.incoming() {
            if self.stopping() {
                return;
            }
            match stream {
                Ok(stream) => self.session(stream),
                Err(e) => tracing::warn!(error = %e, "simulated device: accept failed"),
            }
        }
    }

    /// Serves one connection until the station closes it, a fault drops
    /// it, or the simulator stops.
    fn session(&mut self, mut stream: TcpStream) {
        let _ = stream.set_nodelay(true);
        if stream.set_read_timeout(Some(POLL)).is_err() {
            return;
        }
        let mut decoder = Box::new(FrameDecoder::new());
        let mut buf = vec![0u8; 8192];
        while !self.stopping() {
            let n = match stream.read(&mut buf) {
                Ok(0) => return,
                Ok(n) => n,
                Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {
                    continue;
                }
                Err(e) if e.kind() == ErrorKind::Interrupted => continue,
                Err(_) => return,
            };
            let (out, dropped) = self.receive(&mut decoder, &buf[..n]);
            if self.secret_seen {
                // An IMPORT_KEY went through: wipe what held its frame.
                self.secret_seen = false;
                buf.fill(0);
                decoder.wipe_consumed();
            }
            if !out.is_empty() && stream.write_all(&out).is_err() {
                return;
            }
            if dropped {
                tracing::info!(addr = %self.config.listen, "simulated device: injected link drop");
                let _ = stream.shutdown(Shutdown::Both);
                return;
            }
        }
    }

    /// Feeds received bytes; returns the response bytes and whether to drop
    /// the link now.
    fn receive(&mut self, decoder: &mut FrameDecoder, mut input: &[u8]) -> (Vec<u8>, bool) {
        let mut out = Vec::new();
        loop {
            let used = decoder.fill(input);
            input = &input[used..];
            while let Some(event) = decoder.next_event() {
                match event {
                    Ok(frame) => {
                        match self.answer(frame.version, frame.msg_type, frame.seq, frame.payload) {
                            Action::Answer(bytes) => out.extend(bytes),
                            Action::Drop => return (out, true),
                        }
                    }
                    Err(error) => out.extend(frame_error_response(&error).unwrap_or_default()),
                }
            }
            if input.is_empty() {
                return (out, false);
            }
        }
    }

    fn answer(&mut self, version: u8, msg_type: u8, seq: u16, payload: &[u8]) -> Action {
        self.secret_seen |= msg_type == MessageType::ImportKey.code();
        if let Some(step) = self.config.fail_at
            && !self.fault_fired
            && step.message_type().code() == msg_type
        {
            self.fault_fired = true;
            return match self.config.fail_mode {
                FailMode::Drop => Action::Drop,
                FailMode::Error => Action::Answer(
                    Reply::error(ErrorCode::Internal, "injected failure").to_frame(version, seq),
                ),
            };
        }
        if msg_type == MessageType::GenerateKey.code()
            && self.device.key_algorithm().is_none()
            && !self.config.keygen_delay.is_zero()
        {
            std::thread::sleep(self.config.keygen_delay);
        }
        Action::Answer(
            self.device
                .handle(version, msg_type, payload)
                .to_frame(version, seq),
        )
    }
}
