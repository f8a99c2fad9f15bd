//! EST wire formats ([RFC 7030 §4], as corrected by [RFC 8951]).
//!
//! EST bodies carry DER in base64 ([RFC 8951 §3.1]: no
//! `Content-Transfer-Encoding`, the body *is* base64, line breaks allowed).
//! This module decodes request bodies strictly but tolerantly of whitespace,
//! encodes response bodies wrapped at 64 columns, and builds the two DER
//! structures EST servers send:
//!
//! - a degenerate "certs-only" CMS `SignedData` ([RFC 5652 §5], [RFC 7030
//!   §4.1.3], §4.2.3), for `/cacerts` and the enrollment responses;
//! - `CsrAttrs` ([RFC 7030 §4.5.2]) for `/csrattrs`.
//!
//! [RFC 7030 §4]: https://www.rfc-editor.org/rfc/rfc7030#section-4
//! [RFC 7030 §4.1.3]: https://www.rfc-editor.org/rfc/rfc7030#section-4.1.3
//! [RFC 7030 §4.5.2]: https://www.rfc-editor.org/rfc/rfc7030#section-4.5.2
//! [RFC 8951]: https://www.rfc-editor.org/rfc/rfc8951
//! [RFC 8951 §3.1]: https://www.rfc-editor.org/rfc/rfc8951#section-3.1
//! [RFC 5652 §5]: https://www.rfc-editor.org/rfc/rfc5652#section-5

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use const_oid::ObjectIdentifier;
use const_oid::db::rfc5911::{ID_DATA, ID_SIGNED_DATA};
use der::asn1::{AnyRef, SetOfVec};
use der::{Decode, Encode, Sequence};

use crate::Error;

/// Content type of a `/simpleenroll` or `/simplereenroll` request body
/// ([RFC 7030 §4.2.1](https://www.rfc-editor.org/rfc/rfc7030#section-4.2.1)).
pub const CONTENT_TYPE_PKCS10: &str = "application/pkcs10";
/// Content type of an enrollment response
/// ([RFC 7030 §4.2.3](https://www.rfc-editor.org/rfc/rfc7030#section-4.2.3)).
pub const CONTENT_TYPE_CERTS_ONLY: &str = "application/pkcs7-mime; smime-type=certs-only";
/// Content type of a `/cacerts` response
/// ([RFC 7030 §4.1.3](https://www.rfc-editor.org/rfc/rfc7030#section-4.1.3)).
pub const CONTENT_TYPE_CACERTS: &str = "application/pkcs7-mime";
/// Content type of a `/csrattrs` response
/// ([RFC 7030 §4.5.2](https://www.rfc-editor.org/rfc/rfc7030#section-4.5.2)).
pub const CONTENT_TYPE_CSRATTRS: &str = "application/csrattrs";

/// Width of the base64 lines this server sends.
const LINE_WIDTH: usize = 64;

/// Decodes a base64 EST request body to DER.
///
/// CR, LF, space and tab are ignored anywhere; everything else must be the
/// standard alphabet with the `=` padding ([RFC 4648 §4]).
///
/// # Errors
///
/// [`Error::EmptyBody`] if nothing but whitespace was sent,
/// [`Error::Base64Byte`] naming the first foreign byte and its offset,
/// [`Error::Base64`] for bad padding or length.
///
/// [RFC 4648 §4]: https://www.rfc-editor.org/rfc/rfc4648#section-4
pub fn decode_base64_body(body: &[u8]) -> Result<Vec<u8>, Error> {
    let mut compact = Vec::with_capacity(body.len());
    for (offset, &byte) in body.iter().enumerate() {
        match byte {
            b'\r' | b'\n' | b' ' | b'\t' => {}
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'+' | b'/' | b'=' => compact.push(byte),
            _ => return Err(Error::Base64Byte { byte, offset }),
        }
    }
    if compact.is_empty() {
        return Err(Error::EmptyBody);
    }
    STANDARD
        .decode(&compact)
        .map_err(|e| Error::Base64(describe(&e)))
}

/// Words a base64 decoding error for an EST client's operator (positions
/// count base64 characters, whitespace not included).
fn describe(error: &base64::DecodeError) -> String {
    use base64::DecodeError as E;
    match error {
        E::InvalidByte(index, b'=') => {
            format!("padding '=' in the middle of the data (base64 character #{index})")
        }
        E::InvalidByte(index, byte) => {
            format!("unexpected byte {byte:#04x} (base64 character #{index})")
        }
        E::InvalidLength(length) => {
            format!("{length} base64 characters cannot encode whole bytes")
        }
        E::InvalidLastSymbol(index, _) => {
            format!("last symbol (base64 character #{index}) has non-zero trailing bits")
        }
        E::InvalidPadding => "missing or wrong '=' padding (padding is required)".to_owned(),
    }
}

/// Encodes DER as an EST response body: standard base64, lines of 64
/// characters, each ended by CRLF.
pub fn encode_base64_body(der: &[u8]) -> String {
    let encoded = STANDARD.encode(der);
    let mut body = String::with_capacity(encoded.len() + 2 * (encoded.len() / LINE_WIDTH + 1));
    for (index, symbol) in encoded.chars().enumerate() {
        if index > 0 && index % LINE_WIDTH == 0 {
            body.push_str("\r\n");
        }
        body.push(symbol);
    }
    if !body.is_empty() {
        body.push_str("\r\n");
    }
    body
}

/// `ContentInfo` ([RFC 5652 §3](https://www.rfc-editor.org/rfc/rfc5652#section-3)),
/// here always holding a `SignedData`.
#[derive(Sequence)]
struct ContentInfo<'a> {
    content_type: ObjectIdentifier,
    #[asn1(context_specific = "0", tag_mode = "EXPLICIT")]
    content: SignedData<'a>,
}

/// The degenerate `SignedData` of [RFC 5652 §5.1](https://www.rfc-editor.org/rfc/rfc5652#section-5.1):
/// no digest algorithms, no content, no signers; CRLs absent.
#[derive(Sequence)]
struct SignedData<'a> {
    version: u8,
    digest_algorithms: SetOfVec<AnyRef<'a>>,
    encap_content_info: EncapsulatedContentInfo,
    #[asn1(context_specific = "0", tag_mode = "IMPLICIT")]
    certificates: SetOfVec<AnyRef<'a>>,
    signer_infos: SetOfVec<AnyRef<'a>>,
}

/// `EncapsulatedContentInfo` with `eContent` absent.
#[derive(Sequence)]
struct EncapsulatedContentInfo {
    e_content_type: ObjectIdentifier,
}

/// Builds the certs-only CMS message (DER) carrying `certificates` (each one
/// DER X.509 certificate).
///
/// The certificates are checked to be X.509 certificates, duplicates are
/// dropped, and DER's `SET OF` ordering applies (so the output order is not
/// the input order).
///
/// # Errors
///
/// [`Error::NoCertificates`] for an empty list, [`Error::NotACertificate`]
/// naming the first input that does not parse, [`Error::Der`] if encoding
/// fails.
pub fn certs_only(certificates: &[Vec<u8>]) -> Result<Vec<u8>, Error> {
    if certificates.is_empty() {
        return Err(Error::NoCertificates);
    }
    let mut set = Vec::with_capacity(certificates.len());
    for (index, der) in certificates.iter().enumerate() {
        x509_cert::Certificate::from_der(der)
            .map_err(|source| Error::NotACertificate { index, source })?;
        set.push(AnyRef::from_der(der)?);
    }
    set.sort_by(|a, b| a.value().cmp(b.value()));
    set.dedup();
    let message = ContentInfo {
        content_type: ID_SIGNED_DATA,
        content: SignedData {
            version: 1,
            digest_algorithms: SetOfVec::new(),
            encap_content_info: EncapsulatedContentInfo {
                e_content_type: ID_DATA,
            },
            certificates: SetOfVec::try_from(set)?,
            signer_infos: SetOfVec::new(),
        },
    };
    Ok(message.to_der()?)
}

/// Encodes `CsrAttrs` ([RFC 7030 §4.5.2]) made only of OIDs (the `oid`
/// choice of `AttrOrOID`), in the given order. An empty list is valid.
///
/// [RFC 7030 §4.5.2]: https://www.rfc-editor.org/rfc/rfc7030#section-4.5.2
///
/// # Errors
///
/// [`Error::Der`] if encoding fails.
pub fn csr_attributes(oids: &[ObjectIdentifier]) -> Result<Vec<u8>, Error> {
    Ok(oids.to_vec().to_der()?)
}

#[cfg(test)]
#[path = "est_wire_tests.rs"]
mod tests;
