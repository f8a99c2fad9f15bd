//! Command-line arguments. Secrets are never arguments: they come from the
//! environment or a file named in `hallmark.toml`.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

/// Hallmark: factory-provisioning PKI for IoT devices.
#[derive(Debug, Parser)]
#[command(name = "hallmark", version, about, args_override_self = true)]
pub struct Cli {
    /// The Hallmark home directory (configuration, database, key files).
    /// (`station` commands: the station's own home directory.)
    /// Default: $HALLMARK_HOME, else ./hallmark-data.
    #[arg(long, global = true, env = "HALLMARK_HOME")]
    pub home: Option<PathBuf>,

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
    /// Run the provisioning server: EST and the JSON API over HTTPS.
    Serve(ServeArgs),
    /// Production orders: quotas, windows, device ids, station tokens.
    #[command(subcommand)]
    Order(OrderCommand),
    /// A factory station's credential (run on the station).
    #[command(subcommand)]
    Station(StationCommand),
    /// The tamper-evident audit log: verify, prove, export, reconcile.
    #[command(subcommand)]
    Audit(AuditCommand),
    /// A simulated device on TCP (state persists in --state).
    DeviceSim(DeviceSimArgs),
    /// End to end in a throwaway home: CA, server, order, station, simulated devices.
    Demo(DemoArgs),
    /// Revoke device certificates (by device, serial, station or order).
    Revoke(RevokeArgs),
    /// Write an issuing CA's CRL (a new one, signed now).
    Crl(CrlArgs),
    /// The standalone OCSP responder.
    #[command(subcommand)]
    Ocsp(OcspCommand),
}

#[derive(Debug, Subcommand)]
pub enum AuditCommand {
    /// Recompute the Merkle tree and check every checkpoint; non-zero exit
    /// naming the first bad entry.
    Verify {
        /// Verify an export file instead of the home's database.
        #[arg(long)]
        export: Option<PathBuf>,
        /// The audit public key (PEM) to trust; default: the home's audit key
        /// (with --export: the key in the file, which proves only consistency).
        #[arg(long)]
        trusted_key: Option<PathBuf>,
    },
    /// Print the audit public key (PEM).
    Key,
    /// Sign a checkpoint over every entry now (the server does this on its own).
    Checkpoint,
    /// Write a self-contained inclusion proof of a device's issuance.
    Prove {
        /// The device id.
        #[arg(long)]
        device: String,
        /// Where to write the proof (JSON).
        #[arg(long)]
        out: PathBuf,
    },
    /// Verify a proof offline, with no database.
    CheckProof {
        /// The proof file.
        file: PathBuf,
        /// The audit public key (PEM) from `hallmark audit key`.
        #[arg(long)]
        trusted_key: PathBuf,
    },
    /// Reconcile provisioned devices against shipping (and scrap) records;
    /// non-zero exit on any discrepancy (see docs/reconcile.md).
    Reconcile {
        /// Only this order.
        #[arg(long)]
        order: Option<String>,
        /// CSV of shipped devices (a `device_id` column).
        #[arg(long)]
        shipped: PathBuf,
        /// CSV of scrapped devices (a `device_id` column).
        #[arg(long)]
        scrapped: Option<PathBuf>,
        /// JSON instead of a table.
        #[arg(long)]
        json: bool,
        /// Also write an HTML report with a per-day chart.
        #[arg(long)]
        html: Option<PathBuf>,
    },
    /// Export entries with inclusion proofs (JSON lines).
    Export {
        /// Only entries at or after this time (RFC 3339).
        #[arg(long, value_parser = parse_time)]
        since: Option<i64>,
        /// Only entries of this order.
        #[arg(long)]
        order: Option<String>,
        /// Where to write the export.
        #[arg(long)]
        out: PathBuf,
    },
}

impl Cli {
    /// The home directory: `--home`, else $HALLMARK_HOME, else ./hallmark-data.
    pub fn home(&self) -> PathBuf {
        self.home
            .clone()
            .unwrap_or_else(|| PathBuf::from("./hallmark-data"))
    }
}

#[derive(Debug, Args)]
pub struct ServeArgs {
    /// HTTPS address (EST, JSON API, health, metrics).
    #[arg(long, default_value = "127.0.0.1:8443")]
    pub listen: std::net::SocketAddr,
    /// Plain-HTTP address for CRLs and OCSP (off unless given).
    #[arg(long)]
    pub http_listen: Option<std::net::SocketAddr>,
}

#[derive(Debug, Subcommand)]
pub enum OrderCommand {
    /// Create an order; prints its id and one-time station tokens (shown once).
    Create(OrderCreateArgs),
    /// List orders with their counts.
    List {
        /// JSON instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// Show one order with its counts and stations.
    Show {
        /// The order id.
        id: String,
        /// JSON instead of text.
        #[arg(long)]
        json: bool,
    },
    /// Close an order: no more issuance or station enrollment under it.
    Close {
        /// The order id.
        id: String,
    },
    /// Make more one-time station tokens for an open order.
    Tokens {
        /// The order id.
        id: String,
        /// How many.
        #[arg(long, default_value_t = 1)]
        count: u32,
        /// JSON output.
        #[arg(long)]
        json: bool,
    },
}

#[derive(Debug, Args)]
pub struct OrderCreateArgs {
    /// The factory (issuing CA id).
    #[arg(long)]
    pub factory: String,
    /// Product name (1-32 characters of [A-Za-z0-9._-]).
    #[arg(long)]
    pub product: String,
    /// How many devices may be certified.
    #[arg(long)]
    pub quantity: u64,
    /// Start of the window, RFC 3339 (default: now).
    #[arg(long, value_parser = parse_time)]
    pub starts: Option<i64>,
    /// End of the window, RFC 3339 (default: 30 days after the start).
    #[arg(long, value_parser = parse_time)]
    pub expires: Option<i64>,
    /// Stations propose device ids (CSR CN) matching this regular expression.
    #[arg(long, conflicts_with = "device_id_template")]
    pub device_id_pattern: Option<String>,
    /// The server assigns device ids: {product}, {factory}, {order}, {seq}, {seq:0N}.
    /// Default: "{product}-{order}-{seq:06}".
    #[arg(long)]
    pub device_id_template: Option<String>,
    /// How many one-time station enrollment tokens to make.
    #[arg(long, default_value_t = 1)]
    pub stations: u32,
    /// Print {"order_id": ..., "station_tokens": [...]}.
    #[arg(long)]
    pub json: bool,
}

fn parse_time(text: &str) -> Result<i64, String> {
    time::OffsetDateTime::parse(text, &time::format_description::well_known::Rfc3339)
        .map(time::OffsetDateTime::unix_timestamp)
        .map_err(|e| format!("not an RFC 3339 time like 2026-12-01T00:00:00Z: {e}"))
}

#[derive(Debug, Subcommand)]
pub enum StationCommand {
    /// Trade a one-time token for a station certificate.
    Enroll(StationEnrollArgs),
    /// Renew the station certificate in --home before it expires.
    Renew {
        /// Renew even when more than a third of the lifetime is left.
        #[arg(long)]
        force: bool,
    },
    /// Provision devices on the line: key, certificate, proof, lock.
    Run(StationRunArgs),
    /// The station's own sub-CA for offline production (docs/offline.md).
    #[command(subcommand, name = "offline-ca")]
    OfflineCa(OfflineCaCommand),
    /// Upload the offline log of a sub-CA to the server (docs/offline.md).
    Sync {
        /// The grant directory (default: the newest under HOME/offline).
        #[arg(long)]
        grant: Option<PathBuf>,
        /// Then close the sub-CA: its unused quota goes back to the order.
        #[arg(long)]
        close: bool,
    },
}

#[derive(Debug, Subcommand)]
pub enum OfflineCaCommand {
    /// Generate a sub-CA key in the station's key store and have the server
    /// certify it for COUNT devices of the station's order.
    Request {
        /// Device certificates it may issue (taken from the order's quota now).
        #[arg(long)]
        count: u64,
    },
}

#[derive(Debug, Args)]
pub struct StationEnrollArgs {
    /// The provisioning server, e.g. `https://ca.example:8443`.
    #[arg(long)]
    pub server: String,
    /// The Hallmark root certificate (PEM) the server must chain to.
    #[arg(long)]
    pub root: PathBuf,
    /// The one-time token from `hallmark order create` (also
    /// $HALLMARK_STATION_TOKEN, which keeps it out of the process list).
    #[arg(long, env = "HALLMARK_STATION_TOKEN", hide_env_values = true)]
    pub token: String,
    /// Bring your own CSR (PEM or DER) instead of a station home.
    #[arg(long, requires = "out")]
    pub csr: Option<PathBuf>,
    /// With --csr: where to write the certificate and its chain (PEM).
    #[arg(long, requires = "csr")]
    pub out: Option<PathBuf>,
    /// With a station home: where the station key lives.
    #[arg(long, value_enum, default_value = "soft", conflicts_with = "csr")]
    pub keys: KeysBackend,
    /// PKCS#11 module path (with --keys pkcs11).
    #[arg(long, required_if_eq("keys", "pkcs11"))]
    pub pkcs11_module: Option<PathBuf>,
    /// PKCS#11 token label (with --keys pkcs11).
    #[arg(long, required_if_eq("keys", "pkcs11"))]
    pub pkcs11_token: Option<String>,
    /// A PostgreSQL database (`postgres://USER@HOST:PORT/DB`, no password)
    /// instead of the embedded SQLite file; it must hold no hierarchy yet.
    #[arg(long, value_name = "URL")]
    pub store: Option<String>,
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
    /// A PostgreSQL database (`postgres://USER@HOST:PORT/DB`, no password)
    /// instead of the embedded SQLite file; it must hold no hierarchy yet.
    #[arg(long, value_name = "URL")]
    pub store: Option<String>,
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

#[derive(Debug, Args)]
pub struct DeviceSimArgs {
    /// Where to listen, e.g. 127.0.0.1:7000 (port 0: any free port).
    #[arg(long)]
    pub listen: std::net::SocketAddr,
    /// The device's flash: its state persists here across restarts.
    #[arg(long)]
    pub state: PathBuf,
    /// Product model reported in HELLO.
    #[arg(long, default_value = "hallmark-sim")]
    pub model: String,
    /// Firmware version reported in HELLO.
    #[arg(long, default_value = "1.0.0")]
    pub firmware: String,
    /// Simulated key generation time, in milliseconds.
    #[arg(long, default_value_t = 0)]
    pub keygen_delay: u64,
    /// Fail this command once per start: hello, generate-key, import-key, get-csr, install, verify, lock.
    #[arg(long)]
    pub fail_at: Option<String>,
    /// How the fault shows: drop (the link) or error (an ERROR answer).
    #[arg(long, default_value = "drop")]
    pub fail_mode: String,
    /// Simulate a key backend that cannot import keys (IMPORT_KEY is answered IMPORT_UNSUPPORTED).
    #[arg(long)]
    pub no_key_import: bool,
}

#[derive(Debug, Args)]
pub struct StationRunArgs {
    /// Devices: comma-separated tcp://HOST:PORT addresses.
    #[arg(
        long,
        value_delimiter = ',',
        required_unless_present = "sim",
        conflicts_with = "sim"
    )]
    pub devices: Vec<String>,
    /// Instead: start this many simulated devices in this process.
    #[arg(long)]
    pub sim: Option<usize>,
    /// With --sim: keep the simulated devices' state here (default: a temporary directory).
    #[arg(long, requires = "sim")]
    pub sim_state: Option<PathBuf>,
    /// With --sim: simulated key generation time, in milliseconds.
    #[arg(long, default_value_t = 50, requires = "sim")]
    pub sim_keygen_delay: u64,
    /// Devices provisioned at once.
    #[arg(long, default_value_t = 8)]
    pub parallel: usize,
    /// Refuse devices whose firmware is below this version.
    #[arg(long)]
    pub min_firmware: Option<String>,
    /// Refuse devices of another model.
    #[arg(long)]
    pub model: Option<String>,
    /// The endpoint stamped on each device.
    #[arg(long, default_value = "mqtts://iot.example.com:8883")]
    pub endpoint: String,
    /// Where device keys are made: device (on the device, the default) or
    /// station (made here, installed with IMPORT_KEY, the copy wiped).
    #[arg(long, default_value = "device", value_parser = ["device", "station"])]
    pub keygen: String,
    /// Write one JSON line per device here.
    #[arg(long)]
    pub report: Option<PathBuf>,
    /// Issue with the station's offline sub-CA; never contact the server.
    #[arg(long)]
    pub offline: bool,
    /// With --offline: the grant directory (default: the newest under HOME/offline).
    #[arg(long, requires = "offline")]
    pub grant: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct DemoArgs {
    /// How many simulated devices to provision.
    #[arg(long, default_value_t = 100)]
    pub devices: usize,
    /// Devices provisioned at once.
    #[arg(long, default_value_t = 16)]
    pub parallel: usize,
    /// Keep the temporary directory (home, station, device state) at the end.
    #[arg(long)]
    pub keep: bool,
}

#[derive(Debug, Args)]
#[command(group(
    clap::ArgGroup::new("target")
        .required(true)
        .args(["device", "serial", "station", "order"])
))]
pub struct RevokeArgs {
    /// Every certificate of this device (its current one and those it superseded).
    #[arg(long)]
    pub device: Option<String>,
    /// The certificate with this serial (hex, as `openssl x509 -serial` prints it).
    #[arg(long)]
    pub serial: Option<String>,
    /// Every certificate enrolled through this station; the station's own
    /// credential is revoked too (it is refused at once).
    #[arg(long)]
    pub station: Option<String>,
    /// With --station: only certificates issued at or after this time (RFC 3339).
    #[arg(long, value_parser = parse_time)]
    pub since: Option<i64>,
    /// With --station: only certificates issued before this time (RFC 3339).
    #[arg(long, value_parser = parse_time)]
    pub until: Option<i64>,
    /// Every certificate issued under this production order.
    #[arg(long)]
    pub order: Option<String>,
    /// RFC 5280 reason: unspecified, keyCompromise, cACompromise,
    /// affiliationChanged, superseded, cessationOfOperation,
    /// privilegeWithdrawn, aACompromise.
    #[arg(long, required_unless_present = "dry_run", value_parser = parse_reason)]
    pub reason: Option<hallmark_authority::Reason>,
    /// List what would be revoked; change nothing.
    #[arg(long)]
    pub dry_run: bool,
    /// JSON instead of text.
    #[arg(long)]
    pub json: bool,
}

fn parse_reason(text: &str) -> Result<hallmark_authority::Reason, String> {
    text.parse::<hallmark_authority::Reason>()
        .map_err(|e| e.to_string())
}

#[derive(Debug, Args)]
pub struct CrlArgs {
    /// The issuing CA (a factory id).
    #[arg(long)]
    pub ca: String,
    /// Where to write the CRL (DER unless --pem).
    #[arg(long)]
    pub out: PathBuf,
    /// Write PEM (`-----BEGIN X509 CRL-----`) instead of DER.
    #[arg(long)]
    pub pem: bool,
}

#[derive(Debug, Subcommand)]
pub enum OcspCommand {
    /// Answer OCSP over plain HTTP (`POST /ocsp`, `GET /ocsp/BASE64`) from
    /// the home's store, read-only; needs only the OCSP responder keys.
    Serve {
        /// Address to listen on, e.g. 0.0.0.0:8080 (port 0: any free port).
        #[arg(long)]
        listen: std::net::SocketAddr,
    },
}
