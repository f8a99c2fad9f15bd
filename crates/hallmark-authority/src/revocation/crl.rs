//! CRLs per issuing CA ([RFC 5280 §5]): signed by the CA's key through the
//! key backend, numbered by the store, cached until the CA's revocations
//! change or the refresh time comes.
//!
//! [RFC 5280 §5]: https://www.rfc-editor.org/rfc/rfc5280#section-5

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use hallmark_revocation::{Reason, RevokedEntry, build_crl};
use hallmark_store::{AuditEvent, AuditSeq};
use serde_json::json;

use super::RevocationService;
use super::cas::IssuingCa;
use crate::error::AuthorityError;

/// A signed CRL, ready to serve.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PublishedCrl {
    /// The issuing CA.
    pub ca_id: String,
    /// The `CertificateList`, DER.
    pub der: Vec<u8>,
    /// Its `cRLNumber`.
    pub number: u64,
    /// `thisUpdate`, unix seconds.
    pub this_update: i64,
    /// `nextUpdate`, unix seconds.
    pub next_update: i64,
    /// When a new CRL is signed at the latest (unless a revocation comes
    /// first), unix seconds: before `next_update`.
    pub refresh_at: i64,
    /// How many certificates it lists.
    pub entries: usize,
    /// The CA's revocation version it reflects.
    version: AuditSeq,
}

impl PublishedCrl {
    fn current(&self, version: AuditSeq, now: i64) -> bool {
        self.version == version && now < self.refresh_at
    }
}

/// The newest CRL per CA; one CRL is signed at a time.
#[derive(Debug, Default)]
pub(crate) struct CrlCache {
    current: Mutex<HashMap<String, Arc<PublishedCrl>>>,
    signing: tokio::sync::Mutex<()>,
}

impl CrlCache {
    fn lock(&self) -> MutexGuard<'_, HashMap<String, Arc<PublishedCrl>>> {
        // The map holds no invariant a panicking holder could break.
        self.current.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn get(&self, ca_id: &str) -> Option<Arc<PublishedCrl>> {
        self.lock().get(ca_id).cloned()
    }
}

/// The previous CRL while it is still valid, else `err`.
fn stale_or(
    cached: Option<Arc<PublishedCrl>>,
    now: i64,
    err: AuthorityError,
) -> Result<Arc<PublishedCrl>, AuthorityError> {
    match cached {
        Some(crl) if now < crl.next_update => {
            tracing::warn!(ca = %crl.ca_id, error = %err, "cannot sign a new CRL: serving the previous one");
            Ok(crl)
        }
        _ => Err(err),
    }
}

impl RevocationService {
    /// The current CRL of issuing CA `ca_id`. A new one is signed when none
    /// is cached, when a certificate of the CA was revoked since (by any
    /// process: the store's revocation version is read on every call), or
    /// once [`crl_refresh`](super::RevocationSettings::crl_refresh) has
    /// passed. If signing fails, the previous CRL is served while valid.
    pub async fn crl(&self, ca_id: &str) -> Result<Arc<PublishedCrl>, AuthorityError> {
        let ca = self.cas.by_id(self.store.as_ref(), ca_id).await?;
        let cached = self.crls.get(ca_id);
        let now = self.clock.now();
        let version = match self.version(ca_id, Duration::ZERO).await {
            Ok(version) => version,
            Err(err) => return stale_or(cached, now, err),
        };
        if let Some(crl) = cached.as_ref().filter(|c| c.current(version, now)) {
            return Ok(Arc::clone(crl));
        }
        let _signing = self.crls.signing.lock().await;
        if let Some(crl) = self.crls.get(ca_id).filter(|c| c.current(version, now)) {
            return Ok(crl);
        }
        match self.sign_crl(&ca, version).await {
            Ok(crl) => {
                let crl = Arc::new(crl);
                self.crls.lock().insert(ca.id.clone(), Arc::clone(&crl));
                Ok(crl)
            }
            Err(err) => stale_or(cached, now, err),
        }
    }

    /// Brings every issuing CA's CRL up to date (what the server runs on a
    /// schedule). Failures are logged; the last one is returned.
    pub async fn refresh_crls(&self) -> Result<(), AuthorityError> {
        let mut outcome = Ok(());
        for ca in self.issuing_cas().await?.iter() {
            if let Err(err) = self.crl(&ca.id).await {
                tracing::error!(ca = %ca.id, error = %err, "CRL refresh failed");
                outcome = Err(err);
            }
        }
        outcome
    }

    /// Signs a new CRL listing every revoked certificate of `ca`.
    async fn sign_crl(
        &self,
        ca: &IssuingCa,
        version: AuditSeq,
    ) -> Result<PublishedCrl, AuthorityError> {
        let revoked = self.store.revocations(&ca.id).await?;
        let signer = Arc::clone(ca.signer(self.keys.as_ref()).await?);
        let this_update = self.clock.now();
        let next_update = this_update + self.settings.crl_validity;
        let entries = revoked.len();
        let event = AuditEvent::new(
            "crl.issued",
            Some(ca.id.clone()),
            this_update,
            json!({
                "ca": ca.id,
                "this_update": this_update,
                "next_update": next_update,
                "entries": entries,
                "revocation_version": version,
            }),
        );
        let number = self
            .store
            .next_crl_number(&ca.id, this_update, event)
            .await?;
        let issuer = ca.crl_issuer.clone();
        let der = tokio::task::spawn_blocking(move || {
            let list = revoked.into_iter().map(|r| RevokedEntry {
                serial: r.serial,
                revoked_at: r.revocation.revoked_at,
                reason: Reason::from_code(r.revocation.reason).ok(),
            });
            build_crl(
                &issuer,
                number,
                this_update,
                next_update,
                list,
                signer.as_ref(),
            )
        })
        .await
        .map_err(AuthorityError::Task)??;
        tracing::info!(ca = %ca.id, number, entries, "signed a new CRL");
        Ok(PublishedCrl {
            ca_id: ca.id.clone(),
            der,
            number,
            this_update,
            next_update,
            refresh_at: this_update + self.settings.crl_refresh,
            entries,
            version,
        })
    }
}
