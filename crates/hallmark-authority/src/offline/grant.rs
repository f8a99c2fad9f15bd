//! Granting a station sub-CA.

use hallmark_pki::{
    Attribute, DistinguishedName, LeafProfileText, PreparedCertificate, Profile, Serial, Subject,
    VerifiedCsr,
};
use hallmark_store::{
    AuditEvent, AuthorityKey, DeviceIdRule, KeyRole, NewOfflineCa, OfflineCaRecord, OrderRecord,
    TemplateValues,
};
use serde_json::json;

use super::offline_ca_id;
use crate::error::AuthorityError;
use crate::hierarchy::{name_text, sha256};
use crate::issue::Authority;
use crate::stations::StationIdentity;

/// Which device ids a sub-CA may certify.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum OfflineDeviceIds {
    /// Exactly these (rendered from the order's template, one per unit).
    Assigned(Vec<String>),
    /// Ids the station chooses, matching this pattern (anchored).
    Pattern(String),
}

/// A station sub-CA, granted.
#[derive(Clone, Debug)]
pub struct OfflineGrant {
    /// The allocation as stored.
    pub record: OfflineCaRecord,
    /// The sub-CA certificate (DER).
    pub certificate_der: Vec<u8>,
    /// Its issuers: the offline CA first, root last.
    pub chain: Vec<Vec<u8>>,
    /// Device ids it may certify.
    pub device_ids: OfflineDeviceIds,
    /// The device certificate profile to issue under.
    pub profile: LeafProfileText,
    /// Organization for device subjects.
    pub organization: String,
    /// The factory (for `{factory}` in SAN templates).
    pub factory: String,
    /// End of the sub-CA's validity (the order's end at the latest).
    pub not_after: i64,
}

impl Authority {
    /// Grants `station` a sub-CA for the public key of `csr` that may issue
    /// `count` device certificates under its order. The count is taken from
    /// the order's quota now; [`close_offline_ca`](Self::close_offline_ca)
    /// gives back what was not used.
    pub async fn request_offline_ca(
        &self,
        station: &StationIdentity,
        csr: &[u8],
        count: u64,
    ) -> Result<OfflineGrant, AuthorityError> {
        if count == 0 {
            return Err(AuthorityError::InvalidOfflineCount(count));
        }
        let order = self.available_order(&station.order_id).await?;
        let csr = VerifiedCsr::from_pem_or_der(csr).map_err(AuthorityError::BadRequest)?;
        let factory = order.order.factory.clone();
        let issuer_id = offline_ca_id(&factory);
        let issuer = match self.signing_ca(&issuer_id, KeyRole::OfflineCa).await {
            Err(AuthorityError::UnknownCa(_)) => {
                return Err(AuthorityError::OfflineUnavailable { factory });
            }
            other => other?,
        };
        let profile = self.device_profile_text(&factory)?;
        let now = self.env.clock.now();
        let id = format!("sub-{}", hex::encode(&self.env.random16()[..8]));
        let name = DistinguishedName::new()
            .with(Attribute::Organization, &self.policy.organization)
            .with(Attribute::OrganizationalUnit, &order.order.id)
            .with(
                Attribute::CommonName,
                format!("{} offline CA {id}", station.station_id),
            );
        let sub_profile = Profile::sub_ca(0, order.order.expires_at - now);
        let subject = Subject {
            name: name.clone(),
            public_key: csr.public_key().clone(),
            alt_names: Vec::new(),
        };
        let serial = Serial::from_random(self.env.random16());
        let cert = PreparedCertificate::prepare(&sub_profile, &subject, serial, now, &issuer.key)?
            .sign()?;
        let key = AuthorityKey {
            id: id.clone(),
            role: KeyRole::StationSubCa,
            parent_id: Some(issuer_id.clone()),
            factory: Some(factory.clone()),
            subject: Some(name_text(&name)?),
            algorithm: csr.public_key().algorithm().name(),
            key_uri: format!("station:{}", station.station_id),
            certificate_der: Some(cert.der.clone()),
            not_after: Some(cert.not_after),
            created_at: now,
        };
        let event = AuditEvent::new(
            "offline_ca.issued",
            Some(id.clone()),
            now,
            json!({
                "id": id,
                "parent": issuer_id,
                "order": order.order.id,
                "station": station.station_id,
                "count": count,
                "serial": cert.serial.to_hex(),
                "certificate_sha256": hex::encode(sha256(&cert.der)),
                "public_key_sha256": hex::encode(csr.public_key().sha256()),
                "not_after": cert.not_after,
            }),
        );
        let new = NewOfflineCa {
            key,
            order_id: order.order.id.clone(),
            station_id: station.station_id.clone(),
            count,
        };
        let record = self.store.allocate_offline_ca(new, event).await?;
        Ok(OfflineGrant {
            device_ids: device_ids(&order, &record),
            record,
            certificate_der: cert.der,
            chain: issuer.chain.clone(),
            profile,
            organization: self.policy.organization.clone(),
            factory,
            not_after: cert.not_after,
        })
    }

    /// The order profile as text for a station: its URLs are dropped
    /// (offline certificates are not on the CRL or OCSP).
    fn device_profile_text(&self, ca_id: &str) -> Result<LeafProfileText, AuthorityError> {
        let profile = self.profile_for(&self.policy.order_profile, ca_id)?;
        Ok(LeafProfileText::of(&profile)?)
    }
}

/// The ids a sub-CA may certify.
pub(crate) fn device_ids(order: &OrderRecord, record: &OfflineCaRecord) -> OfflineDeviceIds {
    match (&order.order.device_ids, record.first_seq) {
        (DeviceIdRule::Template(template), Some(first)) => OfflineDeviceIds::Assigned(
            (first..first + record.count)
                .map(|seq| {
                    template.render(TemplateValues {
                        product: &order.order.product,
                        factory: &order.order.factory,
                        order: &order.order.id,
                        seq,
                    })
                })
                .collect(),
        ),
        (DeviceIdRule::Template(_), None) => OfflineDeviceIds::Assigned(Vec::new()),
        (DeviceIdRule::Pattern(pattern), _) => OfflineDeviceIds::Pattern(pattern.clone()),
    }
}
