//! `hallmark-bench`: Hallmark's benchmark driver (see `docs/benchmarks.md`).
//!
//! Measures, in one run and on loopback only, the crypto floor, EST issuance
//! at 1/8/32 clients against a `hallmark serve` release subprocess, peers
//! (`openssl x509 -req`, `cfssl serve`), OCSP, a 100k-entry CRL, audit log
//! verification and the station's added line time. Every phase is bounded in
//! time; what cannot be measured is `null` with a reason under `notes`.
//! Prints a markdown table and writes JSON (`--out`).

mod est;
mod floor;
mod load;
mod peers;
mod report;
mod server;
mod station;

use std::path::PathBuf;
use std::time::Duration;

use anyhow::Result;
use clap::Parser;
use serde_json::{Map, Value, json};

/// Command line.
#[derive(Debug, Parser)]
#[command(about = "Hallmark benchmark driver")]
struct Args {
    /// Shorter phases (a few minutes on 2 cores).
    #[arg(long)]
    quick: bool,
    /// Where to write the JSON results.
    #[arg(long, default_value = "target/bench.json")]
    out: PathBuf,
    /// The `hallmark` release binary.
    #[arg(long, default_value = "target/release/hallmark")]
    hallmark: PathBuf,
}

/// Standard base64 (EST bodies, PEM).
pub fn b64(der: &[u8]) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD.encode(der)
}

/// Results and the reasons for the missing ones.
#[derive(Debug, Default)]
pub struct Results {
    /// Metric name → number or null.
    pub values: Map<String, Value>,
    /// Metric name → why it is null or caveated.
    pub notes: Map<String, Value>,
}

impl Results {
    fn set(&mut self, key: &str, v: f64) {
        self.values
            .insert(key.into(), json!((v * 1000.0).round() / 1000.0));
    }
    fn fail(&mut self, keys: &[&str], why: &anyhow::Error) {
        for k in keys {
            self.values.insert((*k).into(), Value::Null);
            self.notes.insert((*k).into(), json!(format!("{why:#}")));
        }
        eprintln!("bench: {keys:?} not measured: {why:#}");
    }
    fn note(&mut self, key: &str, text: String) {
        self.notes.insert(key.into(), json!(text));
    }
}

#[tokio::main]
async fn main() -> Result<()> {
    let args = Args::parse();
    let threads = std::thread::available_parallelism().map_or(1, usize::from);
    let secs = |quick: u64, full: u64| Duration::from_secs(if args.quick { quick } else { full });
    let mut r = Results::default();
    let tmp = tempfile::tempdir()?;

    eprintln!("bench: generating CSRs");
    let csrs = load::make_csrs(if args.quick { 24_000 } else { 60_000 }, threads)?;

    eprintln!("bench: crypto floor ({threads} threads)");
    match floor::crypto_floor(&csrs[..4096.min(csrs.len())], secs(1, 3), threads) {
        Ok(v) => r.set("crypto_floor_certs_per_s", v),
        Err(e) => r.fail(&["crypto_floor_certs_per_s"], &e),
    }

    eprintln!("bench: EST and OCSP against hallmark serve");
    let est_keys = [
        "est_c1_certs_per_s",
        "est_c1_p50_ms",
        "est_c1_p99_ms",
        "est_c8_certs_per_s",
        "est_c8_p50_ms",
        "est_c8_p99_ms",
        "est_c32_certs_per_s",
        "est_c32_p50_ms",
        "est_c32_p99_ms",
        "server_rss_mb",
    ];
    let served_keys = [
        "ocsp_c32_per_s",
        "station_added_ms_p50",
        "station_added_ms_p99",
        "station_devices_per_hour",
    ];
    let (est_csrs, rest) = csrs.split_at(csrs.len() * 2 / 3);
    match server::Server::start(&args.hallmark, tmp.path()).await {
        Err(e) => {
            r.fail(&est_keys, &e);
            r.fail(&served_keys, &e);
        }
        Ok(mut srv) => {
            match est::est(&mut srv, est_csrs, &[1, 8, 32], secs(2, 5)).await {
                Err(e) => r.fail(&est_keys, &e),
                Ok(levels) => {
                    for (c, res, cpu_ms) in levels {
                        if let Some(cpu) = cpu_ms {
                            r.set(&format!("est_c{c}_server_cpu_ms_per_cert"), cpu);
                        }
                        r.set(&format!("est_c{c}_certs_per_s"), res.per_s);
                        r.set(&format!("est_c{c}_p50_ms"), res.p50_ms);
                        r.set(&format!("est_c{c}_p99_ms"), res.p99_ms);
                        report::caveats(&mut r, &format!("est_c{c}_certs_per_s"), &res);
                    }
                    match srv.peak_rss_mb() {
                        Ok(v) => r.set("server_rss_mb", v),
                        Err(e) => r.fail(&["server_rss_mb"], &e),
                    }
                }
            }
            match est::ocsp(&srv, tmp.path(), &rest[0], 32, secs(2, 5)).await {
                Ok(res) => {
                    r.set("ocsp_c32_per_s", res.per_s);
                    r.set("ocsp_c32_p99_ms", res.p99_ms);
                    report::caveats(&mut r, "ocsp_c32_per_s", &res);
                }
                Err(e) => r.fail(&["ocsp_c32_per_s"], &e),
            }
            eprintln!("bench: station run (64 simulated devices, 16 parallel)");
            let station_keys = [
                "station_added_ms_p50",
                "station_added_ms_p99",
                "station_devices_per_hour",
            ];
            match station::run(&mut srv, tmp.path(), 64, 16) {
                Ok(s) => {
                    r.set("station_added_ms_p50", s.added_p50_ms);
                    r.set("station_added_ms_p99", s.added_p99_ms);
                    r.set("station_devices_per_hour", s.devices_per_hour);
                    r.note(
                        "station_added_ms_p50",
                        format!("per-device medians, ms: {}", s.breakdown),
                    );
                    if s.provisioned != s.attempted || s.attempted == 0 {
                        r.note(
                            "station_added_ms_p99",
                            format!("{} of {} devices provisioned", s.provisioned, s.attempted),
                        );
                    }
                }
                Err(e) => r.fail(&station_keys, &e),
            }
        }
    }

    eprintln!("bench: openssl x509 -req");
    let peer_dir = tmp.path().join("openssl");
    std::fs::create_dir_all(&peer_dir)?;
    match peers::openssl_cli(&peer_dir, rest, secs(2, 3)) {
        Ok(v) => r.set("openssl_cli_certs_per_s", v),
        Err(e) => r.fail(&["openssl_cli_certs_per_s"], &e),
    }

    eprintln!("bench: cfssl serve");
    let cfssl_dir = tmp.path().join("cfssl");
    std::fs::create_dir_all(&cfssl_dir)?;
    match peers::cfssl(&cfssl_dir, &rest[1..], 32, secs(2, 5)).await {
        Ok(res) => {
            r.set("cfssl_c32_certs_per_s", res.per_s);
            r.set("cfssl_c32_p99_ms", res.p99_ms);
            report::caveats(&mut r, "cfssl_c32_certs_per_s", &res);
        }
        Err(e) => r.fail(&["cfssl_c32_certs_per_s"], &e),
    }

    eprintln!("bench: CRL with 100,000 entries");
    match floor::crl_seconds(100_000) {
        Ok(v) => r.set("crl_100k_s", v),
        Err(e) => r.fail(&["crl_100k_s"], &e),
    }
    eprintln!("bench: audit verify, 1,000,000 entries");
    match floor::audit_entries_per_s(1_000_000) {
        Ok(v) => r.set("audit_verify_entries_per_s", v),
        Err(e) => r.fail(&["audit_verify_entries_per_s"], &e),
    }
    r.note(
        "postgresql",
        "not measured: Hallmark has no PostgreSQL backend yet".into(),
    );

    let table = report::table(&r);
    println!("{table}");
    let mut doc = r.values.clone();
    doc.insert("threads".into(), json!(threads));
    doc.insert("quick".into(), json!(args.quick));
    doc.insert("notes".into(), Value::Object(r.notes.clone()));
    if let Some(dir) = args.out.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir)?;
    }
    std::fs::write(
        &args.out,
        serde_json::to_string_pretty(&Value::Object(doc))?,
    )?;
    eprintln!("bench: wrote {}", args.out.display());
    Ok(())
}
