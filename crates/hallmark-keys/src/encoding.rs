//! Small DER conversions between what tokens return and what X.509 wants.

use const_oid::ObjectIdentifier;
use der::asn1::{Any, BitString, OctetStringRef, UintRef};
use der::{Decode, Encode};
use hallmark_pki::KeyAlgorithm;
use hallmark_pki::alg::{ID_EC_PUBLIC_KEY, SECP256R1, SECP384R1};
use spki::{AlgorithmIdentifierOwned, SubjectPublicKeyInfoOwned};

/// A NIST curve this crate signs with.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Curve {
    P256,
    P384,
}

impl Curve {
    pub(crate) fn from_algorithm(alg: KeyAlgorithm) -> Option<Self> {
        match alg {
            KeyAlgorithm::EcdsaP256 => Some(Self::P256),
            KeyAlgorithm::EcdsaP384 => Some(Self::P384),
            KeyAlgorithm::Ed25519 | KeyAlgorithm::Rsa { .. } => None,
        }
    }

    pub(crate) fn from_oid(oid: ObjectIdentifier) -> Option<Self> {
        if oid == SECP256R1 {
            Some(Self::P256)
        } else if oid == SECP384R1 {
            Some(Self::P384)
        } else {
            None
        }
    }

    pub(crate) fn algorithm(self) -> KeyAlgorithm {
        match self {
            Self::P256 => KeyAlgorithm::EcdsaP256,
            Self::P384 => KeyAlgorithm::EcdsaP384,
        }
    }

    pub(crate) fn oid(self) -> ObjectIdentifier {
        match self {
            Self::P256 => SECP256R1,
            Self::P384 => SECP384R1,
        }
    }

    /// The hash signed with this curve (SHA-256 / SHA-384).
    pub(crate) fn digest_algorithm(self) -> &'static aws_lc_rs::digest::Algorithm {
        match self {
            Self::P256 => &aws_lc_rs::digest::SHA256,
            Self::P384 => &aws_lc_rs::digest::SHA384,
        }
    }

    /// ECDSA verification of DER signatures over this curve's hash.
    pub(crate) fn verification_algorithm(
        self,
    ) -> &'static aws_lc_rs::signature::EcdsaVerificationAlgorithm {
        match self {
            Self::P256 => &aws_lc_rs::signature::ECDSA_P256_SHA256_ASN1,
            Self::P384 => &aws_lc_rs::signature::ECDSA_P384_SHA384_ASN1,
        }
    }

    /// Bytes of a field element (and of `r`, `s`).
    pub(crate) fn field_len(self) -> usize {
        match self {
            Self::P256 => 32,
            Self::P384 => 48,
        }
    }

    /// `CKA_EC_PARAMS`: the DER `namedCurve` OID.
    pub(crate) fn ec_params_der(self) -> der::Result<Vec<u8>> {
        self.oid().to_der()
    }
}

/// `ECDSA-Sig-Value ::= SEQUENCE { r INTEGER, s INTEGER }` (RFC 5480 §2.2 / RFC 3279).
#[derive(der::Sequence)]
struct EcdsaSigValue<'a> {
    r: UintRef<'a>,
    s: UintRef<'a>,
}

/// Converts a PKCS#11 `CKM_ECDSA` signature (`r ‖ s`, each `field_len`
/// bytes, big-endian) into the DER `ECDSA-Sig-Value` X.509 carries.
pub(crate) fn ecdsa_raw_to_der(raw: &[u8], curve: Curve) -> der::Result<Vec<u8>> {
    let n = curve.field_len();
    if raw.len() != 2 * n {
        return Err(der::ErrorKind::Length {
            tag: der::Tag::Sequence,
        }
        .into());
    }
    let (r, s) = raw.split_at(n);
    EcdsaSigValue {
        r: UintRef::new(r)?,
        s: UintRef::new(s)?,
    }
    .to_der()
}

/// Returns the uncompressed SEC1 point from a `CKA_EC_POINT` value.
///
/// PKCS#11 says the value is a DER OCTET STRING holding the point (SoftHSM2
/// does that); some tokens return the bare point. Both are accepted; only
/// uncompressed points of the curve's size are.
pub(crate) fn ec_point_from_attribute(value: &[u8], curve: Curve) -> der::Result<Vec<u8>> {
    let want = 1 + 2 * curve.field_len();
    let point = if value.len() == want && value.first() == Some(&0x04) {
        value
    } else {
        <&OctetStringRef>::from_der(value)?.as_bytes()
    };
    if point.len() != want || point.first() != Some(&0x04) {
        return Err(der::ErrorKind::Value {
            tag: der::Tag::OctetString,
        }
        .into());
    }
    Ok(point.to_vec())
}

/// DER `SubjectPublicKeyInfo` for an EC key: `id-ecPublicKey`, the named
/// curve, the uncompressed point (RFC 5480 §2).
pub(crate) fn ec_spki_der(curve: Curve, point: &[u8]) -> der::Result<Vec<u8>> {
    SubjectPublicKeyInfoOwned {
        algorithm: AlgorithmIdentifierOwned {
            oid: ID_EC_PUBLIC_KEY,
            parameters: Some(Any::encode_from(&curve.oid())?),
        },
        subject_public_key: BitString::from_bytes(point)?,
    }
    .to_der()
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use aws_lc_rs::rand::SystemRandom;
    use aws_lc_rs::signature::{
        self, EcdsaKeyPair, EcdsaSigningAlgorithm, EcdsaVerificationAlgorithm, KeyPair,
        UnparsedPublicKey,
    };

    #[test]
    fn raw_to_der_encodings() {
        // High bit set: a 0x00 pad byte; leading zeros: stripped.
        let mut raw = vec![0u8; 64];
        raw[0] = 0x80;
        raw[31] = 1;
        raw[63] = 0x7f;
        let der = ecdsa_raw_to_der(&raw, Curve::P256).unwrap();
        let mut want = vec![0x30, 0x26, 0x02, 0x21, 0x00, 0x80];
        want.extend([0u8; 30]);
        want.extend([0x01, 0x02, 0x01, 0x7f]);
        assert_eq!(der, want);

        // r = s = 0 encodes as INTEGER 0 (not a valid signature, but valid DER).
        assert_eq!(
            ecdsa_raw_to_der(&[0u8; 96], Curve::P384).unwrap(),
            [0x30, 0x06, 0x02, 0x01, 0x00, 0x02, 0x01, 0x00]
        );
        // Wrong length.
        assert!(ecdsa_raw_to_der(&[1u8; 63], Curve::P256).is_err());
        assert!(ecdsa_raw_to_der(&[1u8; 64], Curve::P384).is_err());
    }

    fn fixed_vs_asn1(
        fixed: &'static EcdsaSigningAlgorithm,
        verify: &'static EcdsaVerificationAlgorithm,
        curve: Curve,
    ) {
        // aws-lc-rs signs r‖s with the FIXED algorithms, exactly like CKM_ECDSA.
        let rng = SystemRandom::new();
        let pkcs8 = EcdsaKeyPair::generate_pkcs8(fixed, &rng).unwrap();
        let key = EcdsaKeyPair::from_pkcs8(fixed, pkcs8.as_ref()).unwrap();
        let public = UnparsedPublicKey::new(verify, key.public_key().as_ref().to_vec());
        for i in 0..200u32 {
            let msg = i.to_be_bytes();
            let raw = key.sign(&rng, &msg).unwrap();
            let der = ecdsa_raw_to_der(raw.as_ref(), curve).unwrap();
            public.verify(&msg, &der).unwrap();
        }
    }

    #[test]
    fn raw_to_der_verifies_p256() {
        fixed_vs_asn1(
            &signature::ECDSA_P256_SHA256_FIXED_SIGNING,
            &signature::ECDSA_P256_SHA256_ASN1,
            Curve::P256,
        );
    }

    #[test]
    fn raw_to_der_verifies_p384() {
        fixed_vs_asn1(
            &signature::ECDSA_P384_SHA384_FIXED_SIGNING,
            &signature::ECDSA_P384_SHA384_ASN1,
            Curve::P384,
        );
    }

    #[test]
    fn ec_point_wrapped_and_bare() {
        let mut point = vec![0x04];
        point.extend([7u8; 64]);
        let mut wrapped = vec![0x04, 0x41];
        wrapped.extend(&point);
        assert_eq!(
            ec_point_from_attribute(&wrapped, Curve::P256).unwrap(),
            point
        );
        assert_eq!(ec_point_from_attribute(&point, Curve::P256).unwrap(), point);
        // Wrong curve size, compressed point, garbage.
        assert!(ec_point_from_attribute(&wrapped, Curve::P384).is_err());
        let mut compressed = vec![0x04, 0x21, 0x02];
        compressed.extend([7u8; 32]);
        assert!(ec_point_from_attribute(&compressed, Curve::P256).is_err());
        assert!(ec_point_from_attribute(&[0x04, 0x01], Curve::P256).is_err());
    }

    #[test]
    fn spki_matches_aws_lc() {
        use aws_lc_rs::encoding::{AsDer, PublicKeyX509Der};
        for (alg, curve) in [
            (&signature::ECDSA_P256_SHA256_ASN1_SIGNING, Curve::P256),
            (&signature::ECDSA_P384_SHA384_ASN1_SIGNING, Curve::P384),
        ] {
            let key = EcdsaKeyPair::generate(alg).unwrap();
            let ours = ec_spki_der(curve, key.public_key().as_ref()).unwrap();
            let theirs: PublicKeyX509Der<'_> = key.public_key().as_der().unwrap();
            assert_eq!(ours, theirs.as_ref());
        }
    }

    #[test]
    fn ec_params() {
        assert_eq!(
            Curve::P256.ec_params_der().unwrap(),
            [0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07]
        );
        assert_eq!(
            Curve::P384.ec_params_der().unwrap(),
            [0x06, 0x05, 0x2b, 0x81, 0x04, 0x00, 0x22]
        );
    }
}
