//! Issuing device certificates with the station's sub-CA.

use std::path::Path;
use std::sync::Arc;

use aws_lc_rs::rand::{SecureRandom, SystemRandom};
use base64::Engine;
use hallmark_audit::Entry;
use hallmark_keys::KeyUri;
use hallmark_pki::{
    Attribute, CertificateView, DeviceId, DistinguishedName, IssuerKey, LeafProfileText,
    PreparedCertificate, Profile, SanValues, Serial, Subject, VerifiedCsr,
};
use regex::Regex;
use sha2::{Digest, Sha256};
use tokio::sync::Mutex;

use super::grant::{Grant, GrantDeviceIds};
use super::log::{ISSUED, IssuedData, Log};
use crate::api::DeviceEnrollment;
use crate::{Error, StationHome};

/// The sub-CA of one grant, ready to issue.
#[derive(Debug)]
pub struct OfflineIssuer {
    grant: Grant,
    key: IssuerKey,
    profile: Profile,
    pattern: Option<Regex>,
    chain_pem: Vec<String>,
    log: Mutex<Log>,
    random: SystemRandom,
}

fn refused(reason: &'static str, message: String) -> Error {
    Error::OfflineRefused { reason, message }
}

impl OfflineIssuer {
    /// Opens the grant in `dir` with its key from `home`'s key store.
    pub fn open(home: &StationHome, dir: &Path) -> Result<Self, Error> {
        let grant = Grant::load(dir)?;
        let uri: KeyUri = grant
            .key_uri
            .parse()
            .map_err(hallmark_keys::KeyError::from)?;
        let signer = home.config().keys.open_store(home.dir())?.signer(&uri)?;
        let chain = grant.chain_der()?;
        let key = IssuerKey::from_certificate(&chain[0], Arc::clone(&signer))?;
        let p = &grant.profile;
        let profile = LeafProfileText {
            validity_seconds: p.validity_seconds,
            key_usage: p.key_usage.clone(),
            extended_key_usage: p.extended_key_usage.clone(),
            subject_alt_names: p.subject_alt_names.clone(),
        }
        .to_profile()?;
        let pattern = match &grant.device_ids {
            GrantDeviceIds::Pattern(p) => Some(
                Regex::new(&format!("^(?:{p})$"))
                    .map_err(|e| refused("bad_grant", format!("device id pattern: {e}")))?,
            ),
            GrantDeviceIds::Assigned(_) => None,
        };
        let chain_pem = chain
            .iter()
            .map(|der| hallmark_pki::pem::encode("CERTIFICATE", der))
            .collect();
        Ok(Self {
            key,
            profile,
            pattern,
            chain_pem,
            log: Mutex::new(Log::open(dir, format!("hallmark-offline/{}", grant.id))?),
            grant,
            random: SystemRandom::new(),
        })
    }

    /// The grant.
    pub fn grant(&self) -> &Grant {
        &self.grant
    }

    /// Issues a certificate for `csr_pem` (device id `requested` for
    /// pattern grants; the next assigned id otherwise), logs it durably and
    /// returns it as the server would. A key issued before gets its
    /// certificate again (`resumed`).
    pub async fn enroll(
        &self,
        csr_pem: &str,
        requested: Option<&str>,
        key_origin: &str,
        now: i64,
    ) -> Result<DeviceEnrollment, Error> {
        let csr = VerifiedCsr::from_pem_or_der(csr_pem.as_bytes())?;
        let key_hash = hex::encode(Sha256::digest(csr.public_key().spki_der()));
        let mut log = self.log.lock().await;
        if let Some(done) = log.by_key.get(&key_hash) {
            return self.answer(done, true);
        }
        if now >= self.grant.not_after {
            return Err(refused(
                "sub_ca_expired",
                format!(
                    "sub-CA {} expired at {}",
                    self.grant.id, self.grant.not_after
                ),
            ));
        }
        if log.size >= self.grant.count {
            return Err(refused(
                "count_used",
                format!(
                    "sub-CA {} has issued all {} certificates",
                    self.grant.id, self.grant.count
                ),
            ));
        }
        let device_id = self.device_id(&log, requested)?;
        if log.by_device.contains(&device_id) {
            return Err(refused(
                "device_id_taken",
                format!("device id {device_id:?} already has a certificate"),
            ));
        }
        let der = self.sign(&device_id, &csr, now)?;
        let view = CertificateView::parse(&der)?;
        let data = IssuedData {
            device_id: device_id.clone(),
            serial: hex::encode(&view.serial),
            certificate: base64::engine::general_purpose::STANDARD.encode(&der),
            key_origin: key_origin.to_owned(),
            public_key_sha256: key_hash,
        };
        let entry = Entry {
            seq: i64::try_from(log.size + 1).unwrap_or(i64::MAX),
            kind: ISSUED.to_owned(),
            subject: Some(device_id),
            at: now,
            data_json: serde_json::to_vec(&data).map_err(|e| refused("log", e.to_string()))?,
        };
        log.append(&entry, self.key.signer().as_ref())?;
        self.answer(&data, false)
    }

    fn device_id(&self, log: &Log, requested: Option<&str>) -> Result<String, Error> {
        match (&self.grant.device_ids, &self.pattern, requested) {
            (GrantDeviceIds::Assigned(ids), _, _) => {
                let index = usize::try_from(log.size).unwrap_or(usize::MAX);
                ids.get(index)
                    .cloned()
                    .ok_or_else(|| refused("count_used", "no assigned device id left".into()))
            }
            (GrantDeviceIds::Pattern(_), Some(pattern), Some(id)) if pattern.is_match(id) => {
                Ok(id.to_owned())
            }
            (GrantDeviceIds::Pattern(p), _, id) => Err(refused(
                "device_id_not_allowed",
                format!("device id {id:?} does not match the order's pattern {p:?}"),
            )),
        }
    }

    fn sign(&self, device_id: &str, csr: &VerifiedCsr, now: i64) -> Result<Vec<u8>, Error> {
        let id = DeviceId::parse(device_id)?;
        let alt_names = self
            .profile
            .subject_alt_names
            .iter()
            .map(|t| {
                t.render(SanValues {
                    device_id: &id,
                    factory: &self.grant.factory,
                })
            })
            .collect::<Result<_, _>>()?;
        let subject = Subject {
            name: DistinguishedName::new()
                .with(Attribute::Organization, &self.grant.organization)
                .with(Attribute::CommonName, device_id),
            public_key: csr.public_key().clone(),
            alt_names,
        };
        let mut serial = [0u8; 16];
        self.random
            .fill(&mut serial)
            .map_err(|_| refused("random", "the random source failed".into()))?;
        let prepared = PreparedCertificate::prepare(
            &self.profile,
            &subject,
            Serial::from_random(serial),
            now,
            &self.key,
        )?;
        Ok(prepared.sign()?.der)
    }

    fn answer(&self, data: &IssuedData, resumed: bool) -> Result<DeviceEnrollment, Error> {
        let der = base64::engine::general_purpose::STANDARD
            .decode(&data.certificate)
            .map_err(|_| refused("log", "a logged certificate is not base64".into()))?;
        let view = CertificateView::parse(&der)?;
        Ok(DeviceEnrollment {
            device_id: data.device_id.clone(),
            serial: data.serial.clone(),
            certificate: hallmark_pki::pem::encode("CERTIFICATE", &der),
            chain: self.chain_pem.clone(),
            not_after: view.not_after,
            resumed,
            key_origin: Some(data.key_origin.clone()),
        })
    }
}
