//! Unix seconds to ASN.1 times.

use std::time::Duration;

use der::asn1::GeneralizedTime;
use x509_cert::time::Time;

use crate::error::RevocationError;

/// UTCTime before 2050, GeneralizedTime from 2050 on (RFC 5280 §5.1.2.4–5.1.2.6).
pub(crate) fn x509_time(unix: i64) -> Result<Time, RevocationError> {
    hallmark_pki::cert::x509_time(unix).map_err(|_| RevocationError::TimeOutOfRange(unix))
}

/// GeneralizedTime, as OCSP always writes it (RFC 6960 §4.2.1).
pub(crate) fn generalized_time(unix: i64) -> Result<GeneralizedTime, RevocationError> {
    u64::try_from(unix)
        .ok()
        .and_then(|secs| GeneralizedTime::from_unix_duration(Duration::from_secs(secs)).ok())
        .ok_or(RevocationError::TimeOutOfRange(unix))
}
