//! A throwaway SoftHSM2 token for the EST run with PKCS#11 CA keys.
//!
//! The token lives in a directory of its own (a `softhsm2.conf` whose
//! `directories.tokendir` points there, passed as `SOFTHSM2_CONF`), with a
//! random label and random PINs. `softhsm2-util` takes the PINs as
//! arguments (acceptable for a token that only lives for this run);
//! `hallmark` gets the user PIN only through `HALLMARK_PKCS11_PIN`.

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context as _, Result, bail};

use crate::server::{Env, Keys, Options};

/// How to get SoftHSM2, for notes.
pub const MISSING: &str = "SoftHSM2 is not installed (Debian package softhsm2: \
     `apt-get install softhsm2`; scripts/bench installs it when run as root outside CI)";

/// Where Debian and others put the module; `$SOFTHSM2_MODULE` first.
const MODULE_CANDIDATES: &[&str] = &[
    "/usr/lib/softhsm/libsofthsm2.so",
    "/usr/lib/x86_64-linux-gnu/softhsm/libsofthsm2.so",
    "/usr/lib/aarch64-linux-gnu/softhsm/libsofthsm2.so",
    "/usr/local/lib/softhsm/libsofthsm2.so",
];

/// An initialized token.
pub struct Token {
    module: PathBuf,
    conf: PathBuf,
    label: String,
    pin: String,
}

impl std::fmt::Debug for Token {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Token")
            .field("module", &self.module)
            .field("conf", &self.conf)
            .field("label", &self.label)
            .finish_non_exhaustive()
    }
}

fn random_hex(bytes: usize) -> Result<String> {
    use aws_lc_rs::rand::SecureRandom as _;
    let mut buf = vec![0u8; bytes];
    aws_lc_rs::rand::SystemRandom::new()
        .fill(&mut buf)
        .map_err(|_| anyhow::anyhow!("no randomness"))?;
    Ok(buf.iter().map(|b| format!("{b:02x}")).collect())
}

/// The SoftHSM2 module, if installed.
pub fn module_path() -> Option<PathBuf> {
    if let Some(p) = std::env::var_os("SOFTHSM2_MODULE").map(PathBuf::from) {
        return p.is_file().then_some(p);
    }
    MODULE_CANDIDATES
        .iter()
        .map(PathBuf::from)
        .find(|p| p.is_file())
}

impl Token {
    /// Writes `dir/softhsm2.conf`, makes `dir/tokens` and initializes a token there.
    pub fn init(dir: &Path) -> Result<Self> {
        let module = module_path().context(MISSING)?;
        crate::peers::which("softhsm2-util").context(MISSING)?;
        let tokens = dir.join("tokens");
        std::fs::create_dir_all(&tokens)?;
        let conf = dir.join("softhsm2.conf");
        std::fs::write(
            &conf,
            format!(
                "directories.tokendir = {}\nobjectstore.backend = file\nlog.level = ERROR\nslots.removable = false\n",
                tokens.display()
            ),
        )?;
        let label = format!("hallmark-bench-{}", random_hex(4)?);
        let pin = random_hex(8)?;
        let so_pin = random_hex(8)?;
        let out = Command::new("softhsm2-util")
            .env("SOFTHSM2_CONF", &conf)
            .args(["--init-token", "--free", "--label", &label])
            .args(["--so-pin", &so_pin, "--pin", &pin])
            .output()
            .context("running softhsm2-util")?;
        if !out.status.success() {
            bail!(
                "softhsm2-util --init-token failed ({}): {}",
                out.status,
                String::from_utf8_lossy(&out.stderr)
            );
        }
        Ok(Self {
            module,
            conf,
            label,
            pin,
        })
    }

    /// Server options: CA keys in this token, the PIN in the environment.
    pub fn options(&self) -> Result<Options> {
        Ok(Options {
            keys: Keys::Pkcs11 {
                module: self.module.clone(),
                token: self.label.clone(),
            },
            store: None,
            env: Env(vec![
                (
                    "SOFTHSM2_CONF".into(),
                    self.conf.to_str().context("non-UTF-8 path")?.into(),
                ),
                ("HALLMARK_PKCS11_PIN".into(), self.pin.clone()),
            ]),
        })
    }
}
