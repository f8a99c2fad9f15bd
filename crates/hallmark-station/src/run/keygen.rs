//! Where the device key comes from (`--keygen`): made on the device
//! (GENERATE_KEY, the default), or made here and installed on the device
//! (IMPORT_KEY, `station`).
//!
//! A station-made key exists outside the device for a moment: it is drawn
//! from aws-lc-rs's CSPRNG, sent once, and the station's copy (the scalar
//! and the frame that carried it) is zeroized right after. It is imported
//! *before* GET_CSR, so the CSR is still built and signed on the device: a
//! CSR that verifies proves the device holds the key. Every record says
//! which way the key came (`key_origin`) and which key it is
//! (`public_key_sha256`).

use aws_lc_rs::encoding::AsBigEndian;
use aws_lc_rs::signature::{
    ECDSA_P256_SHA256_ASN1_SIGNING, ECDSA_P384_SHA384_ASN1_SIGNING, EcdsaKeyPair, KeyPair as _,
};
use hallmark_protocol::{DeviceState, ErrorCode, KeyAlgorithm, PrivateKey, Request, Response};
use sha2::{Digest as _, Sha256};
use zeroize::Zeroizing;

use super::failure::Failure;
use super::journal::KeyEntry;
use super::record::{KeyOrigin, Step};
use super::steps::Session;

/// A key pair made by the station: the private scalar (zeroized on drop)
/// and the SPKI DER.
struct StationKey {
    scalar: Zeroizing<Vec<u8>>,
    spki: Vec<u8>,
}

fn make_key(algorithm: KeyAlgorithm) -> Result<StationKey, Failure> {
    let failed = || Failure::Check("keygen_failed", "the station cannot make a key".into());
    let signing = match algorithm {
        KeyAlgorithm::P256 => &ECDSA_P256_SHA256_ASN1_SIGNING,
        KeyAlgorithm::P384 => &ECDSA_P384_SHA384_ASN1_SIGNING,
    };
    let pair = EcdsaKeyPair::generate(signing).map_err(|_| failed())?;
    // The big-endian buffer zeroizes itself on drop; copy into ours.
    let be = pair.private_key().as_be_bytes().map_err(|_| failed())?;
    let scalar = Zeroizing::new(be.as_ref().to_vec());
    let spki = aws_lc_rs::encoding::AsDer::as_der(pair.public_key())
        .map_err(|_| failed())?
        .as_ref()
        .to_vec();
    Ok(StationKey { scalar, spki })
}

/// Hex SHA-256 of an SPKI DER.
pub(crate) fn spki_sha256(spki: &[u8]) -> String {
    hex::encode(Sha256::digest(spki))
}

impl Session<'_> {
    /// The device key's SPKI, made the way the run asks; sets the record's
    /// `key_origin` and `public_key_sha256`.
    pub(crate) async fn device_key(
        &mut self,
        state: DeviceState,
        chip_id: &str,
        algorithm: KeyAlgorithm,
    ) -> Result<Vec<u8>, Failure> {
        let import =
            self.ctx.options.keygen == KeyOrigin::Station && state == DeviceState::FactoryNew;
        let spki = if import {
            self.import_key(chip_id, algorithm).await?
        } else {
            let spki = self.generate_key(algorithm).await?;
            // A key already on the device: made here by an earlier run?
            let journaled = self.ctx.journal.as_ref().and_then(|j| j.load_key(chip_id));
            self.record.key_origin = match journaled {
                Some(entry) if entry.public_key_sha256 == spki_sha256(&spki) => {
                    KeyOrigin::from_name(&entry.key_origin).unwrap_or_default()
                }
                _ => KeyOrigin::Device,
            };
            spki
        };
        self.record.public_key_sha256 = Some(spki_sha256(&spki));
        Ok(spki)
    }

    /// Makes a key, journals its hash, sends IMPORT_KEY and zeroizes the
    /// station's copy. A repeat after a lost answer finds the key
    /// (KEY_EXISTS): GENERATE_KEY then reads it back to compare.
    async fn import_key(
        &mut self,
        chip_id: &str,
        algorithm: KeyAlgorithm,
    ) -> Result<Vec<u8>, Failure> {
        let key = make_key(algorithm)?;
        let hash = spki_sha256(&key.spki);
        if let Some(journal) = &self.ctx.journal {
            let entry = KeyEntry {
                key_origin: KeyOrigin::Station.name().into(),
                public_key_sha256: hash.clone(),
            };
            journal.save_key(chip_id, &entry).await?;
        }
        self.record.key_origin = KeyOrigin::Station;
        let request = Request::ImportKey {
            algorithm,
            private_key: PrivateKey::new(&key.scalar),
        };
        let answer = self.call(Step::Keygen, &request).await;
        let StationKey { scalar, spki } = key;
        drop(scalar); // zeroized: the device holds the only copy now
        match answer {
            Ok(answer) => match answer
                .response()
                .map_err(|e| Failure::link(Step::Keygen, e))?
            {
                Response::PublicKey { spki: got } if got == spki.as_slice() => Ok(spki),
                Response::PublicKey { .. } => Err(Failure::Protocol(
                    Step::Keygen,
                    "the device reports another public key than the one imported".into(),
                )),
                _ => Err(Failure::Protocol(
                    Step::Keygen,
                    "unexpected answer type".into(),
                )),
            },
            Err(Failure::DeviceError(_, ErrorCode::ImportUnsupported, message)) => {
                Err(Failure::ImportUnsupported(message))
            }
            Err(Failure::DeviceError(_, ErrorCode::KeyExists, message)) => {
                let on_device = self.generate_key(algorithm).await?;
                if on_device == spki {
                    Ok(spki)
                } else {
                    Err(Failure::DeviceError(
                        Step::Keygen,
                        ErrorCode::KeyExists,
                        message,
                    ))
                }
            }
            Err(other) => Err(other),
        }
    }
}
