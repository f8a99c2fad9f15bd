//! `hallmark demo`: the whole main job in one process.

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests report failures by panicking

mod common;

use common::{Cli, text};

#[test]
fn demo_provisions_and_verifies_every_device() {
    let cli = Cli::new();
    let out = cli.run(&["demo", "--devices", "20"]);
    let printed = text(&out);
    assert!(out.status.success(), "{printed}");
    assert!(
        printed.contains("provisioned 20 of 20 devices"),
        "{printed}"
    );
    assert!(
        printed.contains(
            "verified by OpenSSL (verify -x509_strict -purpose sslclient): 20 of 20 chains"
        ),
        "{printed}"
    );
    assert!(
        printed.contains("Hallmark's added line time per device:"),
        "{printed}"
    );
    assert!(printed.contains("devices/s"), "{printed}");
    let removed = printed
        .lines()
        .find_map(|l| l.strip_prefix("removed: "))
        .expect("where the home was");
    assert!(
        !std::path::Path::new(removed).exists(),
        "temporary directory removed"
    );
    assert!(!printed.contains(common::PASSPHRASE));
}
