//! The issuing CAs revocation speaks for: their hashes, CRL issuer data and
//! (opened on first use) their CRL signing key and OCSP responder.

use std::sync::Arc;

use hallmark_keys::{KeyStore, KeyUri};
use hallmark_pki::Signer;
use hallmark_revocation::{CertId, CrlIssuer, IssuerHashes, Responder};
use hallmark_store::{AuthorityKey, KeyRole, Store};
use tokio::sync::OnceCell;

use crate::error::AuthorityError;
use crate::hierarchy::ocsp_id;

/// One issuing CA.
#[derive(Debug)]
pub(crate) struct IssuingCa {
    pub(crate) id: String,
    key_uri: String,
    hashes: IssuerHashes,
    pub(crate) crl_issuer: CrlIssuer,
    /// The `ocsp-<id>` record, if the hierarchy has one.
    responder_record: Option<AuthorityKey>,
    responder: OnceCell<Responder>,
    signer: OnceCell<Arc<dyn Signer>>,
}

fn corrupt(id: &str, reason: &'static str) -> AuthorityError {
    AuthorityError::CorruptCa {
        id: id.to_string(),
        reason,
    }
}

fn open_key(keys: &dyn KeyStore, id: &str, uri: &str) -> Result<Arc<dyn Signer>, AuthorityError> {
    let uri: KeyUri = uri.parse().map_err(|_| corrupt(id, "unparsable key URI"))?;
    Ok(keys.signer(&uri)?)
}

impl IssuingCa {
    fn load(
        record: &AuthorityKey,
        responder: Option<AuthorityKey>,
    ) -> Result<Self, AuthorityError> {
        let der = record
            .certificate_der
            .as_deref()
            .ok_or_else(|| corrupt(&record.id, "no certificate"))?;
        Ok(Self {
            id: record.id.clone(),
            key_uri: record.key_uri.clone(),
            hashes: IssuerHashes::for_issuer(der)?,
            crl_issuer: CrlIssuer::from_certificate(der)?,
            responder_record: responder,
            responder: OnceCell::new(),
            signer: OnceCell::new(),
        })
    }

    /// True when an OCSP `CertID` names this CA.
    pub(crate) fn issued(&self, id: &CertId) -> bool {
        self.hashes.matches(id)
    }

    /// The CA's own key, for signing CRLs.
    pub(crate) async fn signer(
        &self,
        keys: &dyn KeyStore,
    ) -> Result<&Arc<dyn Signer>, AuthorityError> {
        self.signer
            .get_or_try_init(|| async { open_key(keys, &self.id, &self.key_uri) })
            .await
    }

    /// The responder, once [`responder`](Self::responder) opened it.
    pub(crate) fn opened_responder(&self) -> Option<&Responder> {
        self.responder.get()
    }

    /// The CA's delegated OCSP responder.
    pub(crate) async fn responder(
        &self,
        keys: &dyn KeyStore,
    ) -> Result<&Responder, AuthorityError> {
        self.responder
            .get_or_try_init(|| async {
                let record = self
                    .responder_record
                    .as_ref()
                    .ok_or_else(|| corrupt(&self.id, "the CA has no OCSP responder"))?;
                let der = record
                    .certificate_der
                    .clone()
                    .ok_or_else(|| corrupt(&record.id, "no certificate"))?;
                let signer = open_key(keys, &record.id, &record.key_uri)?;
                Ok(Responder::new(der, signer)?)
            })
            .await
    }
}

/// Every issuing CA, loaded from the store once (the hierarchy is fixed
/// at `hallmark init`).
#[derive(Debug, Default)]
pub(crate) struct IssuingCas(OnceCell<Arc<[Arc<IssuingCa>]>>);

impl IssuingCas {
    pub(crate) async fn get(
        &self,
        store: &dyn Store,
    ) -> Result<Arc<[Arc<IssuingCa>]>, AuthorityError> {
        let cas = self
            .0
            .get_or_try_init(|| async {
                let keys = store.authority_keys().await?;
                let responder = |id: &str| {
                    keys.iter()
                        .find(|k| k.role == KeyRole::OcspResponder && k.id == ocsp_id(id))
                        .cloned()
                };
                keys.iter()
                    .filter(|k| k.role == KeyRole::Issuing)
                    .map(|k| Ok(Arc::new(IssuingCa::load(k, responder(&k.id))?)))
                    .collect::<Result<Arc<[_]>, AuthorityError>>()
            })
            .await?;
        Ok(Arc::clone(cas))
    }

    /// The issuing CA `id`; [`AuthorityError::UnknownCa`] or
    /// [`AuthorityError::NotAnIssuingCa`] otherwise.
    pub(crate) async fn by_id(
        &self,
        store: &dyn Store,
        id: &str,
    ) -> Result<Arc<IssuingCa>, AuthorityError> {
        if let Some(ca) = self.get(store).await?.iter().find(|ca| ca.id == id) {
            return Ok(Arc::clone(ca));
        }
        Err(match store.authority_key(id).await? {
            Some(key) => AuthorityError::NotAnIssuingCa {
                id: id.to_string(),
                role: key.role.as_str().to_string(),
            },
            None => AuthorityError::UnknownCa(id.to_string()),
        })
    }
}
