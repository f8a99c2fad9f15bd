//! `hallmark station`: a factory station's credential.

use std::path::Path;

use anyhow::{Result, bail};

use crate::cli::StationCommand;

pub async fn run(_home: Option<&Path>, _command: StationCommand) -> Result<()> {
    bail!("station commands are being wired")
}
