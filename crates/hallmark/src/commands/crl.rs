//! `hallmark crl`: sign an issuing CA's CRL now and write it (DER or PEM).

use anyhow::{Context, Result};
use hallmark_pki::pem;

use crate::cli::CrlArgs;
use crate::home::Home;

pub async fn run(home: &Home, args: CrlArgs) -> Result<()> {
    let authority = home.authority().await?;
    let service = authority.revocation_service(home.config.revocation.settings())?;
    let crl = service
        .crl(&args.ca)
        .await
        .with_context(|| format!("cannot make the CRL of {:?}", args.ca))?;
    let bytes = if args.pem {
        pem::encode("X509 CRL", &crl.der).into_bytes()
    } else {
        crl.der.clone()
    };
    std::fs::write(&args.out, bytes)
        .with_context(|| format!("cannot write {}", args.out.display()))?;
    println!(
        "CRL #{} of {} ({} revoked, next update {}) -> {}",
        crl.number,
        crl.ca_id,
        crl.entries,
        crate::table::when(crl.next_update),
        args.out.display()
    );
    Ok(())
}
