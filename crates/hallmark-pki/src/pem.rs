//! PEM armour ([RFC 7468]) for certificates, requests and chains.
//!
//! [RFC 7468]: https://www.rfc-editor.org/rfc/rfc7468

use der::pem::{self, LineEnding};

use crate::error::PkiError;

/// True when `input` starts (after whitespace) with a PEM boundary.
pub fn looks_like_pem(input: &[u8]) -> bool {
    input
        .iter()
        .position(|b| !b.is_ascii_whitespace())
        .is_some_and(|start| input[start..].starts_with(b"-----BEGIN "))
}

/// Decodes one PEM document whose label is one of `labels`.
pub fn decode(input: &[u8], labels: &[&'static str]) -> Result<Vec<u8>, PkiError> {
    let start = input
        .iter()
        .position(|b| !b.is_ascii_whitespace())
        .unwrap_or(0);
    let (label, der) = pem::decode_vec(&input[start..])
        .map_err(|e| PkiError::malformed("PEM document")(e.into()))?;
    if labels.contains(&label) {
        Ok(der)
    } else {
        Err(PkiError::WrongPemLabel {
            expected: labels.first().copied().unwrap_or("?"),
            found: label.to_string(),
        })
    }
}

/// Encodes `der` as PEM with `label` and LF line endings.
pub fn encode(label: &'static str, der: &[u8]) -> String {
    // Encoding into a String only fails on absurd lengths; fall back to empty
    // rather than panic, and let the caller's parse of the output fail loudly.
    pem::encode_string(label, LineEnding::LF, der).unwrap_or_default()
}

/// Encodes certificates as a PEM bundle, in the order given.
pub fn encode_certificates<'a>(certs: impl IntoIterator<Item = &'a [u8]>) -> String {
    certs
        .into_iter()
        .map(|der| encode("CERTIFICATE", der))
        .collect()
}
