//! Station line time: `hallmark station run --sim N --parallel 16` against
//! the bench server, read back from the per-device JSON-lines report.
//!
//! `added_ms` is the station's own definition: the time a device holds its
//! fixture slot (until it is locked; the report to the server goes out
//! after) minus the device's own crypto work (key generation, CSR and
//! VERIFY signing).

use std::path::Path;
use std::process::Command;
use std::time::Instant;

use anyhow::{Context as _, Result, bail};

use crate::load::percentile;
use crate::server::{Server, hallmark, passphrase};

/// What the station run measured.
#[derive(Debug)]
pub struct StationResult {
    /// Median added time, ms.
    pub added_p50_ms: f64,
    /// 99th percentile added time, ms.
    pub added_p99_ms: f64,
    /// Provisioned devices per hour for this station (wall clock of the run).
    pub devices_per_hour: f64,
    /// Devices provisioned / attempted.
    pub provisioned: usize,
    /// Lines in the report.
    pub attempted: usize,
    /// Median of every `*_ms` field of provisioned devices, for the notes.
    pub breakdown: String,
}

/// Where the simulated devices keep their flash: under `/dev/shm` when the
/// machine has it. A real device's flash is not the station's disk; on the
/// same disk the 16 simulators' fsyncs queue behind the server's and the
/// station journal's, which is an artefact of running everything on one host.
fn sim_state_dir(dir: &Path) -> Result<tempfile::TempDir> {
    let shm = Path::new("/dev/shm");
    let base = if shm.is_dir() { shm } else { dir };
    Ok(tempfile::Builder::new()
        .prefix("hallmark-bench-sim-")
        .tempdir_in(base)?)
}

/// Enrolls a station home under `dir` and runs `devices` simulated devices.
pub fn run(server: &mut Server, dir: &Path, devices: u32, parallel: u32) -> Result<StationResult> {
    let token = server.tokens.pop().context("no station token left")?;
    let home = dir.join("station");
    let root = dir.join("root.pem");
    std::fs::write(&root, &server.root_pem)?;
    let h = home.to_str().context("non-UTF-8 path")?;
    let root_s = root.to_str().context("non-UTF-8 path")?;
    hallmark(
        &server.bin,
        &[
            "--home",
            h,
            "station",
            "enroll",
            "--server",
            &server.https,
            "--root",
            root_s,
            "--token",
            &token,
        ],
    )?;
    let sim_state = sim_state_dir(dir)?;
    let report = dir.join("station-report.jsonl");
    let start = Instant::now();
    let out = Command::new(&server.bin)
        .args(["--home", h, "station", "run", "--sim", &devices.to_string()])
        .args(["--parallel", &parallel.to_string(), "--sim-state"])
        .arg(sim_state.path())
        .arg("--report")
        .arg(&report)
        .env("HALLMARK_PASSPHRASE", passphrase())
        .env_remove("HALLMARK_HOME")
        .output()?;
    let wall = start.elapsed().as_secs_f64();
    let text = std::fs::read_to_string(&report).unwrap_or_default();
    if text.is_empty() && !out.status.success() {
        bail!(
            "station run failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let mut added = Vec::new();
    let mut steps: std::collections::BTreeMap<String, Vec<f64>> = Default::default();
    let mut attempted = 0;
    for line in text.lines().filter(|l| !l.trim().is_empty()) {
        attempted += 1;
        let v: serde_json::Value = serde_json::from_str(line)?;
        if v["status"] == "provisioned" {
            added.push(v["added_ms"].as_f64().context("added_ms")?);
            for (k, x) in v.as_object().into_iter().flatten() {
                if let (true, Some(x)) = (k.ends_with("_ms"), x.as_f64()) {
                    steps.entry(k.clone()).or_default().push(x);
                }
            }
        }
    }
    added.sort_by(f64::total_cmp);
    let breakdown = steps
        .iter_mut()
        .map(|(k, xs)| {
            xs.sort_by(f64::total_cmp);
            format!("{k} {:.1}/{:.1}", percentile(xs, 0.5), percentile(xs, 0.99))
        })
        .collect::<Vec<_>>()
        .join(", ");
    Ok(StationResult {
        breakdown,
        added_p50_ms: percentile(&added, 0.50),
        added_p99_ms: percentile(&added, 0.99),
        devices_per_hour: added.len() as f64 / wall * 3600.0,
        provisioned: added.len(),
        attempted,
    })
}
