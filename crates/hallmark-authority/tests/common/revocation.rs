//! Revocation helpers shared by the revocation tests.

use std::path::PathBuf;
use std::sync::Arc;

use hallmark_authority::{Issued, RevocationService, RevocationSettings};
use hallmark_testkit::tools;

use super::Fixture;

/// The authority's revocation service with default settings.
pub fn service(f: &Fixture) -> Arc<RevocationService> {
    Arc::new(
        f.authority
            .revocation_service(RevocationSettings::default())
            .unwrap(),
    )
}

/// Writes an issued certificate and its chain as PEM: (leaf, issuing CA, root).
pub fn write(f: &Fixture, name: &str, issued: &Issued) -> (PathBuf, PathBuf, PathBuf) {
    let dir = f.dir.path();
    (
        tools::write_cert_pem(dir, &format!("{name}.pem"), &issued.certificate.der),
        tools::write_cert_pem(dir, &format!("{}.pem", issued.ca_id), &issued.chain[0]),
        tools::write_cert_pem(dir, "root.pem", &issued.chain[1]),
    )
}
