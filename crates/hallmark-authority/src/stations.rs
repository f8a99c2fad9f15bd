//! Station credentials: a factory station trades a one-time token for a
//! short-lived client certificate from the station CA, bound to one order
//! (its OU is the order id), valid at most [`Policy::station_validity`] and
//! never past the order's end. It renews with its current certificate.
//!
//! Every request a station makes is authenticated twice: TLS checks the
//! certificate chains to Hallmark's root, then [`Authority::authenticate_station`]
//! checks that the station CA issued it, that the store knows it and that
//! the station is not revoked.
//!
//! [`Policy::station_validity`]: crate::Policy::station_validity

use hallmark_pki::{
    Attribute, CertificateView, DistinguishedName, IssuedCertificate, PreparedCertificate, Profile,
    Serial, Subject, VerifiedCsr,
};
use hallmark_store::{AuditEvent, KeyRole, OrderRecord, StationCertificate, StoreError};
use serde_json::json;

use crate::error::AuthorityError;
use crate::hierarchy::{STATION_CA_ID, sha256};
use crate::issue::Authority;
use crate::orders::token_hash;

/// An authenticated station (from its TLS client certificate).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StationIdentity {
    /// The station id (its certificate's CN).
    pub station_id: String,
    /// The order it serves.
    pub order_id: String,
    /// When the presented certificate expires.
    pub not_after: i64,
    /// When the station enrolled.
    pub enrolled_at: i64,
}

/// A station certificate handed out (enrollment or renewal).
#[derive(Clone, Debug)]
pub struct StationIssued {
    /// The station id.
    pub station_id: String,
    /// Its order.
    pub order_id: String,
    /// The certificate.
    pub certificate: IssuedCertificate,
    /// The station CA's chain: station CA first, root last.
    pub chain: Vec<Vec<u8>>,
}

impl Authority {
    /// Enrolls a station with a one-time token (`station.enrolled`).
    pub async fn enroll_station(
        &self,
        token: &str,
        csr: &[u8],
    ) -> Result<StationIssued, AuthorityError> {
        let hash = token_hash(token);
        let record = self
            .store
            .station_token(&hash)
            .await?
            .ok_or(AuthorityError::Token(StoreError::TokenUnknown))?;
        if record.used_by.is_some() {
            return Err(AuthorityError::Token(StoreError::TokenUsed {
                order_id: record.order_id,
            }));
        }
        let order = self.available_order(&record.order_id).await?;
        let station_id = format!("st-{}", hex::encode(&self.env.random16()[..4]));
        let (issued, stored, chain) = self.station_certificate(&station_id, &order, csr).await?;
        let event = self.station_event("station.enrolled", &station_id, &order, &stored);
        self.store
            .enroll_station(&hash, &station_id, stored, event)
            .await?;
        Ok(StationIssued {
            station_id,
            order_id: order.order.id,
            certificate: issued,
            chain,
        })
    }

    /// Renews an authenticated station's certificate (`station.renewed`).
    pub async fn renew_station(
        &self,
        station: &StationIdentity,
        csr: &[u8],
    ) -> Result<StationIssued, AuthorityError> {
        let order = self.available_order(&station.order_id).await?;
        let (issued, stored, chain) = self
            .station_certificate(&station.station_id, &order, csr)
            .await?;
        let event = self.station_event("station.renewed", &station.station_id, &order, &stored);
        self.store
            .renew_station(&station.station_id, stored, event)
            .await?;
        Ok(StationIssued {
            station_id: station.station_id.clone(),
            order_id: order.order.id,
            certificate: issued,
            chain,
        })
    }

    /// Checks a TLS client certificate (already verified to chain to the
    /// root) is a station certificate the store knows, of a station that
    /// is not revoked.
    pub async fn authenticate_station(
        &self,
        certificate_der: &[u8],
    ) -> Result<StationIdentity, AuthorityError> {
        let view =
            CertificateView::parse(certificate_der).map_err(|_| AuthorityError::UnknownStation)?;
        let station_ca = self.signing_ca(STATION_CA_ID, KeyRole::StationCa).await?;
        if view.issuer_der != station_ca.subject_der {
            return Err(AuthorityError::UnknownStation);
        }
        let station = self
            .store
            .station_by_certificate(&view.serial)
            .await?
            .ok_or(AuthorityError::UnknownStation)?;
        if station.revoked_at.is_some() {
            return Err(AuthorityError::StationRevoked(station.id));
        }
        if view.not_after <= self.env.clock.now() {
            return Err(AuthorityError::UnknownStation);
        }
        Ok(StationIdentity {
            station_id: station.id,
            order_id: station.order_id,
            not_after: view.not_after,
            enrolled_at: station.enrolled_at,
        })
    }

    /// The order, refused unless it takes requests now.
    pub(crate) async fn available_order(&self, id: &str) -> Result<OrderRecord, AuthorityError> {
        let order = self.order(id).await?;
        order.availability(self.env.clock.now()).map_err(|reason| {
            AuthorityError::OrderUnavailable(StoreError::OrderUnavailable {
                order_id: id.to_string(),
                reason,
            })
        })?;
        Ok(order)
    }

    async fn station_certificate(
        &self,
        station_id: &str,
        order: &OrderRecord,
        csr: &[u8],
    ) -> Result<(IssuedCertificate, StationCertificate, Vec<Vec<u8>>), AuthorityError> {
        let csr = VerifiedCsr::from_pem_or_der(csr).map_err(AuthorityError::BadRequest)?;
        let ca = self.signing_ca(STATION_CA_ID, KeyRole::StationCa).await?;
        let now = self.env.clock.now();
        let validity = self
            .policy
            .station_validity
            .min(order.order.expires_at - now);
        let subject = Subject {
            name: DistinguishedName::new()
                .with(Attribute::Organization, &self.policy.organization)
                .with(Attribute::OrganizationalUnit, &order.order.id)
                .with(Attribute::CommonName, station_id),
            public_key: csr.public_key().clone(),
            alt_names: Vec::new(),
        };
        let serial = Serial::from_random(self.env.random16());
        let profile = Profile::client(validity, Vec::new());
        let prepared = PreparedCertificate::prepare(&profile, &subject, serial, now, &ca.key)?;
        let issued = crate::steps::sign(prepared).await?;
        let stored = StationCertificate {
            serial: issued.serial.as_bytes().to_vec(),
            certificate_der: issued.der.clone(),
            public_key_sha256: csr.public_key().sha256(),
            not_before: issued.not_before,
            not_after: issued.not_after,
        };
        Ok((issued, stored, ca.chain.clone()))
    }

    fn station_event(
        &self,
        kind: &str,
        station_id: &str,
        order: &OrderRecord,
        cert: &StationCertificate,
    ) -> AuditEvent {
        AuditEvent::new(
            kind,
            Some(station_id.to_string()),
            self.env.clock.now(),
            json!({
                "station": station_id,
                "order": order.order.id,
                "factory": order.order.factory,
                "serial": hex::encode(&cert.serial),
                "certificate_sha256": hex::encode(sha256(&cert.certificate_der)),
                "public_key_sha256": hex::encode(cert.public_key_sha256),
                "not_after": cert.not_after,
            }),
        )
    }
}
