//! `hallmark audit reconcile`: what Hallmark certified against what the
//! factory shipped and scrapped (docs/reconcile.md).

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use hallmark_audit::reconcile::{Installation, Provisioned, parse_device_csv, reconcile};
use hallmark_store::{AuditSeq, IssuanceStatus, Store};

use crate::home::Home;

/// What to reconcile and how to show it.
pub struct ReconcileArgs {
    pub order: Option<String>,
    pub shipped: PathBuf,
    pub scrapped: Option<PathBuf>,
    pub json: bool,
    pub html: Option<PathBuf>,
}

pub async fn run(home: &Home, args: ReconcileArgs) -> Result<()> {
    let shipped = read_csv(&args.shipped)?;
    let scrapped = match &args.scrapped {
        Some(path) => read_csv(path)?,
        None => Vec::new(),
    };
    let store = home.store().await?;
    if let Some(order) = &args.order
        && store.order(order).await?.is_none()
    {
        bail!("unknown order {order:?} (see `hallmark order list`)");
    }
    let provisioned = provisioned(store.as_ref(), args.order.as_deref()).await?;
    let mut report = reconcile(&provisioned, &shipped, &scrapped);
    report.title = Some(match &args.order {
        Some(order) => format!("Order {order}"),
        None => "All orders".to_string(),
    });
    if args.json {
        println!("{}", serde_json::to_string_pretty(&report.to_json())?);
    } else {
        print!("{}", report.to_table());
    }
    if let Some(path) = &args.html {
        std::fs::write(path, report.to_html())
            .with_context(|| format!("cannot write {}", path.display()))?;
        eprintln!("HTML report -> {}", path.display());
    }
    if report.has_discrepancy() {
        bail!("the reconciliation found discrepancies (see above)");
    }
    Ok(())
}

fn read_csv(path: &Path) -> Result<Vec<hallmark_audit::reconcile::CsvDevice>> {
    let file =
        std::fs::File::open(path).with_context(|| format!("cannot read {}", path.display()))?;
    Ok(parse_device_csv(file, &path.display().to_string())?)
}

/// Every issued certificate with what the stations reported about its
/// installation (`device.installed` / `device.not_installed` audit events).
async fn provisioned(store: &dyn Store, order: Option<&str>) -> Result<Vec<Provisioned>> {
    let installs = installations(store).await?;
    Ok(store
        .issued_certificates(order)
        .await?
        .into_iter()
        .filter(|r| {
            matches!(
                r.status,
                IssuanceStatus::Issued | IssuanceStatus::Superseded
            )
        })
        .map(|record| {
            let serial_hex = hex::encode(&record.intent.serial);
            Provisioned {
                installed: installs
                    .get(&serial_hex)
                    .copied()
                    .unwrap_or(Installation::Unknown),
                device_id: record.intent.device_id,
                order_id: record.intent.order_id,
                station_id: record.intent.station_id,
                issued_at: record.issued_at.unwrap_or(record.intent.requested_at),
                renewal: record.intent.renews.is_some(),
                serial_hex,
            }
        })
        .collect())
}

async fn installations(store: &dyn Store) -> Result<HashMap<String, Installation>> {
    let mut map = HashMap::new();
    let mut after: AuditSeq = 0;
    loop {
        let page = store.audit_events(after, 10_000).await?;
        for event in &page {
            let status = match event.kind.as_str() {
                "device.installed" => Installation::Installed,
                "device.not_installed" => Installation::NotInstalled,
                _ => continue,
            };
            if let Some(serial) = event.data.get("serial").and_then(|s| s.as_str()) {
                // A later report (installed on retry) wins.
                map.insert(serial.to_string(), status);
            }
        }
        match page.last() {
            Some(last) if page.len() == 10_000 => after = last.seq,
            _ => break,
        }
    }
    Ok(map)
}
