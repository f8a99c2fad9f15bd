//! Building and signing certificates as a typestate pipeline.
//!
//! 1. [`IssuerKey`] binds an issuer certificate to the signer holding its key
//!    (and checks that they match).
//! 2. [`PreparedCertificate::prepare`] renders the profile into a complete,
//!    checked `TBSCertificate` (RFC 5280 §4.1).
//! 3. [`PreparedCertificate::sign`] consumes it: a prepared certificate can be
//!    signed once and only once.

use std::sync::Arc;
use std::time::Duration;

use const_oid::AssociatedOid;
use der::asn1::{AnyRef, BitStringRef, GeneralizedTime, Null, OctetString, UtcTime};
use der::{Decode, Encode, Sequence};
use spki::AlgorithmIdentifierOwned;
use x509_cert::Certificate;
use x509_cert::ext::Extension;
use x509_cert::ext::pkix::name::{DistributionPointName, GeneralName};
use x509_cert::ext::pkix::{
    AccessDescription, AuthorityInfoAccessSyntax, AuthorityKeyIdentifier, BasicConstraints,
    CrlDistributionPoints, ExtendedKeyUsage, KeyUsage, KeyUsages, SubjectAltName,
    SubjectKeyIdentifier, crl::dp::DistributionPoint,
};
use x509_cert::serial_number::SerialNumber;
use x509_cert::time::{Time, Validity};

use crate::alg::{KeyAlgorithm, SignatureAlgorithm};
use crate::error::PkiError;
use crate::key::PublicKey;
use crate::name::DistinguishedName;
use crate::profile::{CertificateKind, Profile};
use crate::serial::Serial;
use crate::sign::Signer;

/// `TBSCertificate` with issuer, subject and key kept as raw DER, so the
/// issuer name is a byte-exact copy of the issuer's subject and the key a
/// byte-exact copy of the request's.
#[derive(Sequence)]
struct RawTbs<'a> {
    #[asn1(context_specific = "0", tag_mode = "EXPLICIT")]
    version: u8,
    serial: SerialNumber,
    signature: AlgorithmIdentifierOwned,
    issuer: AnyRef<'a>,
    validity: Validity,
    subject: AnyRef<'a>,
    subject_public_key_info: AnyRef<'a>,
    #[asn1(context_specific = "3", tag_mode = "EXPLICIT", optional = "true")]
    extensions: Option<Vec<Extension>>,
}

#[derive(Sequence)]
struct RawCertificate<'a> {
    tbs: AnyRef<'a>,
    signature_algorithm: AlgorithmIdentifierOwned,
    signature: BitStringRef<'a>,
}

/// Unix time of 2050-01-01T00:00:00Z: from then on X.509 uses GeneralizedTime.
const Y2050: i64 = 2_524_608_000;

/// An issuer: its subject name, key identifier, validity end and signer.
#[derive(Clone, Debug)]
pub struct IssuerKey {
    subject_der: Vec<u8>,
    key_id: Vec<u8>,
    not_after: i64,
    signer: Arc<dyn Signer>,
}

impl IssuerKey {
    /// An issuer backed by an existing CA certificate. Refuses a signer whose
    /// public key is not the certificate's, and a certificate without SKI.
    pub fn from_certificate(cert_der: &[u8], signer: Arc<dyn Signer>) -> Result<Self, PkiError> {
        let cert = Certificate::from_der(cert_der).map_err(PkiError::malformed("certificate"))?;
        let tbs = cert.tbs_certificate();
        if tbs.subject_public_key_info().to_der()? != signer.public_key_der() {
            return Err(PkiError::IssuerKeyMismatch);
        }
        let (_, ski) = tbs
            .get_extension::<SubjectKeyIdentifier>()
            .map_err(PkiError::malformed("subject key identifier"))?
            .ok_or(PkiError::Policy(
                "issuer certificate has no subjectKeyIdentifier",
            ))?;
        Ok(Self {
            subject_der: tbs.subject().to_der()?,
            key_id: ski.0.as_bytes().to_vec(),
            not_after: unix_seconds(&tbs.validity().not_after),
            signer,
        })
    }

    /// The issuer of a self-signed certificate: `subject` signed by its own key.
    pub fn self_signed(
        subject: &DistinguishedName,
        signer: Arc<dyn Signer>,
    ) -> Result<Self, PkiError> {
        let key = PublicKey::from_spki_der(signer.public_key_der())?;
        Ok(Self {
            subject_der: subject.to_name()?.to_der()?,
            key_id: key.key_identifier(),
            not_after: i64::MAX,
            signer,
        })
    }

    /// The issuer's key identifier (its SKI), copied into issued certificates' AKI.
    pub fn key_id(&self) -> &[u8] {
        &self.key_id
    }

    /// The signer holding the issuer's key.
    pub fn signer(&self) -> &Arc<dyn Signer> {
        &self.signer
    }
}

/// What varies per certificate; the rest comes from the [`Profile`].
#[derive(Clone, Debug)]
pub struct Subject {
    /// The subject name.
    pub name: DistinguishedName,
    /// The subject's public key.
    pub public_key: PublicKey,
    /// Subject alternative names, already rendered.
    pub alt_names: Vec<GeneralName>,
}

/// A complete, checked `TBSCertificate` waiting for its one signature.
#[derive(Debug)]
#[must_use = "a prepared certificate does nothing until it is signed"]
pub struct PreparedCertificate {
    tbs_der: Vec<u8>,
    signature_algorithm: AlgorithmIdentifierOwned,
    signer: Arc<dyn Signer>,
    serial: Serial,
    not_before: i64,
    not_after: i64,
}

/// A signed certificate.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct IssuedCertificate {
    /// The certificate, DER.
    pub der: Vec<u8>,
    /// Its serial number.
    pub serial: Serial,
    /// `notBefore`, unix seconds.
    pub not_before: i64,
    /// `notAfter`, unix seconds.
    pub not_after: i64,
}

impl PreparedCertificate {
    /// Renders `profile` for `subject` under `issuer`, starting at `not_before`
    /// (unix seconds). `notAfter` is capped at the issuer's own `notAfter`.
    pub fn prepare(
        profile: &Profile,
        subject: &Subject,
        serial: Serial,
        not_before: i64,
        issuer: &IssuerKey,
    ) -> Result<Self, PkiError> {
        profile.check()?;
        check_key_usage_fits_key(profile, subject.public_key.algorithm())?;
        let not_after = not_before
            .checked_add(profile.validity_seconds)
            .ok_or(PkiError::TimeOutOfRange)?
            .min(issuer.not_after);
        if not_after <= not_before {
            return Err(PkiError::Policy(
                "the issuer expires before the certificate would start",
            ));
        }

        let signature_algorithm =
            algorithm_identifier(issuer.signer.algorithm().signature_algorithm());
        let subject_der = subject.name.to_name()?.to_der()?;
        let extensions = extensions(profile, subject, issuer)?;
        let tbs = RawTbs {
            version: 2,
            serial: SerialNumber::new(serial.as_bytes())?,
            signature: signature_algorithm.clone(),
            issuer: AnyRef::from_der(&issuer.subject_der)?,
            validity: Validity::new(x509_time(not_before)?, x509_time(not_after)?),
            subject: AnyRef::from_der(&subject_der)?,
            subject_public_key_info: AnyRef::from_der(subject.public_key.spki_der())?,
            extensions: Some(extensions),
        };
        Ok(Self {
            tbs_der: tbs.to_der()?,
            signature_algorithm,
            signer: Arc::clone(&issuer.signer),
            serial,
            not_before,
            not_after,
        })
    }

    /// The serial number the certificate will carry.
    pub fn serial(&self) -> &Serial {
        &self.serial
    }

    /// Whether [`sign`](Self::sign) stays in process memory (see
    /// [`Signer::signs_in_memory`]): an async caller may then sign inline.
    pub fn signs_in_memory(&self) -> bool {
        self.signer.signs_in_memory()
    }

    /// Signs the certificate, consuming the prepared value.
    pub fn sign(self) -> Result<IssuedCertificate, PkiError> {
        let signature = self.signer.sign(&self.tbs_der)?;
        let cert = RawCertificate {
            tbs: AnyRef::from_der(&self.tbs_der)?,
            signature_algorithm: self.signature_algorithm,
            signature: BitStringRef::from_bytes(&signature)?,
        };
        Ok(IssuedCertificate {
            der: cert.to_der()?,
            serial: self.serial,
            not_before: self.not_before,
            not_after: self.not_after,
        })
    }
}

/// The `AlgorithmIdentifier` for a signature algorithm (NULL parameters for RSA only).
pub fn algorithm_identifier(alg: SignatureAlgorithm) -> AlgorithmIdentifierOwned {
    AlgorithmIdentifierOwned {
        oid: alg.oid(),
        parameters: alg.has_null_parameters().then(|| Null.into()),
    }
}

fn check_key_usage_fits_key(profile: &Profile, key: KeyAlgorithm) -> Result<(), PkiError> {
    let ku = profile.key_usage;
    let is_rsa = matches!(key, KeyAlgorithm::Rsa { .. });
    let is_ec = matches!(key, KeyAlgorithm::EcdsaP256 | KeyAlgorithm::EcdsaP384);
    if ku.contains(KeyUsages::KeyEncipherment) && !is_rsa {
        return Err(PkiError::Policy("keyEncipherment requires an RSA key"));
    }
    if ku.contains(KeyUsages::KeyAgreement) && !is_ec {
        return Err(PkiError::Policy("keyAgreement requires an EC key"));
    }
    Ok(())
}

fn extension<T: Encode + AssociatedOid>(critical: bool, value: &T) -> Result<Extension, PkiError> {
    Ok(Extension {
        extn_id: T::OID,
        critical,
        extn_value: OctetString::new(value.to_der()?)?,
    })
}

fn uri(url: &str) -> Result<GeneralName, PkiError> {
    Ok(GeneralName::UniformResourceIdentifier(
        der::asn1::Ia5String::new(url)?,
    ))
}

fn extensions(
    profile: &Profile,
    subject: &Subject,
    issuer: &IssuerKey,
) -> Result<Vec<Extension>, PkiError> {
    let mut out = Vec::with_capacity(9);
    let basic = match profile.kind {
        CertificateKind::Root { path_len } => BasicConstraints {
            ca: true,
            path_len_constraint: path_len,
        },
        CertificateKind::SubCa { path_len } => BasicConstraints {
            ca: true,
            path_len_constraint: Some(path_len),
        },
        CertificateKind::EndEntity => BasicConstraints {
            ca: false,
            path_len_constraint: None,
        },
    };
    out.push(extension(true, &basic)?);
    out.push(extension(true, &KeyUsage(profile.key_usage))?);
    if !profile.extended_key_usage.is_empty() {
        let ekus = profile.extended_key_usage.iter().map(|e| e.0).collect();
        out.push(extension(false, &ExtendedKeyUsage(ekus))?);
    }
    let ski = subject.public_key.key_identifier();
    out.push(extension(
        false,
        &SubjectKeyIdentifier(OctetString::new(ski)?),
    )?);
    out.push(extension(
        false,
        &AuthorityKeyIdentifier {
            key_identifier: Some(OctetString::new(issuer.key_id.clone())?),
            authority_cert_issuer: None,
            authority_cert_serial_number: None,
        },
    )?);
    if !subject.alt_names.is_empty() {
        // RFC 5280 §4.2.1.6: critical only when the subject is empty.
        let critical = subject.name == DistinguishedName::new();
        out.push(extension(
            critical,
            &SubjectAltName(subject.alt_names.clone()),
        )?);
    } else if subject.name == DistinguishedName::new() {
        return Err(PkiError::Policy(
            "a certificate with an empty subject needs a subjectAltName",
        ));
    }
    if !profile.crl_urls.is_empty() {
        let names = profile
            .crl_urls
            .iter()
            .map(|u| uri(u))
            .collect::<Result<_, _>>()?;
        let point = DistributionPoint {
            distribution_point: Some(DistributionPointName::FullName(names)),
            reasons: None,
            crl_issuer: None,
        };
        out.push(extension(false, &CrlDistributionPoints(vec![point]))?);
    }
    let access = access_descriptions(profile)?;
    if !access.is_empty() {
        out.push(extension(false, &AuthorityInfoAccessSyntax(access))?);
    }
    if profile.ocsp_no_check {
        out.push(Extension {
            extn_id: const_oid::db::rfc6960::ID_PKIX_OCSP_NOCHECK,
            critical: false,
            extn_value: OctetString::new(Null.to_der()?)?,
        });
    }
    Ok(out)
}

fn access_descriptions(profile: &Profile) -> Result<Vec<AccessDescription>, PkiError> {
    use const_oid::db::rfc5280::{ID_AD_CA_ISSUERS, ID_AD_OCSP};
    let ocsp = profile.ocsp_urls.iter().map(|u| (ID_AD_OCSP, u));
    let ca = profile
        .ca_issuers_urls
        .iter()
        .map(|u| (ID_AD_CA_ISSUERS, u));
    ocsp.chain(ca)
        .map(|(access_method, url)| {
            Ok(AccessDescription {
                access_method,
                access_location: uri(url)?,
            })
        })
        .collect()
}

/// Encodes unix seconds as UTCTime before 2050 and GeneralizedTime after (RFC 5280 §4.1.2.5).
pub fn x509_time(unix: i64) -> Result<Time, PkiError> {
    let secs = u64::try_from(unix).map_err(|_| PkiError::TimeOutOfRange)?;
    let duration = Duration::from_secs(secs);
    let time = if unix < Y2050 {
        Time::UtcTime(UtcTime::from_unix_duration(duration).map_err(|_| PkiError::TimeOutOfRange)?)
    } else {
        Time::GeneralTime(
            GeneralizedTime::from_unix_duration(duration).map_err(|_| PkiError::TimeOutOfRange)?,
        )
    };
    Ok(time)
}

/// Unix seconds of an X.509 time.
pub fn unix_seconds(time: &Time) -> i64 {
    i64::try_from(time.to_unix_duration().as_secs()).unwrap_or(i64::MAX)
}
