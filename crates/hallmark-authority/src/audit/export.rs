//! Evidence that verifies without the store: an inclusion proof for one
//! device (`hallmark audit prove`), and exports of the log
//! (`hallmark audit export`, checked by `hallmark audit verify --export`).
//!
//! An export is JSON lines: a header (`origin`, the audit public key, whether
//! the export is complete), the signed checkpoint every entry is proven
//! against, then one line per entry with its leaf index and audit path. A
//! complete export is also recomputed as a whole (any deletion, insertion or
//! reordering shows); a filtered one proves each entry it holds.

use std::io::{BufRead, Write};

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use hallmark_audit::{
    Entry, Hash, LogVerifier, Proof, SignedCheckpoint, node_hash, verify_inclusion,
};
use hallmark_pki::PublicKey;
use hallmark_store::{AuditRecord, AuditSeq, Store};
use serde::{Deserialize, Serialize};

use super::verify::parse_checkpoints;
use crate::error::AuthorityError;

/// Records read per page.
const PAGE: u32 = 10_000;

/// The first line of an export.
#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExportHeader {
    /// Always `hallmark-audit-export/1`.
    pub format: String,
    /// The log's origin.
    pub origin: String,
    /// The audit public key (DER SPKI, base64) — informative: verify with a
    /// key obtained out of band (`hallmark audit key`).
    pub audit_key: String,
    /// Whether every entry up to the checkpoint is in the export.
    pub complete: bool,
}

/// One line after the header.
#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "snake_case")]
pub enum ExportLine {
    /// The checkpoint the entries are proven against.
    Checkpoint(SignedCheckpoint),
    /// An entry with its inclusion proof.
    Entry {
        /// The entry.
        entry: Entry,
        /// Its audit path in the checkpoint's tree (base64 hashes).
        audit_path: Vec<String>,
    },
}

/// Which entries to export.
#[derive(Clone, Debug, Default)]
pub struct ExportFilter {
    /// Only entries at or after this time.
    pub since: Option<i64>,
    /// Only entries of this order (their data's `order` field).
    pub order: Option<String>,
}

impl ExportFilter {
    fn is_empty(&self) -> bool {
        self.since.is_none() && self.order.is_none()
    }

    fn keeps(&self, record: &AuditRecord) -> bool {
        self.since.is_none_or(|t| record.at >= t)
            && self
                .order
                .as_deref()
                .is_none_or(|o| record.data.get("order").and_then(|v| v.as_str()) == Some(o))
    }
}

/// Every level of the Merkle tree over `leaves` (RFC 9162 shape: an odd
/// last node moves up unchanged), for O(log n) audit paths.
struct Levels(Vec<Vec<Hash>>);

impl Levels {
    fn new(leaves: Vec<Hash>) -> Self {
        let mut levels = vec![leaves];
        while levels.last().is_some_and(|l| l.len() > 1) {
            let below = levels.last().map(Vec::as_slice).unwrap_or_default();
            // `chunks(2)` yields one or two hashes; a lone last one moves up.
            let up = below
                .chunks(2)
                .map(|pair| match pair {
                    [left, right] => node_hash(left, right),
                    _ => pair[0],
                })
                .collect();
            levels.push(up);
        }
        Levels(levels)
    }

    fn path(&self, mut index: usize) -> Vec<Hash> {
        let mut path = Vec::new();
        for level in &self.0[..self.0.len().saturating_sub(1)] {
            let sibling = index ^ 1;
            if let Some(hash) = level.get(sibling) {
                path.push(*hash);
            }
            index /= 2;
        }
        path
    }
}

fn to_entry(record: &AuditRecord) -> Entry {
    Entry {
        seq: record.seq,
        kind: record.kind.clone(),
        subject: record.subject.clone(),
        at: record.at,
        data_json: record.data_json.clone(),
    }
}

/// The latest signed checkpoint and the leaf hashes it covers.
async fn latest(store: &dyn Store) -> Result<(SignedCheckpoint, Vec<Hash>), AuthorityError> {
    let checkpoint = parse_checkpoints(&store.audit_checkpoints().await?)?
        .pop()
        .ok_or_else(|| no_checkpoint("the log has no checkpoint yet"))?;
    let size = checkpoint.checkpoint.tree_size;
    let mut leaves = Vec::new();
    while (leaves.len() as u64) < size {
        let page = store
            .audit_leaf_hashes(leaves.len() as AuditSeq, PAGE)
            .await?;
        if page.is_empty() {
            break;
        }
        leaves.extend(page.into_iter().map(|(_, hash)| hash));
    }
    leaves.truncate(usize::try_from(size).unwrap_or(usize::MAX));
    Ok((checkpoint, leaves))
}

fn no_checkpoint(why: &str) -> AuthorityError {
    AuthorityError::AuditLog(hallmark_audit::Error::MalformedCheckpoint(why.to_string()))
}

/// The inclusion proof of the newest `certificate.issued` entry of
/// `device_id` against the latest checkpoint.
pub async fn prove_device(store: &dyn Store, device_id: &str) -> Result<Proof, AuthorityError> {
    let (checkpoint, leaves) = latest(store).await?;
    let mut found = None;
    let mut after = 0;
    loop {
        let page = store.audit_events(after, PAGE).await?;
        for record in &page {
            if record.kind == "certificate.issued" && record.subject.as_deref() == Some(device_id) {
                found = Some(to_entry(record));
            }
        }
        match page.last() {
            Some(last) if page.len() == PAGE as usize => after = last.seq,
            _ => break,
        }
    }
    let entry = found.ok_or_else(|| {
        AuthorityError::UnknownDeviceCertificate("no certificate.issued entry for this device")
    })?;
    if entry.seq as u64 > checkpoint.checkpoint.tree_size {
        return Err(no_checkpoint(
            "the entry is newer than the latest checkpoint",
        ));
    }
    Proof::build(entry, &leaves, checkpoint).map_err(AuthorityError::AuditLog)
}

/// Writes an export of the entries `filter` keeps, each proven against the
/// latest checkpoint. Returns the number of entries written.
pub async fn export(
    store: &dyn Store,
    origin: &str,
    audit_key: &PublicKey,
    filter: &ExportFilter,
    out: &mut dyn Write,
) -> Result<u64, AuthorityError> {
    let (checkpoint, leaves) = latest(store).await?;
    let size = checkpoint.checkpoint.tree_size;
    let header = ExportHeader {
        format: "hallmark-audit-export/1".into(),
        origin: origin.to_string(),
        audit_key: STANDARD.encode(audit_key.spki_der()),
        complete: filter.is_empty(),
    };
    write_line(out, &header)?;
    write_line(out, &ExportLine::Checkpoint(checkpoint))?;
    let levels = Levels::new(leaves);
    let (mut after, mut written) = (0, 0);
    while (after as u64) < size {
        let page = store.audit_events(after, PAGE).await?;
        for record in page.iter().filter(|r| (r.seq as u64) <= size) {
            if !filter.keeps(record) {
                continue;
            }
            let path = levels.path(usize::try_from(record.seq - 1).unwrap_or(usize::MAX));
            let line = ExportLine::Entry {
                entry: to_entry(record),
                audit_path: path.iter().map(|h| STANDARD.encode(h)).collect(),
            };
            write_line(out, &line)?;
            written += 1;
        }
        match page.last() {
            Some(last) if page.len() == PAGE as usize => after = last.seq,
            _ => break,
        }
    }
    Ok(written)
}

fn write_line<T: Serialize>(out: &mut dyn Write, value: &T) -> Result<(), AuthorityError> {
    let mut line = serde_json::to_vec(value).map_err(|e| bad_export(e.to_string()))?;
    line.push(b'\n');
    out.write_all(&line).map_err(|e| bad_export(e.to_string()))
}

fn bad_export(reason: String) -> AuthorityError {
    AuthorityError::AuditLog(hallmark_audit::Error::MalformedCheckpoint(format!(
        "export: {reason}"
    )))
}

/// What a verified export holds.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VerifiedExport {
    /// The header's origin.
    pub origin: String,
    /// The checkpoint's tree size.
    pub tree_size: u64,
    /// Entries proven.
    pub entries: u64,
    /// Whether the export claimed to be complete (and was recomputed whole).
    pub complete: bool,
}

/// Verifies an export with `trusted_key` (`None`: the key in its header,
/// which only shows the export is self-consistent).
pub fn verify_export(
    input: &mut dyn BufRead,
    trusted_key: Option<&PublicKey>,
) -> Result<VerifiedExport, AuthorityError> {
    let mut lines = input.lines();
    let mut next = |what: &str| -> Result<String, AuthorityError> {
        lines
            .next()
            .ok_or_else(|| bad_export(format!("missing {what}")))?
            .map_err(|e| bad_export(e.to_string()))
    };
    let header: ExportHeader =
        serde_json::from_str(&next("header")?).map_err(|e| bad_export(format!("header: {e}")))?;
    let embedded = STANDARD
        .decode(&header.audit_key)
        .ok()
        .and_then(|der| PublicKey::from_spki_der(&der).ok())
        .ok_or_else(|| bad_export("header: unusable audit_key".into()))?;
    let key = trusted_key.unwrap_or(&embedded);
    let checkpoint = match serde_json::from_str(&next("checkpoint")?) {
        Ok(ExportLine::Checkpoint(cp)) => cp,
        _ => return Err(bad_export("the second line must be the checkpoint".into())),
    };
    let cp = checkpoint
        .verify(key)
        .map_err(AuthorityError::AuditLog)?
        .clone();
    if cp.origin != header.origin {
        return Err(bad_export(
            "the checkpoint's origin is not the header's".into(),
        ));
    }
    let mut whole = LogVerifier::new(&header.origin);
    whole
        .check(&checkpoint, key)
        .map_err(AuthorityError::AuditLog)?;
    let mut entries = 0;
    for line in lines {
        let line = line.map_err(|e| bad_export(e.to_string()))?;
        let Ok(ExportLine::Entry { entry, audit_path }) = serde_json::from_str(&line) else {
            return Err(bad_export(format!("line {}: not an entry", entries + 3)));
        };
        let path = audit_path
            .iter()
            .map(|h| {
                STANDARD
                    .decode(h)
                    .ok()
                    .and_then(|b| <Hash>::try_from(b).ok())
                    .ok_or_else(|| bad_export(format!("entry {}: bad audit path", entry.seq)))
            })
            .collect::<Result<Vec<_>, _>>()?;
        let index = u64::try_from(entry.seq - 1).map_err(|_| bad_export("seq < 1".into()))?;
        verify_inclusion(
            &entry.leaf_hash(),
            index,
            cp.tree_size,
            &path,
            &cp.root_hash,
        )
        .map_err(|_| {
            bad_export(format!(
                "entry {} is not in the signed log (altered?)",
                entry.seq
            ))
        })?;
        if header.complete {
            whole.push(&entry).map_err(AuthorityError::AuditLog)?;
        }
        entries += 1;
    }
    if header.complete {
        whole.finish().map_err(AuthorityError::AuditLog)?;
    }
    Ok(VerifiedExport {
        origin: header.origin,
        tree_size: cp.tree_size,
        entries,
        complete: header.complete,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn level_paths_are_rfc_9162_audit_paths() {
        for size in 1..=70u64 {
            let leaves: Vec<Hash> = (0..size).map(|i| [i as u8; 32]).collect();
            let levels = Levels::new(leaves.clone());
            for index in 0..size {
                let expected = hallmark_audit::audit_path(index, &leaves).unwrap();
                assert_eq!(
                    levels.path(index as usize),
                    expected,
                    "size {size} index {index}"
                );
            }
        }
    }
}
