//! Command-line arguments. Secrets are never arguments: they come from the
//! environment or a file named in `hallmark.toml`.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

/// Hallmark: factory-provisioning PKI for IoT devices.
#[derive(Debug, Parser)]
#[command(name = "hallmark", version, about)]
pub struct Cli {
    /// The Hallmark home directory (configuration, database, key files).
    #[arg(
        long,
        global = true,
        env = "HALLMARK_HOME",
        default_value = "./hallmark-data"
    )]
    pub home: PathBuf,

    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Create a new home: CA hierarchy, configuration and database.
    Init(InitArgs),
    /// Inspect the CA hierarchy.
    #[command(subcommand)]
    Ca(CaCommand),
    /// Issue one device certificate from a CSR, offline.
    Issue(IssueArgs),
    /// Configuration helpers.
    #[command(subcommand)]
    Config(ConfigCommand),
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum KeysBackend {
    /// Software keys encrypted at rest (passphrase from $HALLMARK_PASSPHRASE).
    Soft,
    /// A PKCS#11 token (PIN from $HALLMARK_PKCS11_PIN).
    Pkcs11,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum IssuingKey {
    /// ECDSA P-256 (fast on devices and HSMs).
    P256,
    /// ECDSA P-384.
    P384,
}

#[derive(Debug, Args)]
pub struct InitArgs {
    /// Organization name (O= in every subject).
    #[arg(long)]
    pub org: String,
    /// A factory id; repeat for several. Each gets an issuing CA.
    #[arg(long = "factory", required = true)]
    pub factories: Vec<String>,
    /// Key type of the issuing CAs (the root is always P-384).
    #[arg(long, value_enum, default_value = "p256")]
    pub issuing_key: IssuingKey,
    /// Where the CA keys live.
    #[arg(long, value_enum, default_value = "soft")]
    pub keys: KeysBackend,
    /// PKCS#11 module path (with --keys pkcs11).
    #[arg(long, required_if_eq("keys", "pkcs11"))]
    pub pkcs11_module: Option<PathBuf>,
    /// PKCS#11 token label (with --keys pkcs11).
    #[arg(long, required_if_eq("keys", "pkcs11"))]
    pub pkcs11_token: Option<String>,
}

#[derive(Debug, Subcommand)]
pub enum CaCommand {
    /// List every CA and authority key.
    List {
        /// JSON instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// Print a CA's chain as PEM: that CA first, the root last.
    Chain {
        /// CA id (`root`, a factory id, `station-ca`, …).
        #[arg(long)]
        ca: String,
    },
}

#[derive(Debug, Args)]
pub struct IssueArgs {
    /// The issuing CA: a factory id.
    #[arg(long)]
    pub ca: String,
    /// The device's certificate request, PEM or DER.
    #[arg(long)]
    pub csr: PathBuf,
    /// The device id to certify.
    #[arg(long)]
    pub device_id: String,
    /// The certificate profile from hallmark.toml.
    #[arg(long, default_value = "device")]
    pub profile: String,
    /// Where to write the certificate (PEM).
    #[arg(long)]
    pub out: PathBuf,
}

#[derive(Debug, Subcommand)]
pub enum ConfigCommand {
    /// Print the reference hallmark.toml (what `init` writes, with example values).
    Reference,
    /// Validate the home's hallmark.toml.
    Check,
}
