//! The factory station's side of Hallmark.
//!
//! A factory station is the machine on the production line that asks
//! Hallmark's provisioning server (`hallmark serve`, see `docs/api.md`) for
//! device certificates. It authenticates with its own short-lived station
//! certificate, which it obtains once with a one-time token from
//! `hallmark order create` and renews with the certificate itself.
//!
//! * [`home`]: the station's home directory ([`StationHome`]): `station.toml`
//!   ([`config`]), the trusted root, the station key and certificate.
//!   `create` generates the key, `enroll` trades the token for a
//!   certificate, `renew_if_due` keeps it fresh.
//! * [`client`]: [`StationClient`], the JSON API over HTTPS with keep-alive
//!   and timeouts; refusals ([`Error::Refused`]) are told apart from an
//!   unreachable server ([`Error::Unreachable`]).
//! * [`tls`]: rustls client authentication through a Hallmark
//!   [`hallmark_pki::Signer`], so the station key can stay encrypted
//!   ([`hallmark_keys::SoftKeyStore`]) or in an HSM
//!   ([`hallmark_keys::Pkcs11KeyStore`]); only Hallmark's root is trusted.
//! * [`api`]: the request and answer bodies.
//! * [`offline`]: a sub-CA of the station's own for offline production,
//!   its durable local log, and the sync that uploads it.
//! * [`run`]: the provisioning driver (`hallmark station run`): devices on
//!   the line, over the device protocol, through the server.
//!
//! Secrets (the token, the key passphrase or PIN) are never logged, never
//! put in an error and never written into `station.toml`.

pub mod api;
pub mod client;
pub mod config;
mod error;
mod files;
pub mod home;
pub mod offline;
pub mod run;
pub mod tls;

pub use api::{Device, DeviceEnrollment, Order, StationEnrollment, StationSelf};
pub use client::StationClient;
pub use config::{KeysConfig, SecretSource, StationConfig};
pub use error::Error;
pub use home::StationHome;
