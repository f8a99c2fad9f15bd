//! `hallmark demo`: the whole main job in one process, in a throwaway
//! directory: a CA hierarchy on the embedded defaults (`init`), the server
//! on 127.0.0.1, an order, a station, N simulated devices provisioned end
//! to end, and every issued chain verified by OpenSSL. Then a summary.
//!
//! The CA and station passphrases are random and exist only in this
//! process's memory: they are never printed, put on a command line, in the
//! environment or in a file. (So a home kept with `--keep` can be inspected
//! — `hallmark.db` with sqlite3 — but its keys cannot be used again.)
//! The per-station rate limit is off for the demo's server, so the rate
//! shown is Hallmark's, not the limit's.

use std::path::Path;
use std::process::Command;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, Result, bail};
use hallmark_authority::{Env, HierarchySpec, OrderSpec, create_hierarchy};
use hallmark_keys::{KeyStore, SoftKeyStore};
use hallmark_pki::{Attribute, DistinguishedName, KeyAlgorithm, Signer, pem};
use hallmark_server::{Server, ServerOptions};
use hallmark_station::run::{Provisioner, RunOptions, RunOutcome, stats};
use hallmark_station::{StationClient, tls};
use zeroize::Zeroizing;

use super::station_run::{check, drive, print_summary, spawn_sims};
use crate::cli::DemoArgs;
use crate::config::{self, Config, InitValues, KeysChoice, KeysConfig};
use crate::home::{Home, open_store};

const FACTORY: &str = "demo-factory";
/// How many leaf certificates one `openssl verify` call checks.
const OPENSSL_BATCH: usize = 50;

pub async fn run(args: DemoArgs) -> Result<()> {
    openssl_version().context("the demo verifies every chain with OpenSSL: install openssl")?;
    let tmp = tempfile::Builder::new()
        .prefix("hallmark-demo-")
        .tempdir()?;
    let dir = tmp.path().to_path_buf();
    println!(
        "Hallmark demo: {} simulated devices, in {}",
        args.devices,
        dir.display()
    );
    let env = Env::system();

    let home_dir = dir.join("home");
    let keys = init(&home_dir, &env).await?;
    let home = Home::load(&home_dir)?;
    let authority = Arc::new(home.authority_with_keys(keys).await?);
    println!("  CA hierarchy created (root P-384, issuing CA {FACTORY} P-256, soft keys)");

    let options = ServerOptions {
        listen: ([127, 0, 0, 1], 0).into(),
        http_listen: None,
        alt_names: home.config.server.alt_names()?,
        certificate_validity: i64::from(home.config.server.certificate_days) * 86_400,
        rate_limit: None,
    };
    let server = Server::bind(Arc::clone(&authority), &options).await?;
    let url = format!("https://{}", server.local_addr()?);
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let serving = tokio::spawn(server.run(async move {
        let _ = stopped.await;
    }));
    println!("  server listening on {url} (in this process; rate limit off)");

    let order = authority
        .create_order(OrderSpec {
            factory: FACTORY.into(),
            product: "sensor".into(),
            quantity: args.devices as u64,
            starts_at: None,
            expires_at: None,
            device_ids: None,
            stations: 1,
        })
        .await?;
    let token = order.station_tokens.first().context("no station token")?;
    let root = authority.published_cas().await?.root;
    let client = enroll_station(&dir.join("station"), &url, &root, token, &env).await?;
    println!(
        "  order {} for {} devices; station enrolled",
        order.order.order.id, args.devices
    );

    let sims = spawn_sims(
        &dir.join("devices"),
        args.devices,
        Duration::from_millis(50),
        |c| c,
    )
    .await?;
    let addresses = sims.iter().map(hallmark_sim::SimHandle::url).collect();
    let run_options = RunOptions {
        parallel: args.parallel.max(1),
        ..RunOptions::default()
    };
    let journal = dir.join("station").join("journal");
    let provisioner = Provisioner::new(
        client,
        std::slice::from_ref(&root),
        Some(&journal),
        run_options,
    )
    .await?;
    let outcome = drive(&provisioner, addresses, None, true).await?;
    tokio::task::spawn_blocking(move || drop(sims)).await?;
    let _ = stop.send(());
    let _ = serving.await;

    let verified = verify_with_openssl(&dir.join("verify"), &root, &outcome)?;
    print_summary(&outcome);
    let added: Vec<f64> = outcome
        .records
        .iter()
        .filter(|r| r.is_provisioned())
        .map(|r| r.added_ms)
        .collect();
    println!(
        "verified by OpenSSL (verify -x509_strict -purpose sslclient): {verified} of {} chains",
        outcome.provisioned()
    );
    if let (Some(p50), Some(p99)) = (
        stats::percentile(&added, 50.0),
        stats::percentile(&added, 99.0),
    ) {
        println!("Hallmark's added line time per device: {p50:.1} ms (p50), {p99:.1} ms (p99)");
    }
    if args.keep {
        println!(
            "kept: {} (home, station, device state)",
            tmp.keep().display()
        );
    } else {
        println!("removed: {}", dir.display());
    }
    check(&outcome)?;
    if verified != outcome.provisioned() {
        bail!("OpenSSL did not verify every chain");
    }
    Ok(())
}

/// `hallmark init` on the embedded defaults, with a passphrase that lives
/// only in memory; returns the opened key store.
async fn init(home: &Path, env: &Env) -> Result<Arc<dyn KeyStore>> {
    let text = config::render(&InitValues {
        organization: "Hallmark Demo".into(),
        factories: vec![FACTORY.into()],
        keys: KeysChoice::Soft,
        store: None,
    });
    let config = Config::parse(&text)?;
    let KeysConfig::Soft { dir, .. } = &config.keys else {
        bail!("the default configuration does not use soft keys");
    };
    std::fs::create_dir_all(home)?;
    let keys: Arc<dyn KeyStore> = Arc::new(SoftKeyStore::open(home.join(dir), random_secret(env))?);
    let store = open_store(home, &config.store).await?;
    let spec = HierarchySpec::new("Hallmark Demo", vec![FACTORY.into()], "demo");
    create_hierarchy(&spec, keys.as_ref(), store.as_ref(), env).await?;
    drop(store);
    std::fs::write(home.join(config::FILE_NAME), text)?;
    Ok(keys)
}

fn random_secret(env: &Env) -> Zeroizing<String> {
    Zeroizing::new(format!(
        "{}{}",
        hex::encode(env.random16()),
        hex::encode(env.random16())
    ))
}

/// A station key (soft, in-memory passphrase) enrolled with `token`;
/// returns a client authenticating with it.
async fn enroll_station(
    dir: &Path,
    url: &str,
    root: &[u8],
    token: &str,
    env: &Env,
) -> Result<StationClient> {
    let store = SoftKeyStore::open(dir.join("keys"), random_secret(env))?;
    let uri = store.generate("station", KeyAlgorithm::EcdsaP256)?;
    let signer: Arc<dyn Signer> = store.signer(&uri)?;
    let subject = DistinguishedName::new()
        .with(Attribute::Organization, "station")
        .with(Attribute::CommonName, "pending");
    let csr = pem::encode(
        "CERTIFICATE REQUEST",
        &hallmark_pki::build_csr(&subject, signer.as_ref())?,
    );
    let roots = vec![root.to_vec()];
    let enrolled = StationClient::new(url, tls::client_config(&roots, None)?)?
        .enroll_station(token, &csr)
        .await?;
    let mut chain = Vec::new();
    for text in std::iter::once(&enrolled.certificate).chain(&enrolled.chain) {
        chain.push(pem::decode(text.as_bytes(), &["CERTIFICATE"])?);
    }
    Ok(StationClient::new(
        url,
        tls::client_config(&roots, Some((chain, signer)))?,
    )?)
}

fn openssl_version() -> Result<String> {
    let out = Command::new("openssl").arg("version").output()?;
    if !out.status.success() {
        bail!("`openssl version` failed");
    }
    Ok(String::from_utf8_lossy(&out.stdout).trim().to_string())
}

/// Verifies every provisioned device's chain with `openssl verify`, in
/// batches of [`OPENSSL_BATCH`] leaves per call; returns how many passed.
fn verify_with_openssl(dir: &Path, root: &[u8], outcome: &RunOutcome) -> Result<usize> {
    std::fs::create_dir_all(dir)?;
    let root_pem = dir.join("root.pem");
    std::fs::write(&root_pem, pem::encode("CERTIFICATE", root))?;
    let chains: Vec<&Vec<Vec<u8>>> = outcome
        .records
        .iter()
        .filter(|r| r.is_provisioned())
        .map(|r| &r.chain_der)
        .collect();
    let mut passed = 0;
    for (batch, chains) in chains.chunks(OPENSSL_BATCH).enumerate() {
        let untrusted = dir.join(format!("untrusted-{batch}.pem"));
        let mut intermediates: Vec<&[u8]> = chains
            .iter()
            .flat_map(|c| c.iter().skip(1).map(Vec::as_slice))
            .filter(|der| *der != root)
            .collect();
        intermediates.sort();
        intermediates.dedup();
        std::fs::write(&untrusted, pem::encode_certificates(intermediates))?;
        let mut leaves = Vec::new();
        for (i, chain) in chains.iter().enumerate() {
            let leaf = dir.join(format!("leaf-{batch}-{i}.pem"));
            std::fs::write(
                &leaf,
                pem::encode("CERTIFICATE", chain.first().context("empty chain")?),
            )?;
            leaves.push(leaf);
        }
        let out = Command::new("openssl")
            .args(["verify", "-x509_strict", "-purpose", "sslclient", "-CAfile"])
            .arg(&root_pem)
            .arg("-untrusted")
            .arg(&untrusted)
            .args(&leaves)
            .output()
            .context("cannot run openssl")?;
        let stdout = String::from_utf8_lossy(&out.stdout);
        let ok = leaves
            .iter()
            .filter(|leaf| stdout.contains(&format!("{}: OK", leaf.display())))
            .count();
        if !out.status.success() || ok != leaves.len() {
            eprintln!(
                "openssl verify: {}{}",
                stdout,
                String::from_utf8_lossy(&out.stderr)
            );
        }
        passed += ok;
    }
    Ok(passed)
}
