//! `hallmark serve`: the provisioning server, until SIGINT or SIGTERM.

use std::sync::Arc;

use anyhow::{Context, Result};
use hallmark_authority::audit::{Sequencer, SequencerPolicy};
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
    let opened = authority.open_issuing_cas().await?;
    tracing::info!(opened, "issuing CA keys opened");
    let options = ServerOptions {
        listen: args.listen,
        http_listen: args.http_listen,
        alt_names: server_config.alt_names()?,
        certificate_validity: i64::from(server_config.certificate_days) * 86_400,
        rate_limit: server_config
            .station_rate_limit
            .map(|l| (l.per_second, l.burst)),
    };
    let sequencer = authority
        .sequencer(sequencer_name(), sequencer_policy(home))
        .await
        .context("cannot open the audit key")?;
    let server = Server::bind(Arc::clone(&authority), &options)
        .await
        .context("cannot start the server")?
        .with_revocation_settings(home.config.revocation.settings())?;
    // One line per listener on stdout, for people and for scripts.
    println!("listening on https://{}", server.local_addr()?);
    if let Some(addr) = server.http_addr()? {
        println!("listening on http://{addr} (CRL, OCSP)");
    }
    let (stop, stopped) = tokio::sync::watch::channel(false);
    let sequencing = tokio::spawn(run_sequencer(
        sequencer,
        stopped,
        home.config.audit.checkpoint_seconds,
    ));
    server.run(shutdown_signal()).await;
    let _ = stop.send(true);
    if let Err(err) = sequencing.await {
        tracing::error!(error = %err, "the audit sequencer task failed");
    }
    eprintln!("stopped");
    Ok(())
}

/// A name unique to this process, for the sequencer lease.
fn sequencer_name() -> String {
    let host = std::fs::read_to_string("/proc/sys/kernel/hostname").unwrap_or_default();
    format!("serve-{}-{}", host.trim(), std::process::id())
}

fn sequencer_policy(home: &Home) -> SequencerPolicy {
    let audit = &home.config.audit;
    let period = i64::from(audit.checkpoint_seconds);
    SequencerPolicy {
        max_entries: audit.checkpoint_entries,
        max_age_seconds: period,
        // Another node takes over within a few periods of this one dying.
        lease_seconds: (3 * period).max(5),
    }
}

/// Runs sequencer passes every second (checkpoints as the policy says) until
/// `stop`, then a last forced pass so every entry is covered at shutdown.
async fn run_sequencer(
    sequencer: Sequencer,
    mut stop: tokio::sync::watch::Receiver<bool>,
    period_seconds: u32,
) {
    let tick = std::time::Duration::from_secs(u64::from(period_seconds).clamp(1, 5));
    loop {
        if let Err(err) = sequencer.pass(false).await {
            tracing::error!(error = %err, "audit sequencer pass failed");
        }
        tokio::select! {
            _ = stop.changed() => break,
            () = tokio::time::sleep(tick) => {}
        }
    }
    match sequencer.pass(true).await {
        Ok(done) if done.leader => {
            tracing::info!(checkpoint = ?done.checkpoint, "audit log checkpointed at shutdown")
        }
        Ok(_) => {}
        Err(err) => tracing::error!(error = %err, "final audit checkpoint failed"),
    }
}

/// Completes on SIGINT (Ctrl-C) or SIGTERM.
pub(crate) async fn shutdown_signal() {
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
