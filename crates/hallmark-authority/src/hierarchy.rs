//! Creating the CA hierarchy: an offline root, one issuing CA and one
//! offline CA (for station sub-CAs) per factory, a station CA, an OCSP responder per issuing CA and the audit key.
//!
//! Every key is generated inside the key store (never imported); every
//! certificate and key is recorded in the store together with its
//! `ca.created` audit event.

use std::sync::Arc;

use hallmark_keys::{KeyStore, KeyUri};
use hallmark_pki::profile::YEAR;
use hallmark_pki::{
    Attribute, DistinguishedName, IssuerKey, KeyAlgorithm, PreparedCertificate, Profile, PublicKey,
    Serial, Signer, Subject,
};
use hallmark_store::{AuditEvent, AuthorityKey, KeyRole, Store};
use serde_json::json;

use crate::env::Env;
use crate::error::AuthorityError;
use crate::offline::offline_ca_id;

/// Ids reserved for the hierarchy's own keys.
pub const ROOT_ID: &str = "root";
/// The station CA's id.
pub const STATION_CA_ID: &str = "station-ca";
/// The audit key's id.
pub const AUDIT_ID: &str = "audit";

/// The id of the OCSP responder of issuing CA `factory`.
pub fn ocsp_id(factory: &str) -> String {
    format!("ocsp-{factory}")
}

/// What `hallmark init` asks for.
#[derive(Clone, Debug)]
pub struct HierarchySpec {
    /// Organization name, written into every subject.
    pub organization: String,
    /// Factory ids: each gets an issuing CA with that id.
    pub factories: Vec<String>,
    /// Prefix of key labels in the key store (unique per installation, so
    /// several homes can share one HSM token).
    pub label_prefix: String,
    /// Root key algorithm (P-384 by default).
    pub root_algorithm: KeyAlgorithm,
    /// Issuing CA key algorithm (P-256 by default).
    pub issuing_algorithm: KeyAlgorithm,
    /// Root lifetime in seconds (20 years by default).
    pub root_validity: i64,
    /// Issuing and station CA lifetime in seconds (10 years by default).
    pub issuing_validity: i64,
    /// OCSP responder certificate lifetime in seconds (1 year by default).
    pub ocsp_validity: i64,
}

impl HierarchySpec {
    /// The defaults of the foundation issue for `organization` and `factories`.
    pub fn new(
        organization: impl Into<String>,
        factories: Vec<String>,
        label_prefix: impl Into<String>,
    ) -> Self {
        Self {
            organization: organization.into(),
            factories,
            label_prefix: label_prefix.into(),
            root_algorithm: KeyAlgorithm::EcdsaP384,
            issuing_algorithm: KeyAlgorithm::EcdsaP256,
            root_validity: 20 * YEAR,
            issuing_validity: 10 * YEAR,
            ocsp_validity: YEAR,
        }
    }

    /// Checks ids and names before any key is made.
    pub fn check(&self) -> Result<(), AuthorityError> {
        let bad = |m: String| Err(AuthorityError::InvalidHierarchy(m));
        if self.organization.trim().is_empty() {
            return bad("the organization name is empty".into());
        }
        if self.factories.is_empty() {
            return bad("at least one factory is needed".into());
        }
        for (i, f) in self.factories.iter().enumerate() {
            let id_ok = hallmark_pki::DeviceId::parse(f).is_ok() && f.len() <= 32;
            if !id_ok {
                return bad(format!(
                    "factory id {f:?} must be 1-32 characters from A-Z a-z 0-9 . _ -"
                ));
            }
            let reserved_prefix = ["ocsp-", "offline-", "sub-"]
                .iter()
                .any(|p| f.starts_with(p));
            if [ROOT_ID, STATION_CA_ID, AUDIT_ID].contains(&f.as_str()) || reserved_prefix {
                return bad(format!("factory id {f:?} is reserved"));
            }
            if self.factories[..i].contains(f) {
                return bad(format!("factory id {f:?} is given twice"));
            }
        }
        Ok(())
    }
}

/// Builds the whole hierarchy and records it. Returns the records in creation order.
pub async fn create_hierarchy(
    spec: &HierarchySpec,
    keys: &dyn KeyStore,
    store: &dyn Store,
    env: &Env,
) -> Result<Vec<AuthorityKey>, AuthorityError> {
    spec.check()?;
    let b = Builder {
        spec,
        keys,
        store,
        env,
    };
    let org = &spec.organization;

    let root_name = b.name(None, &format!("{org} Root CA"));
    let root_signer = b.generate("root", spec.root_algorithm)?;
    let self_issuer = IssuerKey::self_signed(&root_name, root_signer.1.clone())?;
    let root = b
        .certify(
            ROOT_ID,
            KeyRole::Root,
            None,
            None,
            &root_name,
            &root_signer,
            &Profile::root(spec.root_validity),
            &self_issuer,
        )
        .await?;
    let root_issuer = issuer_of(&root, root_signer.1)?;

    let mut created = vec![root];
    for factory in &spec.factories {
        let name = b.name(
            Some(&format!("Factory {factory}")),
            &format!("{org} {factory} Issuing CA"),
        );
        let key = b.generate(factory, spec.issuing_algorithm)?;
        let profile = Profile::issuing_ca(spec.issuing_validity);
        let ica = b
            .certify(
                factory,
                KeyRole::Issuing,
                Some(ROOT_ID),
                Some(factory),
                &name,
                &key,
                &profile,
                &root_issuer,
            )
            .await?;
        let ica_issuer = issuer_of(&ica, key.1)?;
        created.push(ica);

        let name = b.name(
            Some(&format!("Factory {factory}")),
            &format!("{org} {factory} OCSP Responder"),
        );
        let key = b.generate(&ocsp_id(factory), KeyAlgorithm::EcdsaP256)?;
        let profile = Profile::ocsp_responder(spec.ocsp_validity);
        let ocsp = b
            .certify(
                &ocsp_id(factory),
                KeyRole::OcspResponder,
                Some(factory),
                Some(factory),
                &name,
                &key,
                &profile,
                &ica_issuer,
            )
            .await?;
        created.push(ocsp);
        created.push(b.offline_ca(factory, &root_issuer).await?);
    }

    let name = b.name(None, &format!("{org} Station CA"));
    let key = b.generate(STATION_CA_ID, KeyAlgorithm::EcdsaP256)?;
    let profile = Profile::issuing_ca(spec.issuing_validity);
    created.push(
        b.certify(
            STATION_CA_ID,
            KeyRole::StationCa,
            Some(ROOT_ID),
            None,
            &name,
            &key,
            &profile,
            &root_issuer,
        )
        .await?,
    );

    created.push(b.audit_key().await?);
    Ok(created)
}

fn issuer_of(record: &AuthorityKey, signer: Arc<dyn Signer>) -> Result<IssuerKey, AuthorityError> {
    let der = record
        .certificate_der
        .as_deref()
        .ok_or(AuthorityError::CorruptCa {
            id: record.id.clone(),
            reason: "no certificate",
        })?;
    Ok(IssuerKey::from_certificate(der, signer)?)
}

struct Builder<'a> {
    spec: &'a HierarchySpec,
    keys: &'a dyn KeyStore,
    store: &'a dyn Store,
    env: &'a Env,
}

impl Builder<'_> {
    fn name(&self, unit: Option<&str>, common_name: &str) -> DistinguishedName {
        let name = DistinguishedName::new().with(Attribute::Organization, &self.spec.organization);
        let name = match unit {
            Some(unit) => name.with(Attribute::OrganizationalUnit, unit),
            None => name,
        };
        name.with(Attribute::CommonName, common_name)
    }

    fn generate(
        &self,
        id: &str,
        alg: KeyAlgorithm,
    ) -> Result<(KeyUri, Arc<dyn Signer>), AuthorityError> {
        let label = format!("{}-{id}", self.spec.label_prefix);
        let uri = self.keys.generate(&label, alg)?;
        let signer = self.keys.signer(&uri)?;
        Ok((uri, signer))
    }

    #[allow(clippy::too_many_arguments)]
    async fn certify(
        &self,
        id: &str,
        role: KeyRole,
        parent: Option<&str>,
        factory: Option<&str>,
        name: &DistinguishedName,
        key: &(KeyUri, Arc<dyn Signer>),
        profile: &Profile,
        issuer: &IssuerKey,
    ) -> Result<AuthorityKey, AuthorityError> {
        let now = self.env.clock.now();
        let subject = Subject {
            name: name.clone(),
            public_key: PublicKey::from_spki_der(key.1.public_key_der())?,
            alt_names: Vec::new(),
        };
        let serial = Serial::from_random(self.env.random16());
        let cert = PreparedCertificate::prepare(profile, &subject, serial, now, issuer)?.sign()?;
        let record = AuthorityKey {
            id: id.to_string(),
            role,
            parent_id: parent.map(str::to_string),
            factory: factory.map(str::to_string),
            subject: Some(name_text(name)?),
            algorithm: key.1.algorithm().name(),
            key_uri: key.0.to_string(),
            certificate_der: Some(cert.der.clone()),
            not_after: Some(cert.not_after),
            created_at: now,
        };
        let event = AuditEvent::new(
            "ca.created",
            Some(id.to_string()),
            now,
            json!({
                "id": id,
                "role": role.as_str(),
                "parent": parent,
                "factory": factory,
                "algorithm": record.algorithm,
                "key_uri": record.key_uri,
                "serial": cert.serial.to_hex(),
                "certificate_sha256": hex::encode(sha256(&cert.der)),
                "not_after": cert.not_after,
            }),
        );
        self.store
            .insert_authority_key(record.clone(), event)
            .await?;
        Ok(record)
    }

    /// Factory `factory`'s offline CA: certifies station sub-CAs
    /// (`pathLenConstraint` 1), never devices directly.
    async fn offline_ca(
        &self,
        factory: &str,
        root: &IssuerKey,
    ) -> Result<AuthorityKey, AuthorityError> {
        let id = offline_ca_id(factory);
        let name = self.name(
            Some(&format!("Factory {factory}")),
            &format!("{} {factory} Offline CA", self.spec.organization),
        );
        let key = self.generate(&id, self.spec.issuing_algorithm)?;
        let profile = Profile::sub_ca(1, self.spec.issuing_validity);
        self.certify(
            &id,
            KeyRole::OfflineCa,
            Some(ROOT_ID),
            Some(factory),
            &name,
            &key,
            &profile,
            root,
        )
        .await
    }

    async fn audit_key(&self) -> Result<AuthorityKey, AuthorityError> {
        let now = self.env.clock.now();
        let key = self.generate(AUDIT_ID, KeyAlgorithm::EcdsaP256)?;
        let record = AuthorityKey {
            id: AUDIT_ID.to_string(),
            role: KeyRole::Audit,
            parent_id: None,
            factory: None,
            subject: None,
            algorithm: key.1.algorithm().name(),
            key_uri: key.0.to_string(),
            certificate_der: None,
            not_after: None,
            created_at: now,
        };
        let event = AuditEvent::new(
            "ca.created",
            Some(AUDIT_ID.to_string()),
            now,
            json!({
                "id": AUDIT_ID,
                "role": KeyRole::Audit.as_str(),
                "algorithm": record.algorithm,
                "key_uri": record.key_uri,
                "public_key_sha256": hex::encode(sha256(key.1.public_key_der())),
            }),
        );
        self.store
            .insert_authority_key(record.clone(), event)
            .await?;
        Ok(record)
    }
}

/// Certificates from CA `id` up to the root: that CA first, root last.
///
/// Needs only the store (no key is opened), so `hallmark ca chain` works
/// without the passphrase or PIN.
pub async fn chain(store: &dyn Store, id: &str) -> Result<Vec<Vec<u8>>, AuthorityError> {
    /// Deeper than any hierarchy `create_hierarchy` makes: a longer walk is a parent loop.
    const MAX_DEPTH: usize = 8;
    let mut chain = Vec::new();
    let mut next = Some(id.to_string());
    while let Some(id) = next {
        let key = store
            .authority_key(&id)
            .await?
            .ok_or_else(|| AuthorityError::UnknownCa(id.clone()))?;
        let der = key
            .certificate_der
            .ok_or_else(|| AuthorityError::NoCertificate {
                id: id.clone(),
                role: key.role.as_str().to_string(),
            })?;
        chain.push(der);
        if chain.len() > MAX_DEPTH {
            return Err(AuthorityError::CorruptCa {
                id,
                reason: "parent loop",
            });
        }
        next = key.parent_id;
    }
    Ok(chain)
}

/// RFC 4514 text of a name, for tables and logs.
pub fn name_text(name: &DistinguishedName) -> Result<String, AuthorityError> {
    Ok(name.to_name()?.to_string())
}

pub(crate) fn sha256(bytes: &[u8]) -> [u8; 32] {
    use sha2::Digest;
    sha2::Sha256::digest(bytes).into()
}
