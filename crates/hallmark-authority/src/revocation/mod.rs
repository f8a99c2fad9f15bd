//! Revocation: revoking certificates and stations, CRLs ([RFC 5280 §5]) and
//! OCSP ([RFC 6960]).
//!
//! * **Revoking** ([`Authority::plan_revocation`], [`Authority::revoke`]):
//!   a [`CertificateSelection`] (device, serial, station with an optional
//!   issue-time window, order) names issued and superseded certificates;
//!   each store call revokes up to [`REVOKE_CHUNK`] of them together with
//!   one `revocation` audit event listing the serials it revoked (see
//!   [`Store::revoke`]). Revoking by station also stops the station's
//!   credential in the first of those transactions. Revocation is final
//!   and idempotent.
//! * **CRLs** ([`RevocationService::crl`]): one per issuing CA, signed with
//!   the CA's key through the key backend, numbered by the store (audit
//!   event `crl.issued`), `nextUpdate = thisUpdate +`
//!   [`RevocationSettings::crl_validity`]. A CRL is cached and signed anew
//!   when the CA's revocation version changes (any process revoked one of
//!   its certificates) or [`RevocationSettings::crl_refresh`] has passed.
//! * **OCSP** ([`RevocationService::ocsp`]): requests are matched to an
//!   issuing CA by the SHA-1 or SHA-256 issuer hashes of their `CertID`s
//!   and answered by that CA's delegated responder `ocsp-<factory>`
//!   (`id-kp-OCSPSigning`, `id-pkix-ocsp-nocheck`). `good` for an issued or
//!   superseded certificate that is not revoked, `revoked` with time and
//!   reason, `unknown` for a serial the CA never issued (or whose issuance
//!   never completed). A `CertID` of a CA Hallmark does not have, or a
//!   request mixing CAs, is answered `unauthorized` (RFC 5019 §2.2.3): no
//!   Hallmark responder is delegated by that CA, so any signed answer would
//!   fail the client's check. Malformed requests get `malformedRequest`. A
//!   nonce is echoed (RFC 8954); nonce-less single requests are answered
//!   from a cache per (CA, serial, hash algorithm), signed once and used
//!   until half of [`RevocationSettings::ocsp_validity`] is left, or until
//!   the CA's revocation version changes (polled at most every
//!   [`VERSION_POLL`]).
//!
//! The service only reads the store for OCSP, so the standalone responder
//! (`hallmark ocsp serve`) runs on a read-only store.
//!
//! [RFC 5280 §5]: https://www.rfc-editor.org/rfc/rfc5280#section-5
//! [RFC 6960]: https://www.rfc-editor.org/rfc/rfc6960

mod cas;
mod crl;
mod ocsp;
mod revoke;

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use hallmark_keys::KeyStore;
use hallmark_store::{AuditSeq, Store};

pub use crl::PublishedCrl;
pub use hallmark_revocation::{OcspResponseStatus, Reason};
pub use hallmark_store::CertificateSelection;
pub use ocsp::{Freshness, OcspReply};
pub use revoke::{REVOKE_CHUNK, RevocationPlan, RevocationReport};

use crate::env::Clock;
use crate::error::AuthorityError;
use crate::issue::Authority;

/// How often a cached OCSP answer re-reads its CA's revocation version: a
/// revocation made by another process shows within this long.
pub const VERSION_POLL: Duration = Duration::from_secs(1);

/// Lifetimes of CRLs and OCSP responses, in seconds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RevocationSettings {
    /// CRL `nextUpdate - thisUpdate`.
    pub crl_validity: i64,
    /// A new CRL is signed once this much time has passed since the last
    /// one (and at once when a certificate of the CA is revoked). Less than
    /// `crl_validity`, so relying parties never hold an expired CRL.
    pub crl_refresh: i64,
    /// OCSP `nextUpdate - thisUpdate`; cached responses are signed anew
    /// when half of it is left.
    pub ocsp_validity: i64,
}

impl Default for RevocationSettings {
    /// CRLs valid 24 h, a new one every 12 h; OCSP responses valid 1 h.
    fn default() -> Self {
        Self {
            crl_validity: 24 * 3600,
            crl_refresh: 12 * 3600,
            ocsp_validity: 3600,
        }
    }
}

impl RevocationSettings {
    /// Refuses lifetimes that cannot work.
    pub fn check(&self) -> Result<(), AuthorityError> {
        let bad = self.crl_validity < 60
            || self.crl_refresh < 1
            || self.crl_refresh >= self.crl_validity
            || self.ocsp_validity < 60;
        if bad {
            return Err(AuthorityError::InvalidRevocationSettings(format!(
                "need crl_validity >= 60 s, 0 < crl_refresh < crl_validity and \
                 ocsp_validity >= 60 s (got {self:?})"
            )));
        }
        Ok(())
    }
}

/// CRLs and OCSP for every issuing CA, with their caches. Cheap to share
/// (`Arc`); one per process serving revocation.
#[derive(Debug)]
pub struct RevocationService {
    store: Arc<dyn Store>,
    keys: Arc<dyn KeyStore>,
    clock: Arc<dyn Clock>,
    settings: RevocationSettings,
    cas: cas::IssuingCas,
    crls: crl::CrlCache,
    responses: ocsp::ResponseCache,
    versions: Mutex<HashMap<String, (AuditSeq, Instant)>>,
}

impl RevocationService {
    /// A service over `store` (read-only suffices for OCSP) and `keys`.
    pub fn new(
        store: Arc<dyn Store>,
        keys: Arc<dyn KeyStore>,
        clock: Arc<dyn Clock>,
        settings: RevocationSettings,
    ) -> Result<Self, AuthorityError> {
        settings.check()?;
        Ok(Self {
            store,
            keys,
            clock,
            settings,
            cas: cas::IssuingCas::default(),
            crls: crl::CrlCache::default(),
            responses: ocsp::ResponseCache::default(),
            versions: Mutex::new(HashMap::new()),
        })
    }

    /// The settings in force.
    pub fn settings(&self) -> RevocationSettings {
        self.settings
    }

    /// Loads every issuing CA and opens its OCSP responder key now, so a
    /// missing key or wrong secret fails at start rather than per request.
    /// Returns the issuing CA ids.
    pub async fn preload_responders(&self) -> Result<Vec<String>, AuthorityError> {
        let mut ids = Vec::new();
        for ca in self.issuing_cas().await?.iter() {
            ca.responder(self.keys.as_ref()).await?;
            ids.push(ca.id.clone());
        }
        Ok(ids)
    }

    /// `Ok` while the store answers (a one-row read): for health checks.
    pub async fn health(&self) -> Result<(), AuthorityError> {
        self.store.authority_key(crate::hierarchy::ROOT_ID).await?;
        Ok(())
    }

    async fn issuing_cas(&self) -> Result<Arc<[Arc<cas::IssuingCa>]>, AuthorityError> {
        self.cas.get(self.store.as_ref()).await
    }

    /// The CA's revocation version, read from the store when the cached
    /// one is older than `max_age`.
    async fn version(&self, ca_id: &str, max_age: Duration) -> Result<AuditSeq, AuthorityError> {
        if let Some((version, read)) = self.lock_versions().get(ca_id)
            && read.elapsed() < max_age
        {
            return Ok(*version);
        }
        let version = self.store.revocation_version(ca_id).await?;
        self.lock_versions()
            .insert(ca_id.to_string(), (version, Instant::now()));
        Ok(version)
    }

    fn lock_versions(&self) -> MutexGuard<'_, HashMap<String, (AuditSeq, Instant)>> {
        // The map holds no invariant a panicking holder could break.
        self.versions.lock().unwrap_or_else(|p| p.into_inner())
    }
}

impl Authority {
    /// A revocation service over this authority's store and keys.
    pub fn revocation_service(
        &self,
        settings: RevocationSettings,
    ) -> Result<RevocationService, AuthorityError> {
        RevocationService::new(
            Arc::clone(&self.store),
            Arc::clone(&self.keys),
            Arc::clone(&self.env.clock),
            settings,
        )
    }
}
