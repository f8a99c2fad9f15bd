//! Device enrollment under a production order, on behalf of an
//! authenticated station, and re-enrollment by a device with its current
//! certificate (RFC 7030 §4.2.2).
//!
//! Policy, per request, in this order: the station is authenticated (by
//! the caller, see [`Authority::authenticate_station`]); its order is open
//! and inside its window; the CSR is valid by the issuance rules; the device
//! id is allowed by the order (assigned from its template, or proposed and
//! matching its pattern) and unused; the public key was never certified;
//! quota is left. The last three are decided by the store inside the
//! reserving transaction, so they hold under any concurrency.
//!
//! Every refusal is audit-logged (`request.refused`, with its reason) and
//! counted against the station's order (re-enrollments, which carry no
//! station, are logged only); nothing else is consumed.

use hallmark_pki::{CertificateView, VerifiedCsr};
use hallmark_store::{AuditEvent, DeviceIdRule, IssuanceStatus, KeyOrigin};
use serde_json::json;

use crate::error::AuthorityError;
use crate::issue::{Authority, IssueRequest, Issued, parse_device_id};
use crate::orders::compile_pattern;
use crate::stations::StationIdentity;

/// Who made a request that was refused, for the audit record.
#[derive(Clone, Debug, Default)]
pub struct RequestContext {
    /// The station, if authenticated.
    pub station_id: Option<String>,
    /// The order, if known.
    pub order_id: Option<String>,
    /// The device id asked for, if any.
    pub device_id: Option<String>,
    /// Where the request came from (address), if known.
    pub peer: Option<String>,
}

impl Authority {
    /// Issues a device certificate under the station's order, for a key
    /// generated on the device. Refusals are audit-logged (with `peer`, the
    /// client's address) before they are returned.
    pub async fn enroll_device(
        &self,
        station: &StationIdentity,
        csr: &[u8],
        device_id: Option<String>,
        peer: Option<String>,
    ) -> Result<Issued, AuthorityError> {
        self.enroll_device_with_origin(station, csr, device_id, KeyOrigin::Device, peer)
            .await
    }

    /// As [`Authority::enroll_device`], recording where the station says
    /// the key was generated (`station`: it made the key and installed it
    /// on the device). A retry that gets an earlier certificate back keeps
    /// the origin recorded then ([`Issued::key_origin`]).
    pub async fn enroll_device_with_origin(
        &self,
        station: &StationIdentity,
        csr: &[u8],
        device_id: Option<String>,
        key_origin: KeyOrigin,
        peer: Option<String>,
    ) -> Result<Issued, AuthorityError> {
        let context = RequestContext {
            station_id: Some(station.station_id.clone()),
            order_id: Some(station.order_id.clone()),
            device_id: device_id.clone(),
            peer,
        };
        let outcome = self
            .enroll_under_order(station, csr, device_id, key_origin)
            .await;
        self.audit_refusal(outcome, &context).await
    }

    async fn enroll_under_order(
        &self,
        station: &StationIdentity,
        csr: &[u8],
        device_id: Option<String>,
        key_origin: KeyOrigin,
    ) -> Result<Issued, AuthorityError> {
        let order = self.available_order(&station.order_id).await?;
        // Verified once: the retry check, the CN and issuance all use it.
        let csr = VerifiedCsr::from_pem_or_der(csr).map_err(AuthorityError::BadRequest)?;
        if let Some(issued) = self.resume(station, &csr, device_id.as_deref()).await? {
            return Ok(issued);
        }
        let device_id = match &order.order.device_ids {
            DeviceIdRule::Template(_) => match device_id {
                Some(id) => {
                    return Err(AuthorityError::DeviceIdNotAllowed {
                        device_id: id,
                        order_id: order.order.id.clone(),
                        why: "this order assigns device ids; do not send one".into(),
                    });
                }
                None => None,
            },
            DeviceIdRule::Pattern(pattern) => {
                let id = match device_id {
                    Some(id) => id,
                    None => csr
                        .common_name()
                        .ok_or_else(|| AuthorityError::DeviceIdMissing(order.order.id.clone()))?,
                };
                if !compile_pattern(pattern)?.is_match(&id) {
                    return Err(AuthorityError::DeviceIdNotAllowed {
                        device_id: id,
                        order_id: order.order.id.clone(),
                        why: format!("it does not match the order's pattern {pattern:?}"),
                    });
                }
                Some(id)
            }
        };
        let parsed_id = parse_device_id(device_id.as_deref())?;
        let request = IssueRequest {
            ca_id: order.order.factory.clone(),
            csr: Vec::new(),
            device_id,
            profile: self.policy.order_profile.clone(),
            key_origin,
            order_id: Some(order.order.id.clone()),
            station_id: Some(station.station_id.clone()),
            renews: None,
        };
        self.issue_verified(request, parsed_id, csr).await
    }

    /// A retry: the CSR's key is already certified under this station's
    /// order (the device got its certificate but lost it before it was
    /// installed). Returns that same certificate again (`certificate.resent`)
    /// rather than refusing the key — the CSR proves the caller holds the key.
    async fn resume(
        &self,
        station: &StationIdentity,
        csr: &VerifiedCsr,
        device_id: Option<&str>,
    ) -> Result<Option<Issued>, AuthorityError> {
        let Some(owner) = self
            .store
            .device_for_public_key(&csr.public_key().sha256())
            .await?
        else {
            return Ok(None);
        };
        let Some(record) = self.store.certificate_by_device(&owner).await? else {
            return Ok(None);
        };
        let same_order = record.intent.order_id.as_deref() == Some(station.order_id.as_str());
        let same_id = device_id.is_none_or(|id| id == owner);
        let (Some(der), Some(not_before), Some(not_after), true, true, IssuanceStatus::Issued) = (
            record.certificate_der.clone(),
            record.not_before,
            record.not_after,
            same_order,
            same_id,
            record.status,
        ) else {
            return Ok(None);
        };
        let serial =
            hallmark_pki::Serial::from_bytes(&record.intent.serial).map_err(AuthorityError::Pki)?;
        self.store
            .append_audit(AuditEvent::new(
                "certificate.resent",
                Some(owner.clone()),
                self.env.clock.now(),
                json!({
                    "device_id": owner,
                    "serial": serial.to_hex(),
                    "station": station.station_id,
                    "order": station.order_id,
                }),
            ))
            .await?;
        let issuer = self.issuer(&record.intent.ca_id).await?;
        Ok(Some(Issued {
            ca_id: record.intent.ca_id.clone(),
            device_id: owner,
            certificate: hallmark_pki::IssuedCertificate {
                der,
                serial,
                not_before,
                not_after,
            },
            chain: issuer.chain.clone(),
            resumed: true,
            key_origin: record.intent.key_origin,
        }))
    }

    /// A station reports that the device's certificate `serial` was
    /// installed and verified on the device (`device.installed`), or could
    /// not be (`device.not_installed`, with `failure`).
    pub async fn report_installation(
        &self,
        station: &StationIdentity,
        device_id: &str,
        serial_hex: &str,
        failure: Option<&str>,
    ) -> Result<(), AuthorityError> {
        let record = self
            .store
            .certificate_by_device(device_id)
            .await?
            .filter(|r| r.intent.order_id.as_deref() == Some(station.order_id.as_str()))
            .filter(|r| hex::encode(&r.intent.serial) == serial_hex.to_ascii_lowercase())
            .ok_or(AuthorityError::UnknownDeviceCertificate(
                "no such certificate of this device in the station's order",
            ))?;
        let kind = if failure.is_some() {
            "device.not_installed"
        } else {
            "device.installed"
        };
        self.store
            .append_audit(AuditEvent::new(
                kind,
                Some(device_id.to_string()),
                self.env.clock.now(),
                json!({
                    "device_id": device_id,
                    "serial": hex::encode(&record.intent.serial),
                    "station": station.station_id,
                    "order": station.order_id,
                    "reason": failure,
                }),
            ))
            .await?;
        Ok(())
    }

    /// Re-enrollment (RFC 7030 §4.2.2): a device presents its current
    /// certificate over TLS (already verified to chain to the root) and a
    /// CSR; it gets a new certificate for the same device id from the same
    /// CA, which supersedes the old one. A CN in the CSR must be the device
    /// id. Refusals are audit-logged.
    pub async fn reenroll_device(
        &self,
        current_der: &[u8],
        csr: &[u8],
        peer: Option<String>,
    ) -> Result<Issued, AuthorityError> {
        let outcome = self.reenroll(current_der, csr).await;
        let context = RequestContext {
            device_id: CertificateView::parse(current_der)
                .ok()
                .and_then(|v| v.common_name),
            peer,
            ..RequestContext::default()
        };
        self.audit_refusal(outcome, &context).await
    }

    async fn reenroll(&self, current_der: &[u8], csr: &[u8]) -> Result<Issued, AuthorityError> {
        let unknown = AuthorityError::UnknownDeviceCertificate;
        let view = CertificateView::parse(current_der).map_err(|_| unknown("unparsable"))?;
        let ca_id = self
            .issuing_ca_named(&view.issuer_der)
            .await?
            .ok_or(unknown("not issued by a Hallmark issuing CA"))?;
        let record = self
            .store
            .certificate_by_serial(&ca_id, &view.serial)
            .await?
            .ok_or(unknown("not in the store"))?;
        if record.status != IssuanceStatus::Issued
            || record.certificate_der.as_deref() != Some(current_der)
        {
            return Err(unknown("superseded, failed or altered"));
        }
        if view.not_after <= self.env.clock.now() {
            return Err(unknown("expired"));
        }
        let device_id = record.intent.device_id.clone();
        let csr = VerifiedCsr::from_pem_or_der(csr).map_err(AuthorityError::BadRequest)?;
        let csr_cn = csr.common_name();
        if csr_cn.as_ref().is_some_and(|cn| *cn != device_id) {
            return Err(AuthorityError::DeviceIdNotAllowed {
                device_id: csr_cn.unwrap_or_default(),
                order_id: record.intent.order_id.clone().unwrap_or_default(),
                why: format!("a re-enrollment keeps the device id {device_id:?}"),
            });
        }
        let parsed_id = parse_device_id(Some(&device_id))?;
        let request = IssueRequest {
            ca_id,
            csr: Vec::new(),
            device_id: Some(device_id),
            profile: record.intent.profile.clone(),
            key_origin: record.intent.key_origin,
            order_id: record.intent.order_id.clone(),
            station_id: None,
            renews: Some(view.serial),
        };
        self.issue_verified(request, parsed_id, csr).await
    }

    /// The id of the issuing CA whose subject is `name_der`.
    async fn issuing_ca_named(&self, name_der: &[u8]) -> Result<Option<String>, AuthorityError> {
        for ca in self.store.authority_keys().await? {
            if ca.role != hallmark_store::KeyRole::Issuing {
                continue;
            }
            let issuer = self.issuer(&ca.id).await?;
            if issuer.subject_der == name_der {
                return Ok(Some(ca.id));
            }
        }
        Ok(None)
    }

    /// Audit-logs a refusal (`request.refused`) and counts it against the
    /// order. For refusals decided outside the authority (rate limits, a
    /// missing client certificate) the server calls this directly.
    pub async fn record_refusal(
        &self,
        reason: &str,
        message: &str,
        context: &RequestContext,
    ) -> Result<(), AuthorityError> {
        let event = AuditEvent::new(
            "request.refused",
            context.device_id.clone().or(context.station_id.clone()),
            self.env.clock.now(),
            json!({
                "reason": reason,
                "message": message,
                "station": context.station_id,
                "order": context.order_id,
                "device_id": context.device_id,
                "peer": context.peer,
            }),
        );
        self.store
            .record_refusal(context.order_id.as_deref(), event)
            .await?;
        Ok(())
    }

    /// Passes `outcome` through, audit-logging it first if it is a refusal.
    /// If the audit record cannot be written, that failure is returned
    /// instead: a refusal is never silently unlogged.
    pub async fn audit_refusal<T>(
        &self,
        outcome: Result<T, AuthorityError>,
        context: &RequestContext,
    ) -> Result<T, AuthorityError> {
        let err = match outcome {
            Ok(value) => return Ok(value),
            Err(err) => err,
        };
        if let Some(reason) = err.refusal_reason() {
            self.record_refusal(reason, &err.to_string(), context)
                .await?;
        }
        Err(err)
    }
}
