//! Device certificate issuance, in numbered steps (after Boulder's RA/CA split):
//!
//! 1. **Check** — parse the device id, verify the CSR over its received bytes,
//!    find the issuing CA and profile, render and lint the certificate. A
//!    refusal here has touched nothing.
//! 2. **Persist intent** — reserve device id, public key and serial in one
//!    transaction with its `issuance.intent` audit event; the database's
//!    unique indexes decide between concurrent requests.
//! 3. **Sign** — the only step that uses the CA key.
//! 4. **Persist result** — store the certificate with its `certificate.issued`
//!    audit event, durably. Only then is the certificate returned: no
//!    client can hold a certificate the store does not know.
//!
//! Steps 2–4 live in `steps.rs` and run as one spawned task, so a caller that
//! goes away cannot strand a reservation. With a key that signs in memory
//! and a store that can, they are one transaction (one commit); otherwise
//! each of steps 2 and 4 commits. If signing or recording fails, the
//! intent is marked failed (`issuance.failed`), which frees the device id and
//! key but never the serial. A crash between the two commits leaves a
//! pending record; [`Authority::expire_pending`] releases those.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use hallmark_keys::{KeyStore, KeyUri};
use hallmark_pki::{
    Attribute, DeviceId, DistinguishedName, IssuedCertificate, IssuerKey, PreparedCertificate,
    Profile, PublicKey, SanValues, Serial, Subject, VerifiedCsr,
};
use hallmark_store::{AuditEvent, AuthorityKey, KeyOrigin, KeyRole, Store, StoreError};
use serde_json::json;

use crate::env::Env;
use crate::error::AuthorityError;
use crate::hierarchy::chain;
use crate::steps::Steps;

/// Policy the authority applies: organization and named profiles.
#[derive(Clone, Debug)]
pub struct Policy {
    /// Organization written into device subjects.
    pub organization: String,
    /// Device profiles by name. `{ca}` in CRL and caIssuers URLs is replaced
    /// by the issuing CA's id.
    pub profiles: HashMap<String, Profile>,
    /// Factory locations by factory (issuing CA) id, recorded with each issuance.
    pub factory_locations: HashMap<String, String>,
    /// The profile of certificates issued under production orders.
    pub order_profile: String,
    /// Longest station certificate lifetime, in seconds (also capped at the
    /// order's end).
    pub station_validity: i64,
}

/// Station certificates live 24 hours unless configured otherwise.
pub const DEFAULT_STATION_VALIDITY: i64 = 24 * 3600;

/// One device certificate request.
#[derive(Clone, Debug)]
pub struct IssueRequest {
    /// The issuing CA (a factory id).
    pub ca_id: String,
    /// The CSR as received, PEM or DER.
    pub csr: Vec<u8>,
    /// The device id to certify; `None` under an order whose device ids
    /// come from a template: the store assigns the next one.
    pub device_id: Option<String>,
    /// The profile name.
    pub profile: String,
    /// Where the key was made.
    pub key_origin: KeyOrigin,
    /// Production order, when issued under one (consumes its quota).
    pub order_id: Option<String>,
    /// Station, when issued through one.
    pub station_id: Option<String>,
    /// For a renewal: the serial of the device's current certificate from
    /// the same CA, which the new one supersedes.
    pub renews: Option<Vec<u8>>,
}

/// A certificate that is durably recorded.
#[derive(Clone, Debug)]
pub struct Issued {
    /// The issuing CA (factory) id.
    pub ca_id: String,
    /// The device id certified.
    pub device_id: String,
    /// The certificate.
    pub certificate: IssuedCertificate,
    /// Issuer certificates, issuing CA first, root last.
    pub chain: Vec<Vec<u8>>,
    /// `true` when this is a certificate issued earlier, handed out again to
    /// a retrying station (same key, same order).
    pub resumed: bool,
    /// Where the key was generated, as recorded with the certificate.
    pub key_origin: KeyOrigin,
}

/// The CA as a service. All I/O goes through the store and key store traits.
#[derive(Debug)]
pub struct Authority {
    pub(crate) store: Arc<dyn Store>,
    pub(crate) keys: Arc<dyn KeyStore>,
    pub(crate) env: Env,
    pub(crate) policy: Policy,
    issuers: Mutex<HashMap<String, Arc<CachedIssuer>>>,
    /// Held while a CA key is opened, so that concurrent first requests
    /// open it once: decrypting a software key costs a scrypt derivation.
    opening: tokio::sync::Mutex<()>,
}

impl Authority {
    /// An authority over `store` and `keys`.
    pub fn new(store: Arc<dyn Store>, keys: Arc<dyn KeyStore>, env: Env, policy: Policy) -> Self {
        Self {
            store,
            keys,
            env,
            policy,
            issuers: Mutex::new(HashMap::new()),
            opening: tokio::sync::Mutex::new(()),
        }
    }

    /// Issues a device certificate (see the module docs for the steps).
    ///
    /// Steps 2–4 run in their own task: once the intent is reserved, the
    /// issuance reaches `issued` or `failed` even if the caller goes away.
    pub async fn issue(&self, request: IssueRequest) -> Result<Issued, AuthorityError> {
        let device_id = parse_device_id(request.device_id.as_deref())?;
        let csr = VerifiedCsr::from_pem_or_der(&request.csr).map_err(AuthorityError::BadRequest)?;
        self.issue_verified(request, device_id, csr).await
    }

    /// [`issue`](Self::issue) for a caller that already parsed the device id
    /// and verified the CSR (`request.csr` is then not read again).
    pub(crate) async fn issue_verified(
        &self,
        request: IssueRequest,
        device_id: Option<DeviceId>,
        csr: VerifiedCsr,
    ) -> Result<Issued, AuthorityError> {
        let checked = self.check(&request, device_id, csr).await?;
        let steps = Steps {
            store: Arc::clone(&self.store),
            env: self.env.clone(),
            location: self.policy.factory_locations.get(&request.ca_id).cloned(),
        };
        tokio::spawn(steps.run(request, checked))
            .await
            .map_err(AuthorityError::Task)?
    }

    /// Releases issuances stuck in `pending` for longer than `max_age`
    /// seconds (a crash between reserve and complete): each is marked failed
    /// with an `issuance.expired` audit event, freeing its device id and key.
    /// Their certificates, if signed at all, never left the process. Returns
    /// how many were released.
    pub async fn expire_pending(&self, max_age: i64) -> Result<usize, AuthorityError> {
        let now = self.env.clock.now();
        let stuck = self.store.pending_issuances(now - max_age).await?;
        for record in &stuck {
            let intent = &record.intent;
            let event = AuditEvent::new(
                "issuance.expired",
                Some(intent.device_id.clone()),
                now,
                json!({
                    "ca": intent.ca_id,
                    "serial": hex::encode(&intent.serial),
                    "device_id": intent.device_id,
                    "requested_at": intent.requested_at,
                }),
            );
            let reason = format!("still pending after {max_age} s");
            match self
                .store
                .fail_issuance(&intent.ca_id, &intent.serial, reason, event)
                .await
            {
                // Completed meanwhile: nothing to release.
                Ok(_) | Err(StoreError::NotPending { .. }) => {}
                Err(err) => return Err(err.into()),
            }
        }
        Ok(stuck.len())
    }

    async fn check(
        &self,
        request: &IssueRequest,
        device_id: Option<DeviceId>,
        csr: VerifiedCsr,
    ) -> Result<Checked, AuthorityError> {
        let template = CertificateTemplate {
            organization: self.policy.organization.clone(),
            profile: self.profile_for(&request.profile, &request.ca_id)?,
            ca_id: request.ca_id.clone(),
        };
        let issuer = self.issuer(&request.ca_id).await?;
        let serial = Serial::from_random(self.env.random16());
        // A trial run of the final step with the device id if known (a
        // stand-in otherwise): everything the CSR's key and the profile can
        // get wrong is refused here, before anything is reserved.
        let trial_id = match &device_id {
            Some(id) => id.clone(),
            None => DeviceId::parse("assigned-by-order").map_err(AuthorityError::BadRequest)?,
        };
        let now = self.env.clock.now();
        let trial = template.prepare(&trial_id, csr.public_key(), serial, now, &issuer.key)?;
        // With the device id known, the trial is the final certificate;
        // a stand-in's trial is dropped unsigned.
        let prepared = device_id.is_some().then_some(trial);
        Ok(Checked {
            device_id,
            csr,
            template,
            serial,
            issuer,
            prepared,
        })
    }

    pub(crate) fn profile_for(&self, name: &str, ca_id: &str) -> Result<Profile, AuthorityError> {
        let mut profile = self
            .policy
            .profiles
            .get(name)
            .cloned()
            .ok_or_else(|| AuthorityError::UnknownProfile(name.to_string()))?;
        for url in profile
            .crl_urls
            .iter_mut()
            .chain(profile.ca_issuers_urls.iter_mut())
        {
            *url = url.replace("{ca}", ca_id);
        }
        Ok(profile)
    }

    pub(crate) async fn issuing_ca(&self, id: &str) -> Result<AuthorityKey, AuthorityError> {
        self.ca_with_role(id, KeyRole::Issuing).await
    }

    async fn ca_with_role(&self, id: &str, role: KeyRole) -> Result<AuthorityKey, AuthorityError> {
        let ca = self
            .store
            .authority_key(id)
            .await?
            .ok_or_else(|| AuthorityError::UnknownCa(id.to_string()))?;
        if ca.role != role {
            return Err(AuthorityError::NotAnIssuingCa {
                id: id.to_string(),
                role: ca.role.as_str().to_string(),
            });
        }
        Ok(ca)
    }

    /// Opens every unexpired issuing CA's key now rather than on its first
    /// request, which would otherwise wait for it (a software key costs a
    /// scrypt derivation, an HSM a login). A key that does not open is
    /// logged and left to fail its own requests: one broken factory CA must
    /// not stop the others. Returns how many opened.
    pub async fn open_issuing_cas(&self) -> Result<usize, AuthorityError> {
        let now = self.env.clock.now();
        let mut opened = 0;
        for ca in self.store.authority_keys().await? {
            if ca.role != KeyRole::Issuing || ca.not_after.is_some_and(|t| t <= now) {
                continue;
            }
            match self.issuer(&ca.id).await {
                Ok(_) => opened += 1,
                Err(error) => tracing::warn!(ca = %ca.id, %error, "cannot open the issuing CA key"),
            }
        }
        Ok(opened)
    }

    /// The issuing CA `id`: its signer and chain, opened once and cached.
    pub(crate) async fn issuer(&self, id: &str) -> Result<Arc<CachedIssuer>, AuthorityError> {
        self.signing_ca(id, KeyRole::Issuing).await
    }

    /// The CA `id` of `role`: its signer and chain, opened once and cached.
    pub(crate) async fn signing_ca(
        &self,
        id: &str,
        role: KeyRole,
    ) -> Result<Arc<CachedIssuer>, AuthorityError> {
        if let Some(cached) = self.cached_issuer(id, role) {
            return cached;
        }
        let _opening = self.opening.lock().await;
        if let Some(cached) = self.cached_issuer(id, role) {
            return cached;
        }
        let ca = self.ca_with_role(id, role).await?;
        let corrupt = |reason| AuthorityError::CorruptCa {
            id: ca.id.clone(),
            reason,
        };
        let uri: KeyUri = ca
            .key_uri
            .parse()
            .map_err(|_| corrupt("unparsable key URI"))?;
        let der = ca
            .certificate_der
            .as_deref()
            .ok_or_else(|| corrupt("no certificate"))?;
        let issuer = Arc::new(CachedIssuer {
            role,
            subject_der: hallmark_pki::CertificateView::parse(der)?.subject_der,
            key: IssuerKey::from_certificate(der, self.open_signer(uri).await?)?,
            chain: chain(self.store.as_ref(), id).await?,
        });
        self.lock_issuers()
            .insert(ca.id.clone(), Arc::clone(&issuer));
        Ok(issuer)
    }

    /// The cached CA `id`, or `None` when it is not open yet.
    fn cached_issuer(
        &self,
        id: &str,
        role: KeyRole,
    ) -> Option<Result<Arc<CachedIssuer>, AuthorityError>> {
        let issuer = self.lock_issuers().get(id).cloned()?;
        Some(if issuer.role == role {
            Ok(issuer)
        } else {
            Err(AuthorityError::NotAnIssuingCa {
                id: id.to_string(),
                role: issuer.role.as_str().to_string(),
            })
        })
    }

    /// Opens the key at `uri` on the blocking pool: a key decryption or an
    /// HSM login must not stall the runtime that serves other requests.
    async fn open_signer(
        &self,
        uri: KeyUri,
    ) -> Result<Arc<dyn hallmark_pki::Signer>, AuthorityError> {
        let keys = Arc::clone(&self.keys);
        Ok(tokio::task::spawn_blocking(move || keys.signer(&uri))
            .await
            .map_err(AuthorityError::Task)??)
    }

    fn lock_issuers(&self) -> std::sync::MutexGuard<'_, HashMap<String, Arc<CachedIssuer>>> {
        // The map holds no invariant a panicking holder could break.
        self.issuers.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// A device id's syntax, checked.
pub(crate) fn parse_device_id(id: Option<&str>) -> Result<Option<DeviceId>, AuthorityError> {
    id.map(DeviceId::parse)
        .transpose()
        .map_err(AuthorityError::BadRequest)
}

/// An issuing CA ready to sign: its key and its chain (that CA first, root last).
#[derive(Debug)]
pub(crate) struct CachedIssuer {
    pub(crate) role: KeyRole,
    /// The CA's subject name (DER), to recognise certificates it issued.
    pub(crate) subject_der: Vec<u8>,
    pub(crate) key: IssuerKey,
    pub(crate) chain: Vec<Vec<u8>>,
}

/// How a device certificate is rendered once its device id is known.
pub(crate) struct CertificateTemplate {
    organization: String,
    profile: Profile,
    ca_id: String,
}

impl CertificateTemplate {
    /// Renders and lints the certificate for `device_id`.
    pub(crate) fn prepare(
        &self,
        device_id: &DeviceId,
        public_key: &PublicKey,
        serial: Serial,
        now: i64,
        issuer: &IssuerKey,
    ) -> Result<PreparedCertificate, AuthorityError> {
        let alt_names = self
            .profile
            .subject_alt_names
            .iter()
            .map(|t| {
                t.render(SanValues {
                    device_id,
                    factory: &self.ca_id,
                })
            })
            .collect::<Result<_, _>>()
            .map_err(AuthorityError::BadRequest)?;
        let subject = Subject {
            name: DistinguishedName::new()
                .with(Attribute::Organization, &self.organization)
                .with(Attribute::CommonName, device_id.as_str()),
            public_key: public_key.clone(),
            alt_names,
        };
        Ok(PreparedCertificate::prepare(
            &self.profile,
            &subject,
            serial,
            now,
            issuer,
        )?)
    }
}

/// What step 1 established.
pub(crate) struct Checked {
    /// `None`: assigned by the order's template at reservation.
    pub(crate) device_id: Option<DeviceId>,
    pub(crate) csr: VerifiedCsr,
    pub(crate) template: CertificateTemplate,
    pub(crate) serial: Serial,
    pub(crate) issuer: Arc<CachedIssuer>,
    /// The final certificate, unsigned, when the device id was known.
    pub(crate) prepared: Option<PreparedCertificate>,
}

impl Checked {
    /// The certificate to sign for `device_id` (the one the reservation
    /// holds): rendered in step 1 when the id was known, else now.
    pub(crate) fn into_prepared(
        self,
        device_id: &DeviceId,
        env: &Env,
    ) -> Result<PreparedCertificate, AuthorityError> {
        match self.prepared {
            Some(prepared) if self.device_id.as_ref() == Some(device_id) => Ok(prepared),
            _ => self.template.prepare(
                device_id,
                self.csr.public_key(),
                self.serial,
                env.clock.now(),
                &self.issuer.key,
            ),
        }
    }
}
