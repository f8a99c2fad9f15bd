//! Certificate revocation lists: v2 CRLs as [RFC 5280 §5] defines them.
//!
//! [`build_crl`] writes a complete `CertificateList` for one issuing CA:
//!
//! * `issuer` is a byte-exact copy of the CA certificate's subject, so
//!   relying parties match it to the certificates it covers (§5.1.2.3);
//! * `thisUpdate` and `nextUpdate` are UTCTime before 2050 and
//!   GeneralizedTime after (§5.1.2.4, §5.1.2.5);
//! * `revokedCertificates` is left out entirely when nothing is revoked
//!   (§5.1.2.6: an empty list is not written);
//! * each entry carries a `reasonCode` (§5.3.1) unless the reason is
//!   `unspecified`, which RFC 5280 asks to be omitted;
//! * `crlExtensions` are `authorityKeyIdentifier` (§5.2.1) — the issuer's own
//!   subjectKeyIdentifier, copied rather than recomputed — and `cRLNumber`
//!   (§5.2.3), both non-critical.
//!
//! Entries are encoded in one pass straight into a buffer, in the order
//! given: the cost is linear in the number of entries (100,000 entries take
//! milliseconds; see `benches/crl.rs`).
//!
//! [RFC 5280 §5]: https://www.rfc-editor.org/rfc/rfc5280#section-5

use std::borrow::Borrow;

use der::asn1::{AnyRef, BitStringRef, OctetString, UintRef};
use der::{Decode, Encode, Sequence, Tag};
use hallmark_pki::Signer;
use hallmark_pki::cert::algorithm_identifier;
use spki::AlgorithmIdentifierOwned;
use x509_cert::ext::Extension;
use x509_cert::ext::pkix::AuthorityKeyIdentifier;
use x509_cert::ext::pkix::crl::CrlNumber;
use x509_cert::time::Time;

use crate::cert::CertInfo;
use crate::error::RevocationError;
use crate::reason::Reason;
use crate::time::x509_time;

/// The CA a CRL speaks for: its subject name and key identifier, taken
/// from its certificate.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CrlIssuer {
    subject_der: Vec<u8>,
    key_id: Vec<u8>,
    spki_der: Vec<u8>,
}

impl CrlIssuer {
    /// Reads the issuer from its CA certificate (DER).
    ///
    /// # Errors
    ///
    /// [`RevocationError::Malformed`] for a certificate that does not parse,
    /// [`RevocationError::MissingSubjectKeyIdentifier`] when it has no SKI to
    /// copy into the CRL's authorityKeyIdentifier, and
    /// [`RevocationError::KeyUsage`] when its keyUsage lacks `cRLSign`.
    pub fn from_certificate(cert_der: &[u8]) -> Result<Self, RevocationError> {
        const WHAT: &str = "CRL issuer";
        let info = CertInfo::parse(cert_der, WHAT)?;
        if info.key_usage.as_ref().is_some_and(|ku| !ku.crl_sign()) {
            return Err(RevocationError::KeyUsage {
                cert: WHAT,
                usage: "cRLSign",
            });
        }
        Ok(Self {
            key_id: info
                .ski
                .ok_or(RevocationError::MissingSubjectKeyIdentifier(WHAT))?,
            subject_der: info.subject_der,
            spki_der: info.spki_der,
        })
    }

    /// The issuer's subject `Name`, DER: the CRL's `issuer`.
    pub fn subject_der(&self) -> &[u8] {
        &self.subject_der
    }

    /// The issuer's subjectKeyIdentifier: the CRL's authorityKeyIdentifier.
    pub fn key_id(&self) -> &[u8] {
        &self.key_id
    }
}

/// One revoked certificate.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RevokedEntry {
    /// The certificate's serial number, big-endian magnitude (a leading
    /// `0x00` sign octet, as DER carries it, is accepted and dropped).
    pub serial: Vec<u8>,
    /// When the revocation took effect, unix seconds.
    pub revoked_at: i64,
    /// Why; `None` and [`Reason::Unspecified`] both write no reasonCode.
    pub reason: Option<Reason>,
}

/// `TBSCertList` with the issuer and the revoked list as pre-encoded DER.
#[derive(Sequence)]
struct TbsCertListDer<'a> {
    version: u8,
    signature: AlgorithmIdentifierOwned,
    issuer: AnyRef<'a>,
    this_update: Time,
    next_update: Time,
    revoked_certificates: Option<AnyRef<'a>>,
    #[asn1(context_specific = "0", tag_mode = "EXPLICIT")]
    crl_extensions: Vec<Extension>,
}

/// One `revokedCertificates` entry.
#[derive(Sequence)]
struct EntryDer<'a> {
    serial: UintRef<'a>,
    revocation_date: Time,
    extensions: Option<AnyRef<'a>>,
}

/// `CertificateList`.
#[derive(Sequence)]
struct CertificateListDer<'a> {
    tbs_cert_list: AnyRef<'a>,
    signature_algorithm: AlgorithmIdentifierOwned,
    signature: BitStringRef<'a>,
}

/// `crlEntryExtensions` holding only a non-critical reasonCode:
/// `SEQUENCE { SEQUENCE { id-ce-cRLReasons, OCTET STRING { ENUMERATED code } } }`.
fn reason_extensions(reason: Reason) -> [u8; 14] {
    [
        0x30,
        0x0c,
        0x30,
        0x0a,
        0x06,
        0x03,
        0x55,
        0x1d,
        0x15,
        0x04,
        0x03,
        0x0a,
        0x01,
        reason.code(),
    ]
}

/// A certificate serial as a positive INTEGER of at most 20 octets (RFC 5280 §4.1.2.2).
pub(crate) fn serial_number(bytes: &[u8]) -> Result<UintRef<'_>, RevocationError> {
    let invalid = || RevocationError::InvalidSerial(bytes.to_vec());
    let uint = UintRef::new(bytes).map_err(|_| invalid())?;
    let magnitude = uint.as_bytes();
    let sign_octet = usize::from(magnitude.first().is_some_and(|b| *b >= 0x80));
    if magnitude.iter().all(|b| *b == 0) || magnitude.len() + sign_octet > 20 {
        return Err(invalid());
    }
    Ok(uint)
}

fn extension<T: Encode>(
    oid: const_oid::ObjectIdentifier,
    value: &T,
) -> Result<Extension, RevocationError> {
    Ok(Extension {
        extn_id: oid,
        critical: false,
        extn_value: OctetString::new(value.to_der()?)?,
    })
}

/// Appends the DER of each entry to `out`, in order.
fn encode_entries<E: Borrow<RevokedEntry>>(
    entries: impl IntoIterator<Item = E>,
    out: &mut Vec<u8>,
) -> Result<(), RevocationError> {
    for entry in entries {
        let entry = entry.borrow();
        let reason = entry.reason.filter(|r| r.is_written());
        let ext_der = reason.map(reason_extensions);
        let extensions = match &ext_der {
            Some(der) => Some(AnyRef::from_der(der)?),
            None => None,
        };
        EntryDer {
            serial: serial_number(&entry.serial)?,
            revocation_date: x509_time(entry.revoked_at)?,
            extensions,
        }
        .encode_to_vec(out)?;
    }
    Ok(())
}

/// Builds and signs a v2 CRL (DER) for `issuer`.
///
/// `crl_number` must grow with every CRL the issuer publishes (RFC 5280
/// §5.2.3); times are unix seconds. Entries are written in the order given;
/// the caller supplies each serial once. `signer` must hold the issuer's key.
///
/// # Errors
///
/// [`RevocationError::KeyMismatch`] when `signer` is not the issuer's key,
/// [`RevocationError::UpdateOrder`] unless `next_update > this_update`,
/// [`RevocationError::InvalidSerial`], [`RevocationError::TimeOutOfRange`],
/// and [`RevocationError::Sign`] when the key backend fails.
pub fn build_crl<E: Borrow<RevokedEntry>>(
    issuer: &CrlIssuer,
    crl_number: u64,
    this_update: i64,
    next_update: i64,
    entries: impl IntoIterator<Item = E>,
    signer: &dyn Signer,
) -> Result<Vec<u8>, RevocationError> {
    if issuer.spki_der != signer.public_key_der() {
        return Err(RevocationError::KeyMismatch("CRL issuer"));
    }
    if next_update <= this_update {
        return Err(RevocationError::UpdateOrder {
            this_update,
            next_update,
        });
    }
    let entries = entries.into_iter();
    let mut revoked = Vec::with_capacity(entries.size_hint().0.saturating_mul(48));
    encode_entries(entries, &mut revoked)?;

    let signature_algorithm = algorithm_identifier(signer.algorithm().signature_algorithm());
    let aki = AuthorityKeyIdentifier {
        key_identifier: Some(OctetString::new(issuer.key_id.as_slice())?),
        authority_cert_issuer: None,
        authority_cert_serial_number: None,
    };
    let number = CrlNumber::try_from(crl_number)?;
    let tbs = TbsCertListDer {
        version: 1,
        signature: signature_algorithm.clone(),
        issuer: AnyRef::from_der(&issuer.subject_der)?,
        this_update: x509_time(this_update)?,
        next_update: x509_time(next_update)?,
        revoked_certificates: if revoked.is_empty() {
            None
        } else {
            Some(AnyRef::new(Tag::Sequence, &revoked)?)
        },
        crl_extensions: vec![
            extension(const_oid::db::rfc5280::ID_CE_AUTHORITY_KEY_IDENTIFIER, &aki)?,
            extension(const_oid::db::rfc5280::ID_CE_CRL_NUMBER, &number)?,
        ],
    };
    let tbs_der = tbs.to_der()?;
    drop(revoked);
    let signature = signer.sign(&tbs_der)?;
    let crl = CertificateListDer {
        tbs_cert_list: AnyRef::from_der(&tbs_der)?,
        signature_algorithm,
        signature: BitStringRef::from_bytes(&signature)?,
    };
    Ok(crl.to_der()?)
}

#[cfg(test)]
mod tests {
    use der::{Decode, Encode};
    use x509_cert::ext::pkix::CrlReason;

    use super::{reason_extensions, serial_number};
    use crate::{Reason, RevocationError};

    #[test]
    fn reason_extension_bytes_match_x509_cert() {
        for reason in Reason::ALL {
            let bytes = reason_extensions(reason);
            let exts = Vec::<x509_cert::ext::Extension>::from_der(&bytes).unwrap();
            assert_eq!(exts.len(), 1);
            assert_eq!(exts[0].extn_id, const_oid::db::rfc5280::ID_CE_CRL_REASONS);
            assert!(!exts[0].critical);
            let decoded = CrlReason::from_der(exts[0].extn_value.as_bytes()).unwrap();
            assert_eq!(decoded.to_der().unwrap(), [0x0a, 0x01, reason.code()]);
        }
    }

    #[test]
    fn serials_are_positive_and_at_most_twenty_octets() {
        assert_eq!(serial_number(&[0x00, 0x80]).unwrap().as_bytes(), [0x80]);
        assert!(serial_number(&[0x7f; 20]).is_ok());
        assert!(serial_number(&[0x80; 19]).is_ok());
        for bad in [&[][..], &[0], &[0, 0], &[0x80; 20], &[1; 21]] {
            assert!(
                matches!(serial_number(bad), Err(RevocationError::InvalidSerial(_))),
                "{bad:?}"
            );
        }
    }
}
