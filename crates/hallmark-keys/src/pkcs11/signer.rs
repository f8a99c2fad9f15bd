//! Signers: a private key on the token, its curve and its public key,
//! signing through the store's session pool.

use std::fmt;
use std::sync::Arc;

use cryptoki::mechanism::Mechanism;
use cryptoki::object::{Attribute, AttributeType, KeyType, ObjectClass, ObjectHandle};
use der::Decode as _;
use hallmark_pki::{KeyAlgorithm, SignError, Signer};

use super::token::Token;
use crate::encoding::{Curve, ec_point_from_attribute, ec_spki_der, ecdsa_raw_to_der};
use crate::{KeyError, KeyUri};

impl Token {
    /// Opens a signer: finds the private key, its curve and its public key.
    pub(super) fn open_signer(self: &Arc<Self>, uri: &KeyUri) -> Result<Pkcs11Signer, KeyError> {
        let session = self.session()?;
        let s = session.get();
        let key = self.find_private_key(s, uri)?;
        let attrs = s
            .get_attributes(
                key,
                &[
                    AttributeType::KeyType,
                    AttributeType::EcParams,
                    AttributeType::Id,
                ],
            )
            .map_err(self.p11("C_GetAttributeValue"))?;
        let (mut key_type, mut params, mut id) = (None, None, None);
        for attr in attrs {
            match attr {
                Attribute::KeyType(t) => key_type = Some(t),
                Attribute::EcParams(p) => params = Some(p),
                Attribute::Id(i) => id = Some(i),
                _ => {}
            }
        }
        let unsupported = || KeyError::UnsupportedKey { uri: uri.clone() };
        if key_type != Some(KeyType::EC) {
            return Err(unsupported());
        }
        let params = params.ok_or_else(unsupported)?;
        let curve = const_oid::ObjectIdentifier::from_der(&params)
            .ok()
            .and_then(Curve::from_oid)
            .ok_or_else(unsupported)?;

        // The public half: the EC public key object with the same CKA_ID
        // (the PKCS#11 convention linking the halves of a pair).
        let mut template = vec![
            Attribute::Class(ObjectClass::PUBLIC_KEY),
            Attribute::KeyType(KeyType::EC),
            Attribute::EcParams(params.clone()),
        ];
        match id {
            Some(id) if !id.is_empty() => template.push(Attribute::Id(id)),
            _ => {
                let Some(label) = uri.label() else {
                    return Err(KeyError::PublicKeyNotFound { uri: uri.clone() });
                };
                template.push(Attribute::Label(label.as_bytes().to_vec()));
            }
        }
        let public = s
            .find_objects(&template)
            .map_err(self.p11("C_FindObjects"))?;
        let [public] = public.as_slice() else {
            return Err(KeyError::PublicKeyNotFound { uri: uri.clone() });
        };
        let point = s
            .get_attributes(*public, &[AttributeType::EcPoint])
            .map_err(self.p11("C_GetAttributeValue"))?
            .into_iter()
            .find_map(|a| match a {
                Attribute::EcPoint(p) => Some(p),
                _ => None,
            })
            .ok_or_else(|| KeyError::PublicKeyNotFound { uri: uri.clone() })?;
        let bad = |source| KeyError::BadPublicKey {
            uri: uri.clone(),
            source,
        };
        let point = ec_point_from_attribute(&point, curve).map_err(bad)?;
        let spki = ec_spki_der(curve, &point).map_err(bad)?;
        drop(session);

        Ok(Pkcs11Signer {
            token: Arc::clone(self),
            uri: uri.clone(),
            key,
            curve,
            spki,
        })
    }
}

/// A private key on the token; signs through the store's session pool.
pub(super) struct Pkcs11Signer {
    token: Arc<Token>,
    uri: KeyUri,
    key: ObjectHandle,
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

impl Signer for Pkcs11Signer {
    fn algorithm(&self) -> KeyAlgorithm {
        self.curve.algorithm()
    }

    fn public_key_der(&self) -> &[u8] {
        &self.spki
    }

    fn sign(&self, message: &[u8]) -> Result<Vec<u8>, SignError> {
        let digest_alg = match self.curve {
            Curve::P256 => &aws_lc_rs::digest::SHA256,
            Curve::P384 => &aws_lc_rs::digest::SHA384,
        };
        let digest = aws_lc_rs::digest::digest(digest_alg, message);
        let raw = self
            .token
            .with_session("C_Sign", |s| {
                s.sign(&Mechanism::Ecdsa, self.key, digest.as_ref())
            })
            .map_err(SignError::new)?;
        ecdsa_raw_to_der(&raw, self.curve).map_err(SignError::new)
    }
}
