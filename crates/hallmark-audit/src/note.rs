//! The text forms of checkpoints: the signed body and the signed note
//! (formats in [`crate::checkpoint`]).

use std::fmt::Write as _;

use crate::Error;
use crate::checkpoint::{Checkpoint, SignedCheckpoint};
use crate::encoding::{b64, unb64, unb64_hash};

/// Longest origin accepted.
pub const MAX_ORIGIN_LEN: usize = 255;

/// The prefix of a signature line: an em dash and a space.
const SIGNATURE_PREFIX: &str = "\u{2014} ";

fn malformed(reason: impl Into<String>) -> Error {
    Error::MalformedCheckpoint(reason.into())
}

fn check_origin(origin: &str) -> Result<(), Error> {
    if origin.is_empty()
        || origin.len() > MAX_ORIGIN_LEN
        || !origin.bytes().all(|b| b.is_ascii_graphic())
    {
        return Err(malformed(format!(
            "origin {origin:?} is not 1–{MAX_ORIGIN_LEN} printable ASCII characters without spaces"
        )));
    }
    Ok(())
}

/// Parses a decimal integer in canonical form (what `to_string` renders).
fn canonical<T: std::str::FromStr + ToString>(text: &str, what: &str) -> Result<T, Error> {
    text.parse::<T>()
        .ok()
        .filter(|v| v.to_string() == text)
        .ok_or_else(|| malformed(format!("{what} {text:?} is not a canonical decimal")))
}

impl Checkpoint {
    /// The signed body (see [`crate::checkpoint`]); refuses an origin the
    /// format cannot carry.
    pub fn body(&self) -> Result<String, Error> {
        check_origin(&self.origin)?;
        let mut body = String::with_capacity(self.origin.len() + 80);
        // Writing to a String cannot fail.
        let _ = write!(
            body,
            "{}\n{}\n{}\ntimestamp {}\n",
            self.origin,
            self.tree_size,
            b64(&self.root_hash),
            self.timestamp
        );
        Ok(body)
    }

    /// Parses a body produced by [`body`](Self::body), strictly: exactly
    /// four lines, canonical numbers and base64.
    pub fn from_body(body: &str) -> Result<Self, Error> {
        let lines = body
            .strip_suffix('\n')
            .ok_or_else(|| malformed("body does not end with a newline"))?;
        let fields: Vec<&str> = lines.split('\n').collect();
        let [origin, size, root, timestamp] = fields[..] else {
            return Err(malformed(format!("body has {} lines, not 4", fields.len())));
        };
        check_origin(origin)?;
        let timestamp = timestamp
            .strip_prefix("timestamp ")
            .ok_or_else(|| malformed("fourth line is not `timestamp <unix seconds>`"))?;
        let checkpoint = Self {
            origin: origin.to_owned(),
            tree_size: canonical(size, "tree size")?,
            root_hash: unb64_hash(root)
                .ok_or_else(|| malformed("root hash is not 32 bytes of base64"))?,
            timestamp: canonical(timestamp, "timestamp")?,
        };
        if b64(&checkpoint.root_hash) != root {
            return Err(malformed("root hash base64 is not canonical"));
        }
        Ok(checkpoint)
    }
}

impl SignedCheckpoint {
    /// The C2SP signed-note form: the body, an empty line and
    /// `— <origin> <base64(key id ‖ signature)>`.
    pub fn to_note(&self) -> Result<String, Error> {
        let mut note = self.checkpoint.body()?;
        let mut blob = Vec::with_capacity(4 + self.signature.len());
        blob.extend_from_slice(&self.key_id);
        blob.extend_from_slice(&self.signature);
        let _ = write!(
            note,
            "\n{SIGNATURE_PREFIX}{} {}\n",
            self.checkpoint.origin,
            b64(&blob)
        );
        Ok(note)
    }

    /// Parses the signed-note form (exactly one signature line, named after
    /// the origin). The signature is not checked: call
    /// [`verify`](Self::verify).
    pub fn from_note(note: &str) -> Result<Self, Error> {
        let split = note
            .find("\n\n")
            .ok_or_else(|| malformed("note has no empty line before its signature"))?;
        let (body, signatures) = (&note[..=split], &note[split + 2..]);
        let checkpoint = Checkpoint::from_body(body)?;
        let line = signatures
            .strip_suffix('\n')
            .filter(|l| !l.contains('\n'))
            .ok_or_else(|| malformed("note needs exactly one signature line"))?;
        let (name, blob) = line
            .strip_prefix(SIGNATURE_PREFIX)
            .and_then(|l| l.split_once(' '))
            .ok_or_else(|| malformed("signature line is not `— <name> <base64>`"))?;
        if name != checkpoint.origin {
            return Err(malformed(format!(
                "signature by {name:?}, not by the log's key name {:?}",
                checkpoint.origin
            )));
        }
        let blob = unb64(blob).ok_or_else(|| malformed("signature is not base64"))?;
        if blob.len() <= 4 {
            return Err(malformed("signature too short"));
        }
        let (id, signature) = blob.split_at(4);
        let mut key_id = [0u8; 4];
        key_id.copy_from_slice(id);
        Ok(Self {
            checkpoint,
            key_id,
            signature: signature.to_vec(),
        })
    }
}
