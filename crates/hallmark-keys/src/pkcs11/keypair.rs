//! Key pairs on the token: the private key a URI names, its public half
//! (the public key object with the same `CKA_ID`), and the proof that the
//! two belong together.

use aws_lc_rs::signature::ParsedPublicKey;
use cryptoki::mechanism::Mechanism;
use cryptoki::object::{Attribute, AttributeType, KeyType, ObjectClass, ObjectHandle};
use cryptoki::session::Session;
use der::Decode as _;

use super::token::Token;
use crate::encoding::{Curve, ec_point_from_attribute, ec_spki_der, ecdsa_raw_to_der};
use crate::{KeyError, KeyUri};

/// A private key on the token and its public half.
#[derive(Debug)]
pub(super) struct KeyPair {
    /// The private key object (valid while the login lasts).
    pub(super) key: ObjectHandle,
    /// `CKA_ID` of the private key (`None` or empty: the pair is linked by
    /// label).
    pub(super) id: Option<Vec<u8>>,
    pub(super) curve: Curve,
    /// DER `SubjectPublicKeyInfo` of the public key object.
    pub(super) spki: Vec<u8>,
}

impl Token {
    /// Finds the private key `uri` names, its curve and its public key.
    pub(super) fn find_key_pair(&self, s: &Session, uri: &KeyUri) -> Result<KeyPair, KeyError> {
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
            Attribute::EcParams(params),
        ];
        match &id {
            Some(id) if !id.is_empty() => template.push(Attribute::Id(id.clone())),
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
        Ok(KeyPair {
            key,
            id,
            curve,
            spki,
        })
    }

    /// Proves the halves belong together: the public key must be a point of
    /// the curve ([`KeyError::PublicKeyRejected`]), and a signature the
    /// private key makes over a random challenge must verify with it
    /// ([`KeyError::KeyPairMismatch`]).
    pub(super) fn prove_pair(
        &self,
        s: &Session,
        pair: &KeyPair,
        uri: &KeyUri,
    ) -> Result<(), KeyError> {
        let public = ParsedPublicKey::new(pair.curve.verification_algorithm(), &pair.spki)
            .map_err(|source| KeyError::PublicKeyRejected {
                uri: uri.clone(),
                source,
            })?;
        let mut challenge = [0u8; 32];
        aws_lc_rs::rand::fill(&mut challenge).map_err(KeyError::Crypto)?;
        let digest = aws_lc_rs::digest::digest(pair.curve.digest_algorithm(), &challenge);
        let raw = self.ecdsa(s, pair.key, digest.as_ref())?;
        let mismatch = || KeyError::KeyPairMismatch { uri: uri.clone() };
        // A signature of the wrong size is no signature by this pair either.
        let signature = ecdsa_raw_to_der(&raw, pair.curve).map_err(|_| mismatch())?;
        public
            .verify_sig(&challenge, &signature)
            .map_err(|_| mismatch())
    }

    /// `CKM_ECDSA` over a digest: the raw `r ‖ s`.
    pub(super) fn ecdsa(
        &self,
        s: &Session,
        key: ObjectHandle,
        digest: &[u8],
    ) -> Result<Vec<u8>, KeyError> {
        s.sign(&Mechanism::Ecdsa, key, digest)
            .map_err(self.p11("C_Sign"))
    }
}
