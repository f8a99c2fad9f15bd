//! The tamper-evident audit log (RFC 9162 Merkle tree over the store's
//! audit records, checkpoints signed with the audit key).
//!
//! * [`Sequencer`]: integrates new records in seq order, stores each leaf
//!   hash, and signs a checkpoint every N entries or T seconds. One runs at
//!   a time across every process and node: it must hold the store's lease.
//! * [`verify`]: recomputes the tree from the store and checks every
//!   checkpoint, naming the first bad entry.
//! * [`export`]: proofs and exports that verify offline, without the store.

pub mod export;
mod sequencer;
pub mod verify;

use std::sync::Arc;

use hallmark_keys::{KeyStore, KeyUri};
use hallmark_pki::{PublicKey, Signer};
use hallmark_store::{KeyRole, Store};

pub use sequencer::{Sequenced, Sequencer, SequencerPolicy};

use crate::error::AuthorityError;
use crate::hierarchy::{AUDIT_ID, ROOT_ID, sha256};

/// The log's name in checkpoints: `hallmark/` and the first 16 hex digits
/// of the SHA-256 of the root certificate, so logs of different
/// installations never verify against each other.
pub async fn origin(store: &dyn Store) -> Result<String, AuthorityError> {
    let root = store
        .authority_key(ROOT_ID)
        .await?
        .and_then(|k| k.certificate_der)
        .ok_or_else(|| AuthorityError::UnknownCa(ROOT_ID.to_string()))?;
    Ok(format!("hallmark/{}", &hex::encode(sha256(&root))[..16]))
}

/// The audit key's record: its URI and public key, without opening it.
async fn audit_record(store: &dyn Store) -> Result<hallmark_store::AuthorityKey, AuthorityError> {
    let key = store
        .authority_key(AUDIT_ID)
        .await?
        .ok_or_else(|| AuthorityError::UnknownCa(AUDIT_ID.to_string()))?;
    if key.role != KeyRole::Audit {
        return Err(AuthorityError::CorruptCa {
            id: key.id,
            reason: "the audit key record has another role",
        });
    }
    Ok(key)
}

/// The audit key's signer, from the key backend.
pub async fn audit_signer(
    store: &dyn Store,
    keys: &Arc<dyn KeyStore>,
) -> Result<Arc<dyn Signer>, AuthorityError> {
    let record = audit_record(store).await?;
    let uri: KeyUri = record
        .key_uri
        .parse()
        .map_err(|_| AuthorityError::CorruptCa {
            id: record.id.clone(),
            reason: "unparsable key URI",
        })?;
    Ok(keys.signer(&uri)?)
}

/// The audit public key, read from the key backend (the store records only
/// where the key is).
pub async fn audit_public_key(
    store: &dyn Store,
    keys: &Arc<dyn KeyStore>,
) -> Result<PublicKey, AuthorityError> {
    let signer = audit_signer(store, keys).await?;
    PublicKey::from_spki_der(signer.public_key_der()).map_err(AuthorityError::Pki)
}

impl crate::Authority {
    /// A sequencer over this authority's store, signing with the audit key.
    pub async fn sequencer(
        &self,
        holder: String,
        policy: SequencerPolicy,
    ) -> Result<Sequencer, AuthorityError> {
        let store = self.store.as_ref();
        Ok(Sequencer::new(
            Arc::clone(&self.store),
            audit_signer(store, &self.keys).await?,
            self.env.clone(),
            origin(store).await?,
            holder,
            policy,
        ))
    }

    /// The audit public key.
    pub async fn audit_public_key(&self) -> Result<PublicKey, AuthorityError> {
        audit_public_key(self.store.as_ref(), &self.keys).await
    }

    /// The store (read access for audit tools).
    pub fn store(&self) -> &Arc<dyn Store> {
        &self.store
    }
}
