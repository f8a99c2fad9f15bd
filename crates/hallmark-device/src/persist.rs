//! The persisted provisioning record and the lock flag.
//!
//! Everything but the lock lives in one record, [`RECORD_PROVISIONING`], so
//! that every state change is one atomic [`Storage::write`]: a device that
//! loses power mid-command wakes up in the old state or the new one. LOCK
//! writes [`RECORD_LOCK`] alone. Layout (version 1), in the protocol's field
//! encodings:
//!
//! ```text
//! format u8 = 1 | state u8 (0–4) | key_algorithm u8 (0 = none) | handle bytes16 (0–1024)
//! | requested_id str8 (0–64) | chain: count u8 (0–4), each bytes16 (1–4000)
//! | stamp_present bool | [device_id str8 | endpoint str16 | pop_code str8]
//! ```

use alloc::string::{String, ToString};
use alloc::vec::Vec;

use hallmark_protocol::codec::{Reader, Writer};
use hallmark_protocol::{
    CERTIFICATE_LEN, DEVICE_ID_LEN, DeviceState, KeyAlgorithm, MAX_CHAIN_LEN, ProtocolError, Stamp,
};
use zeroize::Zeroizing;

use crate::error::DeviceError;
use crate::traits::{KeyRef, Storage};

/// The record holding state, key handle, requested id, chain and stamp.
pub const RECORD_PROVISIONING: &str = "hm_prov";
/// The lock flag: present (one byte, `0x01`) once LOCK succeeded.
pub const RECORD_LOCK: &str = "hm_lock";

const FORMAT: u8 = 1;
const HANDLE_LEN: core::ops::RangeInclusive<usize> = 0..=1024;

/// The stamp INSTALL wrote, owned.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OwnedStamp {
    /// The device id (the leaf certificate's commonName).
    pub device_id: String,
    /// Where the device connects in the field.
    pub endpoint: String,
    /// The proof-of-possession / claim code, if one was given.
    pub pop_code: Option<String>,
}

impl OwnedStamp {
    /// The borrowed protocol view.
    pub fn as_stamp(&self) -> Stamp<'_> {
        Stamp {
            device_id: &self.device_id,
            endpoint: &self.endpoint,
            pop_code: self.pop_code.as_deref(),
        }
    }
}

impl From<Stamp<'_>> for OwnedStamp {
    fn from(s: Stamp<'_>) -> Self {
        Self {
            device_id: s.device_id.to_string(),
            endpoint: s.endpoint.to_string(),
            pop_code: s.pop_code.map(ToString::to_string),
        }
    }
}

/// A persisted key.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct StoredKey {
    pub algorithm: KeyAlgorithm,
    pub handle: Zeroizing<Vec<u8>>,
}

impl StoredKey {
    pub fn as_ref(&self) -> KeyRef<'_> {
        KeyRef {
            algorithm: self.algorithm,
            handle: &self.handle,
        }
    }
}

/// The provisioning record: what survives a reboot (the lock aside).
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Record {
    pub state: DeviceState,
    pub key: Option<StoredKey>,
    /// GET_CSR's device id, when the station named one.
    pub requested_id: Option<String>,
    pub chain: Vec<Vec<u8>>,
    pub stamp: Option<OwnedStamp>,
}

impl Record {
    pub const fn factory_new() -> Self {
        Self {
            state: DeviceState::FactoryNew,
            key: None,
            requested_id: None,
            chain: Vec::new(),
            stamp: None,
        }
    }

    fn write(&self, w: &mut Writer<'_>) -> Result<(), ProtocolError> {
        w.u8(FORMAT)?;
        w.u8(self.state.code())?;
        w.u8(self.key.as_ref().map_or(0, |k| k.algorithm.code()))?;
        w.bytes16(
            "handle",
            self.key.as_ref().map_or(&[][..], |k| &k.handle),
            HANDLE_LEN,
        )?;
        w.bytes8(
            "requested_id",
            self.requested_id.as_deref().unwrap_or("").as_bytes(),
            0..=*DEVICE_ID_LEN.end(),
        )?;
        w.u8(u8::try_from(self.chain.len())
            .map_err(|_| ProtocolError::OutOfBounds { field: "chain" })?)?;
        for certificate in &self.chain {
            w.bytes16("certificate", certificate, CERTIFICATE_LEN)?;
        }
        w.bool(self.stamp.is_some())?;
        match &self.stamp {
            Some(stamp) => stamp.as_stamp().write(w),
            None => Ok(()),
        }
    }

    /// The record's bytes (zeroized when dropped: they hold the key handle).
    pub fn encode(&self) -> Result<Zeroizing<Vec<u8>>, DeviceError> {
        let mut counter = Writer::counting();
        self.write(&mut counter)?;
        let mut out = Zeroizing::new(alloc::vec![0u8; counter.len()]);
        self.write(&mut Writer::new(&mut out))?;
        Ok(out)
    }

    pub fn decode(bytes: &[u8]) -> Result<Self, DeviceError> {
        let corrupt = |_| DeviceError::Corrupt("provisioning record does not parse");
        let mut r = Reader::new(bytes);
        if r.u8("format").map_err(corrupt)? != FORMAT {
            return Err(DeviceError::Corrupt("unknown provisioning record format"));
        }
        let state = DeviceState::decode(r.u8("state").map_err(corrupt)?).map_err(corrupt)?;
        let algorithm = r.u8("key_algorithm").map_err(corrupt)?;
        let handle = r.bytes16("handle", HANDLE_LEN).map_err(corrupt)?;
        let key = match algorithm {
            0 => None,
            code => Some(StoredKey {
                algorithm: KeyAlgorithm::decode(code).map_err(corrupt)?,
                handle: Zeroizing::new(handle.to_vec()),
            }),
        };
        let requested_id = r
            .str8("requested_id", 0..=*DEVICE_ID_LEN.end())
            .map_err(corrupt)?;
        let count = usize::from(r.u8("chain").map_err(corrupt)?);
        if count > MAX_CHAIN_LEN {
            return Err(DeviceError::Corrupt("chain too long"));
        }
        let mut chain = Vec::with_capacity(count);
        for _ in 0..count {
            chain.push(
                r.bytes16("certificate", CERTIFICATE_LEN)
                    .map_err(corrupt)?
                    .to_vec(),
            );
        }
        let stamp = match r.bool("stamp_present").map_err(corrupt)? {
            true => Some(OwnedStamp::from(Stamp::decode(&mut r).map_err(corrupt)?)),
            false => None,
        };
        r.finish().map_err(corrupt)?;
        let record = Self {
            state,
            key,
            requested_id: (!requested_id.is_empty()).then(|| requested_id.to_string()),
            chain,
            stamp,
        };
        record.check()?;
        Ok(record)
    }

    /// The invariants between state and contents.
    fn check(&self) -> Result<(), DeviceError> {
        use DeviceState::*;
        let has_key = self.key.is_some();
        let installed = !self.chain.is_empty() && self.stamp.is_some();
        let ok = match self.state {
            FactoryNew => !has_key,
            KeyGenerated | CsrIssued => has_key,
            Installed | Verified => has_key && installed,
            Locked => false,
        };
        if ok {
            Ok(())
        } else {
            Err(DeviceError::Corrupt(
                "state contradicts the record's contents",
            ))
        }
    }
}

/// Reads the record and the lock flag. A missing record is factory-new.
pub(crate) fn load(storage: &mut impl Storage) -> Result<(Record, bool), DeviceError> {
    let record = match storage.read(RECORD_PROVISIONING)? {
        Some(bytes) => Record::decode(&Zeroizing::new(bytes))?,
        None => Record::factory_new(),
    };
    let locked = match storage.read(RECORD_LOCK)? {
        None => false,
        Some(flag) if flag == [1] => true,
        Some(_) => return Err(DeviceError::Corrupt("lock flag")),
    };
    Ok((record, locked))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn full() -> Record {
        Record {
            state: DeviceState::Verified,
            key: Some(StoredKey {
                algorithm: KeyAlgorithm::P384,
                handle: Zeroizing::new(alloc::vec![7; 48]),
            }),
            requested_id: Some("ACME-1".into()),
            chain: alloc::vec![alloc::vec![0x30; 500], alloc::vec![0x30; 400]],
            stamp: Some(OwnedStamp {
                device_id: "ACME-1".into(),
                endpoint: "mqtts://x".into(),
                pop_code: Some("c".into()),
            }),
        }
    }

    #[test]
    fn round_trip() {
        for record in [Record::factory_new(), full()] {
            assert_eq!(Record::decode(&record.encode().unwrap()).unwrap(), record);
        }
    }

    #[test]
    fn contradictions_and_garbage_are_corrupt() {
        let mut r = full();
        r.chain.clear();
        assert!(matches!(
            Record::decode(&r.encode().unwrap()),
            Err(DeviceError::Corrupt(_))
        ));
        let mut r = Record::factory_new();
        r.state = DeviceState::KeyGenerated;
        assert!(Record::decode(&r.encode().unwrap()).is_err());
        let bytes = full().encode().unwrap();
        for cut in 0..bytes.len() {
            assert!(Record::decode(&bytes[..cut]).is_err());
        }
        assert!(Record::decode(&[2, 0, 0, 0, 0, 0, 0, 0]).is_err());
    }
}
