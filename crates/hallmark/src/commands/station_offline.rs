//! `hallmark station offline-ca request` and `hallmark station sync`: the
//! station's own sub-CA for offline production (see
//! `hallmark_station::offline` and docs/offline.md).

use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use hallmark_station::StationHome;
use hallmark_station::offline::{Grant, GrantDeviceIds, latest_grant};

async fn open(dir: &Path) -> Result<StationHome> {
    let opened = dir.to_path_buf();
    tokio::task::spawn_blocking(move || StationHome::open(&opened))
        .await?
        .with_context(|| format!("cannot open the station home {}", dir.display()))
}

/// The grant to use: `--grant DIR`, else the newest in the home.
pub(crate) fn grant_dir(home: &Path, given: Option<&Path>) -> Result<PathBuf> {
    match given {
        Some(dir) => Ok(dir.to_path_buf()),
        None => latest_grant(home)?.with_context(|| {
            format!(
                "no offline sub-CA in {}: run `hallmark station offline-ca request --count N` \
                 while the server is reachable",
                home.display()
            )
        }),
    }
}

pub(crate) async fn request(dir: &Path, count: u64) -> Result<()> {
    let mut home = open(dir).await?;
    home.renew_if_due(None)
        .await
        .context("cannot renew the station certificate")?;
    let grant = hallmark_station::offline::request(&home, count)
        .await
        .context("offline sub-CA refused")?;
    let ids = match &grant.device_ids {
        GrantDeviceIds::Assigned(ids) => format!(
            "device ids {} … {}",
            ids.first().map_or("-", String::as_str),
            ids.last().map_or("-", String::as_str)
        ),
        GrantDeviceIds::Pattern(p) => format!("device ids matching {p}"),
    };
    println!(
        "offline sub-CA {} for order {}: {} certificates, {ids}, valid until {}",
        grant.id,
        grant.order_id,
        grant.count,
        crate::table::when(grant.not_after)
    );
    println!("saved in {}", Grant::dir(dir, &grant.id).display());
    Ok(())
}

pub(crate) async fn sync(dir: &Path, grant: Option<&Path>, close: bool) -> Result<()> {
    let home = open(dir).await?;
    let grant = grant_dir(dir, grant)?;
    let outcome = hallmark_station::offline::sync(&home, &grant, close)
        .await
        .context("offline sync failed")?;
    let status = &outcome.status;
    println!(
        "sub-CA {}: uploaded {} entries; the server has {} of {} certificates{}",
        outcome.id,
        outcome.uploaded,
        status.imported,
        status.count,
        if status.closed_at.is_some() {
            " (closed: unused quota returned to the order)"
        } else {
            ""
        }
    );
    Ok(())
}
