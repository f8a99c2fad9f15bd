//! SoftHSM2 tokens for tests.
//!
//! [`SoftHsm::new`] initializes a fresh token with a unique label and random
//! PINs, so a test never sees another test's keys and never needs a system
//! token directory.
//!
//! # One token directory per process
//!
//! SoftHSM2 finds its configuration through the `SOFTHSM2_CONF` environment
//! variable, read when the module is first `C_Initialize`d. PKCS#11 allows one
//! `C_Initialize` per module per process, so the configuration cannot change
//! afterwards. The fixture therefore creates **one** temporary directory per
//! process (a `softhsm2.conf` plus `tokens/`) and points `SOFTHSM2_CONF` at it
//! exactly once; every token of the process lives there. Tests run under
//! cargo-nextest, one process per test, so tests stay isolated.
//!
//! Setting the variable is only sound while no other thread reads the
//! environment: create the first fixture at the start of a test, before
//! spawning threads. (This crate is edition 2021 so `set_var` is not `unsafe`
//! syntax; the rule is the same.)
//!
//! # Create tokens before the module is loaded
//!
//! SoftHSM2 scans its token directory when it is initialized. A token made by
//! `softhsm2-util` after the module was `C_Initialize`d in this process is not
//! visible to it. Create every [`SoftHsm`] a test needs *before* opening the
//! first PKCS#11 key store.
//!
//! # Child processes
//!
//! [`SoftHsm::conf_path`] gives the configuration file so a test can pass
//! `SOFTHSM2_CONF` to a child `hallmark` process explicitly.
//!
//! A missing SoftHSM2 installation panics with
//! `SoftHSM2 is missing: apt-get install softhsm2`; the tests never skip.

use std::fmt;
use std::io::ErrorKind;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

use zeroize::Zeroizing;

const MISSING: &str = "SoftHSM2 is missing: apt-get install softhsm2";

/// Where the module usually lives on Debian and Ubuntu.
const MODULE_CANDIDATES: &[&str] = &[
    "/usr/lib/softhsm/libsofthsm2.so",
    "/usr/lib/x86_64-linux-gnu/softhsm/libsofthsm2.so",
    "/usr/lib/aarch64-linux-gnu/softhsm/libsofthsm2.so",
    "/usr/local/lib/softhsm/libsofthsm2.so",
];

/// Where OpenSC's `pkcs11-spy.so` usually lives on Debian and Ubuntu.
const SPY_CANDIDATES: &[&str] = &[
    "/usr/lib/x86_64-linux-gnu/pkcs11-spy.so",
    "/usr/lib/x86_64-linux-gnu/pkcs11/pkcs11-spy.so",
    "/usr/lib/aarch64-linux-gnu/pkcs11-spy.so",
    "/usr/lib/aarch64-linux-gnu/pkcs11/pkcs11-spy.so",
    "/usr/local/lib/pkcs11-spy.so",
];

/// Prefix of the per-process directories under the system temp dir.
const DIR_PREFIX: &str = "hallmark-softhsm-";

/// The process-wide SoftHSM2 configuration (see the module docs).
#[derive(Debug)]
struct ProcessConf {
    /// `<dir>/softhsm2.conf`.
    conf_path: PathBuf,
    /// `<dir>/tokens`.
    token_dir: PathBuf,
}

static PROCESS_CONF: OnceLock<ProcessConf> = OnceLock::new();

/// A freshly initialized SoftHSM2 token with its own label and PINs.
pub struct SoftHsm {
    module_path: PathBuf,
    conf_path: PathBuf,
    token_label: String,
    pin: Zeroizing<String>,
    so_pin: Zeroizing<String>,
}

impl fmt::Debug for SoftHsm {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SoftHsm")
            .field("module_path", &self.module_path)
            .field("conf_path", &self.conf_path)
            .field("token_label", &self.token_label)
            .finish_non_exhaustive()
    }
}

impl SoftHsm {
    /// Initializes a new token in this process's SoftHSM2 token directory.
    ///
    /// # Panics
    ///
    /// If SoftHSM2 (the module or `softhsm2-util`) is not installed, or if
    /// the token cannot be initialized.
    pub fn new() -> Self {
        let module_path = module_path();
        assert!(
            !module_loaded(),
            "SoftHsm::new() after libsofthsm2 was loaded in this process: SoftHSM2 reads its \
             token directory at C_Initialize and would never see the new token. Create every \
             SoftHsm before opening the first PKCS#11 key store."
        );
        let conf = process_conf();
        let token_label = format!("hallmark-{}", random_hex(8));
        let pin = Zeroizing::new(random_hex(8));
        let so_pin = Zeroizing::new(random_hex(8));

        let output = Command::new("softhsm2-util")
            .env("SOFTHSM2_CONF", &conf.conf_path)
            .args(["--init-token", "--free", "--label", &token_label])
            .args(["--so-pin", so_pin.as_str(), "--pin", pin.as_str()])
            .output();
        let output = match output {
            Ok(output) => output,
            Err(err) if err.kind() == ErrorKind::NotFound => panic!("{MISSING}"),
            Err(err) => panic!("cannot run softhsm2-util: {err}"),
        };
        assert!(
            output.status.success(),
            "softhsm2-util --init-token failed ({}): {}{}",
            output.status,
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr),
        );

        Self {
            module_path,
            conf_path: conf.conf_path.clone(),
            token_label,
            pin,
            so_pin,
        }
    }

    /// Path of `libsofthsm2.so`.
    pub fn module_path(&self) -> &Path {
        &self.module_path
    }

    /// The token's label (unique per fixture).
    pub fn token_label(&self) -> &str {
        &self.token_label
    }

    /// The user PIN.
    pub fn pin(&self) -> Zeroizing<String> {
        self.pin.clone()
    }

    /// The security officer PIN.
    pub fn so_pin(&self) -> Zeroizing<String> {
        self.so_pin.clone()
    }

    /// The `softhsm2.conf` of this process; pass it as `SOFTHSM2_CONF` to
    /// child processes that must see the same tokens.
    pub fn conf_path(&self) -> &Path {
        &self.conf_path
    }

    /// OpenSC's `pkcs11-spy.so`, set up to wrap this process's SoftHSM2
    /// module: a second path to the *same* module instance, as a PKCS#11
    /// proxy or another component of the process would be. The spy's log
    /// goes to `/dev/null`.
    ///
    /// Sets `PKCS11SPY` and `PKCS11SPY_OUTPUT` (once per process), so the
    /// same rule as for `SOFTHSM2_CONF` holds: call it at the start of a
    /// test, before spawning threads and before the spy is loaded.
    ///
    /// # Panics
    ///
    /// If OpenSC's `pkcs11-spy.so` is not installed.
    pub fn spy_module_path(&self) -> PathBuf {
        static SPY: OnceLock<PathBuf> = OnceLock::new();
        SPY.get_or_init(|| {
            let spy = SPY_CANDIDATES
                .iter()
                .map(PathBuf::from)
                .find(|p| p.is_file())
                .unwrap_or_else(|| {
                    panic!("OpenSC's pkcs11-spy.so is missing: apt-get install opensc-pkcs11")
                });
            std::env::set_var("PKCS11SPY", &self.module_path);
            std::env::set_var("PKCS11SPY_OUTPUT", "/dev/null");
            spy
        })
        .clone()
    }

    /// The directory holding this process's tokens.
    pub fn token_dir(&self) -> &Path {
        &process_conf().token_dir
    }
}

impl Default for SoftHsm {
    fn default() -> Self {
        Self::new()
    }
}

/// Finds `libsofthsm2.so`: `$SOFTHSM2_MODULE`, then the usual Debian paths.
///
/// # Panics
///
/// If the module is not found.
pub fn module_path() -> PathBuf {
    if let Some(path) = std::env::var_os("SOFTHSM2_MODULE") {
        let path = PathBuf::from(path);
        assert!(
            path.is_file(),
            "SOFTHSM2_MODULE={} does not exist. {MISSING}",
            path.display()
        );
        return path;
    }
    MODULE_CANDIDATES
        .iter()
        .map(PathBuf::from)
        .find(|p| p.is_file())
        .unwrap_or_else(|| panic!("{MISSING}"))
}

/// Whether this process has the SoftHSM2 module mapped (Linux `/proc`).
fn module_loaded() -> bool {
    std::fs::read_to_string("/proc/self/maps").is_ok_and(|maps| maps.contains("libsofthsm2"))
}

/// Creates this process's SoftHSM2 directory and sets `SOFTHSM2_CONF`, once.
fn process_conf() -> &'static ProcessConf {
    PROCESS_CONF.get_or_init(|| {
        remove_stale_dirs();
        let dir = tempfile::Builder::new()
            .prefix(&format!("{DIR_PREFIX}{}-", std::process::id()))
            .tempdir()
            .unwrap_or_else(|e| panic!("cannot create a temp dir for SoftHSM2: {e}"))
            // Kept for the life of the process: the module may read it until
            // exit. Stale directories are swept by later runs.
            .keep();
        let token_dir = dir.join("tokens");
        std::fs::create_dir(&token_dir)
            .unwrap_or_else(|e| panic!("cannot create {}: {e}", token_dir.display()));
        let conf_path = dir.join("softhsm2.conf");
        let conf = format!(
            "directories.tokendir = {}\nobjectstore.backend = file\nlog.level = ERROR\nslots.removable = false\n",
            token_dir.display()
        );
        std::fs::write(&conf_path, conf)
            .unwrap_or_else(|e| panic!("cannot write {}: {e}", conf_path.display()));
        std::env::set_var("SOFTHSM2_CONF", &conf_path);
        ProcessConf {
            conf_path,
            token_dir,
        }
    })
}

/// Removes directories left by earlier test processes that have exited
/// (their name carries the pid; Linux `/proc` tells whether it still runs).
fn remove_stale_dirs() {
    let Ok(entries) = std::fs::read_dir(std::env::temp_dir()) else {
        return;
    };
    for entry in entries.flatten() {
        let name = entry.file_name();
        let Some(rest) = name.to_str().and_then(|n| n.strip_prefix(DIR_PREFIX)) else {
            continue;
        };
        let Some(pid) = rest.split('-').next().and_then(|p| p.parse::<u32>().ok()) else {
            continue;
        };
        if pid != std::process::id() && !Path::new(&format!("/proc/{pid}")).exists() {
            // Best effort: another process may be sweeping the same directory.
            let _ = std::fs::remove_dir_all(entry.path());
        }
    }
}

fn random_hex(bytes: usize) -> String {
    let mut buf = vec![0u8; bytes];
    getrandom::fill(&mut buf).unwrap_or_else(|e| panic!("getrandom failed: {e}"));
    hex::encode(buf)
}
