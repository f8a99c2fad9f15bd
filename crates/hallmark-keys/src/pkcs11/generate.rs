//! Generating key pairs on the token, with labels kept unique.
//!
//! Within the process, `generate` is serialized and refuses a label in use.
//! Another process (or another component of this one) may generate the
//! same label at the same moment; so after generating, the label is looked
//! up again, and if more than one private key carries it the new pair is
//! destroyed and the label refused. Two racers may then both lose; two
//! keys never both survive.

use cryptoki::mechanism::Mechanism;
use cryptoki::object::{Attribute, ObjectClass};
use hallmark_pki::KeyAlgorithm;

use super::lock;
use super::session::Access;
use super::token::Token;
use crate::encoding::Curve;
use crate::{KeyError, KeyLabel, KeyUri};

impl Token {
    /// Generates an ECDSA key pair labelled `label` (sensitive, never
    /// extractable, linked by a random `CKA_ID`).
    pub(super) fn generate(&self, label: &str, alg: KeyAlgorithm) -> Result<KeyUri, KeyError> {
        let label = KeyLabel::new(label)?;
        let uri = KeyUri::pkcs11_private_key(&self.label, label.as_str());
        let curve = Curve::from_algorithm(alg).ok_or(KeyError::UnsupportedAlgorithm {
            alg,
            backend: "PKCS#11",
        })?;
        let mut id = vec![0u8; 16];
        aws_lc_rs::rand::fill(&mut id).map_err(KeyError::Crypto)?;
        let label = label.as_str().as_bytes();

        let _serial = lock(&self.generate_lock);
        // Refuse any object (key, certificate, data) already using the label.
        let existing = self.with_session(Access::ReadOnly, |s| {
            s.find_objects(&[Attribute::Label(label.to_vec())])
                .map_err(self.p11("C_FindObjects"))
        })?;
        if !existing.is_empty() {
            return Err(KeyError::AlreadyExists { uri });
        }
        self.create_pair(&uri, curve, label, &id)?;
        self.keep_if_unique(uri, label, &id)
    }

    /// `C_GenerateKeyPair` on a read-write session.
    pub(super) fn create_pair(
        &self,
        uri: &KeyUri,
        curve: Curve,
        label: &[u8],
        id: &[u8],
    ) -> Result<(), KeyError> {
        let params = curve
            .ec_params_der()
            .map_err(|source| KeyError::BadPublicKey {
                uri: uri.clone(),
                source,
            })?;
        let public = [
            Attribute::Token(true),
            Attribute::Private(false),
            Attribute::Verify(true),
            Attribute::EcParams(params),
            Attribute::Label(label.to_vec()),
            Attribute::Id(id.to_vec()),
        ];
        let private = [
            Attribute::Token(true),
            Attribute::Private(true),
            Attribute::Sensitive(true),
            Attribute::Extractable(false),
            Attribute::Sign(true),
            Attribute::Derive(false),
            Attribute::Label(label.to_vec()),
            Attribute::Id(id.to_vec()),
        ];
        self.with_session(Access::ReadWrite, |s| {
            s.generate_key_pair(&Mechanism::EccKeyPairGen, &public, &private)
                .map(drop)
                .map_err(self.p11("C_GenerateKeyPair"))
        })
    }

    /// After generating the pair with `id`: if more than one private key
    /// carries `label` (someone else generated it meanwhile), destroys the
    /// new pair (found by its `CKA_ID`) and refuses the label.
    pub(super) fn keep_if_unique(
        &self,
        uri: KeyUri,
        label: &[u8],
        id: &[u8],
    ) -> Result<KeyUri, KeyError> {
        let unique = self.with_session(Access::ReadWrite, |s| {
            let keys = s
                .find_objects(&[
                    Attribute::Class(ObjectClass::PRIVATE_KEY),
                    Attribute::Label(label.to_vec()),
                ])
                .map_err(self.p11("C_FindObjects"))?;
            if keys.len() <= 1 {
                return Ok(true);
            }
            let ours = s
                .find_objects(&[Attribute::Label(label.to_vec()), Attribute::Id(id.to_vec())])
                .map_err(self.p11("C_FindObjects"))?;
            for object in ours {
                s.destroy_object(object)
                    .map_err(self.p11("C_DestroyObject"))?;
            }
            Ok(false)
        })?;
        if unique {
            Ok(uri)
        } else {
            Err(KeyError::AlreadyExists { uri })
        }
    }
}
