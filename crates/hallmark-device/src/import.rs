//! IMPORT_KEY: a key pair the station made, for a device whose key backend
//! has import power ([`crate::KeyImport`]).

use hallmark_protocol::{DeviceState, ErrorCode, KeyAlgorithm, Response};

use crate::device::{Device, Refusal, internal};
use crate::persist::{Record, StoredKey};
use crate::reply::Reply;
use crate::traits::{DeviceKey, Storage};

impl<K: DeviceKey, S: Storage> Device<K, S> {
    /// IMPORT_KEY: only with import power and while there is no key. A
    /// repeat after success finds the key and answers KEY_EXISTS (the
    /// station then reads the public key with GENERATE_KEY). The length was
    /// checked when the request was decoded.
    pub(crate) fn import_key(
        &mut self,
        algorithm: KeyAlgorithm,
        private_key: &[u8],
    ) -> Result<Reply, Refusal> {
        let Some(importer) = self.key.importer() else {
            return Err((
                ErrorCode::ImportUnsupported,
                "this device's key backend cannot import keys; use GENERATE_KEY",
            ));
        };
        if self.record.key.is_some() {
            return Err((
                ErrorCode::KeyExists,
                "a key exists; IMPORT_KEY needs a device without a key (FACTORY_RESET first)",
            ));
        }
        let imported = importer.import(algorithm, private_key).map_err(internal)?;
        let record = Record {
            state: DeviceState::KeyGenerated,
            key: Some(StoredKey {
                algorithm,
                handle: imported.handle,
            }),
            ..Record::factory_new()
        };
        if let Err(refusal) = self.commit(record.clone()) {
            if let Some(key) = &record.key {
                let _ = self.key.destroy(key.as_ref());
            }
            return Err(refusal);
        }
        Ok(Reply::encode(&Response::PublicKey {
            spki: &imported.spki,
        }))
    }
}
