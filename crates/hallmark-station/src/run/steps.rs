//! Provisioning one device: HELLO → checks → GENERATE_KEY → GET_CSR →
//! enroll → INSTALL → VERIFY → LOCK → report (`docs/device-protocol.md` §9).

use std::time::Instant;

use hallmark_protocol::{
    CertChain, CsrRequest, DeviceState, Install, KeyAlgorithm, MAX_CHAIN_LEN, Request, Response,
    Stamp, SubjectAttributes,
};

use super::checks::{check_csr, check_proof};
use super::failure::{Failure, UNREACHABLE_PREFIX, error_chain};
use super::journal::Entry;
use super::keygen::spki_sha256;
use super::link::{Answer, DeviceLink};
use super::record::{DeviceRecord, KeyOrigin, Step};
use super::{Context, FixtureSlot, enroll};

/// One device's session.
pub(crate) struct Session<'a> {
    pub ctx: &'a Context,
    pub link: DeviceLink,
    pub record: &'a mut DeviceRecord,
    /// Released once the device is locked (see [`FixtureSlot`]).
    pub slot: &'a mut FixtureSlot,
}

/// What HELLO told.
struct Hello {
    state: DeviceState,
    key_algorithm: Option<KeyAlgorithm>,
    chip_id: String,
}

impl Session<'_> {
    /// Sends `request` as `step`, adding its time to the step.
    pub(crate) async fn call(
        &mut self,
        step: Step,
        request: &Request<'_>,
    ) -> Result<Answer, Failure> {
        let timeout = self.ctx.options.timeouts.for_step(step);
        let start = Instant::now();
        let answer = self.link.call(request, timeout).await;
        self.record.times.add(step, start.elapsed());
        let answer = answer.map_err(|e| Failure::link(step, e))?;
        if let Response::Error { code, message } =
            answer.response().map_err(|e| Failure::link(step, e))?
        {
            return Err(Failure::DeviceError(step, code, message.into()));
        }
        Ok(answer)
    }

    /// The whole procedure; the record's status is set by the caller.
    pub(crate) async fn provision(&mut self) -> Result<(), Failure> {
        let hello = self.hello().await?;
        if matches!(hello.state, DeviceState::Installed | DeviceState::Verified) {
            let state = state_name(hello.state);
            let entry = self
                .ctx
                .journal
                .as_ref()
                .and_then(|j| j.load(&hello.chip_id))
                .ok_or_else(|| Failure::UnknownInstalledCertificate(state.into()))?;
            let algorithm = hello.key_algorithm.unwrap_or(KeyAlgorithm::P256);
            let spki = self.generate_key(algorithm).await?;
            self.record.key_origin = KeyOrigin::from_name(&entry.key_origin).unwrap_or_default();
            self.record.public_key_sha256 = Some(spki_sha256(&spki));
            let chain = entry.chain_der()?;
            self.record.device_id = Some(entry.device_id.clone());
            self.record.serial = Some(entry.serial.clone());
            self.record.resumed = true;
            let result = match self.ctx.verifier.check(&chain, &spki, &entry.device_id) {
                Ok(()) => {
                    self.finish(&hello.chip_id, &entry.device_id, &entry.serial, chain)
                        .await
                }
                Err(e) => Err(e),
            };
            self.tell_not_installed(&result, &entry.device_id, &entry.serial)
                .await;
            return result;
        }
        let algorithm = hello.key_algorithm.unwrap_or(KeyAlgorithm::P256);
        let spki = self
            .device_key(hello.state, &hello.chip_id, algorithm)
            .await?;
        let requested_id = self.ctx.requested_device_id(&hello.chip_id, self.record);
        let csr_pem = self
            .csr(&hello.chip_id, requested_id.as_deref(), &spki)
            .await?;
        if let Some(why) = self.ctx.stopping() {
            return Err(Failure::Abandoned(format!(
                "left before enrollment (the key and CSR stay on the device): {why}"
            )));
        }
        let start = Instant::now();
        let enrolled = enroll(
            self.ctx,
            &csr_pem,
            requested_id.as_deref(),
            self.record.key_origin,
        )
        .await;
        self.record.times.add(Step::Enroll, start.elapsed());
        let enrolled = enrolled.map_err(Failure::server)?;
        self.record.device_id = Some(enrolled.device_id.clone());
        self.record.serial = Some(enrolled.serial.clone());
        self.record.resumed = enrolled.resumed;
        if let Some(origin) = enrolled
            .key_origin
            .as_deref()
            .and_then(KeyOrigin::from_name)
        {
            // The server's record decides (a retry keeps the first origin).
            self.record.key_origin = origin;
        }
        let mut chain = vec![pem_der(&enrolled.certificate)?];
        for pem in &enrolled.chain {
            chain.push(pem_der(pem)?);
        }
        chain.truncate(MAX_CHAIN_LEN);
        let (device_id, serial) = (enrolled.device_id, enrolled.serial);
        let result = self
            .install_new(&hello.chip_id, &device_id, &serial, chain, &spki)
            .await;
        self.tell_not_installed(&result, &device_id, &serial).await;
        result
    }

    /// After a failure past enrollment, tells the server the certificate
    /// was not installed (best effort; the record says whether it worked).
    async fn tell_not_installed(
        &mut self,
        result: &Result<(), Failure>,
        device_id: &str,
        serial: &str,
    ) {
        let Err(failure) = result else {
            return;
        };
        if matches!(failure, Failure::NotReported(_)) || self.ctx.offline.is_some() {
            return;
        }
        let told = self
            .ctx
            .client
            .report_not_installed(device_id, serial, &failure.status())
            .await;
        if let Err(e) = &told {
            tracing::warn!(device = %device_id, error = %error_chain(e), "cannot report a certificate not installed");
        }
        self.record.not_installed_reported = Some(told.is_ok());
    }

    async fn install_new(
        &mut self,
        chip_id: &str,
        device_id: &str,
        serial: &str,
        chain: Vec<Vec<u8>>,
        spki: &[u8],
    ) -> Result<(), Failure> {
        self.ctx.verifier.check(&chain, spki, device_id)?;
        if let Some(journal) = &self.ctx.journal {
            let entry = Entry {
                device_id: device_id.into(),
                serial: serial.into(),
                chain: chain
                    .iter()
                    .map(|der| hallmark_pki::pem::encode("CERTIFICATE", der))
                    .collect(),
                key_origin: self.record.key_origin.name().into(),
                public_key_sha256: Some(spki_sha256(spki)),
            };
            journal.save(chip_id, &entry).await?;
        }
        self.finish(chip_id, device_id, serial, chain).await
    }

    /// INSTALL → VERIFY → LOCK → report, for a chain the caller checked
    /// against the device's key and id.
    async fn finish(
        &mut self,
        chip_id: &str,
        device_id: &str,
        serial: &str,
        chain: Vec<Vec<u8>>,
    ) -> Result<(), Failure> {
        let refs: Vec<&[u8]> = chain.iter().map(Vec::as_slice).collect();
        let install = Request::Install(Install {
            chain: CertChain::new(&refs),
            stamp: Stamp {
                device_id,
                endpoint: &self.ctx.options.endpoint,
                pop_code: None,
            },
        });
        self.call(Step::Install, &install).await?;
        self.verify(&chain[0]).await?;
        self.lock().await?;
        // The device is done: the next one may take its slot while the
        // server is told.
        self.slot.release();
        if let Some(journal) = &self.ctx.journal {
            journal.remove(chip_id).await;
        }
        self.record.chain_der = chain;
        if self.ctx.offline.is_some() {
            // Recorded in the local log at issuance and in this run's
            // report; the server learns of it at `station sync`.
            return Ok(());
        }
        let start = Instant::now();
        let reported = self.ctx.client.report_installed(device_id, serial).await;
        self.record.times.add(Step::Report, start.elapsed());
        reported.map_err(|e| {
            let unreachable = matches!(e, crate::Error::Unreachable { .. });
            let prefix = if unreachable {
                UNREACHABLE_PREFIX
            } else {
                "server error"
            };
            Failure::NotReported(format!(
                "{prefix}: installed and locked, but the server was not told: {}",
                error_chain(&e)
            ))
        })
    }

    async fn hello(&mut self) -> Result<Hello, Failure> {
        let answer = self
            .call(Step::Hello, &Request::Hello { versions: &[1] })
            .await?;
        let response = answer
            .response()
            .map_err(|e| Failure::link(Step::Hello, e))?;
        let Response::HelloOk(info) = response else {
            return Err(unexpected(Step::Hello));
        };
        let chip_id = hex::encode(info.chip_id);
        self.record.chip_id = Some(chip_id.clone());
        self.record.model = Some(info.model.into());
        self.record.firmware = Some(info.firmware_version.to_string());
        self.record.initial_state = Some(state_name(info.state).into());
        if info.version != 1 {
            return Err(Failure::Protocol(
                Step::Hello,
                format!("version {} chosen", info.version),
            ));
        }
        if info.state == DeviceState::Locked {
            return Err(Failure::DeviceLocked);
        }
        if let Some(expected) = &self.ctx.options.model
            && info.model != expected
        {
            return Err(Failure::ModelMismatch {
                found: info.model.into(),
                expected: expected.clone(),
            });
        }
        if let Some(minimum) = self.ctx.options.min_firmware
            && info.firmware_version < minimum
        {
            return Err(Failure::FirmwareTooOld {
                found: info.firmware_version,
                minimum,
            });
        }
        Ok(Hello {
            state: info.state,
            key_algorithm: info.key_algorithm,
            chip_id,
        })
    }

    pub(crate) async fn generate_key(
        &mut self,
        algorithm: KeyAlgorithm,
    ) -> Result<Vec<u8>, Failure> {
        let answer = self
            .call(Step::Keygen, &Request::GenerateKey { algorithm })
            .await?;
        match answer
            .response()
            .map_err(|e| Failure::link(Step::Keygen, e))?
        {
            Response::PublicKey { spki } => Ok(spki.to_vec()),
            _ => Err(unexpected(Step::Keygen)),
        }
    }

    async fn csr(
        &mut self,
        chip_id: &str,
        device_id: Option<&str>,
        spki: &[u8],
    ) -> Result<String, Failure> {
        let common_name = device_id.map_or_else(|| chip_id.to_ascii_uppercase(), str::to_string);
        let request = Request::GetCsr(CsrRequest {
            device_id: device_id.unwrap_or(""),
            common_name: &common_name,
            attributes: SubjectAttributes::none(),
        });
        let answer = self.call(Step::Csr, &request).await?;
        match answer.response().map_err(|e| Failure::link(Step::Csr, e))? {
            Response::Csr { der } => check_csr(der, spki),
            _ => Err(unexpected(Step::Csr)),
        }
    }

    async fn verify(&mut self, leaf: &[u8]) -> Result<(), Failure> {
        let mut nonce = [0u8; 32];
        aws_lc_rs::rand::fill(&mut nonce)
            .map_err(|_| Failure::Check("verify_failed", "no randomness for the nonce".into()))?;
        let answer = self
            .call(Step::Verify, &Request::Verify { nonce: &nonce })
            .await?;
        match answer
            .response()
            .map_err(|e| Failure::link(Step::Verify, e))?
        {
            Response::Signature { der } => check_proof(leaf, &nonce, der),
            _ => Err(unexpected(Step::Verify)),
        }
    }

    /// LOCK; if the device answers LOCKED (an earlier LOCK whose answer was
    /// lost), HELLO confirms the lock took effect.
    async fn lock(&mut self) -> Result<(), Failure> {
        match self.call(Step::Lock, &Request::Lock).await {
            Err(Failure::DeviceError(_, hallmark_protocol::ErrorCode::Locked, _)) => {
                let answer = self
                    .call(Step::Lock, &Request::Hello { versions: &[1] })
                    .await?;
                match answer
                    .response()
                    .map_err(|e| Failure::link(Step::Lock, e))?
                {
                    Response::HelloOk(info) if info.state == DeviceState::Locked => Ok(()),
                    _ => Err(unexpected(Step::Lock)),
                }
            }
            other => other.map(drop),
        }
    }
}

fn unexpected(step: Step) -> Failure {
    Failure::Protocol(step, "unexpected answer type".into())
}

fn pem_der(pem: &str) -> Result<Vec<u8>, Failure> {
    hallmark_pki::pem::decode(pem.as_bytes(), &["CERTIFICATE"])
        .map_err(|e| Failure::Check("chain_invalid", format!("the server's answer: {e}")))
}

/// The state's name in the report.
pub(crate) fn state_name(state: DeviceState) -> &'static str {
    match state {
        DeviceState::FactoryNew => "factory_new",
        DeviceState::KeyGenerated => "key_generated",
        DeviceState::CsrIssued => "csr_issued",
        DeviceState::Installed => "installed",
        DeviceState::Verified => "verified",
        DeviceState::Locked => "locked",
    }
}
