//! `hallmark issue`: one device certificate, offline.

use std::path::Path;

use anyhow::{Context, Result};
use hallmark_authority::IssueRequest;
use hallmark_pki::pem;
use hallmark_store::KeyOrigin;

use crate::cli::IssueArgs;
use crate::home::Home;

/// Age after which a pending issuance is taken as interrupted.
const STUCK_AFTER_SECONDS: i64 = 600;

pub async fn run(home: &Home, args: IssueArgs) -> Result<()> {
    let csr = std::fs::read(&args.csr)
        .with_context(|| format!("cannot read the CSR {}", args.csr.display()))?;
    let authority = home.authority().await?;
    // An issuance takes milliseconds; one pending for ten minutes was cut off
    // by a crash and only blocks its device id. Release it (audit-logged).
    let released = authority.expire_pending(STUCK_AFTER_SECONDS).await?;
    if released > 0 {
        eprintln!("note: released {released} issuance(s) left pending by an interrupted run");
    }
    let issued = authority
        .issue(IssueRequest {
            ca_id: args.ca.clone(),
            csr,
            device_id: Some(args.device_id.clone()),
            profile: args.profile.clone(),
            key_origin: KeyOrigin::Device,
            order_id: None,
            station_id: None,
            renews: None,
        })
        .await
        .with_context(|| format!("certificate for device {:?} refused", args.device_id))?;
    // The record is durably committed at this point; now hand the certificate out.
    let text = pem::encode("CERTIFICATE", &issued.certificate.der);
    write_atomically(&args.out, text.as_bytes()).with_context(|| {
        format!(
            "certificate {} was issued and recorded, but writing {} failed",
            issued.certificate.serial,
            args.out.display()
        )
    })?;
    println!(
        "issued certificate for device {} by CA {} (serial {}) -> {}",
        issued.device_id,
        args.ca,
        issued.certificate.serial,
        args.out.display()
    );
    Ok(())
}

fn write_atomically(path: &Path, bytes: &[u8]) -> Result<()> {
    let dir = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let mut tmp = tempfile::NamedTempFile::new_in(dir)?;
    std::io::Write::write_all(&mut tmp, bytes)?;
    tmp.as_file().sync_all()?;
    tmp.persist(path)?;
    Ok(())
}
