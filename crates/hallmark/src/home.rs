//! Opening a Hallmark home: configuration, key store, store, authority.
//! The one place where concrete backends are chosen.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::{Context, Result};
use hallmark_authority::{Authority, Env, Policy};
use hallmark_keys::{KeyStore, Pkcs11Config, Pkcs11KeyStore, Pkcs11Options, SoftKeyStore};
use hallmark_store::postgres::DEFAULT_MAX_CONNECTIONS;
use hallmark_store::{PgStore, SqliteStore, Store};

use crate::config::{Config, KeysConfig, StoreConfig};

/// A loaded home directory.
#[derive(Debug)]
pub struct Home {
    /// The directory.
    pub dir: PathBuf,
    /// Its validated configuration.
    pub config: Config,
}

impl Home {
    /// Loads `dir/hallmark.toml`.
    pub fn load(dir: &Path) -> Result<Self> {
        Ok(Self {
            dir: dir.to_path_buf(),
            config: Config::load(dir)?,
        })
    }

    /// Opens the configured key store, reading its secret.
    pub fn key_store(&self) -> Result<Arc<dyn KeyStore>> {
        open_key_store(&self.dir, &self.config.keys)
    }

    /// Opens (and migrates) the configured store.
    pub async fn store(&self) -> Result<Arc<dyn Store>> {
        open_store(&self.dir, &self.config.store).await
    }

    /// The authority over this home's backends.
    pub async fn authority(&self) -> Result<Authority> {
        self.authority_with_keys(self.key_store()?).await
    }

    /// The authority over this home's store and policy with `keys` opened
    /// by the caller (`hallmark demo` opens them with a passphrase that
    /// exists only in its memory).
    pub async fn authority_with_keys(&self, keys: Arc<dyn KeyStore>) -> Result<Authority> {
        let policy = Policy {
            organization: self.config.organization.name.clone(),
            profiles: self.config.profiles()?,
            factory_locations: self.config.factory_locations(),
            order_profile: self.config.server.order_profile.clone(),
            station_validity: i64::from(self.config.server.station_certificate_hours) * 3600,
        };
        Ok(Authority::new(
            self.store().await?,
            keys,
            Env::system(),
            policy,
        ))
    }
}

/// Opens a key store from its configuration.
pub fn open_key_store(home: &Path, keys: &KeysConfig) -> Result<Arc<dyn KeyStore>> {
    Ok(match keys {
        KeysConfig::Soft {
            dir, passphrase, ..
        } => {
            let secret = passphrase.read(home, "key passphrase")?;
            Arc::new(SoftKeyStore::open(home.join(dir), secret)?)
        }
        KeysConfig::Pkcs11 {
            module, token, pin, ..
        } => {
            let pin = pin.read(home, "PKCS#11 PIN")?;
            let config = Pkcs11Config {
                module: module.clone(),
                token_label: token.clone(),
                pin,
            };
            let mut options = Pkcs11Options::default();
            if let Some(max) = keys.max_sessions() {
                options = options.with_max_sessions(max);
            }
            Arc::new(Pkcs11KeyStore::open_with(config, options)?)
        }
    })
}

/// Opens and migrates a store from its configuration.
pub async fn open_store(home: &Path, store: &StoreConfig) -> Result<Arc<dyn Store>> {
    let store: Arc<dyn Store> = match store {
        StoreConfig::Sqlite { path } => {
            let path = home.join(path);
            Arc::new(
                SqliteStore::open(&path)
                    .with_context(|| format!("cannot open the database {}", path.display()))?,
            )
        }
        StoreConfig::Postgres { .. } => Arc::new(open_postgres(home, store).await?),
    };
    store.migrate().await?;
    Ok(store)
}

/// Connects to a PostgreSQL store (not migrated), reading its password from
/// the configured secret source.
pub async fn open_postgres(home: &Path, store: &StoreConfig) -> Result<PgStore> {
    let StoreConfig::Postgres {
        url,
        password,
        max_connections,
    } = store
    else {
        anyhow::bail!("the store is not PostgreSQL");
    };
    let password = password
        .as_ref()
        .map(|source| source.read(home, "PostgreSQL password"))
        .transpose()?;
    let max = max_connections.unwrap_or(DEFAULT_MAX_CONNECTIONS);
    PgStore::connect(url, password.as_ref().map(|p| p.as_str()), max)
        .await
        .context("cannot open the PostgreSQL store")
}
