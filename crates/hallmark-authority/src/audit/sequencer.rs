//! The sequencer: turns appended audit records into Merkle leaves and
//! signed checkpoints.

use std::sync::Arc;

use hallmark_audit::{Checkpoint, CompactTree, EntryRef};
use hallmark_pki::Signer;
use hallmark_store::{AuditRecord, Store, StoreError, StoredCheckpoint};

use crate::env::Env;
use crate::error::AuthorityError;

/// When to sign a checkpoint.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SequencerPolicy {
    /// Sign once this many entries are not covered by a checkpoint.
    pub max_entries: u64,
    /// Sign once the oldest uncovered entry is this many seconds older than
    /// the last checkpoint (and at least one entry is uncovered).
    pub max_age_seconds: i64,
    /// How long the lease lasts; the holder renews it at every pass.
    pub lease_seconds: i64,
}

impl Default for SequencerPolicy {
    fn default() -> Self {
        Self {
            max_entries: 1000,
            max_age_seconds: 10,
            lease_seconds: 30,
        }
    }
}

/// What one pass did.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Sequenced {
    /// Whether this process holds the lease (a pass without it does nothing).
    pub leader: bool,
    /// Entries integrated in this pass.
    pub integrated: u64,
    /// The tree size of the checkpoint signed in this pass, if any.
    pub checkpoint: Option<u64>,
}

/// Integrates audit records and signs checkpoints.
#[derive(Debug)]
pub struct Sequencer {
    store: Arc<dyn Store>,
    signer: Arc<dyn Signer>,
    env: Env,
    origin: String,
    holder: String,
    policy: SequencerPolicy,
}

/// Records read per page.
const PAGE: u32 = 10_000;

impl Sequencer {
    /// A sequencer named `holder` (unique per process, e.g. host and pid).
    pub fn new(
        store: Arc<dyn Store>,
        signer: Arc<dyn Signer>,
        env: Env,
        origin: String,
        holder: String,
        policy: SequencerPolicy,
    ) -> Self {
        Self {
            store,
            signer,
            env,
            origin,
            holder,
            policy,
        }
    }

    /// One pass: take or renew the lease, integrate every new record, and
    /// sign a checkpoint when the policy (or `force`) says so.
    pub async fn pass(&self, force: bool) -> Result<Sequenced, AuthorityError> {
        let now = self.env.clock.now();
        let store = self.store.as_ref();
        if !store
            .acquire_sequencer(&self.holder, now, self.policy.lease_seconds)
            .await?
        {
            return Ok(Sequenced::default());
        }
        let (mut tree, last) = self.resume().await?;
        let first_seq = i64::try_from(tree.size()).unwrap_or(i64::MAX) + 1;
        let mut leaves = Vec::new();
        loop {
            let page = store
                .audit_events(first_seq - 1 + leaves.len() as i64, PAGE)
                .await?;
            for record in &page {
                let leaf = entry(record).leaf_hash();
                tree.push(leaf);
                leaves.push(leaf);
            }
            if page.len() < PAGE as usize {
                break;
            }
        }
        let uncovered = tree.size() - last.as_ref().map_or(0, |c| c.tree_size as u64);
        let age = now - last.as_ref().map_or(i64::MIN / 2, |c| c.timestamp);
        let due = uncovered > 0
            && (force
                || uncovered >= self.policy.max_entries
                || age >= self.policy.max_age_seconds);
        if leaves.is_empty() && !due {
            return Ok(Sequenced {
                leader: true,
                ..Sequenced::default()
            });
        }
        let checkpoint = if due {
            Some(self.sign(&tree, now)?)
        } else {
            None
        };
        let signed_size = checkpoint.as_ref().map(|c| c.tree_size as u64);
        let integrated = leaves.len() as u64;
        store
            .integrate_audit(&self.holder, now, first_seq, leaves, checkpoint)
            .await?;
        Ok(Sequenced {
            leader: true,
            integrated,
            checkpoint: signed_size,
        })
    }

    /// The compact tree over every integrated leaf, and the last checkpoint.
    async fn resume(&self) -> Result<(CompactTree, Option<StoredCheckpoint>), AuthorityError> {
        let checkpoints = self.store.audit_checkpoints().await?;
        let last = checkpoints.into_iter().last();
        let mut tree = match &last {
            Some(cp) => CompactTree::from_frontier(cp.tree_size as u64, cp.frontier.clone())
                .map_err(|e| corrupt_log(format!("stored frontier: {e}")))?,
            None => CompactTree::new(),
        };
        // Leaves integrated after the last checkpoint (none normally).
        loop {
            let after = i64::try_from(tree.size()).unwrap_or(i64::MAX);
            let page = self.store.audit_leaf_hashes(after, PAGE).await?;
            for (_, hash) in &page {
                tree.push(*hash);
            }
            if page.len() < PAGE as usize {
                break;
            }
        }
        Ok((tree, last))
    }

    fn sign(&self, tree: &CompactTree, now: i64) -> Result<StoredCheckpoint, AuthorityError> {
        let checkpoint = Checkpoint {
            origin: self.origin.clone(),
            tree_size: tree.size(),
            root_hash: tree.root(),
            timestamp: now,
        };
        let signed = checkpoint
            .sign(self.signer.as_ref())
            .map_err(|e| corrupt_log(format!("signing a checkpoint: {e}")))?;
        let json = signed
            .to_json()
            .map_err(|e| corrupt_log(format!("encoding a checkpoint: {e}")))?;
        Ok(StoredCheckpoint {
            tree_size: i64::try_from(tree.size()).unwrap_or(i64::MAX),
            root_hash: tree.root(),
            timestamp: now,
            signed: json.into_bytes(),
            frontier: tree.frontier().to_vec(),
        })
    }
}

/// A store record as a Merkle leaf input.
pub(crate) fn entry(record: &AuditRecord) -> EntryRef<'_> {
    EntryRef {
        seq: record.seq,
        kind: &record.kind,
        subject: record.subject.as_deref(),
        at: record.at,
        data_json: &record.data_json,
    }
}

fn corrupt_log(reason: String) -> AuthorityError {
    AuthorityError::Store(StoreError::Invalid {
        what: "audit log",
        reason,
    })
}
