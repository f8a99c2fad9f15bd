//! A simulated Hallmark device on TCP, for the station's tests and for
//! `hallmark demo`.
//!
//! The device is the real state machine of `hallmark-device`
//! ([`hallmark_device::Device`]) with a software key ([`SoftKey`] drawing
//! from the operating system's randomness) and [`FileStorage`]: one file
//! per record in the simulator's state directory, written atomically, so a
//! simulator that is stopped and started again on the same directory is
//! the same device in the same state (key, chain, lock).
//!
//! [`spawn_sim`] runs one device on a TCP listener, one connection at a time
//! (a UART is one link), on its own thread. Faults are injected per command
//! ([`FailStep`]): once per start, the device either drops the connection
//! on receiving that command, before acting on it (a link loss or a crash),
//! or answers it with ERROR `INTERNAL` ([`FailMode`]). With
//! [`SimConfig::key_import`] off the key backend has no import power, like
//! a secure element that only generates keys: IMPORT_KEY is answered with
//! `IMPORT_UNSUPPORTED`.
//!
//! [`SoftKey`]: hallmark_device::SoftKey

#![deny(missing_docs)]

mod server;
mod storage;

use std::fmt;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::str::FromStr;
use std::time::Duration;

use hallmark_protocol::{MessageType, SemVer};

pub use server::{SimHandle, spawn_sim};
pub use storage::FileStorage;

/// How to run a simulated device.
#[derive(Clone, Debug)]
pub struct SimConfig {
    /// Where to listen (`127.0.0.1:0` for any free port).
    pub listen: SocketAddr,
    /// The device's flash: records, and its chip id (made on first start).
    pub state_dir: PathBuf,
    /// Product model reported in HELLO_OK.
    pub model: String,
    /// Hardware revision reported in HELLO_OK.
    pub hardware_revision: String,
    /// Running firmware version reported in HELLO_OK.
    pub firmware: SemVer,
    /// How long generating a key takes (an ATECC608 takes ~50–100 ms).
    pub keygen_delay: Duration,
    /// Fault injection: the command to fail, once per start.
    pub fail_at: Option<FailStep>,
    /// How the injected fault shows.
    pub fail_mode: FailMode,
    /// Whether the key backend can import a key the station made
    /// (IMPORT_KEY); `false` simulates a secure element that only
    /// generates its keys (IMPORT_UNSUPPORTED).
    pub key_import: bool,
}

impl SimConfig {
    /// A device with state in `state_dir`, listening on a free loopback
    /// port: model `hallmark-sim`, hardware `A`, firmware 1.0.0, instant
    /// key generation, key import allowed, no faults.
    pub fn new(state_dir: impl Into<PathBuf>) -> Self {
        Self {
            listen: SocketAddr::from(([127, 0, 0, 1], 0)),
            state_dir: state_dir.into(),
            model: "hallmark-sim".into(),
            hardware_revision: "A".into(),
            firmware: SemVer::new(1, 0, 0),
            keygen_delay: Duration::ZERO,
            fail_at: None,
            fail_mode: FailMode::Drop,
            key_import: true,
        }
    }
}

/// A command at which to inject a fault.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum FailStep {
    /// HELLO.
    Hello,
    /// GENERATE_KEY.
    GenerateKey,
    /// IMPORT_KEY.
    ImportKey,
    /// GET_CSR.
    GetCsr,
    /// INSTALL.
    Install,
    /// VERIFY.
    Verify,
    /// LOCK.
    Lock,
}

impl FailStep {
    /// Every step, in protocol order.
    pub const ALL: [Self; 7] = [
        Self::Hello,
        Self::GenerateKey,
        Self::ImportKey,
        Self::GetCsr,
        Self::Install,
        Self::Verify,
        Self::Lock,
    ];

    /// The command-line name (`hello`, `generate-key`, …).
    pub const fn name(self) -> &'static str {
        match self {
            Self::Hello => "hello",
            Self::GenerateKey => "generate-key",
            Self::ImportKey => "import-key",
            Self::GetCsr => "get-csr",
            Self::Install => "install",
            Self::Verify => "verify",
            Self::Lock => "lock",
        }
    }

    /// The message type this step fails.
    pub const fn message_type(self) -> MessageType {
        match self {
            Self::Hello => MessageType::Hello,
            Self::GenerateKey => MessageType::GenerateKey,
            Self::ImportKey => MessageType::ImportKey,
            Self::GetCsr => MessageType::GetCsr,
            Self::Install => MessageType::Install,
            Self::Verify => MessageType::Verify,
            Self::Lock => MessageType::Lock,
        }
    }
}

impl fmt::Display for FailStep {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for FailStep {
    type Err = SimError;
    fn from_str(s: &str) -> Result<Self, SimError> {
        Self::ALL
            .into_iter()
            .find(|step| step.name() == s)
            .ok_or_else(|| {
                SimError::Invalid(format!(
                    "unknown step {s:?}: hello, generate-key, import-key, get-csr, install, verify or lock"
                ))
            })
    }
}

/// How an injected fault shows.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum FailMode {
    /// The device drops the connection on receiving the command, before
    /// acting on it (a link loss, or a crash and reboot).
    #[default]
    Drop,
    /// The device answers the command with ERROR `INTERNAL`, changing nothing.
    Error,
}

impl FromStr for FailMode {
    type Err = SimError;
    fn from_str(s: &str) -> Result<Self, SimError> {
        match s {
            "drop" => Ok(Self::Drop),
            "error" => Ok(Self::Error),
            other => Err(SimError::Invalid(format!(
                "unknown fault mode {other:?}: drop or error"
            ))),
        }
    }
}

/// Parses `major.minor.patch`.
///
/// # Errors
///
/// [`SimError::Invalid`] for anything else.
pub fn parse_semver(text: &str) -> Result<SemVer, SimError> {
    let invalid = || SimError::Invalid(format!("{text:?} is not a version like 1.2.3"));
    let mut parts = text.trim().split('.').map(|p| p.parse::<u16>());
    match (parts.next(), parts.next(), parts.next(), parts.next()) {
        (Some(Ok(major)), Some(Ok(minor)), Some(Ok(patch)), None) => {
            Ok(SemVer::new(major, minor, patch))
        }
        _ => Err(invalid()),
    }
}

/// The crate's one error type.
#[derive(Debug, thiserror::Error)]
pub enum SimError {
    /// A configuration value is invalid.
    #[error("{0}")]
    Invalid(String),
    /// The state directory or the listener failed.
    #[error("{what}")]
    Io {
        /// What failed.
        what: String,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// The device refused its persisted state or identity.
    #[error("the simulated device cannot start: {0}")]
    Device(hallmark_device::DeviceError),
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_parse() {
        for step in FailStep::ALL {
            assert_eq!(step.name().parse::<FailStep>().unwrap(), step);
        }
        assert!("reset".parse::<FailStep>().is_err());
        assert_eq!("error".parse::<FailMode>().unwrap(), FailMode::Error);
        assert_eq!(parse_semver("1.2.3").unwrap(), SemVer::new(1, 2, 3));
        assert!(parse_semver("1.2").is_err());
        assert!(parse_semver("1.2.3.4").is_err());
    }
}
