//! The two list fields: GET_CSR's extra subject attributes and INSTALL's
//! certificate chain. Built from slices by a sender; borrowed from the
//! payload (already validated) by a receiver.

use core::fmt;

use crate::codec::{Reader, Writer, count};
use crate::error::ProtocolError;
use crate::types::{AttributeType, is_printable};

/// Bounds of GET_CSR's `attributes` count.
pub const MAX_SUBJECT_ATTRIBUTES: usize = 8;
/// Bounds of an attribute value's byte length.
pub const ATTRIBUTE_VALUE_LEN: core::ops::RangeInclusive<usize> = 1..=64;
/// Bounds of INSTALL's `chain` count.
pub const MAX_CHAIN_LEN: usize = 4;
/// Bounds of one certificate's DER length.
pub const CERTIFICATE_LEN: core::ops::RangeInclusive<usize> = 1..=4000;

/// One extra subject attribute.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SubjectAttribute<'a> {
    /// Which attribute.
    pub kind: AttributeType,
    /// Its value: 1–64 bytes; PrintableString characters for
    /// [`AttributeType::is_printable_string`] types, exactly 2 for a country.
    pub value: &'a str,
}

impl SubjectAttribute<'_> {
    fn check(&self) -> Result<(), ProtocolError> {
        let field = "attribute value";
        if self.kind.is_printable_string() && !is_printable(self.value) {
            return Err(ProtocolError::InvalidValue { field });
        }
        if self.kind == AttributeType::Country && self.value.len() != 2 {
            return Err(ProtocolError::OutOfBounds { field });
        }
        Ok(())
    }
}

#[derive(Clone, Copy)]
enum Repr<'a, T> {
    Items(&'a [T]),
    Wire { count: u8, bytes: &'a [u8] },
}

/// GET_CSR's extra subject attributes (0–8).
#[derive(Clone, Copy)]
pub struct SubjectAttributes<'a>(Repr<'a, SubjectAttribute<'a>>);

impl<'a> SubjectAttributes<'a> {
    /// The attributes to send, in RDN order.
    pub const fn new(items: &'a [SubjectAttribute<'a>]) -> Self {
        Self(Repr::Items(items))
    }

    /// No extra attributes.
    pub const fn none() -> Self {
        Self(Repr::Items(&[]))
    }

    /// How many attributes.
    pub fn len(&self) -> usize {
        match self.0 {
            Repr::Items(items) => items.len(),
            Repr::Wire { count, .. } => usize::from(count),
        }
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The attributes in order.
    pub fn iter(&self) -> impl Iterator<Item = SubjectAttribute<'a>> + 'a {
        let (items, mut reader, n) = match self.0 {
            Repr::Items(items) => (items, Reader::new(&[]), 0),
            Repr::Wire { count, bytes } => (&[][..], Reader::new(bytes), count),
        };
        let wire = (0..n).map_while(move |_| read_attribute(&mut reader).ok());
        items.iter().copied().chain(wire)
    }

    pub(crate) fn encode(&self, w: &mut Writer<'_>) -> Result<(), ProtocolError> {
        w.u8(count(self.len(), "attributes", 0..=MAX_SUBJECT_ATTRIBUTES)?)?;
        for attribute in self.iter() {
            attribute.check()?;
            w.u8(attribute.kind.code())?;
            w.bytes8(
                "attribute value",
                attribute.value.as_bytes(),
                ATTRIBUTE_VALUE_LEN,
            )?;
        }
        Ok(())
    }

    pub(crate) fn decode(r: &mut Reader<'a>) -> Result<Self, ProtocolError> {
        let count = r.u8("attributes")?;
        if usize::from(count) > MAX_SUBJECT_ATTRIBUTES {
            return Err(ProtocolError::OutOfBounds {
                field: "attributes",
            });
        }
        let before = r.remaining();
        for _ in 0..count {
            read_attribute(r)?;
        }
        let used = before.len() - r.remaining().len();
        Ok(Self(Repr::Wire {
            count,
            bytes: &before[..used],
        }))
    }
}

fn read_attribute<'a>(r: &mut Reader<'a>) -> Result<SubjectAttribute<'a>, ProtocolError> {
    let kind = AttributeType::decode(r.u8("attribute type")?)?;
    let value = r.str8("attribute value", ATTRIBUTE_VALUE_LEN)?;
    let attribute = SubjectAttribute { kind, value };
    attribute.check()?;
    Ok(attribute)
}

/// INSTALL's certificate chain (1–4 DER certificates, leaf first).
#[derive(Clone, Copy)]
pub struct CertChain<'a>(Repr<'a, &'a [u8]>);

impl<'a> CertChain<'a> {
    /// The chain to send: leaf first, then its issuers (the root optional).
    pub const fn new(certificates: &'a [&'a [u8]]) -> Self {
        Self(Repr::Items(certificates))
    }

    /// How many certificates.
    pub fn len(&self) -> usize {
        match self.0 {
            Repr::Items(items) => items.len(),
            Repr::Wire { count, .. } => usize::from(count),
        }
    }

    /// Whether the chain is empty (never, once decoded).
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The leaf certificate (the first).
    pub fn leaf(&self) -> Option<&'a [u8]> {
        self.iter().next()
    }

    /// The certificates, leaf first.
    pub fn iter(&self) -> impl Iterator<Item = &'a [u8]> + 'a {
        let (items, mut reader, n) = match self.0 {
            Repr::Items(items) => (items, Reader::new(&[]), 0),
            Repr::Wire { count, bytes } => (&[][..], Reader::new(bytes), count),
        };
        let wire = (0..n).map_while(move |_| reader.bytes16("certificate", CERTIFICATE_LEN).ok());
        items.iter().copied().chain(wire)
    }

    pub(crate) fn encode(&self, w: &mut Writer<'_>) -> Result<(), ProtocolError> {
        w.u8(count(self.len(), "chain", 1..=MAX_CHAIN_LEN)?)?;
        for certificate in self.iter() {
            w.bytes16("certificate", certificate, CERTIFICATE_LEN)?;
        }
        Ok(())
    }

    pub(crate) fn decode(r: &mut Reader<'a>) -> Result<Self, ProtocolError> {
        let count = r.u8("chain")?;
        if !(1..=MAX_CHAIN_LEN).contains(&usize::from(count)) {
            return Err(ProtocolError::OutOfBounds { field: "chain" });
        }
        let before = r.remaining();
        for _ in 0..count {
            r.bytes16("certificate", CERTIFICATE_LEN)?;
        }
        let used = before.len() - r.remaining().len();
        Ok(Self(Repr::Wire {
            count,
            bytes: &before[..used],
        }))
    }
}

impl PartialEq for SubjectAttributes<'_> {
    fn eq(&self, other: &Self) -> bool {
        self.iter().eq(other.iter())
    }
}

impl Eq for SubjectAttributes<'_> {}

impl PartialEq for CertChain<'_> {
    fn eq(&self, other: &Self) -> bool {
        self.iter().eq(other.iter())
    }
}

impl Eq for CertChain<'_> {}

impl fmt::Debug for SubjectAttributes<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list().entries(self.iter()).finish()
    }
}

impl fmt::Debug for CertChain<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list()
            .entries(self.iter().map(|c| CertLen(c.len())))
            .finish()
    }
}

struct CertLen(usize);

impl fmt::Debug for CertLen {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "<certificate, {} bytes>", self.0)
    }
}
