//! `hallmark audit`: verify the tamper-evident log, prove one issuance,
//! export, and sign a checkpoint on demand.

use std::io::{BufReader, BufWriter, Write};
use std::path::Path;

use anyhow::{Context, Result, bail};
use hallmark_audit::Proof;
use hallmark_authority::Authority;
use hallmark_authority::audit::export::{ExportFilter, export, prove_device, verify_export};
use hallmark_authority::audit::verify::verify_store;
use hallmark_authority::audit::{SequencerPolicy, origin};
use hallmark_pki::{PublicKey, pem};

use crate::cli::AuditCommand;
use crate::home::Home;

pub async fn run(home_dir: &Path, command: AuditCommand) -> Result<()> {
    match command {
        AuditCommand::Verify {
            export: Some(file),
            trusted_key,
        } => verify_file(&file, trusted_key.as_deref()),
        AuditCommand::CheckProof { file, trusted_key } => check_proof(&file, &trusted_key),
        command => {
            let home = Home::load(home_dir)?;
            run_with_home(&home, command).await
        }
    }
}

async fn run_with_home(home: &Home, command: AuditCommand) -> Result<()> {
    match command {
        AuditCommand::Verify { trusted_key, .. } => {
            let store = home.store().await?;
            let key = match trusted_key {
                Some(path) => read_key(&path)?,
                None => home.authority().await?.audit_public_key().await?,
            };
            let origin = origin(store.as_ref()).await?;
            let verified = verify_store(store.as_ref(), &origin, &[key])
                .await
                .context("THE AUDIT LOG DOES NOT VERIFY")?;
            println!(
                "audit log OK: {} entries, {} checkpoint(s) verified, latest covers {} entries; {} newer entries not yet checkpointed",
                verified.size,
                verified.checkpoints,
                verified.latest.as_ref().map_or(0, |c| c.tree_size),
                verified.unsigned
            );
            Ok(())
        }
        AuditCommand::Key => {
            let key = home.authority().await?.audit_public_key().await?;
            print!("{}", pem::encode("PUBLIC KEY", key.spki_der()));
            Ok(())
        }
        AuditCommand::Checkpoint => {
            let authority = home.authority().await?;
            let size = checkpoint_now(&authority, home).await?;
            println!("checkpoint signed over {size} entries");
            Ok(())
        }
        AuditCommand::Prove { device, out } => {
            let authority = home.authority().await?;
            checkpoint_now(&authority, home).await?;
            let proof = prove_device(authority.store().as_ref(), &device).await?;
            std::fs::write(&out, proof.to_json()?)
                .with_context(|| format!("cannot write {}", out.display()))?;
            println!(
                "proof for {device}: entry {} in a log of {} entries -> {}",
                proof.entry.seq,
                proof.checkpoint.checkpoint.tree_size,
                out.display()
            );
            Ok(())
        }
        AuditCommand::Export { since, order, out } => {
            let authority = home.authority().await?;
            checkpoint_now(&authority, home).await?;
            let key = authority.audit_public_key().await?;
            let store = authority.store();
            let origin = origin(store.as_ref()).await?;
            let file = std::fs::File::create(&out)
                .with_context(|| format!("cannot create {}", out.display()))?;
            let mut writer = BufWriter::new(file);
            let filter = ExportFilter { since, order };
            let written = export(store.as_ref(), &origin, &key, &filter, &mut writer).await?;
            writer.flush()?;
            println!("exported {written} entries -> {}", out.display());
            Ok(())
        }
        AuditCommand::Reconcile {
            order,
            shipped,
            scrapped,
            json,
            html,
        } => {
            let args = crate::commands::reconcile::ReconcileArgs {
                order,
                shipped,
                scrapped,
                json,
                html,
            };
            crate::commands::reconcile::run(home, args).await
        }
        AuditCommand::CheckProof { .. } => {
            bail!("internal: handled without a home")
        }
    }
}

/// Integrates every entry and signs a checkpoint, unless another process
/// (a running server) is the sequencer; returns the latest tree size.
async fn checkpoint_now(authority: &Authority, home: &Home) -> Result<u64> {
    let policy = SequencerPolicy {
        max_entries: home.config.audit.checkpoint_entries,
        max_age_seconds: i64::from(home.config.audit.checkpoint_seconds),
        ..SequencerPolicy::default()
    };
    let holder = format!("cli-{}", std::process::id());
    let sequencer = authority.sequencer(holder, policy).await?;
    let pass = sequencer.pass(true).await?;
    if !pass.leader {
        eprintln!("note: a running server is the sequencer; using its latest checkpoint");
    }
    let checkpoints = authority.store().audit_checkpoints().await?;
    Ok(checkpoints.last().map_or(0, |c| c.tree_size as u64))
}

fn read_key(path: &Path) -> Result<PublicKey> {
    let text = std::fs::read(path).with_context(|| format!("cannot read {}", path.display()))?;
    let der = pem::decode(&text, &["PUBLIC KEY"])
        .with_context(|| format!("{} is not a PEM public key", path.display()))?;
    Ok(PublicKey::from_spki_der(&der)?)
}

fn verify_file(file: &Path, trusted_key: Option<&Path>) -> Result<()> {
    let key = trusted_key.map(read_key).transpose()?;
    let input =
        std::fs::File::open(file).with_context(|| format!("cannot read {}", file.display()))?;
    let verified = verify_export(&mut BufReader::new(input), key.as_ref())
        .context("THE EXPORT DOES NOT VERIFY")?;
    println!(
        "export OK: {} entries proven against a checkpoint of {} entries{}{}",
        verified.entries,
        verified.tree_size,
        if verified.complete {
            " (complete log recomputed)"
        } else {
            ""
        },
        if key.is_none() {
            "; WARNING: checked with the key inside the file — pass --trusted-key"
        } else {
            ""
        }
    );
    Ok(())
}

fn check_proof(file: &Path, trusted_key: &Path) -> Result<()> {
    let key = read_key(trusted_key)?;
    let text =
        std::fs::read_to_string(file).with_context(|| format!("cannot read {}", file.display()))?;
    let proof = Proof::from_json(&text).context("not a Hallmark audit proof")?;
    let verified = proof.verify(&key).context("THE PROOF DOES NOT VERIFY")?;
    println!(
        "proof OK: entry {} ({}{}) at {} is in the audit log of {} entries signed at {}",
        verified.entry.seq,
        verified.entry.kind,
        verified
            .entry
            .subject
            .as_deref()
            .map(|s| format!(" {s}"))
            .unwrap_or_default(),
        crate::table::when(verified.entry.at),
        verified.checkpoint.tree_size,
        crate::table::when(verified.checkpoint.timestamp)
    );
    Ok(())
}
