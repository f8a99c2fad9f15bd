//! Key URI tests: labels, `soft:`, RFC 7512 examples, round trips, refusals.

use super::*;

fn p11(s: &str) -> Pkcs11Uri {
    match s.parse::<KeyUri>() {
        Ok(KeyUri::Pkcs11(uri)) => *uri,
        other => panic!("{s}: {other:?}"),
    }
}

#[test]
fn labels() {
    for ok in ["a", "root-ca", "issuing_2026.v1", &"x".repeat(64)] {
        assert!(KeyLabel::new(ok).is_ok(), "{ok}");
    }
    for bad in ["", "a/b", "../x", "a b", "é", "a;b", &"x".repeat(65)] {
        assert!(
            matches!(KeyLabel::new(bad), Err(UriError::InvalidLabel { .. })),
            "{bad}"
        );
    }
}

#[test]
fn soft_round_trip() {
    let uri: KeyUri = "soft:root-ca".parse().unwrap();
    assert_eq!(uri, KeyUri::Soft(KeyLabel::new("root-ca").unwrap()));
    assert_eq!(uri.to_string(), "soft:root-ca");
    assert_eq!(uri.label(), Some("root-ca"));
    assert!("soft:../etc/passwd".parse::<KeyUri>().is_err());
    assert!("soft:".parse::<KeyUri>().is_err());
    assert_eq!("file:x".parse::<KeyUri>(), Err(UriError::UnknownScheme));
    assert_eq!("root-ca".parse::<KeyUri>(), Err(UriError::UnknownScheme));
}

#[test]
fn pkcs11_generated_form() {
    let uri = KeyUri::pkcs11_private_key("factory-hsm", "root-ca");
    assert_eq!(
        uri.to_string(),
        "pkcs11:token=factory-hsm;object=root-ca;type=private"
    );
    assert_eq!(uri.to_string().parse::<KeyUri>().unwrap(), uri);
}

#[test]
fn rfc7512_examples() {
    // RFC 7512 §3 examples (those without PINs).
    let u = p11("pkcs11:");
    assert_eq!(u, Pkcs11Uri::default());

    let u = p11("pkcs11:object=my-pubkey;type=public");
    assert_eq!(u.object.as_deref(), Some("my-pubkey"));
    assert_eq!(u.object_type, Some(Pkcs11ObjectType::PublicKey));

    let u = p11(
        "pkcs11:token=The%20Software%20PKCS%2311%20Softtoken;manufacturer=Snake%20Oil,%20Inc.;model=1.0;object=my-certificate;type=cert;id=%69%95%3E%5C%F4%BD%EC%91;serial=",
    );
    assert_eq!(u.token.as_deref(), Some("The Software PKCS#11 Softtoken"));
    assert_eq!(u.manufacturer.as_deref(), Some("Snake Oil, Inc."));
    assert_eq!(u.model.as_deref(), Some("1.0"));
    assert_eq!(u.serial.as_deref(), Some(""));
    assert_eq!(
        u.id.as_deref(),
        Some(&[0x69, 0x95, 0x3e, 0x5c, 0xf4, 0xbd, 0xec, 0x91][..])
    );
    assert_eq!(u.object_type, Some(Pkcs11ObjectType::Certificate));

    let u = p11(
        "pkcs11:token=Software%20PKCS%2311%20softtoken;manufacturer=Snake%20Oil,%20Inc.?module-name=softtoken",
    );
    assert_eq!(u.token.as_deref(), Some("Software PKCS#11 softtoken"));

    let u = p11(
        "pkcs11:library-manufacturer=Snake%20Oil,%20Inc.;library-description=Soft%20Token%20Library;library-version=1.23",
    );
    assert_eq!(u.library_version.as_deref(), Some("1.23"));
    assert_eq!(u.library_description.as_deref(), Some("Soft Token Library"));

    let u = p11(
        "pkcs11:token=A%20name%20with%20a%20substring%20%25%3B;object=my-certificate;type=cert",
    );
    assert_eq!(u.token.as_deref(), Some("A name with a substring %;"));

    let u = p11(
        "pkcs11:token=Name%20with%20a%20small%20A%20with%20acute:%20%C3%A1;object=my-certificate;type=cert",
    );
    assert_eq!(
        u.token.as_deref(),
        Some("Name with a small A with acute: á")
    );

    let u = p11("pkcs11:slot-description=Sun%20Metaslot;slot-id=7");
    assert_eq!(u.slot_id, Some(7));
    assert_eq!(u.slot_description.as_deref(), Some("Sun Metaslot"));
}

#[test]
fn display_round_trips() {
    let u = p11(
        "pkcs11:token=The%20Software%20PKCS%2311%20Softtoken;manufacturer=Snake%20Oil,%20Inc.;object=my%3Bkey;type=private;id=%01%ff;slot-id=3;library-version=2",
    );
    let text = u.to_string();
    assert_eq!(
        text,
        "pkcs11:library-version=2;slot-id=3;manufacturer=Snake%20Oil%2C%20Inc.;token=The%20Software%20PKCS%2311%20Softtoken;id=%01%FF;object=my%3Bkey;type=private"
    );
    assert_eq!(p11(&text), u);
    // Scheme is case-insensitive.
    assert_eq!(p11("PKCS11:object=a"), p11("pkcs11:object=a"));
}

#[test]
fn pins_are_refused_and_not_echoed() {
    for (uri, attribute) in [
        ("pkcs11:token=t;object=k?pin-value=123456", "pin-value"),
        (
            "pkcs11:token=t;object=k?module-name=x&pin-value=secret42",
            "pin-value",
        ),
        ("pkcs11:token=t?pin-source=file:/etc/pin", "pin-source"),
    ] {
        let err = uri.parse::<KeyUri>().unwrap_err();
        assert_eq!(err, UriError::PinInUri { attribute });
        let msg = err.to_string();
        assert!(!msg.contains("123456") && !msg.contains("secret42") && !msg.contains("/etc/pin"));
    }
    // Other query attributes are ignored.
    let u = p11("pkcs11:object=k?module-path=/usr/lib/x.so&module-name=x");
    assert_eq!(u.object.as_deref(), Some("k"));
}

#[test]
fn malformed() {
    let cases: &[(&str, UriError)] = &[
        ("pkcs11:token", UriError::MissingEquals),
        ("pkcs11:token=a;", UriError::MissingEquals),
        (
            "pkcs11:token=a;token=b",
            UriError::DuplicateAttribute { attribute: "token" },
        ),
        (
            "pkcs11:pin=1234",
            UriError::UnknownAttribute { name: "pin".into() },
        ),
        (
            "pkcs11:x-vendor=1",
            UriError::UnknownAttribute {
                name: "x-vendor".into(),
            },
        ),
        (
            "pkcs11:token=a%2",
            UriError::BadPercentEncoding { attribute: "token" },
        ),
        (
            "pkcs11:token=a%zz",
            UriError::BadPercentEncoding { attribute: "token" },
        ),
        (
            "pkcs11:token=a b",
            UriError::InvalidCharacter { attribute: "token" },
        ),
        (
            "pkcs11:token=a/b",
            UriError::InvalidCharacter { attribute: "token" },
        ),
        (
            "pkcs11:object=%FF%FE",
            UriError::NotUtf8 {
                attribute: "object",
            },
        ),
        (
            "pkcs11:type=secret",
            UriError::InvalidValue { attribute: "type" },
        ),
        (
            "pkcs11:slot-id=-1",
            UriError::InvalidValue {
                attribute: "slot-id",
            },
        ),
        (
            "pkcs11:library-version=1.2.3",
            UriError::InvalidValue {
                attribute: "library-version",
            },
        ),
        ("pkcs11:token=a#frag", UriError::Fragment),
    ];
    for (uri, want) in cases {
        assert_eq!(uri.parse::<KeyUri>().as_ref(), Err(want), "{uri}");
    }
    // id holds arbitrary bytes.
    assert_eq!(p11("pkcs11:id=%FF%00").id.as_deref(), Some(&[0xff, 0][..]));
}

/// `%` takes exactly two ASCII hex digits: no sign, no space, no third
/// digit swallowed.
#[test]
fn percent_needs_two_hex_digits() {
    for bad in [
        "pkcs11:object=%+F",
        "pkcs11:object=%-1",
        "pkcs11:object=%+1",
        "pkcs11:object=% F",
        "pkcs11:object=%F",
        "pkcs11:object=%",
        "pkcs11:object=%0x",
        "pkcs11:object=%\u{663}\u{663}",
    ] {
        assert_eq!(
            bad.parse::<KeyUri>(),
            Err(UriError::BadPercentEncoding {
                attribute: "object"
            }),
            "{bad}"
        );
    }
    assert_eq!(
        "pkcs11:token=t?module-name=%+F".parse::<KeyUri>(),
        Err(UriError::BadPercentEncoding { attribute: "query" })
    );
    assert_eq!(
        p11("pkcs11:object=%41%6a%4A1").object.as_deref(),
        Some("AjJ1")
    );
}

/// RFC 7512 §2.3: the query allows `/ ? |` unencoded, but not `;` (only
/// the path separates attributes with it).
#[test]
fn query_characters() {
    let u = p11("pkcs11:object=k?module-path=/usr/lib/p11.so&module-name=a|b?c");
    assert_eq!(u.object.as_deref(), Some("k"));
    for bad in [
        "pkcs11:object=k?module-name=a;b",
        "pkcs11:object=k?module-name=x;pin-value=1234",
        "pkcs11:object=k?module;name=x",
        "pkcs11:object=k?module-name=a b",
    ] {
        assert_eq!(
            bad.parse::<KeyUri>(),
            Err(UriError::InvalidCharacter { attribute: "query" }),
            "{bad}"
        );
    }
    // Encoded, `;` is fine.
    assert_eq!(
        p11("pkcs11:object=k?module-name=a%3Bb").object.as_deref(),
        Some("k")
    );
}

/// Errors name the attribute, never characters of the value.
#[test]
fn invalid_character_is_not_echoed() {
    for (uri, secret) in [
        ("pkcs11:object=s\u{e9}cret", "\u{e9}"),
        ("pkcs11:token=top<secret", "<"),
        ("pkcs11:object=k?module-name=hunter2;x", "hunter2"),
        ("pkcs11:object=k?module-name=Z;", ";"),
        ("pkcs11:serial=\u{2603}", "\u{2603}"),
    ] {
        let err = uri.parse::<KeyUri>().unwrap_err();
        assert!(
            matches!(err, UriError::InvalidCharacter { .. }),
            "{uri}: {err:?}"
        );
        let text = format!("{err} {err:?}");
        assert!(!text.contains(secret), "{uri}: {text}");
    }
}
