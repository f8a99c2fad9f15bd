//! Why a device was not provisioned: [`Failure`] and its report status.

use hallmark_protocol::{ErrorCode, SemVer};

use super::link::LinkError;
use super::record::Step;
use crate::Error;

/// A device that was not provisioned, and why.
#[derive(Debug)]
pub(crate) enum Failure {
    /// The device could not be connected to.
    DeviceUnreachable(String),
    /// The link dropped during `Step`.
    LinkLost(Step),
    /// The device did not answer `Step` in time.
    DeviceTimeout(Step),
    /// The device answered `Step` with ERROR.
    DeviceError(Step, ErrorCode, String),
    /// The device's answer broke the protocol or a check.
    Protocol(Step, String),
    /// HELLO said LOCKED: provisioned before; never again.
    DeviceLocked,
    /// Firmware below the minimum.
    FirmwareTooOld { found: SemVer, minimum: SemVer },
    /// Not the model the run is for.
    ModelMismatch { found: String, expected: String },
    /// A certificate is installed that this station has no record of.
    UnknownInstalledCertificate(String),
    /// The server answered with a refusal.
    ServerRefused { reason: String, message: String },
    /// The station's offline sub-CA refused (count used, id taken, …).
    OfflineRefused {
        reason: &'static str,
        message: String,
    },
    /// The server could not be reached: the run stops taking devices.
    ServerUnreachable(String),
    /// Another failure talking to the server (TLS, transport, bad answer).
    Server(String),
    /// The certificate or the device's proof failed the station's checks.
    Check(&'static str, String),
    /// Left before enrollment because the run is stopping.
    Abandoned(String),
    /// The certificate is installed and the device locked, but the server
    /// could not be told.
    NotReported(String),
    /// `--keygen station`, and the device's key backend cannot import keys.
    ImportUnsupported(String),
}

impl Failure {
    /// The report's `status`.
    pub(crate) fn status(&self) -> String {
        match self {
            Self::DeviceUnreachable(_) => "device_unreachable".into(),
            Self::LinkLost(step) => format!("link_lost_at_{}", step.command()),
            Self::DeviceTimeout(step) => format!("device_timeout_at_{}", step.command()),
            Self::DeviceError(step, ..) => format!("device_error_at_{}", step.command()),
            Self::Protocol(step, _) => format!("protocol_error_at_{}", step.command()),
            Self::DeviceLocked => "device_locked".into(),
            Self::FirmwareTooOld { .. } => "firmware_too_old".into(),
            Self::ModelMismatch { .. } => "model_mismatch".into(),
            Self::UnknownInstalledCertificate(_) => "installed_certificate_unknown".into(),
            Self::ServerRefused { reason, .. } => format!("server_refused_{reason}"),
            Self::OfflineRefused { reason, .. } => format!("offline_refused_{reason}"),
            Self::ServerUnreachable(_) => "server_unreachable".into(),
            Self::Server(_) => "server_error".into(),
            Self::Check(what, _) => (*what).into(),
            Self::Abandoned(_) => "abandoned_server_unreachable".into(),
            Self::NotReported(_) => "installed_not_reported".into(),
            Self::ImportUnsupported(_) => "key_import_unsupported".into(),
        }
    }

    /// For people.
    pub(crate) fn message(&self) -> String {
        match self {
            Self::DeviceUnreachable(e) => format!("cannot connect to the device: {e}"),
            Self::LinkLost(step) => format!("the link dropped during {}", step.command()),
            Self::DeviceTimeout(step) => format!("no answer to {} in time", step.command()),
            Self::DeviceError(step, code, message) => {
                format!("the device refused {}: {code}: {message}", step.command())
            }
            Self::Protocol(step, e) => format!("{}: {e}", step.command()),
            Self::DeviceLocked => {
                "the device is locked: it was provisioned before and is never provisioned again"
                    .into()
            }
            Self::FirmwareTooOld { found, minimum } => {
                format!("firmware {found} is below the minimum {minimum}")
            }
            Self::ModelMismatch { found, expected } => {
                format!("model {found:?}, expected {expected:?}")
            }
            Self::UnknownInstalledCertificate(state) => {
                format!("the device is {state} with a certificate this station has no record of")
            }
            Self::ServerRefused { reason, message } => {
                format!("server refused: {reason}: {message}")
            }
            Self::OfflineRefused { reason, message } => {
                format!("offline sub-CA refused: {reason}: {message}")
            }
            Self::ServerUnreachable(e) | Self::Server(e) => e.clone(),
            Self::Check(_, e) | Self::Abandoned(e) | Self::NotReported(e) => e.clone(),
            Self::ImportUnsupported(e) => format!(
                "key import unsupported by device (its key backend only generates keys; \
                 use --keygen device): {e}"
            ),
        }
    }

    /// A failure talking to the device during `step`.
    pub(crate) fn link(step: Step, error: LinkError) -> Self {
        match error {
            LinkError::Connect(e) => Self::DeviceUnreachable(e),
            LinkError::Lost => Self::LinkLost(step),
            LinkError::Timeout => Self::DeviceTimeout(step),
            LinkError::Protocol(e) => Self::Protocol(step, e),
        }
    }

    /// A failure talking to the server.
    pub(crate) fn server(error: Error) -> Self {
        let text = error_chain(&error);
        match error {
            Error::Refused {
                reason, message, ..
            } => Self::ServerRefused { reason, message },
            Error::Unreachable { .. } => Self::ServerUnreachable(text),
            Error::OfflineRefused { reason, message } => Self::OfflineRefused { reason, message },
            _ => Self::Server(text),
        }
    }

    /// Whether the run must stop taking devices.
    pub(crate) fn stops_run(&self) -> bool {
        matches!(self, Self::ServerUnreachable(_))
            || matches!(self, Self::NotReported(e) if e.starts_with(UNREACHABLE_PREFIX))
    }
}

/// [`Failure::NotReported`] messages for an unreachable server start with this.
pub(crate) const UNREACHABLE_PREFIX: &str = "server unreachable";

/// An error and its sources, `: `-separated.
pub(crate) fn error_chain(error: &(dyn std::error::Error + 'static)) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(e) = source {
        text.push_str(": ");
        text.push_str(&e.to_string());
        source = e.source();
    }
    text
}
