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

impl KeyUsageBit {
    /// Every bit with its RFC 5280 name (the names [`FromStr`] takes).
    const NAMES: [(KeyUsages, &'static str); 7] = [
        (KeyUsages::DigitalSignature, "digitalSignature"),
        (KeyUsages::NonRepudiation, "nonRepudiation"),
        (KeyUsages::KeyEncipherment, "keyEncipherment"),
        (KeyUsages::DataEncipherment, "dataEncipherment"),
        (KeyUsages::KeyAgreement, "keyAgreement"),
        (KeyUsages::KeyCertSign, "keyCertSign"),
        (KeyUsages::CRLSign, "cRLSign"),
    ];

    /// The names of the bits set in `usage`, in bit order.
    pub fn names(usage: FlagSet<KeyUsages>) -> Vec<&'static str> {
        Self::NAMES
            .iter()
            .filter(|(bit, _)| usage.contains(*bit))
            .map(|(_, name)| *name)
            .collect()
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

    /// A CA under another CA with `pathLenConstraint` `path_len`.
    pub fn sub_ca(path_len: u8, validity_seconds: i64) -> Self {
        Self::ca(CertificateKind::SubCa { path_len }, validity_seconds)
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

/// A leaf profile as text, to hand to another party that issues under it
/// (a station's offline sub-CA): names and dotted OIDs that
/// [`LeafProfileText::to_profile`] parses back. Revocation and AIA URLs are
/// not carried: certificates issued offline are not published there.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LeafProfileText {
    /// Lifetime in seconds (capped at the issuer's `notAfter`).
    pub validity_seconds: i64,
    /// `keyUsage` bit names.
    pub key_usage: Vec<String>,
    /// `extendedKeyUsage` OIDs, dotted.
    pub extended_key_usage: Vec<String>,
    /// SAN templates (`URI:…`, `DNS:…`).
    pub subject_alt_names: Vec<String>,
}

impl LeafProfileText {
    /// The text form of leaf profile `profile`.
    pub fn of(profile: &Profile) -> Result<Self, PkiError> {
        if profile.kind.is_ca() {
            return Err(PkiError::Policy("only leaf profiles can be handed out"));
        }
        Ok(Self {
            validity_seconds: profile.validity_seconds,
            key_usage: KeyUsageBit::names(profile.key_usage)
                .into_iter()
                .map(str::to_owned)
                .collect(),
            extended_key_usage: profile
                .extended_key_usage
                .iter()
                .map(|eku| eku.0.to_string())
                .collect(),
            subject_alt_names: profile
                .subject_alt_names
                .iter()
                .map(ToString::to_string)
                .collect(),
        })
    }

    /// Parses it back into a checked leaf profile.
    pub fn to_profile(&self) -> Result<Profile, PkiError> {
        let mut key_usage = FlagSet::<KeyUsages>::default();
        for name in &self.key_usage {
            key_usage |= name.parse::<KeyUsageBit>()?.0;
        }
        let profile = Profile {
            kind: CertificateKind::EndEntity,
            validity_seconds: self.validity_seconds,
            key_usage,
            extended_key_usage: self
                .extended_key_usage
                .iter()
                .map(|oid| oid.parse())
                .collect::<Result<_, _>>()?,
            subject_alt_names: self
                .subject_alt_names
                .iter()
                .map(|san| san.parse())
                .collect::<Result<_, _>>()?,
            crl_urls: Vec::new(),
            ocsp_urls: Vec::new(),
            ca_issuers_urls: Vec::new(),
            ocsp_no_check: false,
        };
        profile.check()?;
        Ok(profile)
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn leaf_profile_text_round_trips() -> Result<(), PkiError> {
        let sans = vec![
            "URI:urn:dev:{device_id}".parse()?,
            "DNS:{device_id}.{factory}.example".parse()?,
        ];
        let mut profile = Profile::client(3_600, sans);
        profile.key_usage |= KeyUsages::KeyAgreement;
        profile.crl_urls.push("http://crl.example/{ca}.crl".into());
        let text = LeafProfileText::of(&profile)?;
        assert_eq!(text.key_usage, ["digitalSignature", "keyAgreement"]);
        assert_eq!(text.extended_key_usage, ["1.3.6.1.5.5.7.3.2"]);
        let back = text.to_profile()?;
        assert_eq!(back.key_usage, profile.key_usage);
        assert_eq!(back.extended_key_usage, profile.extended_key_usage);
        assert_eq!(back.subject_alt_names.len(), 2);
        assert_eq!(back.validity_seconds, 3_600);
        assert!(back.crl_urls.is_empty(), "URLs are not handed out");
        Ok(())
    }

    #[test]
    fn leaf_profile_text_refuses_ca_and_bad_names() {
        assert!(LeafProfileText::of(&Profile::issuing_ca(YEAR)).is_err());
        let bad = LeafProfileText {
            validity_seconds: 60,
            key_usage: vec!["keyCertSign".into()],
            extended_key_usage: Vec::new(),
            subject_alt_names: Vec::new(),
        };
        assert!(bad.to_profile().is_err(), "keyCertSign on a leaf");
        let bad = LeafProfileText {
            key_usage: vec!["signEverything".into()],
            ..bad
        };
        assert!(bad.to_profile().is_err());
    }
}
