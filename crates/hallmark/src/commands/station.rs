//! `hallmark station`: a factory station's credential, run on the station.
//!
//! `enroll --home DIR` makes the station's own key (encrypted with
//! $HALLMARK_PASSPHRASE, or in its own PKCS#11 token with
//! $HALLMARK_PKCS11_PIN), trades the one-time token for a certificate and
//! keeps both in DIR. `enroll --csr FILE --out FILE` is for a key made by any
//! other tool. `renew --home DIR` renews before expiry.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use hallmark_pki::pem;
use hallmark_station::{KeysConfig, SecretSource, StationClient, StationEnrollment, StationHome};

use crate::cli::{KeysBackend, OfflineCaCommand, StationCommand, StationEnrollArgs};

pub async fn run(home: Option<&Path>, command: StationCommand) -> Result<()> {
    match command {
        StationCommand::Enroll(args) => match (&args.csr, home) {
            (Some(_), _) => enroll_csr(&args).await,
            (None, Some(dir)) => enroll_home(dir, &args).await,
            (None, None) => {
                bail!("give the station's home (--home DIR) or bring a CSR (--csr FILE --out FILE)")
            }
        },
        StationCommand::Renew { force } => {
            let dir = home.context("give the station's home: --home DIR")?;
            renew(dir, force).await
        }
        StationCommand::Run(args) => super::station_run::run(home, args).await,
        StationCommand::OfflineCa(OfflineCaCommand::Request { count }) => {
            let dir = home.context("give the station's home: --home DIR")?;
            super::station_offline::request(dir, count).await
        }
        StationCommand::Sync { grant, close } => {
            let dir = home.context("give the station's home: --home DIR")?;
            super::station_offline::sync(dir, grant.as_deref(), close).await
        }
    }
}

fn keys_config(args: &StationEnrollArgs) -> Result<KeysConfig> {
    Ok(match args.keys {
        KeysBackend::Soft => KeysConfig::Soft {
            dir: PathBuf::from("keys"),
            passphrase: SecretSource::Env("HALLMARK_PASSPHRASE".into()),
        },
        KeysBackend::Pkcs11 => KeysConfig::Pkcs11 {
            module: args
                .pkcs11_module
                .clone()
                .context("--pkcs11-module is required")?,
            token: args
                .pkcs11_token
                .clone()
                .context("--pkcs11-token is required")?,
            pin: SecretSource::Env("HALLMARK_PKCS11_PIN".into()),
        },
    })
}

async fn enroll_home(dir: &Path, args: &StationEnrollArgs) -> Result<()> {
    let root = read(&args.root, "the root certificate")?;
    let keys = keys_config(args)?;
    let (dir, server) = (dir.to_path_buf(), args.server.clone());
    let created = tokio::task::spawn_blocking({
        let dir = dir.clone();
        move || StationHome::create(&dir, &server, &root, keys)
    })
    .await?
    .with_context(|| format!("cannot create the station home {}", dir.display()))?;
    let mut home = created;
    match home.enroll(&args.token).await {
        Ok(enrollment) => {
            report(&enrollment, &dir.join(hallmark_station::home::STATION_PEM));
            Ok(())
        }
        Err(err) => {
            // Nothing was certified: leave no half-made home behind, so the
            // command can simply be run again.
            if let Err(cleanup) = std::fs::remove_dir_all(&dir) {
                tracing::warn!(error = %cleanup, "cannot remove the unenrolled home");
            }
            Err(err).context("station enrollment refused")
        }
    }
}

async fn enroll_csr(args: &StationEnrollArgs) -> Result<()> {
    let (Some(csr_path), Some(out)) = (&args.csr, &args.out) else {
        bail!("--csr needs --out");
    };
    let csr = read(csr_path, "the CSR")?;
    let csr_pem = if pem::looks_like_pem(&csr) {
        String::from_utf8(csr).context("the CSR is not UTF-8 PEM")?
    } else {
        pem::encode("CERTIFICATE REQUEST", &csr)
    };
    let roots = pem_roots(&read(&args.root, "the root certificate")?)?;
    let tls = hallmark_station::tls::client_config(&roots, None)?;
    let client = StationClient::new(&args.server, tls)?;
    let enrollment = client
        .enroll_station(&args.token, &csr_pem)
        .await
        .context("station enrollment refused")?;
    let mut bundle = enrollment.certificate.clone();
    for cert in &enrollment.chain {
        bundle.push_str(cert);
    }
    std::fs::write(out, bundle)
        .with_context(|| format!("enrolled, but cannot write {}", out.display()))?;
    report(&enrollment, out);
    Ok(())
}

async fn renew(dir: &Path, force: bool) -> Result<()> {
    let path = dir.to_path_buf();
    let mut home = tokio::task::spawn_blocking(move || StationHome::open(&path))
        .await?
        .with_context(|| format!("cannot open the station home {}", dir.display()))?;
    let renewed = if force {
        let csr = home.csr_pem()?;
        let renewed = home.client()?.renew(&csr).await?;
        home.save_certificate(&renewed)?;
        Some(renewed)
    } else {
        home.renew_if_due(None).await?
    };
    match renewed {
        Some(enrollment) => report(&enrollment, &dir.join(hallmark_station::home::STATION_PEM)),
        None => println!(
            "not due: the certificate is valid until {} (use --force to renew now)",
            crate::table::when(home.config().not_after.unwrap_or_default())
        ),
    }
    Ok(())
}

fn report(enrollment: &StationEnrollment, path: &Path) {
    println!(
        "station {} for order {}: certificate valid until {} -> {}",
        enrollment.station_id,
        enrollment.order_id,
        crate::table::when(enrollment.not_after),
        path.display()
    );
}

fn read(path: &Path, what: &str) -> Result<Vec<u8>> {
    std::fs::read(path).with_context(|| format!("cannot read {what} {}", path.display()))
}

fn pem_roots(text: &[u8]) -> Result<Vec<Vec<u8>>> {
    let text = std::str::from_utf8(text).context("the root certificate is not PEM")?;
    let roots: Vec<Vec<u8>> = text
        .split_inclusive("-----END CERTIFICATE-----")
        .filter(|block| block.contains("-----BEGIN CERTIFICATE-----"))
        .map(|block| pem::decode(block.as_bytes(), &["CERTIFICATE"]))
        .collect::<Result<_, _>>()
        .context("the root certificate is not PEM")?;
    if roots.is_empty() {
        bail!("the root file holds no certificate");
    }
    Ok(roots)
}
