//! Read-only connections. In WAL mode they read the last committed state
//! while the writer works, without waiting for it.
//!
//! Two ways to run a query: [`Readers::read`] on tokio's blocking pool, for
//! scans (listings, CRL candidates, audit pages), and [`Readers::lookup`] on
//! the calling task, for the indexed point reads of the issuance path. A
//! point read from the OS page cache takes a few microseconds, much less
//! than the two thread wake-ups of a hand-off to the blocking pool, which
//! dominated the profile of an EST run (docs/benchmarks.md).

use std::fmt;
use std::path::PathBuf;
use std::sync::{Arc, Mutex, PoisonError};

use rusqlite::{Connection, OpenFlags};

use super::BUSY_TIMEOUT;
use crate::StoreError;

/// Idle connections kept for reuse; more are opened on demand. Sized for
/// the blocking pool's scans plus one point read per runtime worker: a
/// connection dropped here loses its prepared statements and schema.
const MAX_IDLE: usize = 16;

pub(crate) struct Readers {
    path: PathBuf,
    idle: Mutex<Vec<Connection>>,
}

impl fmt::Debug for Readers {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Readers")
            .field("path", &self.path)
            .finish_non_exhaustive()
    }
}

impl Readers {
    pub(crate) fn new(path: PathBuf) -> Self {
        Readers {
            path,
            idle: Mutex::new(Vec::new()),
        }
    }

    /// Runs `query` on a read-only connection without blocking the runtime.
    pub(crate) async fn read<T, F>(self: &Arc<Self>, query: F) -> Result<T, StoreError>
    where
        T: Send + 'static,
        F: FnOnce(&Connection) -> rusqlite::Result<T> + Send + 'static,
    {
        let this = Arc::clone(self);
        tokio::task::spawn_blocking(move || this.with_connection(query))
            .await
            .map_err(|e| StoreError::backend("read task", e))?
    }

    /// Runs an indexed point `query` on the calling task (see the module
    /// docs): only for lookups by key that read a handful of pages.
    pub(crate) fn lookup<T, F>(&self, query: F) -> Result<T, StoreError>
    where
        F: FnOnce(&Connection) -> rusqlite::Result<T>,
    {
        self.with_connection(query)
    }

    fn with_connection<T>(
        &self,
        query: impl FnOnce(&Connection) -> rusqlite::Result<T>,
    ) -> Result<T, StoreError> {
        let idle = self.lock().pop();
        let conn = match idle {
            Some(conn) => conn,
            None => self.open()?,
        };
        let result = query(&conn).map_err(|e| StoreError::backend("read", e));
        let mut idle = self.lock();
        if idle.len() < MAX_IDLE {
            idle.push(conn);
        }
        result
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Vec<Connection>> {
        // A panic while holding the lock cannot leave the Vec inconsistent.
        self.idle.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn open(&self) -> Result<Connection, StoreError> {
        let conn = Connection::open_with_flags(
            &self.path,
            OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )
        .map_err(|e| StoreError::backend("open read connection", e))?;
        conn.busy_timeout(BUSY_TIMEOUT)
            .map_err(|e| StoreError::backend("open read connection", e))?;
        Ok(conn)
    }
}
