//! `station run --keygen station` through a real server on SQLite: the
//! station makes each key, installs it with IMPORT_KEY, and every record
//! says so; a device without import power fails with the reason and gets no
//! certificate; the default still makes keys on the device.

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests report failures by panicking

mod common;
mod line;

use common::{text, verify_device_cert};
use hallmark_pki::{CertificateView, PublicKey};
use line::{Line, Sim, report};

/// The stored certificate of `device_id`, written as PEM for OpenSSL; and
/// the hex SHA-256 of its SPKI.
fn stored_certificate(line: &Line, device_id: &str) -> (std::path::PathBuf, String) {
    let hex_der = line.cli.sql(&format!(
        "SELECT hex(certificate_der) FROM certificates WHERE device_id = '{device_id}'"
    ));
    let der = hex::decode(hex_der.trim()).unwrap();
    let path = line.cli.path(&format!("{device_id}.pem"));
    std::fs::write(&path, hallmark_pki::pem::encode("CERTIFICATE", &der)).unwrap();
    let view = CertificateView::parse(&der).unwrap();
    let hash = PublicKey::from_spki_der(&view.spki_der).unwrap().sha256();
    (path, hex::encode(hash))
}

#[test]
fn station_made_keys_are_installed_recorded_and_refused_without_import_power() {
    let line = Line::new(20);

    // Station-made keys on five simulated devices.
    let first = line.file("station.jsonl");
    let out = line.run(&["--sim", "5", "--keygen", "station", "--report", &first]);
    assert!(out.status.success(), "{}", text(&out));
    let lines = report(&first);
    assert_eq!(lines.len(), 5);
    for r in &lines {
        assert_eq!(r["status"], "provisioned", "{r}");
        assert_eq!(r["key_origin"], "station", "{r}");
        let id = r["device_id"].as_str().unwrap();
        let (pem, hash) = stored_certificate(&line, id);
        assert_eq!(r["public_key_sha256"], hash.as_str(), "{r}");
        verify_device_cert(&line.cli, "berlin", &pem);
        let stored = line.cli.sql(&format!(
            "SELECT key_origin || ' ' || lower(hex(public_key_sha256)) FROM certificates \
             WHERE device_id = '{id}'"
        ));
        assert_eq!(stored, format!("station {hash}"));
        let audited = line.cli.sql(&format!(
            "SELECT json_extract(data, '$.key_origin') FROM audit_log \
             WHERE kind = 'certificate.issued' AND json_extract(data, '$.device_id') = '{id}'"
        ));
        assert_eq!(audited, "station");
    }
    let journal = std::fs::read_dir(line.station.join("journal")).map_or(0, |d| d.count());
    assert_eq!(journal, 0, "the journal is emptied once devices are locked");

    // A device that cannot import: the reason, a non-zero exit, no certificate.
    let before = line.certificates();
    let sim = Sim::start(&line.cli.path("no-import"), &["--no-key-import"]);
    let refused = line.file("refused.jsonl");
    let out = line.run(&[
        "--devices",
        &sim.url,
        "--keygen",
        "station",
        "--report",
        &refused,
    ]);
    assert!(!out.status.success(), "{}", text(&out));
    let lines = report(&refused);
    assert_eq!(lines.len(), 1);
    assert_eq!(lines[0]["status"], "key_import_unsupported", "{}", lines[0]);
    assert_eq!(lines[0]["key_origin"], "station");
    let error = lines[0]["error"].as_str().unwrap();
    assert!(
        error.contains("key import unsupported by device"),
        "{error}"
    );
    assert!(
        text(&out).contains("key import unsupported by device"),
        "{}",
        text(&out)
    );
    assert_eq!(line.certificates(), before, "no certificate issued");

    // The same device with the default: its own key, key_origin=device.
    let default = line.file("default.jsonl");
    let out = line.run(&["--devices", &sim.url, "--report", &default]);
    assert!(out.status.success(), "{}", text(&out));
    let lines = report(&default);
    assert_eq!(lines[0]["status"], "provisioned", "{}", lines[0]);
    assert_eq!(lines[0]["key_origin"], "device");
    let id = lines[0]["device_id"].as_str().unwrap();
    let (pem, hash) = stored_certificate(&line, id);
    assert_eq!(lines[0]["public_key_sha256"], hash.as_str());
    verify_device_cert(&line.cli, "berlin", &pem);
    assert_eq!(
        line.cli
            .count("SELECT count(*) FROM certificates WHERE key_origin = 'device'"),
        1
    );
    assert_eq!(
        line.cli
            .count("SELECT count(*) FROM certificates WHERE key_origin = 'station'"),
        5
    );
}
