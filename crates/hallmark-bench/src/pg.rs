//! A throwaway PostgreSQL database per bench run, created through the
//! admin URL (`--postgres`, trust auth, no password) and dropped at the
//! end, also when the run failed.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use anyhow::{Context as _, Result};

/// How to get a server, for notes.
pub const HINT: &str = "PostgreSQL must listen on 127.0.0.1:5432 with trust auth for user \
     postgres (or pass --postgres URL): `scripts/install-test-deps`, or by hand \
     `apt-get install -y postgresql && pg_ctlcluster 15 main start` with a \
     `host all postgres 127.0.0.1/32 trust` line in pg_hba.conf";

/// A database created for this run.
#[derive(Debug)]
pub struct Database {
    admin_url: String,
    name: String,
    /// `postgres://USER@HOST:PORT/NAME`.
    pub url: String,
}

/// One statement on `url` (5 s to connect, 30 s to run).
async fn execute(url: &str, sql: &str) -> Result<()> {
    let (client, connection) = tokio::time::timeout(
        Duration::from_secs(5),
        tokio_postgres::connect(url, tokio_postgres::NoTls),
    )
    .await
    .with_context(|| format!("connecting to PostgreSQL at {url}: timed out"))?
    .with_context(|| format!("connecting to PostgreSQL at {url}"))?;
    let driver = tokio::spawn(connection);
    let res = tokio::time::timeout(Duration::from_secs(30), client.batch_execute(sql))
        .await
        .with_context(|| format!("{sql}: timed out"))?
        .with_context(|| sql.to_owned());
    drop(client);
    let _ = driver.await;
    res
}

impl Database {
    /// Creates `hallmark_bench_<pid>_<nanos>` on the server of `admin_url`.
    pub async fn create(admin_url: &str) -> Result<Self> {
        let nanos = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or(0);
        let name = format!("hallmark_bench_{}_{nanos}", std::process::id());
        execute(admin_url, &format!("CREATE DATABASE {name}"))
            .await
            .context(HINT)?;
        Ok(Self {
            url: hallmark_testkit::postgres::with_database(admin_url, &name),
            admin_url: admin_url.to_owned(),
            name,
        })
    }

    /// Drops the database (and any connection still open to it).
    pub async fn drop_database(self) -> Result<()> {
        execute(
            &self.admin_url,
            &format!("DROP DATABASE IF EXISTS {} WITH (FORCE)", self.name),
        )
        .await
    }
}
