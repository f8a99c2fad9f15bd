//! The tamper-evident audit log through the CLI: checkpoints, verification,
//! proofs and exports — and every kind of edit an insider could make to the
//! SQLite file directly, each detected.

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests report failures by panicking

mod common;

use common::Cli;
use hallmark_testkit::tools::KeySpec;

/// A home with a few issued devices and a signed checkpoint over them.
fn home_with_devices() -> Cli {
    let cli = Cli::new();
    cli.init_soft();
    for i in 1..=4 {
        let (_, csr) = cli.csr(
            &format!("d{i}"),
            KeySpec::Ec("prime256v1"),
            Some("sha256"),
            false,
        );
        let out = cli.issue(
            "berlin",
            &csr,
            &format!("dev-{i}"),
            &cli.path(&format!("d{i}.pem")),
        );
        assert!(out.status.success(), "{}", common::text(&out));
    }
    let signed = cli.ok(&["audit", "checkpoint"]);
    assert!(signed.contains("checkpoint signed over"), "{signed}");
    cli
}

/// A copy of the home in a directory of its own.
fn copy_home(cli: &Cli) -> Cli {
    let copy = Cli::new();
    let status = std::process::Command::new("cp")
        .arg("-a")
        .arg(cli.home())
        .arg(copy.home())
        .status()
        .unwrap();
    assert!(status.success());
    copy
}

fn seq_of(cli: &Cli, kind: &str, subject: &str) -> u64 {
    cli.count(&format!(
        "SELECT seq FROM audit_log WHERE kind = '{kind}' AND subject = '{subject}'"
    ))
}

#[test]
fn verify_prove_and_export() {
    let cli = home_with_devices();
    let ok = cli.ok(&["audit", "verify"]);
    assert!(ok.contains("audit log OK"), "{ok}");
    let key = cli.path("audit.pem");
    std::fs::write(&key, cli.ok(&["audit", "key"])).unwrap();
    assert!(
        std::fs::read_to_string(&key)
            .unwrap()
            .starts_with("-----BEGIN PUBLIC KEY-----")
    );

    // A proof of one issuance verifies offline, and only untouched.
    let proof = cli.path("dev-2.proof.json");
    cli.ok(&[
        "audit",
        "prove",
        "--device",
        "dev-2",
        "--out",
        proof.to_str().unwrap(),
    ]);
    let checked = cli.ok(&[
        "audit",
        "check-proof",
        proof.to_str().unwrap(),
        "--trusted-key",
        key.to_str().unwrap(),
    ]);
    assert!(checked.contains("certificate.issued dev-2"), "{checked}");
    let text = std::fs::read_to_string(&proof).unwrap();
    let forged = cli.path("forged.json");
    std::fs::write(&forged, text.replacen("\"index\": ", "\"index\": 1", 1)).unwrap();
    cli.fails(&[
        "audit",
        "check-proof",
        forged.to_str().unwrap(),
        "--trusted-key",
        key.to_str().unwrap(),
    ]);
    let other = Cli::new();
    other.init_soft();
    let other_key = other.path("other.pem");
    std::fs::write(&other_key, other.ok(&["audit", "key"])).unwrap();
    let err = cli.fails(&[
        "audit",
        "check-proof",
        proof.to_str().unwrap(),
        "--trusted-key",
        other_key.to_str().unwrap(),
    ]);
    assert!(err.contains("PROOF DOES NOT VERIFY"), "{err}");

    // A complete export verifies without the database; an edited one does not.
    let export = cli.path("log.jsonl");
    cli.ok(&["audit", "export", "--out", export.to_str().unwrap()]);
    let ok = cli.ok(&[
        "audit",
        "verify",
        "--export",
        export.to_str().unwrap(),
        "--trusted-key",
        key.to_str().unwrap(),
    ]);
    assert!(ok.contains("complete log recomputed"), "{ok}");
    let lines: Vec<String> = std::fs::read_to_string(&export)
        .unwrap()
        .lines()
        .map(String::from)
        .collect();
    let without_one: Vec<&String> = lines
        .iter()
        .enumerate()
        .filter(|(i, _)| *i != 4)
        .map(|(_, l)| l)
        .collect();
    let edited = cli.path("edited.jsonl");
    std::fs::write(
        &edited,
        without_one
            .iter()
            .map(|l| format!("{l}\n"))
            .collect::<String>(),
    )
    .unwrap();
    let err = cli.fails(&[
        "audit",
        "verify",
        "--export",
        edited.to_str().unwrap(),
        "--trusted-key",
        key.to_str().unwrap(),
    ]);
    assert!(err.contains("EXPORT DOES NOT VERIFY"), "{err}");
    let err = cli.fails(&[
        "audit",
        "verify",
        "--export",
        export.to_str().unwrap(),
        "--trusted-key",
        other_key.to_str().unwrap(),
    ]);
    assert!(err.contains("EXPORT DOES NOT VERIFY"), "{err}");
}

/// Runs `sql` (the edit named `what`) on a copy of the home and returns
/// `audit verify`'s error.
fn tampered(cli: &Cli, what: &str, sql: &str) -> String {
    let copy = copy_home(cli);
    eprintln!("tampering: {what}");
    copy.sql(sql);
    copy.fails(&["audit", "verify"])
}

fn assert_names(err: &str, needle: &str) {
    assert!(err.contains("THE AUDIT LOG DOES NOT VERIFY"), "{err}");
    assert!(err.contains(needle), "expected {needle:?} in:\n{err}");
}

#[test]
fn every_edit_of_the_database_is_detected() {
    let cli = home_with_devices();
    let k = seq_of(&cli, "certificate.issued", "dev-2");

    // Modify an entry: named exactly.
    let err = tampered(
        &cli,
        "modify",
        &format!(
            "UPDATE audit_log SET data = CAST(replace(CAST(data AS TEXT), 'dev-2', 'dev-9') AS BLOB) WHERE seq = {k}"
        ),
    );
    assert_names(&err, &format!("seq {k} was modified"));

    // Modify an entry and remove its stored leaf hash: the signed root catches it.
    let err = tampered(
        &cli,
        "modify-and-hide",
        &format!(
            "UPDATE audit_log SET at = at + 1 WHERE seq = {k}; DELETE FROM audit_tree WHERE seq = {k}"
        ),
    );
    assert_names(&err, "root");

    // Delete an entry.
    let err = tampered(
        &cli,
        "delete",
        &format!("DELETE FROM audit_log WHERE seq = {k}"),
    );
    assert_names(&err, &format!("expected seq {k}, found {}", k + 1));

    // Insert an entry in the middle (renumbering the rest).
    let err = tampered(
        &cli,
        "insert",
        &format!(
            "UPDATE audit_log SET seq = -seq - 1 WHERE seq >= {k}; UPDATE audit_log SET seq = -seq WHERE seq < 0; \
         INSERT INTO audit_log (seq, kind, subject, at, data) VALUES ({k}, 'certificate.issued', 'ghost', 0, CAST('{{}}' AS BLOB))"
        ),
    );
    assert_names(&err, &format!("seq {k} was modified"));

    // Reorder two entries.
    let err = tampered(
        &cli,
        "reorder",
        &format!(
            "UPDATE audit_log SET seq = -1 WHERE seq = {k}; UPDATE audit_log SET seq = {k} WHERE seq = {}; \
         UPDATE audit_log SET seq = {} WHERE seq = -1",
            k + 1,
            k + 1
        ),
    );
    assert_names(&err, &format!("seq {k} was modified"));

    // Delete the newest entries (covered by the checkpoint).
    let err = tampered(
        &cli,
        "truncate",
        &format!("DELETE FROM audit_log WHERE seq >= {k}"),
    );
    assert_names(&err, "but the log has only");

    // Alter a checkpoint: its columns, or what was signed.
    let err = tampered(
        &cli,
        "checkpoint-columns",
        "UPDATE audit_checkpoints SET timestamp = timestamp + 60",
    );
    assert_names(&err, "does not match what was signed");
    let err = tampered(
        &cli,
        "checkpoint-signed",
        "UPDATE audit_checkpoints SET \
        signed = CAST(replace(CAST(signed AS TEXT), '\"timestamp\":', '\"timestamp\":1') AS BLOB), \
        timestamp = CAST('1' || timestamp AS INTEGER)",
    );
    assert_names(&err, "bad signature");

    // The untouched original still verifies.
    assert!(cli.ok(&["audit", "verify"]).contains("audit log OK"));
}

#[test]
fn reconciliation_against_shipping_records() {
    let cli = home_with_devices();
    let shipped = cli.path("shipped.csv");
    std::fs::write(
        &shipped,
        "carton,device_id\nC1,dev-1\nC1,dev-2\nC2,dev-3\nC2,fake-9\n",
    )
    .unwrap();
    let scrapped = cli.path("scrapped.csv");
    std::fs::write(&scrapped, "device_id\ndev-4\n").unwrap();
    let html = cli.path("report.html");

    // A counterfeit in the shipment: a discrepancy, non-zero exit, all three reports.
    let out = cli.run(&[
        "audit",
        "reconcile",
        "--shipped",
        shipped.to_str().unwrap(),
        "--scrapped",
        scrapped.to_str().unwrap(),
        "--json",
        "--html",
        html.to_str().unwrap(),
    ]);
    assert!(!out.status.success());
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let ids = |category: &str| report["categories"][category]["device_ids"].clone();
    assert_eq!(
        ids("shipped_not_provisioned"),
        serde_json::json!(["fake-9"]),
        "{report}"
    );
    assert_eq!(
        ids("provisioned_and_shipped"),
        serde_json::json!(["dev-1", "dev-2", "dev-3"])
    );
    assert_eq!(ids("scrapped"), serde_json::json!(["dev-4"]));
    assert_eq!(report["has_discrepancy"], true);
    let page = std::fs::read_to_string(&html).unwrap();
    assert!(
        page.contains("<svg") && page.contains("fake-9"),
        "HTML report"
    );

    // Without it, everything reconciles: exit 0, a table for people.
    std::fs::write(&shipped, "device_id\ndev-1\ndev-2\ndev-3\n").unwrap();
    let table = cli.ok(&[
        "audit",
        "reconcile",
        "--shipped",
        shipped.to_str().unwrap(),
        "--scrapped",
        scrapped.to_str().unwrap(),
    ]);
    assert!(!table.is_empty(), "a table for people");

    // A bad CSV is an error naming the file and line, not a report.
    std::fs::write(&shipped, "serial\n123\n").unwrap();
    let err = cli.fails(&["audit", "reconcile", "--shipped", shipped.to_str().unwrap()]);
    assert!(
        err.contains("shipped.csv") && err.contains("device_id"),
        "{err}"
    );
}
