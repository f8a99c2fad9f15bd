//! `hallmark revoke`: revoke device certificates by device, serial,
//! station (and issue window) or order; a station's credential with it.

use anyhow::{Context, Result, bail};
use hallmark_authority::revocation::CertificateSelection;
use hallmark_authority::{RevocationPlan, RevocationReport};
use hallmark_store::RevocationCandidate;
use serde_json::json;

use crate::cli::RevokeArgs;
use crate::home::Home;
use crate::table;

pub async fn run(home: &Home, args: RevokeArgs) -> Result<()> {
    let selection = selection(&args)?;
    let authority = home.authority().await?;
    match (args.dry_run, args.reason) {
        (true, _) => {
            let plan = authority.plan_revocation(&selection).await?;
            print_plan(&plan, args.json)
        }
        (false, Some(reason)) => {
            let report = authority
                .revoke(&selection, reason)
                .await
                .context("revocation refused")?;
            print_report(&report, args.json)
        }
        (false, None) => bail!("--reason is required"),
    }
}

fn selection(args: &RevokeArgs) -> Result<CertificateSelection> {
    if args.station.is_none() && (args.since.is_some() || args.until.is_some()) {
        bail!("--since and --until only go with --station");
    }
    Ok(
        match (&args.device, &args.serial, &args.station, &args.order) {
            (Some(device), ..) => CertificateSelection::Device(device.clone()),
            (_, Some(serial), ..) => CertificateSelection::Serial(parse_serial(serial)?),
            (_, _, Some(station), _) => CertificateSelection::Station {
                station_id: station.clone(),
                since: args.since,
                until: args.until,
            },
            (_, _, _, Some(order)) => CertificateSelection::Order(order.clone()),
            _ => bail!("name what to revoke: --device, --serial, --station or --order"),
        },
    )
}

/// Hex as OpenSSL prints serials: any case, optional `0x` and colons;
/// leading zero octets (a DER sign octet) are dropped.
fn parse_serial(text: &str) -> Result<Vec<u8>> {
    let digits: String = text
        .trim()
        .trim_start_matches("0x")
        .chars()
        .filter(|c| *c != ':')
        .collect();
    let bytes =
        hex::decode(&digits).with_context(|| format!("--serial {text:?} is not hexadecimal"))?;
    let start = bytes.iter().position(|b| *b != 0).unwrap_or(bytes.len());
    if start == bytes.len() || bytes.len() - start > 20 {
        bail!("--serial {text:?} is not a certificate serial (1 to 20 octets, not zero)");
    }
    Ok(bytes[start..].to_vec())
}

fn rows(certificates: &[RevocationCandidate]) -> Vec<Vec<String>> {
    certificates
        .iter()
        .map(|c| {
            vec![
                c.ca_id.clone(),
                hex::encode(&c.serial),
                c.device_id.clone(),
                c.status.to_string(),
                c.issued_at.map(table::when).unwrap_or_default(),
            ]
        })
        .collect()
}

fn listing(certificates: &[RevocationCandidate]) -> String {
    table::render(
        &["CA", "SERIAL", "DEVICE", "STATUS", "ISSUED"],
        &rows(certificates),
    )
}

fn json_list(certificates: &[RevocationCandidate]) -> serde_json::Value {
    certificates
        .iter()
        .map(|c| {
            json!({
                "ca": c.ca_id,
                "serial": hex::encode(&c.serial),
                "device_id": c.device_id,
                "status": c.status.as_str(),
                "issued_at": c.issued_at,
            })
        })
        .collect()
}

fn print_plan(plan: &RevocationPlan, json: bool) -> Result<()> {
    let station = plan.station.as_ref();
    if json {
        let out = json!({
            "dry_run": true,
            "to_revoke": json_list(&plan.to_revoke),
            "already_revoked": json_list(&plan.already_revoked),
            "station": station.map(|s| &s.id),
            "station_already_revoked": station.map(|s| s.revoked_at.is_some()),
        });
        println!("{}", serde_json::to_string_pretty(&out)?);
        return Ok(());
    }
    println!(
        "dry run: would revoke {} certificate(s)",
        plan.to_revoke.len()
    );
    if !plan.to_revoke.is_empty() {
        print!("{}", listing(&plan.to_revoke));
    }
    if !plan.already_revoked.is_empty() {
        println!("already revoked ({}):", plan.already_revoked.len());
        print!("{}", listing(&plan.already_revoked));
    }
    match station {
        Some(s) if s.revoked_at.is_none() => {
            println!("and the credential of station {} (refused at once)", s.id)
        }
        Some(s) => println!("station {} is already revoked", s.id),
        None => {}
    }
    Ok(())
}

fn print_report(report: &RevocationReport, json: bool) -> Result<()> {
    if json {
        let out = json!({
            "revoked": json_list(&report.revoked),
            "already_revoked": report.already_revoked,
            "station_revoked": report.station_revoked,
            "reason": report.reason.name(),
            "revoked_at": report.revoked_at,
            "audit_seqs": report.audit_seqs,
        });
        println!("{}", serde_json::to_string_pretty(&out)?);
        return Ok(());
    }
    println!(
        "revoked {} certificate(s) at {} (reason {})",
        report.revoked.len(),
        table::when(report.revoked_at),
        report.reason
    );
    if !report.revoked.is_empty() {
        print!("{}", listing(&report.revoked));
    }
    if report.already_revoked > 0 {
        println!(
            "{} selected certificate(s) were revoked already",
            report.already_revoked
        );
    }
    if report.station_revoked {
        println!("the station's credential is revoked: it is refused from now on");
    }
    if !report.revoked.is_empty() {
        println!(
            "a running `hallmark serve` publishes new CRLs within {} s; OCSP answers change within {} s",
            hallmark_server::server::CRL_CHECK_INTERVAL.as_secs(),
            hallmark_authority::revocation::VERSION_POLL.as_secs()
        );
    }
    Ok(())
}
