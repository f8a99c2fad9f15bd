//! Uploading the local log: from where the server's copy ends, in batches,
//! each with a checkpoint over the whole log signed by the sub-CA.

use std::path::Path;

use hallmark_audit::{Checkpoint, CompactTree};

use super::log::read_entries;
use crate::api::{OfflineCaStatus, OfflineSyncBody};
use crate::{Error, StationHome};

/// Entries per upload (keeps each request well under the server's body limit).
const BATCH: usize = 200;

/// What a sync did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SyncOutcome {
    /// The sub-CA.
    pub id: String,
    /// Entries uploaded now.
    pub uploaded: u64,
    /// The server's state afterwards.
    pub status: OfflineCaStatus,
}

/// Uploads the log of the grant in `dir` (what the server does not have
/// yet), then closes the sub-CA when `close`.
pub async fn sync(home: &StationHome, dir: &Path, close: bool) -> Result<SyncOutcome, Error> {
    let client = home.client()?;
    let issuer = super::OfflineIssuer::open(home, dir)?;
    let grant = issuer.grant().clone();
    let entries = read_entries(&dir.join("log.jsonl"))?;
    let mut status = client.offline_ca_status(&grant.id).await?;
    let start = usize::try_from(status.log_size).unwrap_or(usize::MAX);
    if start > entries.len() {
        return Err(Error::OfflineRefused {
            reason: "log_behind_server",
            message: format!(
                "the server has {} entries of sub-CA {} but the local log only {}",
                status.log_size,
                grant.id,
                entries.len()
            ),
        });
    }
    let mut tree = CompactTree::new();
    for entry in &entries[..start] {
        tree.push(entry.leaf_hash());
    }
    let mut uploaded = 0;
    for batch in entries[start..].chunks(BATCH) {
        let before = tree.size();
        for entry in batch {
            tree.push(entry.leaf_hash());
        }
        let checkpoint = Checkpoint {
            origin: format!("hallmark-offline/{}", grant.id),
            tree_size: tree.size(),
            root_hash: tree.root(),
            timestamp: crate::home::unix_now(),
        }
        .sign(issuer.signer().as_ref())
        .map_err(|e| Error::OfflineRefused {
            reason: "checkpoint",
            message: e.to_string(),
        })?;
        let body = OfflineSyncBody {
            log_size_before: before,
            entries: batch.to_vec(),
            checkpoint,
        };
        client.offline_ca_sync(&grant.id, &body).await?;
        uploaded += batch.len() as u64;
    }
    if close && status.closed_at.is_none() {
        client.offline_ca_close(&grant.id).await?;
    }
    if uploaded > 0 || close {
        status = client.offline_ca_status(&grant.id).await?;
    }
    Ok(SyncOutcome {
        id: grant.id.clone(),
        uploaded,
        status,
    })
}
