//! Steps 2–4 of an issuance: persist intent, sign, persist result.
//!
//! They run as one spawned task (see [`crate::Authority::issue`]), so a
//! caller that disconnects cannot leave a reservation half-way, and signing
//! runs on the blocking pool because a network HSM may take milliseconds.

use std::sync::Arc;

use hallmark_pki::{IssuedCertificate, PreparedCertificate, Serial};
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
        let serial = *checked.prepared.serial();
        let key_hash = checked.csr.public_key().sha256();

        // 2. Persist intent.
        self.reserve(&request, &checked, key_hash).await?;

        // 3. Sign.
        let prepared = checked.prepared;
        let certificate = match sign(prepared).await {
            Ok(cert) => cert,
            Err(err) => {
                self.fail(&request, serial, err.to_string()).await;
                return Err(err);
            }
        };

        // 4. Persist result; only then does the certificate leave.
        let device_id = checked.device_id.to_string();
        if let Err(err) = self
            .complete(&request, &device_id, key_hash, &certificate)
            .await
        {
            let reason = format!("recording the certificate failed: {err}");
            self.fail(&request, serial, reason).await;
            return Err(err);
        }
        Ok(Issued {
            device_id,
            certificate,
            chain: checked.chain,
        })
    }

    async fn reserve(
        &self,
        request: &IssueRequest,
        checked: &Checked,
        key_hash: [u8; 32],
    ) -> Result<(), AuthorityError> {
        let serial = checked.prepared.serial();
        let now = self.env.clock.now();
        let intent = IssuanceIntent {
            ca_id: request.ca_id.clone(),
            serial: serial.as_bytes().to_vec(),
            device_id: checked.device_id.to_string(),
            public_key_sha256: key_hash,
            profile: request.profile.clone(),
            key_origin: request.key_origin,
            order_id: request.order_id.clone(),
            station_id: request.station_id.clone(),
            requested_at: now,
        };
        let event = AuditEvent::new(
            "issuance.intent",
            Some(checked.device_id.to_string()),
            now,
            json!({
                "ca": request.ca_id,
                "serial": serial.to_hex(),
                "device_id": checked.device_id.as_str(),
                "public_key_sha256": hex::encode(key_hash),
                "profile": request.profile,
                "key_origin": request.key_origin.as_str(),
                "order": request.order_id,
                "station": request.station_id,
            }),
        );
        self.store.reserve_issuance(intent, event).await?;
        Ok(())
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
    async fn fail(&self, request: &IssueRequest, serial: Serial, reason: String) {
        let event = AuditEvent::new(
            "issuance.failed",
            Some(request.device_id.clone()),
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

/// Signs on the blocking pool: a PKCS#11 call may block for milliseconds.
async fn sign(prepared: PreparedCertificate) -> Result<IssuedCertificate, AuthorityError> {
    tokio::task::spawn_blocking(move || prepared.sign())
        .await
        .map_err(AuthorityError::Task)?
        .map_err(AuthorityError::Pki)
}
