//! One module per command.

mod audit;
mod ca;
mod crl;
mod demo;
mod device_sim;
mod init;
mod issue;
mod ocsp;
mod order;
mod reconcile;
mod revoke;
mod serve;
mod station;
mod station_offline;
mod station_run;

use anyhow::Result;

use crate::cli::{Cli, Command, ConfigCommand};
use crate::config;
use crate::home::Home;

/// Runs the parsed command line.
pub async fn run(cli: Cli) -> Result<()> {
    let home = cli.home();
    match cli.command {
        Command::Init(args) => init::run(&home, args).await,
        Command::Ca(cmd) => ca::run(&Home::load(&home)?, cmd).await,
        Command::Issue(args) => issue::run(&Home::load(&home)?, args).await,
        Command::Serve(args) => serve::run(&Home::load(&home)?, args).await,
        Command::Order(cmd) => order::run(&Home::load(&home)?, cmd).await,
        Command::Station(cmd) => station::run(cli.home.as_deref(), cmd).await,
        Command::Audit(cmd) => audit::run(&home, cmd).await,
        Command::DeviceSim(args) => device_sim::run(args).await,
        Command::Demo(args) => demo::run(args).await,
        Command::Revoke(args) => revoke::run(&Home::load(&home)?, args).await,
        Command::Crl(args) => crl::run(&Home::load(&home)?, args).await,
        Command::Ocsp(cmd) => ocsp::run(&Home::load(&home)?, cmd).await,
        Command::Config(ConfigCommand::Reference) => {
            print!(
                "{}",
                config::render(&config::InitValues {
                    organization: "Acme Devices".into(),
                    factories: vec!["berlin".into(), "shenzhen".into()],
                    keys: config::KeysChoice::Soft,
                    store: None,
                })
            );
            Ok(())
        }
        Command::Config(ConfigCommand::Check) => {
            let home = Home::load(&home)?;
            println!(
                "{}: valid, {} profile(s)",
                home.dir.join(config::FILE_NAME).display(),
                home.config.profiles.len()
            );
            Ok(())
        }
    }
}
