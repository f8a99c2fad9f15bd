//! Uploading the local log: from where the server's copy ends, in batches,
//! each with the checkpoint the sub-CA signed when its last entry was
//! written.

use std::path::Path;

use super::grant::Grant;
use super::log::read_lines;
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
    // The checkpoints were signed at issuance: syncing needs no key.
    let grant = Grant::load(dir)?;
    let lines = read_lines(&dir.join("log.jsonl"))?;
    let mut status = client.offline_ca_status(&grant.id).await?;
    let start = usize::try_from(status.log_size).unwrap_or(usize::MAX);
    if start > lines.len() {
        return Err(Error::OfflineRefused {
            reason: "log_behind_server",
            message: format!(
                "the server has {} entries of sub-CA {} but the local log only {}",
                status.log_size,
                grant.id,
                lines.len()
            ),
        });
    }
    let mut uploaded = 0;
    let mut before = status.log_size;
    for batch in lines[start..].chunks(BATCH) {
        let Some(last) = batch.last() else { break };
        let body = OfflineSyncBody {
            log_size_before: before,
            entries: batch.iter().map(|l| l.entry.clone()).collect(),
            checkpoint: last.checkpoint.clone(),
        };
        client.offline_ca_sync(&grant.id, &body).await?;
        uploaded += batch.len() as u64;
        before += batch.len() as u64;
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
