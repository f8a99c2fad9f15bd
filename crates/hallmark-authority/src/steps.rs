//! Steps 2–4 of an issuance: persist intent, sign, persist result.
//!
//! They run as one spawned task (see [`crate::Authority::issue`]), so a
//! caller that disconnects cannot leave a reservation half-way.
//!
//! Two ways through them:
//! * **At once**, when the CA key signs in memory and the store can
//!   ([`hallmark_store::IssueAtOnce`]): reserve, sign and record in one
//!   durable transaction, one commit per certificate.
//! * **Step by step** otherwise (an HSM key, or a store without that power):
//!   reserve and commit, sign on the blocking pool (a PKCS#11 call may take
//!   milliseconds), record and commit.
//!
//! Either way the certificate leaves only once the store durably knows it.

use std::sync::Arc;

use hallmark_pki::{DeviceId, IssuedCertificate, PreparedCertificate, Serial};
use hallmark_store::{
    AuditEvent, FailedSigning, IssuanceIntent, IssueAtOnce, Reservation, Settled, SignedIssuance,
    Store,
};
use serde_json::json;
use tokio::sync::oneshot;

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
        if checked.issuer.key.signer().signs_in_memory()
            && let Some(store) = self.store.at_once()
        {
            return self.run_at_once(store, request, checked).await;
        }
        self.run_step_by_step(request, checked).await
    }

    /// Steps 2–4 as one job of the store's transaction.
    async fn run_at_once(
        &self,
        store: &dyn IssueAtOnce,
        request: IssueRequest,
        checked: Checked,
    ) -> Result<Issued, AuthorityError> {
        let key_hash = checked.csr.public_key().sha256();
        let (intent, event) = self.intent(&request, &checked, key_hash);
        let chain = checked.issuer.chain.clone();
        let (signed_tx, signed_rx) = oneshot::channel();
        let step = SignAtOnce {
            env: self.env.clone(),
            record: self.record(&request, key_hash),
            checked,
            signed: signed_tx,
        };
        let settled = store
            .issue_at_once(intent, event, Box::new(move |r| step.run(r)))
            .await?;
        // The sign step ran (the store settled it), so it sent its outcome.
        let signed = signed_rx
            .await
            .map_err(|_| AuthorityError::SignStepMismatch)?;
        match (settled, signed) {
            (Settled::Issued { reservation, .. }, Ok(certificate)) => Ok(Issued {
                ca_id: request.ca_id,
                device_id: reservation.device_id,
                certificate,
                chain,
                resumed: false,
                key_origin: request.key_origin,
            }),
            (_, Err(err)) => Err(err),
            (Settled::Failed { .. }, Ok(_)) => Err(AuthorityError::SignStepMismatch),
        }
    }

    async fn run_step_by_step(
        self,
        request: IssueRequest,
        checked: Checked,
    ) -> Result<Issued, AuthorityError> {
        let serial = checked.serial;
        let key_hash = checked.csr.public_key().sha256();

        // 2. Persist intent (the store assigns the device id for template
        //    orders and consumes quota).
        let device_id = self.reserve(&request, &checked, key_hash).await?;
        let chain = checked.issuer.chain.clone();

        // 3. Render the final certificate and sign it.
        let signed = match checked.into_prepared(&device_id, &self.env) {
            Ok(prepared) => sign(prepared).await,
            Err(err) => Err(err),
        };
        let certificate = match signed {
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
            chain,
            resumed: false,
            key_origin: request.key_origin,
        })
    }

    /// The intent of step 2 with its `issuance.intent` event.
    fn intent(
        &self,
        request: &IssueRequest,
        checked: &Checked,
        key_hash: [u8; 32],
    ) -> (IssuanceIntent, AuditEvent) {
        let now = self.env.clock.now();
        let device_id = checked
            .device_id
            .as_ref()
            .map(ToString::to_string)
            .unwrap_or_default();
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
        let intent = IssuanceIntent {
            ca_id: request.ca_id.clone(),
            serial: checked.serial.as_bytes().to_vec(),
            device_id,
            public_key_sha256: key_hash,
            profile: request.profile.clone(),
            key_origin: request.key_origin,
            order_id: request.order_id.clone(),
            station_id: request.station_id.clone(),
            requested_at: now,
            renews: request.renews.clone(),
        };
        (intent, event)
    }

    fn record(&self, request: &IssueRequest, key_hash: [u8; 32]) -> Record {
        Record {
            ca_id: request.ca_id.clone(),
            key_hash,
            key_origin: request.key_origin.as_str(),
            order_id: request.order_id.clone(),
            station_id: request.station_id.clone(),
            renews: request.renews.clone(),
            location: self.location.clone(),
        }
    }

    async fn reserve(
        &self,
        request: &IssueRequest,
        checked: &Checked,
        key_hash: [u8; 32],
    ) -> Result<DeviceId, AuthorityError> {
        let (intent, event) = self.intent(request, checked, key_hash);
        let reservation = self.store.reserve_issuance(intent, event).await?;
        match DeviceId::parse(&reservation.device_id) {
            Ok(id) => Ok(id),
            Err(err) => {
                let assigned = &reservation.device_id;
                let reason = invalid_assigned_id(&err);
                self.fail(request, assigned, checked.serial, reason).await;
                Err(AuthorityError::Pki(err))
            }
        }
    }

    async fn complete(
        &self,
        request: &IssueRequest,
        device_id: &str,
        key_hash: [u8; 32],
        certificate: &IssuedCertificate,
    ) -> Result<(), AuthorityError> {
        let record = self.record(request, key_hash);
        let event = record.issued_event(device_id, certificate, self.env.clock.now());
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
        let event = failed_event(&request.ca_id, device_id, serial, &reason, &self.env);
        let failed = self
            .store
            .fail_issuance(&request.ca_id, serial.as_bytes(), reason, event)
            .await;
        if let Err(store_err) = failed {
            tracing::error!(%store_err, serial = %serial, "could not mark a failed issuance");
        }
    }
}

/// Step 3 of the at-once path, run by the store inside its transaction. It
/// hands the signed certificate (or the error) back through `signed`.
struct SignAtOnce {
    env: Env,
    record: Record,
    checked: Checked,
    signed: oneshot::Sender<Result<IssuedCertificate, AuthorityError>>,
}

impl SignAtOnce {
    fn run(self, reservation: &Reservation) -> Result<SignedIssuance, FailedSigning> {
        let (serial, device_id) = (self.checked.serial, &reservation.device_id);
        // On failure: the reason recorded, and the error for the caller.
        let outcome = match DeviceId::parse(device_id) {
            Ok(id) => self
                .checked
                .into_prepared(&id, &self.env)
                .and_then(|prepared| prepared.sign().map_err(AuthorityError::Pki))
                .map_err(|err| (err.to_string(), err)),
            Err(err) => Err((invalid_assigned_id(&err), AuthorityError::Pki(err))),
        };
        let settled = match &outcome {
            Ok(cert) => Ok(SignedIssuance {
                certificate_der: cert.der.clone(),
                not_before: cert.not_before,
                not_after: cert.not_after,
                event: self
                    .record
                    .issued_event(device_id, cert, self.env.clock.now()),
            }),
            Err((reason, _)) => Err(FailedSigning {
                event: failed_event(&self.record.ca_id, device_id, serial, reason, &self.env),
                reason: reason.clone(),
            }),
        };
        // The receiver waits for the store's answer; it is gone only if the
        // issuing task itself was dropped, and then nobody needs the outcome.
        let _ = self.signed.send(outcome.map_err(|(_, err)| err));
        settled
    }
}

/// What the `certificate.issued` event records beside the certificate.
struct Record {
    ca_id: String,
    key_hash: [u8; 32],
    key_origin: &'static str,
    order_id: Option<String>,
    station_id: Option<String>,
    renews: Option<Vec<u8>>,
    location: Option<String>,
}

impl Record {
    fn issued_event(&self, device_id: &str, cert: &IssuedCertificate, now: i64) -> AuditEvent {
        AuditEvent::new(
            "certificate.issued",
            Some(device_id.to_string()),
            now,
            json!({
                "ca": self.ca_id,
                "serial": cert.serial.to_hex(),
                "device_id": device_id,
                "certificate_sha256": hex::encode(sha256(&cert.der)),
                "public_key_sha256": hex::encode(self.key_hash),
                "key_origin": self.key_origin,
                "order": self.order_id,
                "station": self.station_id,
                "factory": self.ca_id,
                "location": self.location,
                "not_after": cert.not_after,
                "renews": self.renews.as_deref().map(hex::encode),
            }),
        )
    }
}

fn failed_event(
    ca_id: &str,
    device_id: &str,
    serial: Serial,
    reason: &str,
    env: &Env,
) -> AuditEvent {
    AuditEvent::new(
        "issuance.failed",
        Some(device_id.to_string()),
        env.clock.now(),
        json!({ "ca": ca_id, "serial": serial.to_hex(), "reason": reason }),
    )
}

/// Templates are checked when the order is created; an invalid assigned id
/// is a corrupt order, not a bad request.
fn invalid_assigned_id(err: &hallmark_pki::PkiError) -> String {
    format!("the order assigned an invalid device id: {err}")
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
