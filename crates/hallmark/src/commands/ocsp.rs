//! `hallmark ocsp serve`: a standalone OCSP responder that only reads the
//! store (opened read-only: no migration, no writes, no audit sequencer)
//! and opens only the OCSP responder keys.

use std::sync::Arc;

use anyhow::{Context, Result};
use hallmark_authority::{Env, RevocationService};
use hallmark_server::OcspServer;
use hallmark_store::{SqliteStore, Store};

use crate::cli::OcspCommand;
use crate::config::StoreConfig;
use crate::home::{Home, open_key_store, open_postgres};

pub async fn run(home: &Home, command: OcspCommand) -> Result<()> {
    let OcspCommand::Serve { listen } = command;
    let keys = open_key_store(&home.dir, &home.config.keys)?;
    let service = RevocationService::new(
        read_only_store(home).await?,
        keys,
        Env::system().clock,
        home.config.revocation.settings(),
    )?;
    let (server, cas) = OcspServer::bind(listen, Arc::new(service))
        .await
        .context("cannot start the OCSP responder")?;
    println!(
        "listening on http://{} (OCSP for {})",
        server.local_addr()?,
        cas.join(", ")
    );
    server.run(super::serve::shutdown_signal()).await;
    eprintln!("stopped");
    Ok(())
}

/// The configured store, read-only. (Belongs beside `home::open_store`.)
async fn read_only_store(home: &Home) -> Result<Arc<dyn Store>> {
    Ok(match &home.config.store {
        StoreConfig::Sqlite { path } => {
            let path = home.dir.join(path);
            Arc::new(
                SqliteStore::open_read_only(&path)
                    .with_context(|| format!("cannot open the database {}", path.display()))?,
            )
        }
        // Only reads are made; give it a read-only role to make that a rule.
        StoreConfig::Postgres { .. } => {
            Arc::new(open_postgres(&home.dir, &home.config.store).await?)
        }
    })
}
