//! `hallmark serve`: the provisioning server, until SIGINT or SIGTERM.

use std::sync::Arc;

use anyhow::{Context, Result};
use hallmark_server::{Server, ServerOptions};

use crate::cli::ServeArgs;
use crate::home::Home;

/// A pending issuance older than this was cut off by a crash.
const STUCK_AFTER_SECONDS: i64 = 600;

pub async fn run(home: &Home, args: ServeArgs) -> Result<()> {
    let server_config = &home.config.server;
    let authority = Arc::new(home.authority().await?);
    let released = authority.expire_pending(STUCK_AFTER_SECONDS).await?;
    if released > 0 {
        tracing::warn!(
            released,
            "released issuances left pending by an interrupted run"
        );
    }
    let options = ServerOptions {
        listen: args.listen,
        http_listen: args.http_listen,
        alt_names: server_config.alt_names()?,
        certificate_validity: i64::from(server_config.certificate_days) * 86_400,
        rate_limit: server_config
            .station_rate_limit
            .map(|l| (l.per_second, l.burst)),
    };
    let server = Server::bind(authority, &options)
        .await
        .context("cannot start the server")?;
    // One line per listener on stdout, for people and for scripts.
    println!("listening on https://{}", server.local_addr()?);
    if let Some(addr) = server.http_addr()? {
        println!("listening on http://{addr} (CRL, OCSP)");
    }
    server.run(shutdown_signal()).await;
    eprintln!("stopped");
    Ok(())
}

/// Completes on SIGINT (Ctrl-C) or SIGTERM.
async fn shutdown_signal() {
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(err) => {
                tracing::error!(error = %err, "cannot listen for SIGTERM");
                std::future::pending::<()>().await;
            }
        }
    };
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        () = terminate => {}
    }
    tracing::info!("shutting down: finishing requests in flight");
}
