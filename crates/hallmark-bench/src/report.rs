//! The markdown table: raw figures, then the targets as ratios
//! computed from the same run, each marked met, missed or not measured.

use std::fmt::Write as _;

use crate::Results;
use crate::load::LoadResult;

/// Records errors or an exhausted CSR pool next to a load figure.
pub fn caveats(r: &mut Results, key: &str, res: &LoadResult) {
    let mut parts = Vec::new();
    if res.errors > 0 {
        parts.push(format!(
            "{} of {} requests failed; first: {}",
            res.errors,
            res.errors + res.ok,
            res.first_error.as_deref().unwrap_or("?")
        ));
    }
    if res.exhausted {
        parts.push("the pre-generated CSR pool ran out before the duration elapsed".into());
    }
    if !parts.is_empty() {
        r.note(key, parts.join("; "));
    }
}

fn get(r: &Results, key: &str) -> Option<f64> {
    r.values.get(key).and_then(serde_json::Value::as_f64)
}

fn fmt(v: Option<f64>) -> String {
    match v {
        None => "null".into(),
        Some(v) if v >= 100.0 => format!("{v:.0}"),
        Some(v) if v >= 1.0 => format!("{v:.2}"),
        Some(v) => format!("{v:.4}"),
    }
}

/// Raw figures, then targets, as markdown.
pub fn table(r: &Results) -> String {
    let mut s = String::from("| metric | value |\n| --- | --- |\n");
    for (k, _) in r.values.iter() {
        let _ = writeln!(s, "| `{k}` | {} |", fmt(get(r, k)));
    }
    let ratio = |a: &str, b: &str| Some(get(r, a)? / get(r, b)?);
    // (check, value, target, higher is better)
    let checks: [(&str, Option<f64>, f64, bool); 7] = [
        (
            "EST c32 / crypto floor",
            ratio("est_c32_certs_per_s", "crypto_floor_certs_per_s"),
            0.5,
            true,
        ),
        (
            "EST c32 / cfssl c32",
            ratio("est_c32_certs_per_s", "cfssl_c32_certs_per_s"),
            2.0,
            true,
        ),
        (
            "station added p99 (ms)",
            get(r, "station_added_ms_p99"),
            20.0,
            false,
        ),
        (
            "OCSP c32 (responses/s)",
            get(r, "ocsp_c32_per_s"),
            20_000.0,
            true,
        ),
        ("CRL 100k entries (s)", get(r, "crl_100k_s"), 1.0, false),
        (
            "audit verify (entries/s)",
            get(r, "audit_verify_entries_per_s"),
            500_000.0,
            true,
        ),
        (
            "server peak RSS (MB)",
            get(r, "server_rss_mb"),
            100.0,
            false,
        ),
    ];
    s.push_str("\n| target | this run | goal | status |\n| --- | --- | --- | --- |\n");
    for (name, v, goal, higher) in checks {
        let status = match v {
            None => "not measured",
            Some(v) if (higher && v >= goal) || (!higher && v <= goal) => "met",
            Some(_) => "**missed**",
        };
        let op = if higher { "≥" } else { "≤" };
        let _ = writeln!(
            s,
            "| {name} | {} | {op} {} | {status} |",
            fmt(v),
            fmt(Some(goal))
        );
    }
    // Informational ratios from the same run (no targets in issue #8).
    let info = [
        (
            "EST c32 / `openssl x509 -req` CLI",
            ratio("est_c32_certs_per_s", "openssl_cli_certs_per_s"),
        ),
        (
            "crypto floor CPU / EST c32 server CPU, per certificate",
            ratio(
                "crypto_floor_cpu_ms_per_cert",
                "est_c32_server_cpu_ms_per_cert",
            ),
        ),
        (
            "cfssl c32 server CPU / EST c32 server CPU, per certificate",
            ratio(
                "cfssl_c32_server_cpu_ms_per_cert",
                "est_c32_server_cpu_ms_per_cert",
            ),
        ),
        (
            "EST SoftHSM2 c32 / EST soft c32",
            ratio("est_softhsm_c32_certs_per_s", "est_c32_certs_per_s"),
        ),
        (
            "EST PostgreSQL 1 node c32 / EST SQLite c32",
            ratio("pg1_c32_certs_per_s", "est_c32_certs_per_s"),
        ),
        (
            "EST PostgreSQL 2 nodes c32 / 1 node c32",
            ratio("pg2_c32_certs_per_s", "pg1_c32_certs_per_s"),
        ),
    ];
    let info: Vec<_> = info
        .iter()
        .filter_map(|(name, v)| Some((name, (*v)?)))
        .collect();
    if !info.is_empty() {
        s.push_str("\nInformational ratios (no target):\n");
        for (name, x) in info {
            let _ = writeln!(s, "- {name}: {}×", fmt(Some(x)));
        }
    }
    if !r.notes.is_empty() {
        s.push_str("\nNotes:\n");
        for (k, v) in r.notes.iter() {
            let _ = writeln!(s, "- `{k}`: {}", v.as_str().unwrap_or_default());
        }
    }
    s
}
