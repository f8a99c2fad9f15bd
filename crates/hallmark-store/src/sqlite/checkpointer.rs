//! WAL checkpoints on a thread of their own.
//!
//! By default SQLite checkpoints inside the commit that pushes the WAL past
//! 1000 pages, so the writer thread, which every issuance waits for, would
//! also copy those pages into the database file and sync it. Here a second
//! connection runs a `PASSIVE` checkpoint every [`INTERVAL`]: it never
//! blocks the writer or readers, and the writer keeps committing meanwhile.
//! The writer still checkpoints by itself past [`WRITER_FALLBACK_PAGES`],
//! so a checkpointer that cannot keep up does not let the WAL grow without
//! bound.

use std::sync::mpsc::{self, RecvTimeoutError};
use std::thread::JoinHandle;
use std::time::Duration;

use rusqlite::Connection;

use crate::StoreError;

/// Time between checkpoints.
pub(crate) const INTERVAL: Duration = Duration::from_millis(100);

/// WAL size (pages) at which the writer checkpoints in its own commit.
pub(crate) const WRITER_FALLBACK_PAGES: u32 = 10_000;

/// Handle to the checkpoint thread; dropping it runs one last checkpoint
/// and joins the thread.
#[derive(Debug)]
pub(crate) struct Checkpointer {
    stop: Option<mpsc::Sender<()>>,
    thread: Option<JoinHandle<()>>,
}

impl Checkpointer {
    /// Starts checkpointing the database behind `conn` (already in WAL mode).
    pub(crate) fn spawn(conn: Connection) -> Result<Self, StoreError> {
        let (stop, stopped) = mpsc::channel();
        let thread = std::thread::Builder::new()
            .name("hallmark-store-checkpoint".into())
            .spawn(move || run(&conn, &stopped))
            .map_err(|e| StoreError::backend("start checkpoint thread", e))?;
        Ok(Checkpointer {
            stop: Some(stop),
            thread: Some(thread),
        })
    }
}

impl Drop for Checkpointer {
    fn drop(&mut self) {
        drop(self.stop.take());
        if let Some(Err(_)) = self.thread.take().map(JoinHandle::join) {
            tracing::error!("hallmark-store checkpoint thread panicked");
        }
    }
}

fn run(conn: &Connection, stopped: &mpsc::Receiver<()>) {
    loop {
        let last = match stopped.recv_timeout(INTERVAL) {
            Err(RecvTimeoutError::Timeout) => false,
            // The store is closing (its writer has already finished).
            Ok(()) | Err(RecvTimeoutError::Disconnected) => true,
        };
        if let Err(error) = checkpoint(conn) {
            tracing::warn!(%error, "WAL checkpoint failed; the writer will checkpoint instead");
        }
        if last {
            return;
        }
    }
}

/// One `PASSIVE` checkpoint: copies what no reader still needs.
fn checkpoint(conn: &Connection) -> rusqlite::Result<()> {
    conn.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |_| Ok(()))
}

/// Makes the writer connection leave checkpoints to the [`Checkpointer`].
pub(crate) fn defer_checkpoints(conn: &Connection) -> Result<(), StoreError> {
    conn.pragma_update(None, "wal_autocheckpoint", WRITER_FALLBACK_PAGES)
        .map_err(|e| StoreError::backend("open database", e))
}
