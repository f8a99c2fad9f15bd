//! `hallmark device-sim`: one simulated device on TCP until SIGINT/SIGTERM.
//! Its state (key, chain, lock) persists in `--state` across restarts.

use std::time::Duration;

use anyhow::{Context, Result};
use hallmark_sim::{FailMode, FailStep, SimConfig, parse_semver, spawn_sim};

use crate::cli::DeviceSimArgs;

pub async fn run(args: DeviceSimArgs) -> Result<()> {
    let config = SimConfig {
        listen: args.listen,
        model: args.model,
        firmware: parse_semver(&args.firmware)?,
        keygen_delay: Duration::from_millis(args.keygen_delay),
        fail_at: args
            .fail_at
            .as_deref()
            .map(str::parse::<FailStep>)
            .transpose()?,
        fail_mode: args.fail_mode.parse::<FailMode>()?,
        key_import: !args.no_key_import,
        ..SimConfig::new(args.state)
    };
    let state = config.state_dir.clone();
    let sim = tokio::task::spawn_blocking(move || spawn_sim(config))
        .await?
        .with_context(|| format!("cannot start the simulated device in {}", state.display()))?;
    println!("listening on {}", sim.url());
    wait_for_signal().await;
    tokio::task::spawn_blocking(move || sim.shutdown()).await?;
    Ok(())
}

/// Completes on SIGINT (Ctrl-C) or SIGTERM.
pub(crate) async fn wait_for_signal() {
    use tokio::signal::unix::{SignalKind, signal};
    match signal(SignalKind::terminate()) {
        Ok(mut term) => {
            tokio::select! {
                _ = tokio::signal::ctrl_c() => {}
                _ = term.recv() => {}
            }
        }
        Err(_) => {
            let _ = tokio::signal::ctrl_c().await;
        }
    }
}
