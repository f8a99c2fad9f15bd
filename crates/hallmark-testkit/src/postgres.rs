//! Throwaway PostgreSQL databases: one per test, created on the server
//! named by `HALLMARK_TEST_PG` (default
//! `postgres://postgres@127.0.0.1:5432/postgres`) and dropped when the
//! [`TestDatabase`] is.
//!
//! An unreachable server fails the test with how to install and start one;
//! it never skips. `scripts/install-test-deps` sets one up.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

/// The server used when `HALLMARK_TEST_PG` is not set.
pub const DEFAULT_ADMIN_URL: &str = "postgres://postgres@127.0.0.1:5432/postgres";

/// How to get a server, for failure messages.
pub const INSTALL_HINT: &str = "PostgreSQL must listen on 127.0.0.1:5432 with trust auth for \
     user postgres (or set HALLMARK_TEST_PG to a server's URL). Install and start it with \
     `scripts/install-test-deps`, or by hand: `apt-get install -y postgresql && \
     pg_ctlcluster 15 main start` and a `host all postgres 127.0.0.1/32 trust` line in \
     pg_hba.conf";

/// A database of its own for one test, dropped (with any connections left
/// to it) when this value is.
#[derive(Debug)]
pub struct TestDatabase {
    admin_url: String,
    name: String,
    url: String,
}

impl TestDatabase {
    /// Creates `hallmark_test_<pid>_<time>_<n>`; panics with
    /// [`INSTALL_HINT`] when the server cannot be reached.
    pub fn create() -> Self {
        static COUNTER: AtomicU64 = AtomicU64::new(0);
        let admin_url = admin_url();
        let nanos = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.subsec_nanos())
            .unwrap_or(0);
        let name = format!(
            "hallmark_test_{}_{nanos}_{}",
            std::process::id(),
            COUNTER.fetch_add(1, Ordering::Relaxed)
        );
        admin(&admin_url, &format!("CREATE DATABASE {name}"));
        let url = with_database(&admin_url, &name);
        TestDatabase {
            admin_url,
            name,
            url,
        }
    }

    /// The database's URL (`postgres://USER@HOST:PORT/NAME`).
    pub fn url(&self) -> &str {
        &self.url
    }

    /// The database's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Runs one SQL statement on the test database, as the admin user (for
    /// checks that read the tables directly, or tamper with them); returns
    /// each row's first column as text.
    pub fn query(&self, sql: &str) -> Vec<String> {
        run(&self.url, sql)
    }
}

impl Drop for TestDatabase {
    fn drop(&mut self) {
        let sql = format!("DROP DATABASE IF EXISTS {} WITH (FORCE)", self.name);
        let admin_url = self.admin_url.clone();
        // Not a panic while unwinding: a leftover database is harmless.
        let _ = std::thread::spawn(move || block_on(&admin_url, &sql)).join();
    }
}

/// `HALLMARK_TEST_PG` or [`DEFAULT_ADMIN_URL`].
pub fn admin_url() -> String {
    std::env::var("HALLMARK_TEST_PG")
        .ok()
        .filter(|v| !v.is_empty())
        .unwrap_or_else(|| DEFAULT_ADMIN_URL.to_owned())
}

/// `url` with its database name replaced by `name`.
pub fn with_database(url: &str, name: &str) -> String {
    let (base, query) = match url.split_once('?') {
        Some((base, query)) => (base, format!("?{query}")),
        None => (url, String::new()),
    };
    let scheme_end = base.find("://").map_or(0, |i| i + 3);
    let authority_end = base[scheme_end..]
        .find('/')
        .map_or(base.len(), |i| scheme_end + i);
    format!("{}/{name}{query}", &base[..authority_end])
}

fn admin(admin_url: &str, sql: &str) -> Vec<String> {
    run(admin_url, sql)
}

/// Runs `sql` on its own thread and runtime (callable from inside a tokio
/// runtime and from `Drop`); panics with the install hint on failure.
fn run(url: &str, sql: &str) -> Vec<String> {
    let (url, sql) = (url.to_owned(), sql.to_owned());
    match std::thread::spawn(move || block_on(&url, &sql)).join() {
        Ok(Ok(rows)) => rows,
        Ok(Err(e)) => panic!("{e}"),
        Err(_) => panic!("the PostgreSQL fixture thread panicked"),
    }
}

fn block_on(url: &str, sql: &str) -> Result<Vec<String>, String> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| format!("cannot start a runtime: {e}"))?;
    runtime.block_on(async {
        let (client, connection) = tokio_postgres::connect(url, tokio_postgres::NoTls)
            .await
            .map_err(|e| format!("cannot connect to PostgreSQL at {url}: {e}. {INSTALL_HINT}"))?;
        let driver = tokio::spawn(connection);
        let messages = client
            .simple_query(sql)
            .await
            .map_err(|e| format!("PostgreSQL refused {sql:?}: {e}"))?;
        drop(client);
        let _ = driver.await;
        Ok(messages
            .into_iter()
            .filter_map(|m| match m {
                tokio_postgres::SimpleQueryMessage::Row(row) => {
                    Some(row.get(0).unwrap_or("").to_owned())
                }
                _ => None,
            })
            .collect())
    })
}

#[cfg(test)]
mod tests {
    use super::with_database;

    #[test]
    fn replaces_the_database_name() {
        assert_eq!(
            with_database("postgres://postgres@127.0.0.1:5432/postgres", "t1"),
            "postgres://postgres@127.0.0.1:5432/t1"
        );
        assert_eq!(
            with_database("postgresql://u@h:1/db?sslmode=disable", "t2"),
            "postgresql://u@h:1/t2?sslmode=disable"
        );
        assert_eq!(with_database("postgres://u@h", "t3"), "postgres://u@h/t3");
    }
}
