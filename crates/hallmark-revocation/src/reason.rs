//! Revocation reasons: the `CRLReason` of [RFC 5280 §5.3.1].
//!
//! Hallmark revokes for good: `certificateHold` (6) and `removeFromCRL` (8)
//! have no variant, so a hold can neither be parsed nor written. Parsing
//! accepts the RFC names case-insensitively and their kebab-case and
//! snake_case forms (`keyCompromise`, `key-compromise`, `KEY_COMPROMISE`).
//!
//! [RFC 5280 §5.3.1]: https://www.rfc-editor.org/rfc/rfc5280#section-5.3.1

use std::fmt;
use std::str::FromStr;

use crate::error::RevocationError;

/// Why a certificate was revoked ([RFC 5280 §5.3.1]).
///
/// [RFC 5280 §5.3.1]: https://www.rfc-editor.org/rfc/rfc5280#section-5.3.1
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Reason {
    /// `unspecified` (0). Written as no reason code at all (RFC 5280 §5.3.1
    /// recommends omitting it).
    Unspecified,
    /// `keyCompromise` (1): the device's private key is known or suspected lost.
    KeyCompromise,
    /// `cACompromise` (2).
    CaCompromise,
    /// `affiliationChanged` (3): the subject's name or role changed.
    AffiliationChanged,
    /// `superseded` (4): a newer certificate replaces this one.
    Superseded,
    /// `cessationOfOperation` (5): the device is decommissioned.
    CessationOfOperation,
    /// `privilegeWithdrawn` (9).
    PrivilegeWithdrawn,
    /// `aACompromise` (10).
    AaCompromise,
}

/// Reasons RFC 5280 defines that Hallmark refuses, with why.
const REFUSED: [(&str, u8, &str); 2] = [
    (
        "certificateHold",
        6,
        "Hallmark does not put certificates on hold: revocation is final",
    ),
    (
        "removeFromCRL",
        8,
        "removeFromCRL only undoes a hold (delta CRLs), and Hallmark makes no holds",
    ),
];

impl Reason {
    /// Every reason Hallmark writes, in code order.
    pub const ALL: [Reason; 8] = [
        Reason::Unspecified,
        Reason::KeyCompromise,
        Reason::CaCompromise,
        Reason::AffiliationChanged,
        Reason::Superseded,
        Reason::CessationOfOperation,
        Reason::PrivilegeWithdrawn,
        Reason::AaCompromise,
    ];

    /// The `CRLReason` ENUMERATED value.
    pub fn code(self) -> u8 {
        match self {
            Reason::Unspecified => 0,
            Reason::KeyCompromise => 1,
            Reason::CaCompromise => 2,
            Reason::AffiliationChanged => 3,
            Reason::Superseded => 4,
            Reason::CessationOfOperation => 5,
            Reason::PrivilegeWithdrawn => 9,
            Reason::AaCompromise => 10,
        }
    }

    /// The RFC 5280 name (`keyCompromise`), as [`fmt::Display`] writes it.
    pub fn name(self) -> &'static str {
        match self {
            Reason::Unspecified => "unspecified",
            Reason::KeyCompromise => "keyCompromise",
            Reason::CaCompromise => "cACompromise",
            Reason::AffiliationChanged => "affiliationChanged",
            Reason::Superseded => "superseded",
            Reason::CessationOfOperation => "cessationOfOperation",
            Reason::PrivilegeWithdrawn => "privilegeWithdrawn",
            Reason::AaCompromise => "aACompromise",
        }
    }

    /// The reason with `CRLReason` value `code`.
    ///
    /// # Errors
    ///
    /// [`RevocationError::RefusedReason`] for 6 and 8,
    /// [`RevocationError::UnknownReasonCode`] for values RFC 5280 does not define.
    pub fn from_code(code: u8) -> Result<Self, RevocationError> {
        if let Some(reason) = Self::ALL.into_iter().find(|r| r.code() == code) {
            return Ok(reason);
        }
        match REFUSED.iter().find(|(_, c, _)| *c == code) {
            Some((name, _, why)) => Err(RevocationError::RefusedReason { reason: name, why }),
            None => Err(RevocationError::UnknownReasonCode(code)),
        }
    }

    /// True when the reason is written into CRL entries and OCSP responses
    /// (everything but `unspecified`).
    pub fn is_written(self) -> bool {
        self != Reason::Unspecified
    }
}

/// Lower case without `-` and `_`: `key-compromise` → `keycompromise`.
fn fold(name: &str) -> String {
    name.chars()
        .filter(|c| *c != '-' && *c != '_')
        .map(|c| c.to_ascii_lowercase())
        .collect()
}

impl FromStr for Reason {
    type Err = RevocationError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let folded = fold(text.trim());
        if let Some(reason) = Reason::ALL.into_iter().find(|r| fold(r.name()) == folded) {
            return Ok(reason);
        }
        match REFUSED.iter().find(|(n, _, _)| fold(n) == folded) {
            Some((name, _, why)) => Err(RevocationError::RefusedReason { reason: name, why }),
            None => Err(RevocationError::UnknownReason(text.to_owned())),
        }
    }
}

impl fmt::Display for Reason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

#[cfg(test)]
mod tests {
    use super::Reason;
    use crate::RevocationError;

    #[test]
    fn parses_rfc_kebab_and_snake_forms() {
        for text in [
            "keyCompromise",
            "keycompromise",
            "KEYCOMPROMISE",
            "key-compromise",
            "key_compromise",
            " Key-Compromise ",
        ] {
            assert_eq!(
                text.parse::<Reason>().unwrap(),
                Reason::KeyCompromise,
                "{text}"
            );
        }
        assert_eq!(
            "ca-compromise".parse::<Reason>().unwrap(),
            Reason::CaCompromise
        );
        assert_eq!(
            "cACompromise".parse::<Reason>().unwrap(),
            Reason::CaCompromise
        );
        assert_eq!(
            "aa_compromise".parse::<Reason>().unwrap(),
            Reason::AaCompromise
        );
        assert_eq!(
            "cessation-of-operation".parse::<Reason>().unwrap(),
            Reason::CessationOfOperation
        );
    }

    #[test]
    fn display_round_trips_and_codes_match_rfc() {
        let codes: Vec<u8> = Reason::ALL.iter().map(|r| r.code()).collect();
        assert_eq!(codes, [0, 1, 2, 3, 4, 5, 9, 10]);
        for reason in Reason::ALL {
            assert_eq!(reason.to_string().parse::<Reason>().unwrap(), reason);
            assert_eq!(Reason::from_code(reason.code()).unwrap(), reason);
        }
        assert_eq!(Reason::KeyCompromise.to_string(), "keyCompromise");
        assert_eq!(Reason::AaCompromise.to_string(), "aACompromise");
    }

    #[test]
    fn refuses_holds_and_unknown_names() {
        for text in [
            "certificateHold",
            "certificate-hold",
            "removeFromCRL",
            "remove_from_crl",
        ] {
            assert!(
                matches!(
                    text.parse::<Reason>(),
                    Err(RevocationError::RefusedReason { .. })
                ),
                "{text}"
            );
        }
        assert!(matches!(
            Reason::from_code(6),
            Err(RevocationError::RefusedReason { .. })
        ));
        assert!(matches!(
            Reason::from_code(7),
            Err(RevocationError::UnknownReasonCode(7))
        ));
        assert!(matches!(
            "stolen".parse::<Reason>(),
            Err(RevocationError::UnknownReason(t)) if t == "stolen"
        ));
        assert!("".parse::<Reason>().is_err());
    }
}
