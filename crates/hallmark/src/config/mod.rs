//! `hallmark.toml`: typed, validated once at start-up.
//!
//! Unknown fields are errors (`deny_unknown_fields`), backends are tagged
//! enums, and every profile is turned into a checked [`Profile`] before any
//! command runs. The commented reference file is produced by [`render()`], the
//! same code `hallmark init` uses, so the two cannot drift apart.

mod render;

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use hallmark_pki::Profile;
use hallmark_pki::profile::{CertificateKind, ExtendedKeyUsage, KeyUsageBit, check_url};
use serde::Deserialize;

pub use render::{InitValues, KeysChoice, render};

/// The file name inside a home directory.
pub const FILE_NAME: &str = "hallmark.toml";

/// The whole configuration file.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// Who the CA belongs to.
    pub organization: Organization,
    /// Where records live.
    pub store: StoreConfig,
    /// Where CA keys live.
    pub keys: KeysConfig,
    /// Factories (each has an issuing CA of the same id).
    #[serde(default)]
    pub factories: Vec<Factory>,
    /// Public URLs written into certificates.
    #[serde(default)]
    pub urls: Urls,
    /// Device certificate profiles by name.
    pub profiles: BTreeMap<String, ProfileConfig>,
    /// The provisioning server.
    #[serde(default)]
    pub server: ServerConfig,
    /// The tamper-evident audit log.
    #[serde(default)]
    pub audit: AuditConfig,
    /// CRL and OCSP lifetimes.
    #[serde(default)]
    pub revocation: RevocationConfig,
}

/// `[revocation]`: how long CRLs and OCSP responses are valid.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RevocationConfig {
    /// CRL nextUpdate - thisUpdate, in hours.
    pub crl_validity_hours: u32,
    /// A new CRL is signed after this many hours (at once on a revocation).
    pub crl_refresh_hours: u32,
    /// OCSP response nextUpdate - thisUpdate, in minutes.
    pub ocsp_validity_minutes: u32,
}

impl Default for RevocationConfig {
    fn default() -> Self {
        Self {
            crl_validity_hours: 24,
            crl_refresh_hours: 12,
            ocsp_validity_minutes: 60,
        }
    }
}

impl RevocationConfig {
    /// The authority's settings.
    pub fn settings(&self) -> hallmark_authority::RevocationSettings {
        hallmark_authority::RevocationSettings {
            crl_validity: i64::from(self.crl_validity_hours) * 3600,
            crl_refresh: i64::from(self.crl_refresh_hours) * 3600,
            ocsp_validity: i64::from(self.ocsp_validity_minutes) * 60,
        }
    }
}

/// `[audit]`: when the sequencer signs checkpoints.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct AuditConfig {
    /// Sign a checkpoint once this many entries are not covered.
    pub checkpoint_entries: u64,
    /// … or once this many seconds passed since the last one.
    pub checkpoint_seconds: u32,
}

impl Default for AuditConfig {
    fn default() -> Self {
        Self {
            checkpoint_entries: 1000,
            checkpoint_seconds: 10,
        }
    }
}

/// `[server]`: `hallmark serve`.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ServerConfig {
    /// Names in the server's TLS certificate (`DNS:…`, `IP:…`).
    pub subject_alt_names: Vec<String>,
    /// Lifetime of the server certificate in days.
    pub certificate_days: u32,
    /// Per-station token bucket; `None` disables rate limiting.
    pub station_rate_limit: Option<RateLimitConfig>,
    /// Station certificate lifetime in hours (capped at the order's end).
    pub station_certificate_hours: u32,
    /// Profile of device certificates issued under production orders.
    pub order_profile: String,
}

impl Default for ServerConfig {
    fn default() -> Self {
        Self {
            subject_alt_names: vec![
                "DNS:localhost".into(),
                "IP:127.0.0.1".into(),
                "IP:::1".into(),
            ],
            certificate_days: 30,
            station_rate_limit: Some(RateLimitConfig {
                per_second: 20.0,
                burst: 40,
            }),
            station_certificate_hours: 24,
            order_profile: "device".into(),
        }
    }
}

/// A token bucket: `per_second` sustained, `burst` at once.
#[derive(Clone, Copy, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RateLimitConfig {
    /// Sustained requests per second.
    pub per_second: f64,
    /// Requests allowed at once.
    pub burst: u32,
}

/// `[organization]`.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Organization {
    /// Written into every subject.
    pub name: String,
}

/// `[store]`.
#[derive(Clone, Debug, Deserialize)]
#[serde(tag = "backend", rename_all = "lowercase", deny_unknown_fields)]
pub enum StoreConfig {
    /// The embedded default.
    Sqlite {
        /// Database file, relative to the home directory.
        path: PathBuf,
    },
    /// PostgreSQL, shared by several server nodes.
    Postgres {
        /// `postgres://USER@HOST:PORT/DB`, without a password.
        url: String,
        /// The database password, if the server asks for one (or use
        /// `PGPASSFILE`-style trust / peer setups and leave it out).
        #[serde(default)]
        password: Option<SecretSource>,
        /// Most connections this process opens (default 16).
        #[serde(default)]
        max_connections: Option<usize>,
    },
}

impl StoreConfig {
    /// Checks what serde cannot: no password in the URL, a positive pool.
    fn check(&self) -> Result<()> {
        if let Self::Postgres {
            url,
            max_connections,
            ..
        } = self
        {
            check_postgres_url(url)?;
            if *max_connections == Some(0) {
                bail!("store.max_connections must be at least 1");
            }
        }
        Ok(())
    }
}

/// Refuses a PostgreSQL URL that is not one, or that carries a password
/// (the message never repeats the URL).
pub fn check_postgres_url(url: &str) -> Result<()> {
    if !(url.starts_with("postgres://") || url.starts_with("postgresql://")) {
        bail!(
            "the PostgreSQL store URL must start with postgres:// (postgres://USER@HOST:PORT/DB)"
        );
    }
    let authority = url
        .split_once("://")
        .map_or("", |(_, rest)| rest.split(['/', '?']).next().unwrap_or(""));
    if authority
        .rsplit_once('@')
        .is_some_and(|(userinfo, _)| userinfo.contains(':'))
        || url.contains("password=")
    {
        bail!(
            "the PostgreSQL store URL must not contain a password: name a secret instead \
             (store.password = {{ env = \"HALLMARK_PG_PASSWORD\" }} or {{ file = \"PATH\" }})"
        );
    }
    Ok(())
}

/// Where a secret comes from: an environment variable or a file, never argv.
///
/// Deserialized by hand: a secret written straight into the file
/// (`passphrase = "..."`) is refused with a message that does not repeat it,
/// where serde's own error would quote the value.
#[derive(Clone, Debug)]
pub struct SecretSource {
    /// Environment variable holding the secret.
    pub env: Option<String>,
    /// File holding the secret (trailing newline ignored).
    pub file: Option<PathBuf>,
}

/// `[keys]`.
#[derive(Clone, Debug, Deserialize)]
#[serde(tag = "backend", rename_all = "lowercase", deny_unknown_fields)]
pub enum KeysConfig {
    /// Software keys, encrypted at rest.
    Soft {
        /// Directory of key files, relative to the home directory.
        dir: PathBuf,
        /// The passphrase.
        passphrase: SecretSource,
    },
    /// Keys in a PKCS#11 token.
    Pkcs11 {
        /// The vendor's PKCS#11 module.
        module: PathBuf,
        /// Token label.
        token: String,
        /// The user PIN.
        pin: SecretSource,
        /// Most sessions open at once (HSMs often license a session count).
        #[serde(default)]
        max_sessions: Option<usize>,
    },
}

/// `[[factories]]`.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Factory {
    /// The factory id (also its issuing CA's id).
    pub id: String,
    /// Where it is, for audit records.
    #[serde(default)]
    pub location: Option<String>,
}

/// `[urls]`.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Urls {
    /// Base URL of CRLs: `{crl_base}/{ca}.crl` goes into the CDP.
    #[serde(default)]
    pub crl_base: Option<String>,
    /// OCSP responder URL for the AIA extension.
    #[serde(default)]
    pub ocsp: Option<String>,
}

/// `[profiles.NAME]`.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProfileConfig {
    /// Certificate lifetime in days (capped at the issuing CA's own end).
    pub validity_days: u32,
    /// keyUsage bit names.
    pub key_usage: Vec<String>,
    /// extendedKeyUsage names or dotted OIDs.
    #[serde(default)]
    pub extended_key_usage: Vec<String>,
    /// SAN templates.
    #[serde(default)]
    pub subject_alt_names: Vec<String>,
    /// Write the CRL distribution point (needs `urls.crl_base`).
    #[serde(default = "yes")]
    pub crl_distribution_point: bool,
    /// Write the OCSP AIA (needs `urls.ocsp`).
    #[serde(default = "yes")]
    pub ocsp: bool,
}

fn yes() -> bool {
    true
}

impl Config {
    /// Reads and validates `DIR/hallmark.toml`.
    pub fn load(home: &Path) -> Result<Self> {
        let path = home.join(FILE_NAME);
        let text = std::fs::read_to_string(&path).with_context(|| {
            format!(
                "cannot read {} (is --home right? `hallmark init` creates it)",
                path.display()
            )
        })?;
        Self::parse(&text).with_context(|| format!("invalid configuration in {}", path.display()))
    }

    /// Parses and validates configuration text.
    pub fn parse(text: &str) -> Result<Self> {
        let config: Config = toml::from_str(text)?;
        config.profiles()?;
        config.keys.check()?;
        config.store.check()?;
        config.check_server()?;
        if config.audit.checkpoint_entries == 0 || config.audit.checkpoint_seconds == 0 {
            bail!("audit.checkpoint_entries and audit.checkpoint_seconds must be at least 1");
        }
        if config.revocation.settings().check().is_err() {
            bail!(
                "revocation: crl_refresh_hours must be at least 1 and below crl_validity_hours, \
                 ocsp_validity_minutes at least 1"
            );
        }
        Ok(config)
    }

    fn check_server(&self) -> Result<()> {
        let server = &self.server;
        server.alt_names()?;
        if server.certificate_days == 0 || server.station_certificate_hours == 0 {
            bail!(
                "server.certificate_days and server.station_certificate_hours must be at least 1"
            );
        }
        if let Some(limit) = server.station_rate_limit
            && (!(limit.per_second > 0.0 && limit.per_second.is_finite()) || limit.burst == 0)
        {
            bail!("server.station_rate_limit needs per_second > 0 and burst >= 1");
        }
        if !self.profiles.contains_key(&server.order_profile) {
            bail!(
                "server.order_profile {:?} names no [profiles.*] entry",
                server.order_profile
            );
        }
        Ok(())
    }

    /// Factory locations by factory id (for audit records).
    pub fn factory_locations(&self) -> HashMap<String, String> {
        self.factories
            .iter()
            .filter_map(|f| Some((f.id.clone(), f.location.clone()?)))
            .collect()
    }

    /// The device profiles, checked.
    pub fn profiles(&self) -> Result<HashMap<String, Profile>> {
        self.profiles
            .iter()
            .map(|(name, p)| {
                let profile = p
                    .to_profile(&self.urls)
                    .with_context(|| format!("profile {name:?}"))?;
                Ok((name.clone(), profile))
            })
            .collect()
    }
}

impl ServerConfig {
    /// The server certificate's names, parsed.
    pub fn alt_names(&self) -> Result<Vec<hallmark_pki::SanTemplate>> {
        self.subject_alt_names
            .iter()
            .map(|t| {
                t.parse()
                    .with_context(|| format!("server.subject_alt_names {t:?}"))
            })
            .collect()
    }
}

impl KeysConfig {
    /// Checks what serde cannot name precisely inside a tagged enum.
    fn check(&self) -> Result<()> {
        if let Self::Pkcs11 {
            max_sessions: Some(0),
            ..
        } = self
        {
            bail!("keys.max_sessions must be at least 1");
        }
        Ok(())
    }

    /// `max_sessions` of a PKCS#11 store, checked at load.
    pub fn max_sessions(&self) -> Option<std::num::NonZeroUsize> {
        match self {
            Self::Pkcs11 { max_sessions, .. } => max_sessions.and_then(std::num::NonZeroUsize::new),
            Self::Soft { .. } => None,
        }
    }
}

impl ProfileConfig {
    fn to_profile(&self, urls: &Urls) -> Result<Profile> {
        let mut key_usage = flagset::FlagSet::default();
        for name in &self.key_usage {
            key_usage |= name
                .parse::<KeyUsageBit>()
                .with_context(|| format!("key_usage {name:?}"))?
                .0;
        }
        let extended_key_usage = self
            .extended_key_usage
            .iter()
            .map(|n| {
                n.parse::<ExtendedKeyUsage>()
                    .with_context(|| format!("extended_key_usage {n:?}"))
            })
            .collect::<Result<_>>()?;
        let subject_alt_names = self
            .subject_alt_names
            .iter()
            .map(|t| {
                t.parse()
                    .with_context(|| format!("subject_alt_names {t:?}"))
            })
            .collect::<Result<_>>()?;
        let mut profile = Profile {
            kind: CertificateKind::EndEntity,
            validity_seconds: i64::from(self.validity_days) * 86_400,
            key_usage,
            extended_key_usage,
            subject_alt_names,
            crl_urls: Vec::new(),
            ocsp_urls: Vec::new(),
            ca_issuers_urls: Vec::new(),
            ocsp_no_check: false,
        };
        if self.crl_distribution_point {
            let Some(base) = &urls.crl_base else {
                bail!("crl_distribution_point = true needs urls.crl_base");
            };
            profile
                .crl_urls
                .push(format!("{}/{{ca}}.crl", base.trim_end_matches('/')));
        }
        if self.ocsp {
            let Some(ocsp) = &urls.ocsp else {
                bail!("ocsp = true needs urls.ocsp");
            };
            check_url(ocsp)?;
            profile.ocsp_urls.push(ocsp.clone());
        }
        profile.check()?;
        Ok(profile)
    }
}

/// The table form, the only one accepted.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SecretTable {
    #[serde(default)]
    env: Option<String>,
    #[serde(default)]
    file: Option<PathBuf>,
}

impl<'de> Deserialize<'de> for SecretSource {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Visitor;
        const REFUSED: &str = "secrets must not be written into hallmark.toml: \
             use { env = \"VARIABLE\" } or { file = \"PATH\" }";
        impl<'de> serde::de::Visitor<'de> for Visitor {
            type Value = SecretSource;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("{ env = \"VARIABLE\" } or { file = \"PATH\" }")
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(
                self,
                map: A,
            ) -> Result<SecretSource, A::Error> {
                let table =
                    SecretTable::deserialize(serde::de::value::MapAccessDeserializer::new(map))?;
                Ok(SecretSource {
                    env: table.env,
                    file: table.file,
                })
            }
            fn visit_str<E: serde::de::Error>(self, _: &str) -> Result<SecretSource, E> {
                Err(E::custom(REFUSED))
            }
            fn visit_i64<E: serde::de::Error>(self, _: i64) -> Result<SecretSource, E> {
                Err(E::custom(REFUSED))
            }
            fn visit_u64<E: serde::de::Error>(self, _: u64) -> Result<SecretSource, E> {
                Err(E::custom(REFUSED))
            }
            fn visit_f64<E: serde::de::Error>(self, _: f64) -> Result<SecretSource, E> {
                Err(E::custom(REFUSED))
            }
            fn visit_bool<E: serde::de::Error>(self, _: bool) -> Result<SecretSource, E> {
                Err(E::custom(REFUSED))
            }
        }
        deserializer.deserialize_any(Visitor)
    }
}

impl SecretSource {
    /// Reads the secret. The error names the source, never the value.
    pub fn read(&self, home: &Path, what: &str) -> Result<zeroize::Zeroizing<String>> {
        if let Some(var) = &self.env
            && let Ok(value) = std::env::var(var)
            && !value.is_empty()
        {
            return Ok(zeroize::Zeroizing::new(value));
        }
        if let Some(file) = &self.file {
            let path = home.join(file);
            let text = std::fs::read_to_string(&path)
                .with_context(|| format!("cannot read the {what} file {}", path.display()))?;
            let value = text.trim_end_matches(['\r', '\n']).to_string();
            if !value.is_empty() {
                return Ok(zeroize::Zeroizing::new(value));
            }
        }
        match (&self.env, &self.file) {
            (Some(var), _) => {
                bail!("the {what} is not set: export {var}=... (or name a file in hallmark.toml)")
            }
            (None, Some(file)) => bail!("the {what} file {} is empty", file.display()),
            (None, None) => bail!("hallmark.toml names no source for the {what} (env or file)"),
        }
    }
}
