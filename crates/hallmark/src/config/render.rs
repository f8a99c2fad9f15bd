//! Writes a fully commented `hallmark.toml`.

use std::fmt::Write as _;

/// Key backend chosen at `hallmark init`.
#[derive(Clone, Debug)]
pub enum KeysChoice {
    /// Encrypted software keys.
    Soft,
    /// A PKCS#11 token.
    Pkcs11 {
        /// Module path.
        module: String,
        /// Token label.
        token: String,
    },
}

/// Values `hallmark init` fills in.
#[derive(Clone, Debug)]
pub struct InitValues {
    /// Organization name.
    pub organization: String,
    /// Factory ids.
    pub factories: Vec<String>,
    /// Key backend.
    pub keys: KeysChoice,
    /// A PostgreSQL URL (`postgres://USER@HOST:PORT/DB`); `None` for the
    /// embedded SQLite database.
    pub store: Option<String>,
}

fn quoted(s: &str) -> String {
    // TOML basic strings share JSON's escapes for everything we write.
    serde_json::to_string(s).unwrap_or_else(|_| "\"\"".into())
}

/// The configuration text for `values`.
pub fn render(values: &InitValues) -> String {
    let mut out = String::new();
    out.push_str(HEADER);
    let _ = writeln!(
        out,
        "[organization]\n# Written into the subject (O=) of every certificate.\nname = {}\n",
        quoted(&values.organization)
    );
    match &values.store {
        None => out.push_str(STORE),
        Some(url) => {
            let _ = write!(
                out,
                "{STORE_INTRO}[store]\nbackend = \"postgres\"\nurl = {}\n{POSTGRES_BODY}\n",
                quoted(url)
            );
        }
    }
    match &values.keys {
        KeysChoice::Soft => {
            let _ = write!(
                out,
                "{KEYS_INTRO}[keys]\nbackend = \"soft\"\n{SOFT_BODY}\n{PKCS11_COMMENTED}"
            );
        }
        KeysChoice::Pkcs11 { module, token } => {
            let _ = write!(
                out,
                "{KEYS_INTRO}[keys]\nbackend = \"pkcs11\"\n# The vendor's PKCS#11 module (SoftHSM2, YubiKey ykcs11, a network or cloud HSM client).\nmodule = {}\n# Token label (slot numbers change; labels do not).\ntoken = {}\n# Keys are named hm-<installation id>-<ca id> in the token.\n# The user PIN: from this environment variable, or from a file (mode 0600).\npin = {{ env = \"HALLMARK_PKCS11_PIN\" }}\n# pin = {{ file = \"/run/secrets/hallmark-pin\" }}\n# Most sessions open on the token at once (default 16); HSMs often license a count.\n# max_sessions = 16\n\n",
                quoted(module),
                quoted(token)
            );
        }
    }
    out.push_str(FACTORIES_INTRO);
    for factory in &values.factories {
        let _ = writeln!(
            out,
            "[[factories]]\nid = {}\n# location = \"Berlin, DE\"   # recorded with each issuance\n",
            quoted(factory)
        );
    }
    out.push_str(URLS_AND_PROFILES);
    out
}

const HEADER: &str = "\
# Hallmark configuration.
#
# Read once at start-up and validated as a whole: unknown keys, bad URLs,
# unknown key usages or SAN templates are errors naming the offending entry.
# Secrets (passphrase, PIN) never live here: only where to read them from.
# Paths are relative to this file's directory (the Hallmark home).

";

const STORE_INTRO: &str = "\
# Where issuance records, CA records and the audit log live.
# SQLite (WAL, synchronous=FULL) is the embedded default; PostgreSQL lets
# several server nodes share one database (docs/deployment.md).
";

const STORE: &str = "\
# Where issuance records, CA records and the audit log live.
# SQLite (WAL, synchronous=FULL) is the embedded default; PostgreSQL lets
# several server nodes share one database (docs/deployment.md).
[store]
backend = \"sqlite\"
path = \"hallmark.db\"
# The PostgreSQL form (`hallmark init --store postgres://USER@HOST:PORT/DB`):
# [store]
# backend = \"postgres\"
# url = \"postgres://hallmark@db.example.com:5432/hallmark\"
# password = { env = \"HALLMARK_PG_PASSWORD\" }
# max_connections = 16

";

const POSTGRES_BODY: &str = "\
# Never a password in the URL: name where to read it, if the server asks.
# password = { env = \"HALLMARK_PG_PASSWORD\" }
# password = { file = \"/run/secrets/hallmark-pg-password\" }
# Most connections this process opens (default 16).
# max_connections = 16
";

const KEYS_INTRO: &str = "\
# Where the CA keys live. They are generated inside the backend and never
# leave it: software keys are PKCS#8 files encrypted with scrypt + AES-256;
# PKCS#11 keys are CKA_SENSITIVE and not extractable.
";

const SOFT_BODY: &str = "\
# Directory of encrypted key files (<label>.key.pem, mode 0600).
dir = \"keys\"
# The passphrase: from this environment variable, or from a file (mode 0600).
passphrase = { env = \"HALLMARK_PASSPHRASE\" }
# passphrase = { file = \"/run/secrets/hallmark-passphrase\" }
# Key files are named hm-<installation id>-<ca id>.key.pem.
";

const PKCS11_COMMENTED: &str = "\
# The PKCS#11 form, for reference:
# [keys]
# backend = \"pkcs11\"
# module = \"/usr/lib/softhsm/libsofthsm2.so\"
# token = \"hallmark\"
# pin = { env = \"HALLMARK_PKCS11_PIN\" }
# max_sessions = 16

";

const FACTORIES_INTRO: &str = "\
# One entry per factory. Each has an issuing CA with the same id
# (`hallmark issue --ca <id>`) and an OCSP responder `ocsp-<id>`.
";

const URLS_AND_PROFILES: &str = "\
# Public URLs written into device certificates. The server's plain-HTTP
# listener serves both. {ca} is replaced by the issuing CA's id.
[urls]
crl_base = \"http://127.0.0.1:8080/crl\"
ocsp = \"http://127.0.0.1:8080/ocsp\"

# Device certificate profiles; `hallmark issue --profile NAME` picks one
# (default: device). Every certificate also gets basicConstraints CA:FALSE,
# subject and authority key identifiers (AKI = the issuer's SKI) and a
# 16-byte random positive serial.
[profiles.device]
# Lifetime in days; capped at the issuing CA's own notAfter.
validity_days = 3650
# keyUsage (critical): digitalSignature, keyEncipherment (RSA keys only),
# keyAgreement (EC keys only), nonRepudiation, dataEncipherment.
key_usage = [\"digitalSignature\"]
# extendedKeyUsage: clientAuth, serverAuth, codeSigning, emailProtection,
# timeStamping, or a dotted OID.
extended_key_usage = [\"clientAuth\"]
# Subject alternative names: TYPE:VALUE with TYPE in URI, DNS, email, IP and
# placeholders {device_id} and {factory}. Example: \"DNS:{device_id}.devices.example.com\".
# (RFC 9039 urn:dev: URIs are valid too, but pkilint's URI check rejects URNs.)
subject_alt_names = [\"URI:https://devices.example.com/{factory}/{device_id}\"]
# CRL distribution point: {crl_base}/{ca}.crl
crl_distribution_point = true
# OCSP responder in the authority information access extension.
ocsp = true

# The provisioning server (`hallmark serve`). Every entry has this default.
[server]
# Names in the server's TLS certificate. The server generates its TLS key in
# memory at every start and has the station CA certify it, so clients trust
# it through Hallmark's root (`hallmark ca chain --ca root`).
subject_alt_names = [\"DNS:localhost\", \"IP:127.0.0.1\", \"IP:::1\"]
# Lifetime of the server certificate in days (a restart issues a new one).
certificate_days = 30
# Per-station token bucket: sustained requests per second and burst. A
# station over its rate gets 429 with Retry-After. Remove to disable.
station_rate_limit = { per_second = 20.0, burst = 40 }
# Station certificates (`hallmark station enroll`) live this many hours, and
# never past the end of their order.
station_certificate_hours = 24
# The profile of device certificates issued under production orders.
order_profile = \"device\"

# The tamper-evident audit log: every record is a leaf of a Merkle tree
# (RFC 9162); the server signs a checkpoint with the audit key once this many
# entries are uncovered, or this many seconds after the last checkpoint.
# Several servers on one database elect one sequencer through the database.
[audit]
checkpoint_entries = 1000
checkpoint_seconds = 10

# Revocation (`hallmark revoke`). The server's plain-HTTP listener serves a
# CRL per issuing CA at {crl_base}/<ca>.crl and answers OCSP at urls.ocsp;
# `hallmark ocsp serve` is a standalone, read-only OCSP responder.
[revocation]
# A CRL's nextUpdate is this many hours after its thisUpdate.
crl_validity_hours = 24
# A new CRL is signed this many hours after the last one (below
# crl_validity_hours, so relying parties never hold an expired CRL), and at
# once when a certificate of its CA is revoked.
crl_refresh_hours = 12
# OCSP responses are valid this many minutes; the responder signs anew when
# half is left, and at once for a certificate revoked meanwhile.
ocsp_validity_minutes = 60
";

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Config;

    fn example(keys: KeysChoice) -> InitValues {
        InitValues {
            organization: "Acme \"Devices\"".into(),
            factories: vec!["berlin".into(), "shenzhen".into()],
            keys,
            store: None,
        }
    }

    #[test]
    fn rendered_configs_parse() {
        for keys in [
            KeysChoice::Soft,
            KeysChoice::Pkcs11 {
                module: "/m.so".into(),
                token: "t".into(),
            },
        ] {
            let text = render(&example(keys));
            let config = Config::parse(&text).unwrap_or_else(|e| panic!("{e:#}\n{text}"));
            assert_eq!(config.organization.name, "Acme \"Devices\"");
            assert_eq!(config.factories.len(), 2);
            let profiles = config.profiles().unwrap();
            assert_eq!(
                profiles["device"].crl_urls,
                vec!["http://127.0.0.1:8080/crl/{ca}.crl".to_string()]
            );
        }
    }

    #[test]
    fn the_reference_file_is_what_init_writes() {
        let reference = include_str!("../../../../docs/hallmark.toml");
        let mut values = example(KeysChoice::Soft);
        values.organization = "Acme Devices".into();
        assert_eq!(
            reference,
            render(&values),
            "regenerate docs/hallmark.toml with `cargo run -- config reference`"
        );
    }

    #[test]
    fn a_secret_written_into_the_file_is_refused_without_repeating_it() {
        let good = render(&example(KeysChoice::Soft));
        for value in ["\"hunter2-secret\"", "123456789", "true"] {
            let bad = good.replacen(
                "passphrase = { env = \"HALLMARK_PASSPHRASE\" }",
                &format!("passphrase = {value}"),
                1,
            );
            let err = format!("{:#}", Config::parse(&bad).unwrap_err());
            assert!(
                err.contains("secrets must not be written into hallmark.toml"),
                "{err}"
            );
            assert!(
                !err.contains("hunter2") && !err.contains("123456789"),
                "secret echoed: {err}"
            );
        }
        let pkcs11 = render(&example(KeysChoice::Pkcs11 {
            module: "/m.so".into(),
            token: "t".into(),
        }));
        let bad = pkcs11.replacen(
            "pin = { env = \"HALLMARK_PKCS11_PIN\" }",
            "pin = \"1234-5678\"",
            1,
        );
        let err = format!("{:#}", Config::parse(&bad).unwrap_err());
        assert!(
            err.contains("secrets must not be written") && !err.contains("1234-5678"),
            "{err}"
        );
    }

    #[test]
    fn unknown_fields_and_bad_values_are_refused() {
        let good = render(&example(KeysChoice::Soft));
        for (from, to) in [
            (
                "validity_days = 3650",
                "validity_days = 3650\ncolour = \"red\"",
            ),
            ("\"digitalSignature\"", "\"digitalSignatur\""),
            ("\"clientAuth\"", "\"clientAuthh\""),
            (
                "URI:https://devices.example.com/{factory}/{device_id}",
                "URI:{serial}",
            ),
            ("backend = \"soft\"", "backend = \"floppy\""),
            ("http://127.0.0.1:8080/ocsp", "ftp://x"),
            (
                "passphrase = { env = \"HALLMARK_PASSPHRASE\" }",
                "passphrase = { env = \"X\", pin = 1 }",
            ),
        ] {
            let bad = good.replacen(from, to, 1);
            assert_ne!(bad, good);
            assert!(Config::parse(&bad).is_err(), "accepted: {to}");
        }
    }
}
