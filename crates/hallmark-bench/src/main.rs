//! `hallmark-bench`: Hallmark's benchmark driver (see `docs/benchmarks.md`).
//!
//! Measures, in one run and on loopback only, the crypto floor, EST issuance
//! at 1/8/32 clients against a `hallmark serve` release subprocess (SQLite,
//! software keys), the same with CA keys in SoftHSM2, on PostgreSQL with one
//! and two server nodes, peers (`openssl x509 -req`, `cfssl serve`), OCSP, a
//! 100k-entry CRL, audit log verification and the station's added line time.
//! `--only` picks phases. Every phase is bounded in time; what cannot be
//! measured is `null` with a reason under `notes`. Prints a markdown table
//! and writes JSON (`--out`).

mod est;
mod floor;
mod load;
mod peers;
mod pg;
mod report;
mod server;
mod softhsm;
mod station;

use std::path::PathBuf;
use std::time::Duration;

use anyhow::Result;
use clap::{Parser, ValueEnum};
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
    /// Only these phases (comma-separated); default all. The crypto floor
    /// always runs (1-3 s): ratios and CSR pool sizes need it.
    #[arg(long, value_enum, value_delimiter = ',')]
    only: Vec<Phase>,
    /// PostgreSQL server for the `postgres` phase (trust auth, no password);
    /// a database of its own is created there and dropped at the end.
    #[arg(
        long,
        env = "HALLMARK_BENCH_PG",
        default_value = "postgres://postgres@127.0.0.1:5432/postgres"
    )]
    postgres: String,
}

/// The phases of a run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Phase {
    /// In-process crypto floor (always run).
    Floor,
    /// EST at 1/8/32 clients, SQLite, software keys.
    Est,
    /// OCSP on the same server.
    Ocsp,
    /// `hallmark station run --sim` against the same server.
    Station,
    /// `openssl x509 -req`, one process per certificate.
    Openssl,
    /// `cfssl serve`.
    Cfssl,
    /// A 100k-entry CRL, in process.
    Crl,
    /// Audit log verification, in process.
    Audit,
    /// EST with CA keys in a fresh SoftHSM2 token.
    Softhsm,
    /// EST on PostgreSQL, one and two server nodes.
    Postgres,
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
        // The reason once, under the first key; the others point to it.
        for (i, k) in keys.iter().enumerate() {
            self.values.insert((*k).into(), Value::Null);
            let note = match i {
                0 => format!("{why:#}"),
                _ => format!("not measured: see `{}`", keys[0]),
            };
            self.notes.insert((*k).into(), json!(note));
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
    let on = |p: Phase| args.only.is_empty() || args.only.contains(&p);
    let threads = std::thread::available_parallelism().map_or(1, usize::from);
    let secs = |quick: u64, full: u64| Duration::from_secs(if args.quick { quick } else { full });
    let mut r = Results::default();
    let tmp = tempfile::tempdir()?;
    // Until the floor is measured: well above any rate seen on 2 cores.
    let mut pool = load::CsrPool::new(threads, 20_000.0);

    eprintln!("bench: crypto floor ({threads} threads)");
    let floor_csrs = pool.any(4096)?.to_vec();
    match floor::crypto_floor(&floor_csrs, secs(1, 3), threads) {
        Ok(v) => {
            r.set("crypto_floor_certs_per_s", v);
            // CPU per certificate of the floor (all threads busy).
            r.set("crypto_floor_cpu_ms_per_cert", threads as f64 * 1e3 / v);
            pool.set_ceiling(v);
        }
        Err(e) => r.fail(&["crypto_floor_certs_per_s"], &e),
    }

    if on(Phase::Est) || on(Phase::Ocsp) || on(Phase::Station) {
        serve_phases(&args, &on, tmp.path(), &mut pool, &mut r, secs(2, 5)).await;
    }
    if on(Phase::Softhsm) {
        eprintln!("bench: EST with CA keys in SoftHSM2");
        let dir = tmp.path().join("softhsm");
        softhsm_phase(&args.hallmark, &dir, &mut pool, &mut r, secs(2, 5)).await;
    }
    if on(Phase::Postgres) {
        eprintln!("bench: EST on PostgreSQL, 1 and 2 nodes");
        let dir = tmp.path().join("postgres");
        postgres_phase(&args, &dir, &mut pool, &mut r, secs(2, 5)).await;
    }

    if on(Phase::Openssl) {
        eprintln!("bench: openssl x509 -req");
        let peer_dir = tmp.path().join("openssl");
        std::fs::create_dir_all(&peer_dir)?;
        // Round-robin over a few CSRs: nothing is recorded, reuse is harmless.
        let csrs = pool.any(256)?.to_vec();
        match peers::openssl_cli(&peer_dir, &csrs, secs(2, 3)) {
            Ok(v) => r.set("openssl_cli_certs_per_s", v),
            Err(e) => r.fail(&["openssl_cli_certs_per_s"], &e),
        }
    }

    if on(Phase::Cfssl) {
        eprintln!("bench: cfssl serve");
        let cfssl_dir = tmp.path().join("cfssl");
        std::fs::create_dir_all(&cfssl_dir)?;
        let csrs = pool.fresh(secs(2, 5))?.to_vec();
        match peers::cfssl(&cfssl_dir, &csrs, 32, secs(2, 5)).await {
            Ok((res, server_cpu)) => {
                pool.consume(res.used);
                if let Some(cpu) = server_cpu {
                    r.set("cfssl_c32_server_cpu_ms_per_cert", cpu);
                }
                if let Some(cpu) = res.client_cpu_ms {
                    r.set("cfssl_c32_client_cpu_ms_per_cert", cpu);
                }
                r.set("cfssl_c32_certs_per_s", res.per_s);
                r.set("cfssl_c32_p99_ms", res.p99_ms);
                report::caveats(&mut r, "cfssl_c32_certs_per_s", &res);
            }
            Err(e) => r.fail(&["cfssl_c32_certs_per_s"], &e),
        }
    }

    if on(Phase::Crl) {
        eprintln!("bench: CRL with 100,000 entries");
        match floor::crl_seconds(100_000) {
            Ok(v) => r.set("crl_100k_s", v),
            Err(e) => r.fail(&["crl_100k_s"], &e),
        }
    }
    if on(Phase::Audit) {
        eprintln!("bench: audit verify, 1,000,000 entries");
        match floor::audit_entries_per_s(1_000_000) {
            Ok(v) => r.set("audit_verify_entries_per_s", v),
            Err(e) => r.fail(&["audit_verify_entries_per_s"], &e),
        }
    }
    eprintln!(
        "bench: {} CSRs sent to servers; {:.1} s spent generating CSRs (outside timed windows)",
        pool.consumed(),
        pool.generated_s
    );

    let table = report::table(&r);
    println!("{table}");
    let mut doc = r.values.clone();
    doc.insert("threads".into(), json!(threads));
    doc.insert("quick".into(), json!(args.quick));
    if !args.only.is_empty() {
        let only: Vec<String> = args
            .only
            .iter()
            .map(|p| format!("{p:?}").to_lowercase())
            .collect();
        doc.insert("only".into(), json!(only));
    }
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

/// Records one EST level under `prefix` (`est_c32`, `pg1_c32`, …).
fn record_level(r: &mut Results, prefix: &str, res: &load::LoadResult, cpu_ms: Option<f64>) {
    if let Some(cpu) = cpu_ms {
        r.set(&format!("{prefix}_server_cpu_ms_per_cert"), cpu);
    }
    if let Some(cpu) = res.client_cpu_ms {
        r.set(&format!("{prefix}_client_cpu_ms_per_cert"), cpu);
    }
    r.set(&format!("{prefix}_certs_per_s"), res.per_s);
    r.set(&format!("{prefix}_p50_ms"), res.p50_ms);
    r.set(&format!("{prefix}_p99_ms"), res.p99_ms);
    report::caveats(r, &format!("{prefix}_certs_per_s"), res);
}

/// The three figures of a level, for failures.
fn level_keys(prefix: &str) -> Vec<String> {
    ["certs_per_s", "p50_ms", "p99_ms"]
        .iter()
        .map(|k| format!("{prefix}_{k}"))
        .collect()
}

fn fail_all(r: &mut Results, keys: &[String], why: &anyhow::Error) {
    let keys: Vec<&str> = keys.iter().map(String::as_str).collect();
    r.fail(&keys, why);
}

/// EST (SQLite, software keys), OCSP and the station run on one server.
async fn serve_phases(
    args: &Args,
    on: &dyn Fn(Phase) -> bool,
    dir: &std::path::Path,
    pool: &mut load::CsrPool,
    r: &mut Results,
    duration: Duration,
) {
    let mut est_keys: Vec<String> = [1, 8, 32]
        .iter()
        .flat_map(|c| level_keys(&format!("est_c{c}")))
        .collect();
    est_keys.push("server_rss_mb".into());
    let station_keys = [
        "station_added_ms_p50",
        "station_added_ms_p99",
        "station_devices_per_hour",
    ];
    eprintln!("bench: EST and OCSP against hallmark serve");
    let mut srv =
        match server::Server::start(&args.hallmark, dir, &server::Options::default()).await {
            Ok(srv) => srv,
            Err(e) => {
                if on(Phase::Est) {
                    fail_all(r, &est_keys, &e);
                }
                if on(Phase::Ocsp) {
                    r.fail(&["ocsp_c32_per_s"], &e);
                }
                if on(Phase::Station) {
                    r.fail(&station_keys, &e);
                }
                return;
            }
        };
    if on(Phase::Est) {
        match est::est(&mut srv, &[], pool, &[1, 8, 32], duration).await {
            Err(e) => fail_all(r, &est_keys, &e),
            Ok(levels) => {
                for (c, res, cpu_ms) in levels {
                    record_level(r, &format!("est_c{c}"), &res, cpu_ms);
                }
                match srv.peak_rss_mb() {
                    Ok(v) => r.set("server_rss_mb", v),
                    Err(e) => r.fail(&["server_rss_mb"], &e),
                }
            }
        }
    }
    if on(Phase::Ocsp) {
        let ocsp = match pool.fresh(Duration::ZERO) {
            Ok(csrs) => {
                let csr = csrs[0].clone();
                pool.consume(1);
                est::ocsp(&srv, dir, &csr, 32, duration).await
            }
            Err(e) => Err(e),
        };
        match ocsp {
            Ok(res) => {
                r.set("ocsp_c32_per_s", res.per_s);
                r.set("ocsp_c32_p99_ms", res.p99_ms);
                report::caveats(r, "ocsp_c32_per_s", &res);
            }
            Err(e) => r.fail(&["ocsp_c32_per_s"], &e),
        }
    }
    if on(Phase::Station) {
        // Enough devices that p99 is not just the slowest one or two.
        let devices = if args.quick { 256 } else { 1024 };
        eprintln!("bench: station run ({devices} simulated devices, 16 parallel)");
        match station::run(&mut srv, dir, devices, 16) {
            Ok(s) => {
                r.set("station_added_ms_p50", s.added_p50_ms);
                r.set("station_added_ms_p99", s.added_p99_ms);
                r.set("station_devices_per_hour", s.devices_per_hour);
                r.note(
                    "station_added_ms_p50",
                    format!("per-device p50/p99, ms: {}", s.breakdown),
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

/// EST at 1 and 32 clients with the CA keys in a fresh SoftHSM2 token
/// (SQLite store), otherwise the same setup as the software-key run.
async fn softhsm_phase(
    bin: &std::path::Path,
    dir: &std::path::Path,
    pool: &mut load::CsrPool,
    r: &mut Results,
    duration: Duration,
) {
    let keys: Vec<String> = [1, 32]
        .iter()
        .flat_map(|c| level_keys(&format!("est_softhsm_c{c}")))
        .collect();
    let run = async {
        std::fs::create_dir_all(dir)?;
        let token = softhsm::Token::init(&dir.join("hsm"))?;
        let mut srv = server::Server::start(bin, dir, &token.options()?).await?;
        est::est(&mut srv, &[], pool, &[1, 32], duration).await
    };
    match run.await {
        Err(e) => fail_all(r, &keys, &e),
        Ok(levels) => {
            for (c, res, cpu_ms) in levels {
                record_level(r, &format!("est_softhsm_c{c}"), &res, cpu_ms);
            }
        }
    }
}

/// EST at 32 clients on a fresh PostgreSQL database: one `hallmark serve`
/// (`pg1_c32`), then a second node on the same home and database with the
/// clients split 16/16 (`pg2_c32`, the sum over both). The database is
/// dropped afterwards, also when a run failed.
async fn postgres_phase(
    args: &Args,
    dir: &std::path::Path,
    pool: &mut load::CsrPool,
    r: &mut Results,
    duration: Duration,
) {
    let (pg1, pg2) = (level_keys("pg1_c32"), level_keys("pg2_c32"));
    let db = match pg::Database::create(&args.postgres).await {
        Ok(db) => db,
        Err(e) => {
            fail_all(r, &pg1, &e);
            fail_all(r, &pg2, &e);
            return;
        }
    };
    let url = db.url.clone();
    let run = async {
        std::fs::create_dir_all(dir)?;
        let opts = server::Options {
            store: Some(url),
            ..server::Options::default()
        };
        let mut srv = server::Server::start(&args.hallmark, dir, &opts).await?;
        let one = est::est(&mut srv, &[], pool, &[32], duration).await;
        let two = match srv.start_node("node2").await {
            Ok(node) => est::est(&mut srv, &[&node], pool, &[32], duration).await,
            Err(e) => Err(e),
        };
        // Both servers are stopped here, before the database is dropped.
        anyhow::Ok((one, two))
    };
    let outcome = run.await;
    if let Err(e) = db.drop_database().await {
        eprintln!("bench: could not drop the bench database: {e:#}");
    }
    let (one, two) = match outcome {
        Ok(x) => x,
        Err(e) => {
            fail_all(r, &pg1, &e);
            fail_all(r, &pg2, &e);
            return;
        }
    };
    for (prefix, keys, res) in [("pg1_c32", &pg1, one), ("pg2_c32", &pg2, two)] {
        match res.map(|mut v| v.pop()) {
            Ok(Some((_, res, cpu_ms))) => record_level(r, prefix, &res, cpu_ms),
            Ok(None) => fail_all(r, keys, &anyhow::anyhow!("no level measured")),
            Err(e) => fail_all(r, keys, &e),
        }
    }
    r.note(
        "pg1_c32_server_cpu_ms_per_cert",
        "the hallmark serve process(es) only; PostgreSQL's own CPU is not counted".into(),
    );
    r.note(
        "pg2_c32_certs_per_s",
        "two hallmark serve nodes on one home and database (the one pg1 used), 16 clients \
         each through one station identity; rate and latencies over both"
            .into(),
    );
}
