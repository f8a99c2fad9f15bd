//! Device identifiers and subject-alternative-name templates.

use std::fmt;
use std::net::IpAddr;
use std::str::FromStr;

use der::asn1::Ia5String;
use x509_cert::ext::pkix::name::GeneralName;

use crate::error::PkiError;

/// A device identifier: 1–64 characters from `[A-Za-z0-9._-]`, starting with
/// a letter or digit. Safe to place in URIs, DNS labels and file names.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct DeviceId(String);

impl DeviceId {
    /// Parses and checks a device id.
    pub fn parse(text: &str) -> Result<Self, PkiError> {
        let valid_char = |c: char| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-');
        let first_ok = text
            .chars()
            .next()
            .is_some_and(|c| c.is_ascii_alphanumeric());
        if first_ok && text.len() <= 64 && text.chars().all(valid_char) {
            Ok(Self(text.to_string()))
        } else {
            Err(PkiError::InvalidDeviceId(text.to_string()))
        }
    }

    /// The id as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for DeviceId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl FromStr for DeviceId {
    type Err = PkiError;
    fn from_str(s: &str) -> Result<Self, PkiError> {
        Self::parse(s)
    }
}

/// The kinds of name a template can produce.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum SanKind {
    Uri,
    Dns,
    Email,
    Ip,
}

/// A subject alternative name with placeholders, e.g.
/// `URI:urn:dev:ops:acme-{device_id}` or `DNS:{device_id}.devices.example.com`.
///
/// Placeholders: `{device_id}` and `{factory}`. Unknown placeholders are
/// refused when the template is parsed, not when a device is issued.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SanTemplate {
    kind: SanKind,
    template: String,
}

/// Values substituted into a [`SanTemplate`].
#[derive(Clone, Copy, Debug)]
pub struct SanValues<'a> {
    /// The device's id.
    pub device_id: &'a DeviceId,
    /// The issuing factory's id.
    pub factory: &'a str,
}

const PLACEHOLDERS: [&str; 2] = ["{device_id}", "{factory}"];

impl FromStr for SanTemplate {
    type Err = PkiError;

    fn from_str(text: &str) -> Result<Self, PkiError> {
        let bad = |reason| PkiError::InvalidSanTemplate {
            template: text.to_string(),
            reason,
        };
        let (prefix, rest) = text
            .split_once(':')
            .ok_or_else(|| bad("expected TYPE:VALUE with TYPE one of URI, DNS, email, IP"))?;
        let kind = match prefix {
            "URI" => SanKind::Uri,
            "DNS" => SanKind::Dns,
            "email" => SanKind::Email,
            "IP" => SanKind::Ip,
            _ => return Err(bad("TYPE must be one of URI, DNS, email, IP")),
        };
        let mut stripped = rest.to_string();
        for p in PLACEHOLDERS {
            stripped = stripped.replace(p, "x");
        }
        if stripped.contains(['{', '}']) {
            return Err(bad("unknown placeholder: use {device_id} or {factory}"));
        }
        if rest.is_empty() || !rest.bytes().all(|b| b.is_ascii_graphic()) {
            return Err(bad(
                "value must be non-empty printable ASCII without spaces",
            ));
        }
        let template = Self {
            kind,
            template: rest.to_string(),
        };
        // Render once with sample values so malformed templates fail at load time.
        let sample = DeviceId::parse("sample-1")?;
        template.render(SanValues {
            device_id: &sample,
            factory: "factory",
        })?;
        Ok(template)
    }
}

impl fmt::Display for SanTemplate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let prefix = match self.kind {
            SanKind::Uri => "URI",
            SanKind::Dns => "DNS",
            SanKind::Email => "email",
            SanKind::Ip => "IP",
        };
        write!(f, "{prefix}:{}", self.template)
    }
}

impl SanTemplate {
    /// Renders the template into a `GeneralName`.
    pub fn render(&self, values: SanValues<'_>) -> Result<GeneralName, PkiError> {
        let text = self
            .template
            .replace("{device_id}", values.device_id.as_str())
            .replace("{factory}", values.factory);
        let bad = |reason| PkiError::InvalidSanTemplate {
            template: self.to_string(),
            reason,
        };
        let ia5 = |s: &str| Ia5String::new(s).map_err(|_| bad("not IA5 text"));
        Ok(match self.kind {
            SanKind::Uri => {
                let scheme_end = text.find(':').ok_or_else(|| bad("URI needs a scheme"))?;
                let scheme = &text[..scheme_end];
                if scheme.is_empty()
                    || !scheme
                        .chars()
                        .all(|c| c.is_ascii_alphanumeric() || "+-.".contains(c))
                {
                    return Err(bad("URI scheme is invalid"));
                }
                GeneralName::UniformResourceIdentifier(ia5(&text)?)
            }
            SanKind::Dns => {
                // `localhost` is the one single-label name worth certifying
                // (a server reached on the same machine).
                let labels_ok = text == "localhost"
                    || text.split('.').count() >= 2
                        && text.split('.').all(|l| {
                            !l.is_empty()
                                && l.len() <= 63
                                && l.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
                                && !l.starts_with('-')
                                && !l.ends_with('-')
                        });
                if !labels_ok {
                    return Err(bad(
                        "DNS name must be a fully qualified host name (letters, digits, '-')",
                    ));
                }
                GeneralName::DnsName(ia5(&text.to_ascii_lowercase())?)
            }
            SanKind::Email => {
                if text.split('@').count() != 2 {
                    return Err(bad("email must be local@domain"));
                }
                GeneralName::Rfc822Name(ia5(&text)?)
            }
            SanKind::Ip => {
                let ip: IpAddr = text
                    .parse()
                    .map_err(|_| bad("IP must be an IPv4 or IPv6 address"))?;
                GeneralName::from(ip)
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn device_ids() {
        assert!(DeviceId::parse("ACME-0001").is_ok());
        assert!(DeviceId::parse("a.b_c-9").is_ok());
        for bad in ["", "-lead", "has space", "ü", "a/b", &"x".repeat(65)] {
            assert!(DeviceId::parse(bad).is_err(), "{bad:?} accepted");
        }
    }

    #[test]
    fn templates_parse_and_render() {
        let id = DeviceId::parse("dev-1").unwrap();
        let values = SanValues {
            device_id: &id,
            factory: "berlin",
        };
        let uri: SanTemplate = "URI:urn:dev:ops:acme-{device_id}".parse().unwrap();
        assert_eq!(
            uri.render(values).unwrap(),
            GeneralName::UniformResourceIdentifier(
                Ia5String::new("urn:dev:ops:acme-dev-1").unwrap()
            )
        );
        let dns: SanTemplate = "DNS:{device_id}.{factory}.example.com".parse().unwrap();
        assert_eq!(
            dns.render(values).unwrap(),
            GeneralName::DnsName(Ia5String::new("dev-1.berlin.example.com").unwrap())
        );
        assert!("IP:127.0.0.1".parse::<SanTemplate>().is_ok());
    }

    #[test]
    fn bad_templates_fail_at_parse() {
        for bad in [
            "urn:x",
            "FOO:bar",
            "URI:{serial}",
            "DNS:{device_id}",
            "URI:has space",
            "IP:{device_id}",
        ] {
            assert!(bad.parse::<SanTemplate>().is_err(), "{bad:?} accepted");
        }
    }
}
