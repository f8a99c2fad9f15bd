//! The provisioning driver: `hallmark station run`.
//!
//! For each device on the line (a TCP address: a simulator, or a serial
//! bridge), one session: HELLO → model and firmware checks →
//! GENERATE_KEY → GET_CSR → enrollment with the Hallmark server → INSTALL →
//! VERIFY (a fresh 32-byte challenge, checked with the key in the installed
//! certificate) → LOCK → report the installation to the server. Up to
//! [`RunOptions::parallel`] devices at once (tokio tasks and a semaphore).
//!
//! Nothing is lost on failure:
//!
//! * every command is idempotent on the device, which keeps its key across
//!   a drop; a retried enrollment with the same key gets the same
//!   certificate back from the server (`resumed`);
//! * a certificate issued but not installed is reported to the server
//!   (`not-installed`) and installed by a later run;
//! * the chain is written to the station's journal before INSTALL, so a
//!   device that dropped after INSTALL is finished by a later run;
//! * a LOCKED device is never provisioned again (`device_locked`);
//!   firmware below the minimum is refused before a key is made;
//! * when the server is unreachable the run stops taking devices: devices
//!   not started are `not_attempted`, in-flight ones that had not enrolled
//!   are left (`abandoned_server_unreachable`), the others finish.
//!
//! Statuses: `provisioned`, `device_unreachable`, `link_lost_at_<command>`,
//! `device_timeout_at_<command>`, `device_error_at_<command>`,
//! `protocol_error_at_<command>`, `device_locked`, `firmware_too_old`,
//! `model_mismatch`, `installed_certificate_unknown`,
//! `server_refused_<reason>`, `server_unreachable`, `server_error`,
//! `csr_invalid`, `chain_invalid`, `verify_failed`, `journal_failed`,
//! `abandoned_server_unreachable`, `installed_not_reported`,
//! `key_import_unsupported`, `keygen_failed`, `not_attempted`. Times: see
//! [`DeviceRecord`].
//!
//! With [`RunOptions::keygen`] = [`KeyOrigin::Station`] the station makes a
//! factory-new device's key and installs it with IMPORT_KEY instead of
//! GENERATE_KEY (module `keygen`); every record carries `key_origin` and
//! `public_key_sha256`.

mod checks;
mod failure;
mod journal;
mod keygen;
mod link;
mod record;
pub mod stats;
mod steps;

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use hallmark_protocol::SemVer;
use tokio::sync::{OwnedSemaphorePermit, Semaphore, mpsc};

pub use record::{DeviceRecord, KeyOrigin, PROVISIONED, Step, StepTimes};

use crate::api::DeviceEnrollment;
use crate::files::pem_certificates;
use crate::offline::OfflineIssuer;
use crate::{Error, StationClient, StationHome};
use checks::ChainVerifier;
use failure::Failure;
use journal::Journal;
use record::ms;

/// How long to wait for the device, per command (§3.5's suggestions).
#[derive(Clone, Copy, Debug)]
pub struct Timeouts {
    /// Connecting.
    pub connect: Duration,
    /// HELLO, INSTALL, LOCK.
    pub command: Duration,
    /// GENERATE_KEY.
    pub keygen: Duration,
    /// GET_CSR and VERIFY (signing).
    pub sign: Duration,
}

impl Default for Timeouts {
    fn default() -> Self {
        Self {
            connect: Duration::from_secs(5),
            command: Duration::from_secs(2),
            keygen: Duration::from_secs(10),
            sign: Duration::from_secs(5),
        }
    }
}

impl Timeouts {
    fn for_step(&self, step: Step) -> Duration {
        match step {
            Step::Keygen => self.keygen,
            Step::Csr | Step::Verify => self.sign,
            _ => self.command,
        }
    }
}

/// What a run does.
#[derive(Clone, Debug)]
pub struct RunOptions {
    /// Devices provisioned at once (at least 1).
    pub parallel: usize,
    /// Refuse firmware below this (before any key is made).
    pub min_firmware: Option<SemVer>,
    /// Refuse devices reporting another model.
    pub model: Option<String>,
    /// The stamp's endpoint: where devices connect in the field.
    pub endpoint: String,
    /// For orders whose device ids come from the station (pattern orders):
    /// the id, with `{chip}` (the chip id, upper-case hex) and `{model}`.
    pub device_id_format: String,
    /// Device timeouts.
    pub timeouts: Timeouts,
    /// Where device keys are made: on the device (the default) or by the
    /// station, installed with IMPORT_KEY (see `keygen`).
    pub keygen: KeyOrigin,
}

impl Default for RunOptions {
    fn default() -> Self {
        Self {
            parallel: 8,
            min_firmware: None,
            model: None,
            endpoint: "mqtts://iot.example.com:8883".into(),
            device_id_format: "{model}-{chip}".into(),
            timeouts: Timeouts::default(),
            keygen: KeyOrigin::Device,
        }
    }
}

/// The outcome of a run.
#[derive(Debug)]
pub struct RunOutcome {
    /// One record per device, in the order they finished.
    pub records: Vec<DeviceRecord>,
    /// Why the run stopped taking devices, if it did.
    pub stopped: Option<String>,
    /// Wall time of the run.
    pub elapsed: Duration,
}

impl RunOutcome {
    /// How many devices were provisioned.
    pub fn provisioned(&self) -> usize {
        self.records.iter().filter(|r| r.is_provisioned()).count()
    }
}

/// What every device session shares.
#[derive(Debug)]
pub(crate) struct Context {
    client: StationClient,
    /// `--offline`: certificates come from the station's sub-CA, and
    /// installations are recorded in the run's report only.
    offline: Option<OfflineIssuer>,
    verifier: ChainVerifier,
    journal: Option<Journal>,
    options: RunOptions,
    /// The order takes device ids from the station.
    station_ids: bool,
    stop: Mutex<Option<String>>,
}

impl Context {
    fn stopping(&self) -> Option<String> {
        self.stop.lock().ok().and_then(|s| s.clone())
    }

    fn stop(&self, why: String) {
        if let Ok(mut stop) = self.stop.lock()
            && stop.is_none()
        {
            *stop = Some(why);
        }
    }

    fn requested_device_id(&self, chip_id: &str, record: &DeviceRecord) -> Option<String> {
        self.station_ids.then(|| {
            self.options
                .device_id_format
                .replace("{chip}", &chip_id.to_ascii_uppercase())
                .replace("{model}", record.model.as_deref().unwrap_or("device"))
        })
    }
}

/// Enrolls, waiting out `rate_limited` refusals (`Retry-After`); offline,
/// issues with the station's sub-CA.
async fn enroll(
    ctx: &Context,
    csr_pem: &str,
    device_id: Option<&str>,
    key_origin: KeyOrigin,
) -> Result<DeviceEnrollment, Error> {
    if let Some(issuer) = &ctx.offline {
        let now = crate::home::unix_now();
        return issuer
            .enroll(csr_pem, device_id, key_origin.name(), now)
            .await;
    }
    let origin = (key_origin == KeyOrigin::Station).then_some(key_origin.name());
    let mut attempts = 0;
    loop {
        match ctx
            .client
            .enroll_device_with(csr_pem, device_id, origin)
            .await
        {
            Err(Error::Refused {
                reason,
                retry_after,
                ..
            }) if reason == "rate_limited" && attempts < 30 => {
                attempts += 1;
                let wait = retry_after.unwrap_or(1).clamp(1, 30);
                tokio::time::sleep(Duration::from_secs(wait)).await;
            }
            other => return other,
        }
    }
}

/// Provisions devices for one station.
#[derive(Debug)]
pub struct Provisioner {
    ctx: Arc<Context>,
}

impl Provisioner {
    /// A provisioner using `client` (authenticated as the station), trusting
    /// `roots` for device chains, journaling in `journal_dir` (see the
    /// module docs; `None`: no journal). Asks the server for the station's
    /// order (which tells whether device ids come from the station).
    ///
    /// # Errors
    ///
    /// The server cannot be asked ([`Error::Unreachable`], …), or `roots`
    /// is unusable.
    pub async fn new(
        client: StationClient,
        roots: &[Vec<u8>],
        journal_dir: Option<&Path>,
        options: RunOptions,
    ) -> Result<Self, Error> {
        let verifier = ChainVerifier::new(roots)?;
        let me = client.whoami().await?;
        let order = client.order(&me.order_id).await?;
        Ok(Self {
            ctx: Arc::new(Context {
                client,
                offline: None,
                verifier,
                journal: journal_dir.map(Journal::new),
                options,
                station_ids: order.device_ids.kind == "pattern",
                stop: Mutex::new(None),
            }),
        })
    }

    /// A provisioner for the station in `home`: its client, its root, and
    /// its journal in `home/journal`.
    ///
    /// # Errors
    ///
    /// As [`StationHome::client`] and [`Provisioner::new`].
    pub async fn for_home(home: &StationHome, options: RunOptions) -> Result<Self, Error> {
        let root_path = home.dir().join(&home.config().root);
        let pem = std::fs::read(&root_path).map_err(|source| Error::Io {
            path: root_path.clone(),
            source,
        })?;
        let roots = pem_certificates(&pem, "root.pem")?;
        let journal: PathBuf = home.dir().join("journal");
        Self::new(home.client()?, &roots, Some(&journal), options).await
    }

    /// A provisioner for the station in `home` that issues offline with the
    /// sub-CA granted in `grant_dir` (see [`crate::offline`]); it never
    /// contacts the server.
    ///
    /// # Errors
    ///
    /// The grant, its key or the log cannot be opened.
    pub fn offline(
        home: &StationHome,
        grant_dir: &Path,
        options: RunOptions,
    ) -> Result<Self, Error> {
        let issuer = OfflineIssuer::open(home, grant_dir)?;
        let station_ids = matches!(
            issuer.grant().device_ids,
            crate::offline::GrantDeviceIds::Pattern(_)
        );
        Ok(Self {
            ctx: Arc::new(Context {
                client: home.client()?,
                offline: Some(issuer),
                verifier: ChainVerifier::new(home.roots())?,
                journal: Some(Journal::new(&grant_dir.join("journal"))),
                options,
                station_ids,
                stop: Mutex::new(None),
            }),
        })
    }

    /// Provisions every device in `addresses`, calling `on_record` as each
    /// one finishes.
    pub async fn run(
        &self,
        addresses: Vec<String>,
        mut on_record: impl FnMut(&DeviceRecord),
    ) -> RunOutcome {
        let started = Instant::now();
        let permits = Arc::new(Semaphore::new(self.ctx.options.parallel.max(1)));
        let (tx, mut rx) = mpsc::unbounded_channel();
        for address in addresses {
            let (ctx, permits, tx) = (Arc::clone(&self.ctx), Arc::clone(&permits), tx.clone());
            tokio::spawn(async move {
                // Closed only if the semaphore were closed, which it never is.
                let permit = permits.acquire_owned().await.ok();
                let record = provision_one(&ctx, address, permit).await;
                let _ = tx.send(record);
            });
        }
        drop(tx);
        let mut records = Vec::new();
        while let Some(record) = rx.recv().await {
            on_record(&record);
            records.push(record);
        }
        RunOutcome {
            records,
            stopped: self.ctx.stopping(),
            elapsed: started.elapsed(),
        }
    }
}

/// One of the [`RunOptions::parallel`] fixture slots, held by a device's
/// session. It is released once the device is locked: the report to the
/// server then goes out while the next device already uses the slot.
pub(crate) struct FixtureSlot {
    permit: Option<OwnedSemaphorePermit>,
    started: Instant,
    held: Option<Duration>,
}

impl FixtureSlot {
    /// Frees the slot for the next device (once; later calls do nothing).
    pub(crate) fn release(&mut self) {
        if self.held.is_none() {
            self.held = Some(self.started.elapsed());
            drop(self.permit.take());
        }
    }

    /// How long the slot was held: until [`release`](Self::release), or
    /// until now when it was not released.
    fn held(&self) -> Duration {
        self.held.unwrap_or_else(|| self.started.elapsed())
    }
}

async fn provision_one(
    ctx: &Context,
    address: String,
    permit: Option<OwnedSemaphorePermit>,
) -> DeviceRecord {
    let mut record = DeviceRecord {
        address: address.clone(),
        ..DeviceRecord::default()
    };
    if let Some(why) = ctx.stopping() {
        record.status = "not_attempted".into();
        record.error = Some(format!("the run stopped taking devices: {why}"));
        return record;
    }
    let mut slot = FixtureSlot {
        permit,
        started: Instant::now(),
        held: None,
    };
    let result = match link::DeviceLink::connect(&address, ctx.options.timeouts.connect).await {
        Ok(link) => {
            let mut session = steps::Session {
                ctx,
                link,
                record: &mut record,
                slot: &mut slot,
            };
            session.provision().await
        }
        Err(e) => Err(Failure::link(Step::Hello, e)),
    };
    match result {
        Ok(()) => record.status = PROVISIONED.into(),
        Err(failure) => {
            if failure.stops_run() {
                ctx.stop(failure.message());
            }
            record.status = failure.status();
            record.error = Some(failure.message());
        }
    }
    record.total_ms = ms(slot.started.elapsed().as_secs_f64() * 1000.0);
    record.fixture_ms = ms(slot.held().as_secs_f64() * 1000.0);
    record.device_ms = record.times.sum(Step::is_device_work);
    record.server_ms = record.times.sum(Step::is_server);
    record.added_ms = ms(record.fixture_ms - record.device_ms);
    record
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    /// Releasing frees the permit for the next device at once and fixes
    /// the held time; a second release changes nothing.
    #[tokio::test]
    async fn a_released_slot_frees_its_permit_and_keeps_its_time() {
        let permits = Arc::new(Semaphore::new(1));
        let mut slot = FixtureSlot {
            permit: Some(Arc::clone(&permits).acquire_owned().await.unwrap()),
            started: Instant::now(),
            held: None,
        };
        assert_eq!(permits.available_permits(), 0);
        slot.release();
        assert_eq!(permits.available_permits(), 1);
        let held = slot.held();
        tokio::time::sleep(Duration::from_millis(5)).await;
        slot.release();
        assert_eq!(slot.held(), held, "the first release counts");
        assert_eq!(permits.available_permits(), 1);
    }
}
