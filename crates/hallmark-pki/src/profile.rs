//! Certificate profiles: what a certificate of a given kind must carry
//! ([RFC 5280 §4.2]). Profiles are plain data, parsed once from configuration.
//!
//! [RFC 5280 §4.2]: https://www.rfc-editor.org/rfc/rfc5280#section-4.2

use std::str::FromStr;

use const_oid::ObjectIdentifier;
use const_oid::db::rfc5280;
use flagset::FlagSet;
use x509_cert::ext::pkix::KeyUsages;

use crate::error::PkiError;
use crate::san::SanTemplate;

/// The place of a certificate in the hierarchy.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CertificateKind {
    /// A self-signed trust anchor.
    Root {
        /// `pathLenConstraint`, if any.
        path_len: Option<u8>,
    },
    /// A CA certified by another CA.
    SubCa {
        /// `pathLenConstraint` (0: may issue end-entity certificates only).
        path_len: u8,
    },
    /// A leaf: device, station, OCSP responder.
    EndEntity,
}

impl CertificateKind {
    /// True for roots and sub-CAs.
    pub fn is_ca(self) -> bool {
        !matches!(self, Self::EndEntity)
    }
}

/// A `keyUsage` bit, by its RFC 5280 name.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct KeyUsageBit(pub KeyUsages);

impl FromStr for KeyUsageBit {
    type Err = PkiError;

    fn from_str(name: &str) -> Result<Self, PkiError> {
        let bit = match name {
            "digitalSignature" => KeyUsages::DigitalSignature,
            "nonRepudiation" | "contentCommitment" => KeyUsages::NonRepudiation,
            "keyEncipherment" => KeyUsages::KeyEncipherment,
            "dataEncipherment" => KeyUsages::DataEncipherment,
            "keyAgreement" => KeyUsages::KeyAgreement,
            "keyCertSign" => KeyUsages::KeyCertSign,
            "cRLSign" => KeyUsages::CRLSign,
            _ => return Err(PkiError::Policy("unknown keyUsage name")),
        };
        Ok(Self(bit))
    }
}

/// An `extendedKeyUsage` purpose: a well-known name or a dotted OID.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ExtendedKeyUsage(pub ObjectIdentifier);

impl FromStr for ExtendedKeyUsage {
    type Err = PkiError;

    fn from_str(name: &str) -> Result<Self, PkiError> {
        let oid = match name {
            "clientAuth" => rfc5280::ID_KP_CLIENT_AUTH,
            "serverAuth" => rfc5280::ID_KP_SERVER_AUTH,
            "codeSigning" => rfc5280::ID_KP_CODE_SIGNING,
            "emailProtection" => rfc5280::ID_KP_EMAIL_PROTECTION,
            "timeStamping" => rfc5280::ID_KP_TIME_STAMPING,
            "OCSPSigning" => rfc5280::ID_KP_OCSP_SIGNING,
            dotted => ObjectIdentifier::new(dotted)
                .map_err(|_| PkiError::Policy("unknown extendedKeyUsage name or OID"))?,
        };
        Ok(Self(oid))
    }
}

/// Everything a certificate's extensions and lifetime derive from.
#[derive(Clone, Debug)]
pub struct Profile {
    /// Root, sub-CA or leaf.
    pub kind: CertificateKind,
    /// Lifetime in seconds from `notBefore` (capped at the issuer's `notAfter`).
    pub validity_seconds: i64,
    /// `keyUsage` bits (always marked critical).
    pub key_usage: FlagSet<KeyUsages>,
    /// `extendedKeyUsage` purposes (omitted when empty).
    pub extended_key_usage: Vec<ExtendedKeyUsage>,
    /// Subject alternative names, rendered per certificate.
    pub subject_alt_names: Vec<SanTemplate>,
    /// CRL distribution point URLs.
    pub crl_urls: Vec<String>,
    /// OCSP responder URLs (AIA `id-ad-ocsp`).
    pub ocsp_urls: Vec<String>,
    /// CA certificate URLs (AIA `id-ad-caIssuers`).
    pub ca_issuers_urls: Vec<String>,
    /// Adds `id-pkix-ocsp-nocheck` (RFC 6960 §4.2.2.2.1) for delegated OCSP responders.
    pub ocsp_no_check: bool,
}

/// One year of 365 days, in seconds.
pub const YEAR: i64 = 365 * 24 * 3600;

impl Profile {
    /// A self-signed root CA.
    pub fn root(validity_seconds: i64) -> Self {
        Self::ca(CertificateKind::Root { path_len: None }, validity_seconds)
    }

    /// A CA that issues leaves only (pathLenConstraint 0).
    pub fn issuing_ca(validity_seconds: i64) -> Self {
        Self::ca(CertificateKind::SubCa { path_len: 0 }, validity_seconds)
    }

    fn ca(kind: CertificateKind, validity_seconds: i64) -> Self {
        Self {
            kind,
            validity_seconds,
            key_usage: KeyUsages::KeyCertSign | KeyUsages::CRLSign,
            extended_key_usage: Vec::new(),
            subject_alt_names: Vec::new(),
            crl_urls: Vec::new(),
            ocsp_urls: Vec::new(),
            ca_issuers_urls: Vec::new(),
            ocsp_no_check: false,
        }
    }

    /// A delegated OCSP responder (RFC 6960 §4.2.2.2).
    pub fn ocsp_responder(validity_seconds: i64) -> Self {
        Self {
            kind: CertificateKind::EndEntity,
            validity_seconds,
            key_usage: KeyUsages::DigitalSignature.into(),
            extended_key_usage: vec![ExtendedKeyUsage(rfc5280::ID_KP_OCSP_SIGNING)],
            subject_alt_names: Vec::new(),
            crl_urls: Vec::new(),
            ocsp_urls: Vec::new(),
            ca_issuers_urls: Vec::new(),
            ocsp_no_check: true,
        }
    }

    /// A device (or station) client certificate: digitalSignature, clientAuth.
    pub fn client(validity_seconds: i64, subject_alt_names: Vec<SanTemplate>) -> Self {
        Self {
            kind: CertificateKind::EndEntity,
            validity_seconds,
            key_usage: KeyUsages::DigitalSignature.into(),
            extended_key_usage: vec![ExtendedKeyUsage(rfc5280::ID_KP_CLIENT_AUTH)],
            subject_alt_names,
            crl_urls: Vec::new(),
            ocsp_urls: Vec::new(),
            ca_issuers_urls: Vec::new(),
            ocsp_no_check: false,
        }
    }

    /// A TLS server certificate: digitalSignature, serverAuth.
    pub fn server(validity_seconds: i64, subject_alt_names: Vec<SanTemplate>) -> Self {
        Self {
            extended_key_usage: vec![ExtendedKeyUsage(rfc5280::ID_KP_SERVER_AUTH)],
            ..Self::client(validity_seconds, subject_alt_names)
        }
    }

    /// Checks the profile is coherent on its own (done once, at configuration load).
    pub fn check(&self) -> Result<(), PkiError> {
        if self.validity_seconds <= 0 {
            return Err(PkiError::Policy("validity must be positive"));
        }
        if self.key_usage.is_empty() {
            return Err(PkiError::Policy("keyUsage must not be empty"));
        }
        let signs_certs = self.key_usage.contains(KeyUsages::KeyCertSign);
        if self.kind.is_ca() != signs_certs {
            return Err(PkiError::Policy(
                "keyCertSign must be set for CAs and only for CAs",
            ));
        }
        if !self.kind.is_ca() && self.key_usage.contains(KeyUsages::CRLSign) {
            return Err(PkiError::Policy("cRLSign is for CAs only"));
        }
        for url in self
            .crl_urls
            .iter()
            .chain(&self.ocsp_urls)
            .chain(&self.ca_issuers_urls)
        {
            check_url(url)?;
        }
        Ok(())
    }
}

/// URLs in CDP and AIA must be absolute http(s) or ldap URLs of printable ASCII.
pub fn check_url(url: &str) -> Result<(), PkiError> {
    let scheme_ok = ["http://", "https://", "ldap://"]
        .iter()
        .any(|s| url.starts_with(s) && url.len() > s.len());
    let chars_ok = url.bytes().all(|b| b.is_ascii_graphic());
    if scheme_ok && chars_ok {
        Ok(())
    } else {
        Err(PkiError::Policy(
            "distribution point and AIA URLs must be absolute http(s)/ldap URLs",
        ))
    }
}
