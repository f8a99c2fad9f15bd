//! The durable local log: `log.jsonl`, one line per certificate issued:
//! the `hallmark_audit::Entry` and a checkpoint over the log up to it,
//! signed by the sub-CA at that moment. Each line is appended and fsynced
//! before its certificate leaves the station, so a later edit of the file
//! no longer matches the checkpoints the sub-CA signed when it issued.

use std::collections::{HashMap, HashSet};
use std::fs::{File, OpenOptions};
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};

use hallmark_audit::{Checkpoint, CompactTree, Entry, SignedCheckpoint};
use hallmark_pki::Signer;
use serde::{Deserialize, Serialize};

use crate::Error;
use crate::files::io_error;

/// The entry kind of an issued certificate (as the server expects).
pub(crate) const ISSUED: &str = "certificate.issued";

/// An entry's `data_json` (the server's `OfflineEntryData`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct IssuedData {
    pub(crate) device_id: String,
    pub(crate) serial: String,
    /// Base64 DER.
    pub(crate) certificate: String,
    pub(crate) key_origin: String,
    pub(crate) public_key_sha256: String,
}

/// One line of the log.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Line {
    pub(crate) entry: Entry,
    /// Over entries `1..=entry.seq`, signed when the entry was written.
    pub(crate) checkpoint: SignedCheckpoint,
}

/// The log, open for appending, with its index.
#[derive(Debug)]
pub(crate) struct Log {
    path: PathBuf,
    file: File,
    origin: String,
    tree: CompactTree,
    pub(crate) size: u64,
    /// By public key hash (hex).
    pub(crate) by_key: HashMap<String, IssuedData>,
    /// Device ids used.
    pub(crate) by_device: HashSet<String>,
}

impl Log {
    /// Opens (creating) `DIR/log.jsonl` and indexes it; `origin` names the
    /// log in its checkpoints.
    pub(crate) fn open(dir: &Path, origin: String) -> Result<Self, Error> {
        let path = dir.join("log.jsonl");
        let file = OpenOptions::new()
            .create(true)
            .append(true)
            .read(true)
            .open(&path)
            .map_err(io_error(&path))?;
        let mut log = Self {
            path: path.clone(),
            file,
            origin,
            tree: CompactTree::new(),
            size: 0,
            by_key: HashMap::new(),
            by_device: HashSet::new(),
        };
        for line in read_lines(&path)? {
            log.index(&line.entry)?;
        }
        Ok(log)
    }

    fn index(&mut self, entry: &Entry) -> Result<(), Error> {
        let bad = |message: String| Error::Config {
            path: self.path.clone(),
            message,
        };
        if u64::try_from(entry.seq).ok() != Some(self.size + 1) {
            return Err(bad(format!("entry {} out of sequence", entry.seq)));
        }
        let data: IssuedData = serde_json::from_slice(&entry.data_json)
            .map_err(|e| bad(format!("entry {}: {e}", entry.seq)))?;
        self.size += 1;
        self.tree.push(entry.leaf_hash());
        self.by_device.insert(data.device_id.clone());
        self.by_key.insert(data.public_key_sha256.clone(), data);
        Ok(())
    }

    /// Appends `entry` with a checkpoint signed by `signer`, durably
    /// (write + fsync), then indexes it.
    pub(crate) fn append(&mut self, entry: &Entry, signer: &dyn Signer) -> Result<(), Error> {
        let mut tree = self.tree.clone();
        tree.push(entry.leaf_hash());
        let checkpoint = Checkpoint {
            origin: self.origin.clone(),
            tree_size: tree.size(),
            root_hash: tree.root(),
            timestamp: entry.at,
        }
        .sign(signer)
        .map_err(|e| Error::OfflineRefused {
            reason: "checkpoint",
            message: e.to_string(),
        })?;
        let line = Line {
            entry: entry.clone(),
            checkpoint,
        };
        let mut line = serde_json::to_vec(&line).map_err(|e| Error::Config {
            path: self.path.clone(),
            message: format!("cannot encode a log entry: {e}"),
        })?;
        line.push(b'\n');
        self.file.write_all(&line).map_err(io_error(&self.path))?;
        self.file.sync_data().map_err(io_error(&self.path))?;
        self.index(entry)
    }
}

/// Every line of `path` (empty when missing).
pub(crate) fn read_lines(path: &Path) -> Result<Vec<Line>, Error> {
    let file = match File::open(path) {
        Ok(file) => file,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(io_error(path)(e)),
    };
    let mut entries = Vec::new();
    for (n, line) in BufReader::new(file).lines().enumerate() {
        let line = line.map_err(io_error(path))?;
        if line.trim().is_empty() {
            continue;
        }
        let entry: Line = serde_json::from_str(&line).map_err(|e| Error::Config {
            path: path.to_owned(),
            message: format!("line {}: not a log entry: {e}", n + 1),
        })?;
        entries.push(entry);
    }
    Ok(entries)
}
