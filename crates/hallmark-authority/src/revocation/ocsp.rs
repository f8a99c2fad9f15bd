//! The OCSP responder ([RFC 6960]): status from the store, answers signed
//! by the CA's delegated responder, nonce-less answers cached
//! ([RFC 5019 §2.2]).
//!
//! [RFC 6960]: https://www.rfc-editor.org/rfc/rfc6960
//! [RFC 5019 §2.2]: https://www.rfc-editor.org/rfc/rfc5019#section-2.2

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};

use hallmark_revocation::{
    CertId, CertStatus, HashAlgorithm, Nonce, OcspResponseStatus, Reason, SingleResponse,
    build_response, error_response, parse_request,
};
use hallmark_store::{AuditSeq, IssuanceStatus, SerialStatus};

use super::cas::IssuingCa;
use super::{RevocationService, VERSION_POLL};
use crate::error::AuthorityError;

/// Cached answers kept at most (about 1 KB each).
const MAX_CACHED: usize = 100_000;

/// How long an answer may be reused.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Freshness {
    /// `thisUpdate`, unix seconds.
    pub this_update: i64,
    /// `nextUpdate`, unix seconds.
    pub next_update: i64,
    /// When the responder signs a new answer (half the lifetime), unix seconds.
    pub refresh_at: i64,
}

/// An `OCSPResponse` (DER) and what HTTP caching needs to know of it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OcspReply {
    /// The response.
    pub der: Arc<[u8]>,
    /// `None` for `successful`, else the error status (an unsigned response).
    pub error: Option<OcspResponseStatus>,
    /// Set for a nonce-less answer about one certificate, which any client
    /// may be given until [`Freshness::refresh_at`]; `None` for answers
    /// echoing a nonce and for errors, which are not to be cached.
    pub cacheable: Option<Freshness>,
}

impl OcspReply {
    fn error(status: OcspResponseStatus) -> Self {
        Self {
            der: error_response(status).into(),
            error: Some(status),
            cacheable: None,
        }
    }
}

/// Signed answers by (CA, serial, CertID hash algorithm).
#[derive(Debug, Default)]
pub(crate) struct ResponseCache(Mutex<HashMap<CacheKey, Cached>>);

type CacheKey = (String, Vec<u8>, HashAlgorithm);

#[derive(Debug)]
struct Cached {
    reply: OcspReply,
    refresh_at: i64,
    version: AuditSeq,
}

impl ResponseCache {
    fn lock(&self) -> MutexGuard<'_, HashMap<CacheKey, Cached>> {
        // The map holds no invariant a panicking holder could break.
        self.0.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn get(&self, key: &CacheKey, version: AuditSeq, now: i64) -> Option<OcspReply> {
        self.lock()
            .get(key)
            .filter(|c| c.version == version && now < c.refresh_at)
            .map(|c| c.reply.clone())
    }

    fn insert(&self, key: CacheKey, reply: OcspReply, fresh: Freshness, version: AuditSeq) {
        let mut cache = self.lock();
        if cache.len() >= MAX_CACHED {
            cache.retain(|_, c| c.refresh_at > fresh.this_update);
            if cache.len() >= MAX_CACHED {
                cache.clear();
            }
        }
        cache.insert(
            key,
            Cached {
                reply,
                refresh_at: fresh.refresh_at,
                version,
            },
        );
    }
}

/// The status to answer for what the store knows of a serial.
fn cert_status(known: Option<SerialStatus>) -> CertStatus {
    match known {
        Some(SerialStatus {
            status: IssuanceStatus::Issued | IssuanceStatus::Superseded,
            revocation,
        }) => match revocation {
            Some(r) => CertStatus::Revoked {
                at: r.revoked_at,
                reason: Reason::from_code(r.reason).ok(),
            },
            None => CertStatus::Good,
        },
        // Never issued, or the issuance never completed: the certificate
        // never left the CA.
        _ => CertStatus::Unknown,
    }
}

/// `tryLater` when the store or key backend failed, `internalError` otherwise.
fn failed(what: &'static str) -> impl FnOnce(AuthorityError) -> OcspResponseStatus {
    move |err| {
        tracing::error!(error = %err, "OCSP: {what} failed");
        match err {
            AuthorityError::Store(_) | AuthorityError::Keys(_) => OcspResponseStatus::TryLater,
            _ => OcspResponseStatus::InternalError,
        }
    }
}

impl RevocationService {
    /// Answers a DER `OCSPRequest` (see the module docs of
    /// [`revocation`](crate::revocation)). Never fails: problems become
    /// unsigned error responses (`malformedRequest`, `unauthorized`,
    /// `tryLater`, `internalError`).
    pub async fn ocsp(&self, request_der: &[u8]) -> OcspReply {
        match self.try_ocsp(request_der).await {
            Ok(reply) => reply,
            Err(status) => OcspReply::error(status),
        }
    }

    async fn try_ocsp(&self, request_der: &[u8]) -> Result<OcspReply, OcspResponseStatus> {
        let request = parse_request(request_der).map_err(|err| {
            tracing::debug!(error = %err, "OCSP: refused request");
            err.ocsp_status()
        })?;
        let cas = self
            .issuing_cas()
            .await
            .map_err(failed("loading the issuing CAs"))?;
        let ca = request
            .cert_ids
            .iter()
            .map(|id| cas.iter().find(|ca| ca.issued(id)))
            .reduce(|a, b| a.filter(|a| b.is_some_and(|b| a.id == b.id)))
            .flatten()
            .ok_or(OcspResponseStatus::Unauthorized)?;
        match (&request.nonce, request.cert_ids.as_slice()) {
            (None, [id]) => self.cached(ca, id).await,
            (nonce, ids) => self.answer(ca, ids, nonce.as_ref()).await,
        }
    }

    /// A nonce-less answer about one certificate, from the cache when fresh.
    async fn cached(
        &self,
        ca: &Arc<IssuingCa>,
        id: &CertId,
    ) -> Result<OcspReply, OcspResponseStatus> {
        let version = self
            .version(&ca.id, VERSION_POLL)
            .await
            .map_err(failed("reading the revocation version"))?;
        let key = (ca.id.clone(), id.serial.clone(), id.hash_algorithm);
        if let Some(reply) = self.responses.get(&key, version, self.clock.now()) {
            return Ok(reply);
        }
        let reply = self.answer(ca, std::slice::from_ref(id), None).await?;
        // Unknown serials are not cached: the certificate may be issued next.
        if let Some(fresh) = reply.cacheable {
            self.responses.insert(key, reply.clone(), fresh, version);
        }
        Ok(reply)
    }

    /// Looks up every certificate and signs one response.
    async fn answer(
        &self,
        ca: &Arc<IssuingCa>,
        ids: &[CertId],
        nonce: Option<&Nonce>,
    ) -> Result<OcspReply, OcspResponseStatus> {
        ca.responder(self.keys.as_ref())
            .await
            .map_err(failed("opening the OCSP responder key"))?;
        let now = self.clock.now();
        let fresh = Freshness {
            this_update: now,
            next_update: now + self.settings.ocsp_validity,
            refresh_at: now + self.settings.ocsp_validity / 2,
        };
        let mut singles = Vec::with_capacity(ids.len());
        for id in ids {
            let known = self
                .store
                .revocation_status(&ca.id, &id.serial)
                .await
                .map_err(|e| failed("reading the certificate status")(e.into()))?;
            singles.push(SingleResponse {
                cert_id: id.clone(),
                status: cert_status(known),
                this_update: fresh.this_update,
                next_update: fresh.next_update,
            });
        }
        let cacheable = nonce.is_none()
            && singles.len() == 1
            && singles.iter().all(|s| s.status != CertStatus::Unknown);
        let (ca, nonce) = (Arc::clone(ca), nonce.cloned());
        let der = tokio::task::spawn_blocking(move || {
            let responder = ca
                .opened_responder()
                .ok_or(OcspResponseStatus::InternalError)?;
            build_response(responder, &singles, now, nonce.as_ref())
                .map_err(|e| failed("signing")(e.into()))
        })
        .await
        .map_err(|e| failed("the signing task")(AuthorityError::Task(e)))??;
        Ok(OcspReply {
            der: der.into(),
            error: None,
            cacheable: cacheable.then_some(fresh),
        })
    }
}
