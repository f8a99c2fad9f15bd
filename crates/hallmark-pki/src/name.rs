//! Distinguished names built from a few well-known attributes.

use const_oid::ObjectIdentifier;
use const_oid::db::rfc4519;
use der::asn1::{Any, PrintableStringRef, Utf8StringRef};
use der::{Decode, Encode};
use x509_cert::attr::AttributeTypeAndValue;
use x509_cert::name::{Name, RdnSequence, RelativeDistinguishedName};

use crate::error::PkiError;

/// The attributes Hallmark puts in subjects, in the order they are written.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Attribute {
    /// `countryName` (PrintableString, two letters).
    Country,
    /// `organizationName`.
    Organization,
    /// `organizationalUnitName`.
    OrganizationalUnit,
    /// `serialNumber` (PrintableString): e.g. a chip's unique id.
    SerialNumber,
    /// `commonName`.
    CommonName,
}

impl Attribute {
    fn oid(self) -> ObjectIdentifier {
        match self {
            Self::Country => rfc4519::C,
            Self::Organization => rfc4519::O,
            Self::OrganizationalUnit => rfc4519::OU,
            Self::SerialNumber => rfc4519::SERIAL_NUMBER,
            Self::CommonName => rfc4519::CN,
        }
    }

    fn value(self, text: &str) -> Result<Any, PkiError> {
        let any = match self {
            Self::Country | Self::SerialNumber => {
                Any::encode_from(&PrintableStringRef::new(text).map_err(|_| {
                    PkiError::Policy("country and serialNumber must be PrintableString")
                })?)
            }
            _ => Any::encode_from(&Utf8StringRef::new(text)?),
        };
        Ok(any?)
    }
}

/// A distinguished name under construction: one attribute per RDN.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct DistinguishedName {
    attributes: Vec<(Attribute, String)>,
}

impl DistinguishedName {
    /// An empty name.
    pub fn new() -> Self {
        Self::default()
    }

    /// Appends an attribute (ignored when `value` is empty).
    pub fn with(mut self, attribute: Attribute, value: impl Into<String>) -> Self {
        let value = value.into();
        if !value.is_empty() {
            self.attributes.push((attribute, value));
        }
        self
    }

    /// The name as an x509-cert [`Name`].
    pub fn to_name(&self) -> Result<Name, PkiError> {
        let mut rdns = Vec::with_capacity(self.attributes.len());
        for (attribute, text) in &self.attributes {
            let mut rdn = RelativeDistinguishedName::default();
            rdn.insert(AttributeTypeAndValue {
                oid: attribute.oid(),
                value: attribute.value(text)?,
            })?;
            rdns.push(rdn);
        }
        let der = RdnSequence::from(rdns).to_der()?;
        Name::from_der(&der).map_err(PkiError::malformed("distinguished name"))
    }
}
