//! Signers: a private key on the token, its curve and its public key,
//! signing through the store's session pool.

use std::fmt;
use std::sync::{Arc, Mutex};

use cryptoki::error::RvError;
use cryptoki::object::ObjectHandle;
use cryptoki::session::Session;
use hallmark_pki::{KeyAlgorithm, SignError, Signer};

use super::lock;
use super::session::{Access, return_value};
use super::token::Token;
use crate::encoding::{Curve, ecdsa_raw_to_der};
use crate::{KeyError, KeyUri};

impl Token {
    /// Opens a signer: finds the private key, its curve and its public key,
    /// and proves the two halves belong together.
    pub(super) fn open_signer(self: &Arc<Self>, uri: &KeyUri) -> Result<Pkcs11Signer, KeyError> {
        let epoch = self.login_epoch();
        let pair = self.with_session(Access::ReadOnly, |s| {
            let pair = self.find_key_pair(s, uri)?;
            self.prove_pair(s, &pair, uri)?;
            Ok(pair)
        })?;
        Ok(Pkcs11Signer {
            token: Arc::clone(self),
            uri: uri.clone(),
            key: Mutex::new((pair.key, epoch)),
            id: pair.id,
            curve: pair.curve,
            spki: pair.spki,
        })
    }
}

/// A private key on the token; signs through the store's session pool.
pub(super) struct Pkcs11Signer {
    token: Arc<Token>,
    uri: KeyUri,
    /// The private key object, and the token's login epoch when it was
    /// looked up: handles of private objects die with the login (and a
    /// token may hand the number to another object), so the key is looked
    /// up again after a re-login, or when the token rejects the handle.
    key: Mutex<(ObjectHandle, u64)>,
    /// `CKA_ID` of the private key when the signer was opened.
    id: Option<Vec<u8>>,
    curve: Curve,
    spki: Vec<u8>,
}

impl fmt::Debug for Pkcs11Signer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Pkcs11Signer")
            .field("uri", &self.uri)
            .field("curve", &self.curve)
            .finish_non_exhaustive()
    }
}

/// The token no longer knows an object handle.
fn stale_handle(err: &KeyError) -> bool {
    matches!(
        return_value(err),
        Some(RvError::KeyHandleInvalid | RvError::ObjectHandleInvalid)
    )
}

impl Pkcs11Signer {
    /// The private key's handle for signing on `s`: the cached one, or,
    /// after a re-login or when `refresh` is asked, the key looked up again
    /// by URI, which must still be the same pair (`CKA_ID`, public key, a
    /// test signature).
    fn key_handle(&self, s: &Session, refresh: bool) -> Result<ObjectHandle, KeyError> {
        let token = &self.token;
        let epoch = token.login_epoch();
        let (key, seen) = *lock(&self.key);
        if !refresh && seen == epoch {
            return Ok(key);
        }
        let pair = token.find_key_pair(s, &self.uri)?;
        if pair.id != self.id || pair.spki != self.spki {
            return Err(KeyError::KeyReplaced {
                uri: self.uri.clone(),
            });
        }
        token.prove_pair(s, &pair, &self.uri)?;
        *lock(&self.key) = (pair.key, epoch);
        Ok(pair.key)
    }

    /// `CKM_ECDSA` over `digest`; a handle the token rejects is looked up
    /// again and the signature retried once.
    fn sign_digest(&self, digest: &[u8]) -> Result<Vec<u8>, KeyError> {
        let token = &self.token;
        let mut refresh = false;
        loop {
            let signed = token.with_session(Access::ReadOnly, |s| {
                let key = self.key_handle(s, refresh)?;
                token.ecdsa(s, key, digest)
            });
            match signed {
                Err(e) if stale_handle(&e) && !refresh => refresh = true,
                done => return done,
            }
        }
    }
}

impl Signer for Pkcs11Signer {
    fn algorithm(&self) -> KeyAlgorithm {
        self.curve.algorithm()
    }

    fn public_key_der(&self) -> &[u8] {
        &self.spki
    }

    fn sign(&self, message: &[u8]) -> Result<Vec<u8>, SignError> {
        let digest = aws_lc_rs::digest::digest(self.curve.digest_algorithm(), message);
        let raw = self.sign_digest(digest.as_ref()).map_err(SignError::new)?;
        ecdsa_raw_to_der(&raw, self.curve).map_err(SignError::new)
    }
}
