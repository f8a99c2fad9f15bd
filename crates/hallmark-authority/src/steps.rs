//! Steps 2–4 of an issuance: persist intent, sign, persist result.
//!
//! They run as one spawned task (see [`crate::Authority::issue`]), so a
//! caller that disconnects cannot leave a reservation half-way, and signing
//! runs on the blocking pool because a network HSM may take milliseconds.

use std::sync::Arc;

use hallmark_pki::{DeviceId, IssuedCertificate, PreparedCertificate, Serial};
use hallmark_store::{AuditEvent, IssuanceIntent, Store};
use serde_json::json;

use crate::env::Env;
use crate::error::AuthorityError;
use crate::hierarchy::sha256;
use crate::issue::{Checked, IssueRequest, Issued};

/// What steps 2–4 need, owned, so they can run in their own task.
pub(crate) struct Steps {
    pub(crate) store: Arc<dyn Store>,
    pub(crate) env: Env,
    /// The issuing factory's location, for the audit record.
    pub(crate) location: Option<String>,
}

impl Steps {
    pub(crate) async fn run(
        self,
        request: IssueRequest,
        checked: Checked,
    ) -> Result<Issued, AuthorityError> {
        let serial = checked.serial;
        let key_hash = checked.csr.public_key().sha256();

        // 2. Persist intent (the store assigns the device id for template
        //    orders and consumes quota).
        let device_id = self.reserve(&request, &checked, key_hash).await?;

        // 3. Render the final certificate and sign it.
        let certificate = match self.prepare_and_sign(&checked, &device_id).await {
            Ok(cert) => cert,
            Err(err) => {
                self.fail(&request, device_id.as_str(), serial, err.to_string())
                    .await;
                return Err(err);
            }
        };

        // 4. Persist result; only then does the certificate leave.
        if let Err(err) = self
            .complete(&request, device_id.as_str(), key_hash, &certificate)
            .await
        {
            let reason = format!("recording the certificate failed: {err}");
            self.fail(&request, device_id.as_str(), serial, reason)
                .await;
            return Err(err);
        }
        Ok(Issued {
            ca_id: request.ca_id.clone(),
            device_id: device_id.to_string(),
            certificate,
            chain: checked.issuer.chain.clone(),
            resumed: false,
            key_origin: request.key_origin,
        })
    }

    async fn reserve(
        &self,
        request: &IssueRequest,
        checked: &Checked,
        key_hash: [u8; 32],
    ) -> Result<DeviceId, AuthorityError> {
        let now = self.env.clock.now();
        let device_id = checked
            .device_id
            .as_ref()
            .map(ToString::to_string)
            .unwrap_or_default();
        let intent = IssuanceIntent {
            ca_id: request.ca_id.clone(),
            serial: checked.serial.as_bytes().to_vec(),
            device_id: device_id.clone(),
            public_key_sha256: key_hash,
            profile: request.profile.clone(),
            key_origin: request.key_origin,
            order_id: request.order_id.clone(),
            station_id: request.station_id.clone(),
            requested_at: now,
            renews: request.renews.clone(),
        };
        let event = AuditEvent::new(
            "issuance.intent",
            Some(device_id.clone()),
            now,
            json!({
                "ca": request.ca_id,
                "serial": checked.serial.to_hex(),
                "device_id": device_id,
                "public_key_sha256": hex::encode(key_hash),
                "profile": request.profile,
                "key_origin": request.key_origin.as_str(),
                "order": request.order_id,
                "station": request.station_id,
                "renews": request.renews.as_deref().map(hex::encode),
            }),
        );
        let reservation = self.store.reserve_issuance(intent, event).await?;
        match DeviceId::parse(&reservation.device_id) {
            Ok(id) => Ok(id),
            Err(err) => {
                // Templates are checked when the order is created; this is
                // a corrupt order, not a bad request.
                let reason = format!("the order assigned an invalid device id: {err}");
                let assigned = &reservation.device_id;
                self.fail(request, assigned, checked.serial, reason).await;
                Err(AuthorityError::Pki(err))
            }
        }
    }

    async fn prepare_and_sign(
        &self,
        checked: &Checked,
        device_id: &DeviceId,
    ) -> Result<IssuedCertificate, AuthorityError> {
        let prepared = checked.template.prepare(
            device_id,
            checked.csr.public_key(),
            checked.serial,
            self.env.clock.now(),
            &checked.issuer.key,
        )?;
        sign(prepared).await
    }

    async fn complete(
        &self,
        request: &IssueRequest,
        device_id: &str,
        key_hash: [u8; 32],
        certificate: &IssuedCertificate,
    ) -> Result<(), AuthorityError> {
        let event = AuditEvent::new(
            "certificate.issued",
            Some(device_id.to_string()),
            self.env.clock.now(),
            json!({
                "ca": request.ca_id,
                "serial": certificate.serial.to_hex(),
                "device_id": device_id,
                "certificate_sha256": hex::encode(sha256(&certificate.der)),
                "public_key_sha256": hex::encode(key_hash),
                "key_origin": request.key_origin.as_str(),
                "order": request.order_id,
                "station": request.station_id,
                "factory": request.ca_id,
                "location": self.location,
                "not_after": certificate.not_after,
                "renews": request.renews.as_deref().map(hex::encode),
            }),
        );
        self.store
            .complete_issuance(
                &request.ca_id,
                certificate.serial.as_bytes(),
                certificate.der.clone(),
                certificate.not_before,
                certificate.not_after,
                event,
            )
            .await?;
        Ok(())
    }

    /// Marks the reservation failed. Best effort: if even that fails, the
    /// record stays pending until [`crate::Authority::expire_pending`].
    async fn fail(&self, request: &IssueRequest, device_id: &str, serial: Serial, reason: String) {
        let event = AuditEvent::new(
            "issuance.failed",
            Some(device_id.to_string()),
            self.env.clock.now(),
            json!({ "ca": request.ca_id, "serial": serial.to_hex(), "reason": reason }),
        );
        let failed = self
            .store
            .fail_issuance(&request.ca_id, serial.as_bytes(), reason, event)
            .await;
        if let Err(store_err) = failed {
            tracing::error!(%store_err, serial = %serial, "could not mark a failed issuance");
        }
    }
}

/// Signs inline with an in-memory key (tens of microseconds, far less than
/// a hand-off to another thread), otherwise on the blocking pool: a PKCS#11
/// call may block for milliseconds.
pub(crate) async fn sign(
    prepared: PreparedCertificate,
) -> Result<IssuedCertificate, AuthorityError> {
    if prepared.signs_in_memory() {
        return prepared.sign().map_err(AuthorityError::Pki);
    }
    tokio::task::spawn_blocking(move || prepared.sign())
        .await
        .map_err(AuthorityError::Task)?
        .map_err(AuthorityError::Pki)
}
