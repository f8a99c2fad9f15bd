//! [`Device`]: the protocol's state machine over a key backend and storage.

use alloc::string::String;
use alloc::vec::Vec;

use hallmark_protocol::{
    DeviceInfo, DeviceState, ErrorCode, Frame, KeyAlgorithm, MessageType, Request, Response,
    SUPPORTED_VERSIONS, SemVer, choose_version,
};

use crate::error::DeviceError;
use crate::persist::{self, OwnedStamp, Record};
use crate::reply::Reply;
use crate::traits::{DeviceKey, KeyRef, Storage};

/// What HELLO_OK reports besides the state: fixed by the firmware.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DeviceIdentity {
    /// Product model (1–64 bytes).
    pub model: String,
    /// Hardware revision (1–32 bytes).
    pub hardware_revision: String,
    /// Running firmware version.
    pub firmware_version: SemVer,
    /// Bootloader version.
    pub bootloader_version: SemVer,
    /// The chip's unique id (1–32 bytes).
    pub chip_id: Vec<u8>,
    /// Whether the key backend is a secure element.
    pub secure_element: bool,
}

/// The device side of the protocol. Every state change is persisted through
/// `S` before the answer is made; [`Device::new`] resumes from storage.
#[derive(Debug)]
pub struct Device<K, S> {
    pub(crate) identity: DeviceIdentity,
    pub(crate) key: K,
    pub(crate) storage: S,
    pub(crate) record: Record,
    pub(crate) locked: bool,
}

/// A refusal: the ERROR to answer.
pub(crate) type Refusal = (ErrorCode, &'static str);

pub(crate) fn internal(e: DeviceError) -> Refusal {
    match e {
        DeviceError::Storage(_) => (
            ErrorCode::Storage,
            "persistent storage failed; state unchanged",
        ),
        DeviceError::Key(what)
        | DeviceError::Rng(what)
        | DeviceError::Corrupt(what)
        | DeviceError::Der(what) => (ErrorCode::Internal, what),
        DeviceError::InvalidKey(what) => (ErrorCode::BadRequest, what),
        DeviceError::Protocol(_) => (ErrorCode::Internal, "encoding failed"),
    }
}

impl<K: DeviceKey, S: Storage> Device<K, S> {
    /// A device with the state persisted in `storage` (factory-new if none).
    ///
    /// # Errors
    ///
    /// [`DeviceError::Storage`] if a read fails, [`DeviceError::Corrupt`]
    /// if a record does not parse, [`DeviceError::Protocol`] if an
    /// `identity` field is out of the protocol's bounds.
    pub fn new(identity: DeviceIdentity, key: K, mut storage: S) -> Result<Self, DeviceError> {
        let (record, locked) = persist::load(&mut storage)?;
        let device = Self {
            identity,
            key,
            storage,
            record,
            locked,
        };
        Response::HelloOk(device.info(1)).encoded_len()?;
        Ok(device)
    }

    /// The current state.
    pub fn state(&self) -> DeviceState {
        if self.locked {
            DeviceState::Locked
        } else {
            self.record.state
        }
    }

    /// The key's algorithm, if a key exists.
    pub fn key_algorithm(&self) -> Option<KeyAlgorithm> {
        self.record.key.as_ref().map(|k| k.algorithm)
    }

    /// The persisted key, for the firmware's own use of the backend.
    pub fn key_ref(&self) -> Option<KeyRef<'_>> {
        self.record.key.as_ref().map(|k| k.as_ref())
    }

    /// Signs `message` with the device key (e.g. TLS client authentication
    /// in the field): ECDSA DER, hashed as [`DeviceKey::sign`] says.
    ///
    /// # Errors
    ///
    /// [`DeviceError::Key`] if there is no key or the backend fails.
    pub fn sign(&mut self, message: &[u8]) -> Result<Vec<u8>, DeviceError> {
        let key = self.record.key.as_ref().ok_or(DeviceError::Key("no key"))?;
        self.key.sign(key.as_ref(), message)
    }

    /// The installed certificate chain (DER, leaf first); empty before INSTALL.
    pub fn certificate_chain(&self) -> &[Vec<u8>] {
        &self.record.chain
    }

    /// The installed stamp, if any.
    pub fn stamp(&self) -> Option<&OwnedStamp> {
        self.record.stamp.as_ref()
    }

    /// The firmware-given identity.
    pub fn identity(&self) -> &DeviceIdentity {
        &self.identity
    }

    /// The storage (e.g. to inspect records in a test).
    pub fn storage(&self) -> &S {
        &self.storage
    }

    /// Key backend and storage back, e.g. to "reboot" with the same storage.
    pub fn into_parts(self) -> (K, S) {
        (self.key, self.storage)
    }

    pub(crate) fn info(&self, version: u8) -> DeviceInfo<'_> {
        DeviceInfo {
            version,
            state: self.state(),
            key_algorithm: self.key_algorithm(),
            model: &self.identity.model,
            hardware_revision: &self.identity.hardware_revision,
            firmware_version: self.identity.firmware_version,
            bootloader_version: self.identity.bootloader_version,
            chip_id: &self.identity.chip_id,
            secure_element: self.identity.secure_element,
        }
    }

    /// Answers one request: `version` and `msg_type` from its frame header,
    /// `payload` its payload. Checks, in order: HELLO (any frame version),
    /// UNSUPPORTED_VERSION, UNKNOWN_COMMAND, LOCKED, BAD_REQUEST, then the
    /// command's own state rules.
    pub fn handle(&mut self, version: u8, msg_type: u8, payload: &[u8]) -> Reply {
        match self.dispatch(version, msg_type, payload) {
            Ok(reply) => reply,
            Err((code, message)) => Reply::error(code, message),
        }
    }

    /// Answers a decoded frame with the whole response frame (same
    /// `VERSION` and `SEQ`).
    pub fn handle_frame(&mut self, frame: &Frame<'_>) -> Vec<u8> {
        self.handle(frame.version, frame.msg_type, frame.payload)
            .to_frame(frame.version, frame.seq)
    }

    fn dispatch(&mut self, version: u8, msg_type: u8, payload: &[u8]) -> Result<Reply, Refusal> {
        if msg_type == MessageType::Hello.code() {
            let Ok(Request::Hello { versions }) = Request::decode(msg_type, payload) else {
                return Err((ErrorCode::BadRequest, "malformed HELLO"));
            };
            let chosen = choose_version(versions, SUPPORTED_VERSIONS).ok_or((
                ErrorCode::UnsupportedVersion,
                "no protocol version in common; the device speaks 1",
            ))?;
            return Ok(Reply::encode(&Response::HelloOk(self.info(chosen))));
        }
        if !SUPPORTED_VERSIONS.contains(&version) {
            return Err((
                ErrorCode::UnsupportedVersion,
                "frame version not supported; the device speaks 1",
            ));
        }
        match MessageType::from_code(msg_type) {
            Some(ty) if ty.is_request() => {}
            _ => return Err((ErrorCode::UnknownCommand, "unknown command")),
        }
        if self.locked {
            return Err((ErrorCode::Locked, "manufacturing mode is locked"));
        }
        let request = match Request::decode(msg_type, payload) {
            Ok(request) => request,
            Err(e) => return Ok(Reply::error(ErrorCode::BadRequest, &alloc::format!("{e}"))),
        };
        match request {
            Request::Hello { .. } => Err((ErrorCode::Internal, "HELLO is answered above")),
            Request::GenerateKey { algorithm } => self.generate_key(algorithm),
            Request::GetCsr(csr) => self.get_csr(&csr),
            Request::Install(install) => self.install(&install),
            Request::Verify { nonce } => self.verify(nonce),
            Request::Lock => self.lock(),
            Request::FactoryReset => self.factory_reset(),
            Request::ImportKey {
                algorithm,
                private_key,
            } => self.import_key(algorithm, private_key.as_bytes()),
        }
    }

    /// Makes `record` the persisted state (one atomic write; none if unchanged).
    pub(crate) fn commit(&mut self, record: Record) -> Result<(), Refusal> {
        if record != self.record {
            let bytes = record.encode().map_err(internal)?;
            self.storage
                .write(persist::RECORD_PROVISIONING, &bytes)
                .map_err(internal)?;
            self.record = record;
        }
        Ok(())
    }
}
