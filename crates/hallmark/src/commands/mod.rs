//! One module per command.

mod ca;
mod init;
mod issue;

use anyhow::Result;

use crate::cli::{Cli, Command, ConfigCommand};
use crate::config;
use crate::home::Home;

/// Runs the parsed command line.
pub async fn run(cli: Cli) -> Result<()> {
    match cli.command {
        Command::Init(args) => init::run(&cli.home, args).await,
        Command::Ca(cmd) => ca::run(&Home::load(&cli.home)?, cmd).await,
        Command::Issue(args) => issue::run(&Home::load(&cli.home)?, args).await,
        Command::Config(ConfigCommand::Reference) => {
            print!(
                "{}",
                config::render(&config::InitValues {
                    organization: "Acme Devices".into(),
                    factories: vec!["berlin".into(), "shenzhen".into()],
                    keys: config::KeysChoice::Soft,
                })
            );
            Ok(())
        }
        Command::Config(ConfigCommand::Check) => {
            let home = Home::load(&cli.home)?;
            println!(
                "{}: valid, {} profile(s)",
                home.dir.join(config::FILE_NAME).display(),
                home.config.profiles.len()
            );
            Ok(())
        }
    }
}
