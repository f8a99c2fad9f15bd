//! The PostgreSQL backend: several server nodes on one database.
//!
//! Every mutating call is one READ COMMITTED transaction on a pooled
//! connection (tokio-postgres + deadpool). The rules SQLite gets from its
//! single writer are held here by the database across nodes:
//!
//! * **Quota** — the reserving transaction locks the order row
//!   (`SELECT … FOR UPDATE`) and takes the unit with one `UPDATE … WHERE
//!   reserved < quantity`; a CHECK (`reserved <= quantity`) backs it.
//!   Concurrent reservations of one order queue on that row lock.
//! * **Uniqueness** — the same partial unique indexes as SQLite's; an
//!   insert that loses a race (`ON CONFLICT DO NOTHING`) is diagnosed again
//!   against the committed winner and refused with the same error.
//! * **Gap-free audit seq** — a one-row counter (`audit_head`) incremented
//!   by the appending statement, the last write of every transaction. Its
//!   row lock is held until commit, so seq N+1 is handed out only after N
//!   committed (commit order = seq order, a rollback gives its number
//!   back). This serializes appending transactions for the length of one
//!   commit; a sequence would be faster but leaves gaps.
//! * **Sequencer lease** — one row, taken with a single conditional upsert
//!   and locked while leaves are integrated.
//!
//! A transaction that PostgreSQL rolls back (serialization failure,
//! deadlock) or whose connection broke before the commit is run again, up to
//! eight times. A commit is durable when it
//! returns with `synchronous_commit` on (refused at connect when off).

mod api;
mod at_once;
mod codec;
pub(crate) mod db;
mod issuance;
mod migrate;
mod offline;
mod orders;
mod reads;
mod revocation;
mod sequencer;
mod stations;
mod writes;

use std::fmt;
use std::time::Duration;

use deadpool_postgres::{Manager, ManagerConfig, Pool, RecyclingMethod, Runtime};
use tokio_postgres::NoTls;

use crate::StoreError;

/// Connections a [`PgStore`] opens at most, unless told otherwise.
pub const DEFAULT_MAX_CONNECTIONS: usize = 16;

/// [`Store`](crate::Store) on a PostgreSQL database, shared by any number of
/// processes and server nodes.
///
/// Needs a tokio runtime. Call [`Store::migrate`](crate::Store::migrate)
/// before first use (every node may; migrations take an advisory lock).
pub struct PgStore {
    pool: Pool,
    target: String,
}

impl fmt::Debug for PgStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PgStore")
            .field("target", &self.target)
            .finish_non_exhaustive()
    }
}

impl PgStore {
    /// Connects to the database at `url` (`postgres://USER@HOST:PORT/DB`,
    /// or a libpq key=value string). The URL must not carry a password:
    /// pass it as `password` (read from a secret source by the caller).
    /// Checks that the server is reachable and commits durably.
    pub async fn connect(
        url: &str,
        password: Option<&str>,
        max_connections: usize,
    ) -> Result<Self, StoreError> {
        let mut config: tokio_postgres::Config = url.parse().map_err(|e| StoreError::Invalid {
            what: "PostgreSQL URL",
            reason: format!("{e}"),
        })?;
        if config.get_password().is_some() {
            return Err(StoreError::Invalid {
                what: "PostgreSQL URL",
                reason: "it contains a password; give the password through the configured \
                         secret (env or file) instead"
                    .into(),
            });
        }
        if let Some(password) = password {
            config.password(password);
        }
        if config.get_application_name().is_none() {
            config.application_name("hallmark");
        }
        if config.get_connect_timeout().is_none() {
            config.connect_timeout(Duration::from_secs(10));
        }
        let target = describe(&config);
        let manager = Manager::from_config(
            config,
            NoTls,
            ManagerConfig {
                recycling_method: RecyclingMethod::Fast,
            },
        );
        let pool = Pool::builder(manager)
            .max_size(max_connections.max(1))
            .runtime(Runtime::Tokio1)
            .wait_timeout(Some(Duration::from_secs(30)))
            .create_timeout(Some(Duration::from_secs(10)))
            .build()
            .map_err(|e| StoreError::backend_message("open PostgreSQL pool", e.to_string()))?;
        let store = PgStore { pool, target };
        store.check_durability().await?;
        Ok(store)
    }

    /// `user@host:port/dbname`, for messages (never the password).
    pub fn target(&self) -> &str {
        &self.target
    }

    /// A pooled connection.
    pub(crate) async fn client(&self) -> Result<deadpool_postgres::Client, StoreError> {
        self.pool.get().await.map_err(|e| {
            StoreError::backend_message("connect to PostgreSQL", format!("{}: {e}", self.target))
        })
    }

    /// Refuses a server that answers commits before they are durable.
    async fn check_durability(&self) -> Result<(), StoreError> {
        let client = self.client().await?;
        let row = client
            .query_one("SHOW synchronous_commit", &[])
            .await
            .map_err(db::db("read synchronous_commit"))?;
        let mode: String = db::get(&row, 0)?;
        if mode == "off" {
            return Err(StoreError::Invalid {
                what: "PostgreSQL synchronous_commit",
                reason: "it is off, so a commit could be lost after Hallmark answered; \
                         set it to on (or remote_apply with synchronous replicas)"
                    .into(),
            });
        }
        Ok(())
    }
}

fn describe(config: &tokio_postgres::Config) -> String {
    let host = config
        .get_hosts()
        .first()
        .map(|h| match h {
            tokio_postgres::config::Host::Tcp(name) => name.clone(),
            tokio_postgres::config::Host::Unix(path) => path.display().to_string(),
        })
        .unwrap_or_else(|| "localhost".into());
    let port = config.get_ports().first().copied().unwrap_or(5432);
    let user = config.get_user().unwrap_or("");
    let dbname = config.get_dbname().unwrap_or(user);
    format!("{user}@{host}:{port}/{dbname}")
}
