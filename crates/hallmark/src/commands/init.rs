//! `hallmark init`: a new home with its CA hierarchy.
//!
//! Everything is built in a staging directory next to the target and renamed
//! into place at the end, so a failure leaves no half-made home behind, and
//! an existing home is refused before anything is touched.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use hallmark_authority::{Env, HierarchySpec, create_hierarchy};

use hallmark_pki::KeyAlgorithm;

use crate::cli::{InitArgs, IssuingKey, KeysBackend};
use crate::commands::ca::{in_hierarchy_order, print_table};
use crate::config::{self, Config, InitValues, KeysChoice, KeysConfig, SecretSource};
use crate::home::{open_key_store, open_store};

pub async fn run(home: &Path, args: InitArgs) -> Result<()> {
    refuse_existing(home)?;
    let env = Env::system();
    let label_prefix = format!("hm-{}", hex::encode(&env.random16()[..4]));
    let values = InitValues {
        organization: args.org.clone(),
        factories: args.factories.clone(),
        keys: match args.keys {
            KeysBackend::Soft => KeysChoice::Soft,
            KeysBackend::Pkcs11 => KeysChoice::Pkcs11 {
                module: path_text(args.pkcs11_module.as_deref())?,
                token: args.pkcs11_token.clone().unwrap_or_default(),
            },
        },
        store: args.store.clone(),
    };
    if let Some(url) = &args.store {
        config::check_postgres_url(url)?;
    }
    let text = config::render(&values);
    let config = Config::parse(&text).context("the generated configuration is invalid")?;
    let mut spec = HierarchySpec::new(args.org, args.factories, label_prefix);
    spec.issuing_algorithm = match args.issuing_key {
        IssuingKey::P256 => KeyAlgorithm::EcdsaP256,
        IssuingKey::P384 => KeyAlgorithm::EcdsaP384,
    };
    spec.check()?;
    // Read the secret before creating anything: a missing variable is the commonest mistake.
    match &config.keys {
        KeysConfig::Soft { passphrase, .. } => check_secret(passphrase, home, "key passphrase")?,
        KeysConfig::Pkcs11 { pin, .. } => check_secret(pin, home, "PKCS#11 PIN")?,
    }

    let staging = staging_dir(home, &env)?;
    let built = build(&staging, &text, &config, &spec, &env).await;
    if let Err(err) = built {
        let _ = std::fs::remove_dir_all(&staging);
        return Err(err);
    }
    std::fs::rename(&staging, home)
        .with_context(|| format!("cannot move the new home into place at {}", home.display()))?;

    let store = open_store(home, &config.store).await?;
    println!("Created Hallmark home {}", home.display());
    print_table(&in_hierarchy_order(store.authority_keys().await?));
    println!(
        "\nNext: hallmark --home {} issue --ca {} --csr device.csr --device-id DEVICE-ID --out device.pem",
        home.display(),
        spec.factories[0]
    );
    Ok(())
}

async fn build(
    staging: &Path,
    text: &str,
    config: &Config,
    spec: &HierarchySpec,
    env: &Env,
) -> Result<()> {
    let keys = open_key_store(staging, &config.keys)?;
    let store = open_store(staging, &config.store).await?;
    if !store.authority_keys().await?.is_empty() {
        bail!(
            "the store already holds a Hallmark CA hierarchy; refusing to add another (use an empty database)"
        );
    }
    create_hierarchy(spec, keys.as_ref(), store.as_ref(), env)
        .await
        .context("creating the CA hierarchy failed")?;
    write_private(&staging.join(config::FILE_NAME), text.as_bytes())?;
    Ok(())
}

fn refuse_existing(home: &Path) -> Result<()> {
    if home.exists() {
        let empty_dir = home.is_dir() && std::fs::read_dir(home)?.next().is_none();
        if !empty_dir {
            bail!(
                "{} already exists; refusing to touch it (choose a new --home)",
                home.display()
            );
        }
        // An empty directory (e.g. a mount point prepared by an operator) is replaced.
        std::fs::remove_dir(home)?;
    }
    Ok(())
}

fn staging_dir(home: &Path, env: &Env) -> Result<PathBuf> {
    let name = home
        .file_name()
        .with_context(|| format!("{} has no directory name", home.display()))?;
    let parent = home
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    std::fs::create_dir_all(parent)?;
    let staging = parent.join(format!(
        ".{}.init-{}",
        name.to_string_lossy(),
        hex::encode(&env.random16()[..4])
    ));
    create_private_dir(&staging)?;
    Ok(staging)
}

fn check_secret(source: &SecretSource, home: &Path, what: &str) -> Result<()> {
    source.read(home, what).map(drop)
}

fn path_text(path: Option<&Path>) -> Result<String> {
    let path = path.context("--pkcs11-module is required with --keys pkcs11")?;
    if !path.exists() {
        bail!("PKCS#11 module {} does not exist", path.display());
    }
    path.to_str()
        .map(str::to_string)
        .context("the module path is not UTF-8")
}

fn create_private_dir(path: &Path) -> Result<()> {
    use std::os::unix::fs::DirBuilderExt;
    std::fs::DirBuilder::new()
        .mode(0o700)
        .create(path)
        .with_context(|| format!("cannot create {}", path.display()))
}

fn write_private(path: &Path, bytes: &[u8]) -> Result<()> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
        .with_context(|| format!("cannot create {}", path.display()))?;
    file.write_all(bytes)?;
    file.sync_all()?;
    Ok(())
}
