//! `hallmark station run`: provision the devices on the line with the
//! station credential in `--home` (see `hallmark_station::run`).
//!
//! On a terminal a progress bar (rate, ETA) on stderr; otherwise one line
//! per device on stdout. At the end: the status counts and the per-step
//! p50/p99 table. `--report FILE` gets one JSON line per device. The exit
//! status is non-zero when any device was not provisioned.

use std::io::{IsTerminal as _, Write as _};
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{Context, Result, bail};
use hallmark_sim::{SimConfig, SimHandle, parse_semver, spawn_sim};
use hallmark_station::StationHome;
use hallmark_station::run::{DeviceRecord, KeyOrigin, Provisioner, RunOptions, RunOutcome, stats};

use crate::cli::StationRunArgs;

pub async fn run(home: Option<&Path>, args: StationRunArgs) -> Result<()> {
    let dir = home
        .context("give the station's home: --home DIR (made by `hallmark station enroll`)")?
        .to_path_buf();
    let options = RunOptions {
        parallel: args.parallel.max(1),
        min_firmware: args.min_firmware.as_deref().map(parse_semver).transpose()?,
        model: args.model.clone(),
        endpoint: args.endpoint.clone(),
        keygen: KeyOrigin::from_name(&args.keygen)
            .with_context(|| format!("--keygen {:?}: device or station", args.keygen))?,
        ..RunOptions::default()
    };
    let opened = dir.clone();
    let mut station = tokio::task::spawn_blocking(move || StationHome::open(&opened))
        .await?
        .with_context(|| format!("cannot open the station home {}", dir.display()))?;
    let grant = if args.offline {
        Some(super::station_offline::grant_dir(
            &dir,
            args.grant.as_deref(),
        )?)
    } else {
        // A station certificate lives a day at most: renew before a long run.
        station
            .renew_if_due(None)
            .await
            .map_err(|e| anyhow::Error::new(e).context(no_device_started()))?;
        None
    };

    let mut scratch = None;
    let mut sims = Vec::new();
    let addresses = match args.sim {
        Some(count) => {
            let root = match &args.sim_state {
                Some(root) => root.clone(),
                None => {
                    let tmp = tempfile::Builder::new().prefix("hallmark-sim-").tempdir()?;
                    let path = tmp.path().to_path_buf();
                    scratch = Some(tmp);
                    path
                }
            };
            let delay = Duration::from_millis(args.sim_keygen_delay);
            sims = spawn_sims(&root, count, delay, |config| config).await?;
            sims.iter().map(SimHandle::url).collect()
        }
        None => args.devices.clone(),
    };

    let provisioner = match &grant {
        Some(grant) => Provisioner::offline(&station, grant, options),
        None => Provisioner::for_home(&station, options).await,
    }
    .map_err(|e| anyhow::Error::new(e).context(no_device_started()))?;
    let outcome = drive(&provisioner, addresses, args.report.as_deref(), false).await?;
    print_summary(&outcome);
    tokio::task::spawn_blocking(move || drop(sims)).await?;
    drop(scratch);
    check(&outcome)
}

fn no_device_started() -> &'static str {
    "cannot start provisioning (no device was touched)"
}

/// Starts `count` simulated devices with state in `root/dev-NNNN`;
/// `adjust` may change each one's configuration.
pub(crate) async fn spawn_sims(
    root: &Path,
    count: usize,
    keygen_delay: Duration,
    adjust: impl Fn(SimConfig) -> SimConfig + Send + 'static,
) -> Result<Vec<SimHandle>> {
    let root: PathBuf = root.to_path_buf();
    tokio::task::spawn_blocking(move || {
        (0..count)
            .map(|i| {
                let config = SimConfig {
                    keygen_delay,
                    ..SimConfig::new(root.join(format!("dev-{i:04}")))
                };
                spawn_sim(adjust(config)).context("cannot start a simulated device")
            })
            .collect()
    })
    .await?
}

/// Runs the provisioner over `addresses` with progress output, writing the
/// JSON-lines report if asked. `quiet`: without a terminal, print only the
/// devices that failed.
pub(crate) async fn drive(
    provisioner: &Provisioner,
    addresses: Vec<String>,
    report: Option<&Path>,
    quiet: bool,
) -> Result<RunOutcome> {
    let mut report = match report {
        Some(path) => Some(std::io::BufWriter::new(
            std::fs::File::create(path)
                .with_context(|| format!("cannot create the report {}", path.display()))?,
        )),
        None => None,
    };
    let bar = std::io::stderr().is_terminal().then(|| {
        let bar = indicatif::ProgressBar::new(addresses.len() as u64);
        if let Ok(style) = indicatif::ProgressStyle::with_template(
            "{bar:40} {pos}/{len} devices  {per_sec}  ETA {eta}  {msg}",
        ) {
            bar.set_style(style);
        }
        bar
    });
    let mut write_error = None;
    let mut failed = 0usize;
    let outcome = provisioner
        .run(addresses, |record| {
            if !record.is_provisioned() {
                failed += 1;
            }
            match &bar {
                Some(bar) => {
                    bar.inc(1);
                    if failed > 0 {
                        bar.set_message(format!("{failed} failed"));
                    }
                    if !record.is_provisioned() {
                        bar.println(line(record));
                    }
                }
                None if quiet && record.is_provisioned() => {}
                None => println!("{}", line(record)),
            }
            if let Some(out) = report.as_mut()
                && let Err(e) = serde_json::to_writer(&mut *out, record)
                    .map_err(std::io::Error::from)
                    .and_then(|()| out.write_all(b"\n"))
            {
                write_error.get_or_insert(e);
            }
        })
        .await;
    if let Some(bar) = bar {
        bar.finish_and_clear();
    }
    if let Some(mut out) = report {
        out.flush().context("cannot write the report")?;
    }
    if let Some(e) = write_error {
        return Err(e).context("cannot write the report");
    }
    Ok(outcome)
}

/// One device, one line.
fn line(record: &DeviceRecord) -> String {
    let mut text = format!(
        "{:<13} {:<32} {} {:>8.1} ms",
        if record.is_provisioned() {
            "provisioned"
        } else {
            "FAILED"
        },
        record.device_id.as_deref().unwrap_or("-"),
        record.address,
        record.total_ms
    );
    if !record.is_provisioned() {
        text.push_str(&format!(
            "  {}: {}",
            record.status,
            record.error.as_deref().unwrap_or("")
        ));
    }
    text
}

/// The closing summary: counts, rate, stop reason, timing table.
pub(crate) fn print_summary(outcome: &RunOutcome) {
    let total = outcome.records.len();
    let provisioned = outcome.provisioned();
    let seconds = outcome.elapsed.as_secs_f64();
    println!(
        "\nprovisioned {provisioned} of {total} devices in {seconds:.2} s ({:.1} devices/s)",
        provisioned as f64 / seconds.max(1e-9)
    );
    for (status, count) in stats::status_counts(&outcome.records) {
        println!("  {count:>6}  {status}");
    }
    if let Some(why) = &outcome.stopped {
        println!("STOPPED taking devices: {why}");
    }
    print!("{}", stats::table(&outcome.records));
}

/// Fails when any device was not provisioned.
pub(crate) fn check(outcome: &RunOutcome) -> Result<()> {
    let failed = outcome.records.len() - outcome.provisioned();
    if let Some(why) = &outcome.stopped {
        bail!("the run stopped taking devices because {why}; {failed} device(s) not provisioned");
    }
    if failed > 0 {
        bail!(
            "{failed} of {} device(s) were not provisioned",
            outcome.records.len()
        );
    }
    Ok(())
}
