//! The manufacturing commands, each a transition of the persisted record.

use alloc::string::ToString;
use alloc::vec::Vec;

use hallmark_protocol::{
    CsrRequest, DeviceState, ErrorCode, Install, KeyAlgorithm, Response, VERIFY_MESSAGE_MAX,
    verify_message,
};
use sha2::{Digest, Sha256};

use crate::device::{Device, Refusal, internal};
use crate::persist::{self, OwnedStamp, Record, StoredKey};
use crate::reply::Reply;
use crate::traits::{DeviceKey, Storage};
use crate::x509::{ChainProblem, CsrBuilder, check_chain};

const NO_KEY: Refusal = (ErrorCode::NoKey, "no key: send GENERATE_KEY first");

impl<K: DeviceKey, S: Storage> Device<K, S> {
    fn stored_key(&self) -> Result<&StoredKey, Refusal> {
        self.record.key.as_ref().ok_or(NO_KEY)
    }

    fn device_spki(&mut self) -> Result<Vec<u8>, Refusal> {
        let key = self.record.key.as_ref().ok_or(NO_KEY)?;
        self.key.public_key(key.as_ref()).map_err(internal)
    }

    /// GENERATE_KEY: idempotent for the same algorithm.
    pub(crate) fn generate_key(&mut self, algorithm: KeyAlgorithm) -> Result<Reply, Refusal> {
        if let Some(existing) = &self.record.key {
            if existing.algorithm != algorithm {
                return Err((
                    ErrorCode::KeyExists,
                    "a key of another algorithm exists; FACTORY_RESET first",
                ));
            }
            let spki = self.device_spki()?;
            return Ok(Reply::encode(&Response::PublicKey { spki: &spki }));
        }
        let generated = self.key.generate(algorithm).map_err(internal)?;
        let record = Record {
            state: DeviceState::KeyGenerated,
            key: Some(StoredKey {
                algorithm,
                handle: generated.handle,
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
            spki: &generated.spki,
        }))
    }

    /// GET_CSR: allowed with a key and no certificate installed.
    pub(crate) fn get_csr(&mut self, request: &CsrRequest<'_>) -> Result<Reply, Refusal> {
        let algorithm = self.stored_key()?.algorithm;
        if matches!(
            self.record.state,
            DeviceState::Installed | DeviceState::Verified
        ) {
            return Err((
                ErrorCode::BadState,
                "a certificate is installed; FACTORY_RESET for a new CSR",
            ));
        }
        let spki = self.device_spki()?;
        let builder = CsrBuilder::new(request, &spki, algorithm).map_err(internal)?;
        let tbs = builder.to_be_signed().map_err(internal)?;
        let key = self.record.key.as_ref().ok_or(NO_KEY)?.as_ref();
        let signature = self.key.sign(key, &tbs).map_err(internal)?;
        let csr = builder.finish(&signature).map_err(internal)?;
        let record = Record {
            state: DeviceState::CsrIssued,
            requested_id: (!request.device_id.is_empty()).then(|| request.device_id.to_string()),
            ..self.record.clone()
        };
        self.commit(record)?;
        Ok(Reply::encode(&Response::Csr { der: &csr }))
    }

    /// INSTALL: after GET_CSR, again after INSTALL or VERIFY (a retry or a
    /// re-issued certificate; VERIFY must then be repeated).
    pub(crate) fn install(&mut self, install: &Install<'_>) -> Result<Reply, Refusal> {
        self.stored_key()?;
        if self.record.state == DeviceState::KeyGenerated {
            return Err((ErrorCode::BadState, "no CSR was issued: send GET_CSR first"));
        }
        let stamp = &install.stamp;
        if self
            .record
            .requested_id
            .as_deref()
            .is_some_and(|id| id != stamp.device_id)
        {
            return Err((
                ErrorCode::CertMismatch,
                "the stamp's device id differs from GET_CSR's",
            ));
        }
        let spki = self.device_spki()?;
        check_chain(install.chain.iter(), &spki, stamp.device_id).map_err(
            |problem| match problem {
                ChainProblem::Malformed(what) => (ErrorCode::BadRequest, what),
                ChainProblem::Mismatch(what) => (ErrorCode::CertMismatch, what),
            },
        )?;
        let record = Record {
            state: DeviceState::Installed,
            chain: install.chain.iter().map(<[u8]>::to_vec).collect(),
            stamp: Some(OwnedStamp::from(*stamp)),
            ..self.record.clone()
        };
        self.commit(record)?;
        Ok(Reply::encode(&Response::Ok))
    }

    /// VERIFY: signs `"hallmark-verify-v1" || nonce || SHA-256(leaf)`.
    pub(crate) fn verify(&mut self, nonce: &[u8]) -> Result<Reply, Refusal> {
        let key = self.record.key.as_ref().ok_or(NO_KEY)?.as_ref();
        if !matches!(
            self.record.state,
            DeviceState::Installed | DeviceState::Verified
        ) {
            return Err((ErrorCode::BadState, "no certificate installed"));
        }
        let leaf = self
            .record
            .chain
            .first()
            .ok_or((ErrorCode::Internal, "installed without a chain"))?;
        let leaf_hash: [u8; 32] = Sha256::digest(leaf).into();
        let mut buffer = [0u8; VERIFY_MESSAGE_MAX];
        let message = verify_message(nonce, &leaf_hash, &mut buffer)
            .map_err(|_| (ErrorCode::BadRequest, "nonce"))?;
        let signature = self.key.sign(key, message).map_err(internal)?;
        self.commit(Record {
            state: DeviceState::Verified,
            ..self.record.clone()
        })?;
        Ok(Reply::encode(&Response::Signature { der: &signature }))
    }

    /// LOCK: only once VERIFY was answered; persistent and final.
    pub(crate) fn lock(&mut self) -> Result<Reply, Refusal> {
        if self.record.state != DeviceState::Verified {
            return Err((ErrorCode::BadState, "LOCK needs a VERIFIED device"));
        }
        self.storage
            .write(persist::RECORD_LOCK, &[1])
            .map_err(internal)?;
        self.locked = true;
        Ok(Reply::encode(&Response::Ok))
    }

    /// FACTORY_RESET: back to FACTORY_NEW (never after LOCK).
    pub(crate) fn factory_reset(&mut self) -> Result<Reply, Refusal> {
        self.storage
            .erase(persist::RECORD_PROVISIONING)
            .map_err(internal)?;
        let old = core::mem::replace(&mut self.record, Record::factory_new());
        if let Some(key) = &old.key {
            let _ = self.key.destroy(key.as_ref());
        }
        Ok(Reply::encode(&Response::Ok))
    }
}
