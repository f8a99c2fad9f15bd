#![allow(clippy::unwrap_used, clippy::expect_used)]
//! Reading the factory's shipped and scrapped lists.

use hallmark_audit::Error;
use hallmark_audit::reconcile::{CsvDevice, parse_device_csv};
use time::macros::date;

fn parse(text: &[u8]) -> Result<Vec<CsvDevice>, Error> {
    parse_device_csv(text, "shipped.csv")
}

fn ids(rows: &[CsvDevice]) -> Vec<(&str, u64)> {
    rows.iter()
        .map(|r| (r.device_id.as_str(), r.line))
        .collect()
}

#[test]
fn bom_crlf_quotes_extra_columns_and_blank_lines() {
    let text = b"\xEF\xBB\xBFCarton,\"Device_ID\" , Shipped_At\r\n\
        C1,\" dev-1 \",2026-03-01\r\n\
        C1,\"dev,2\",2026-03-01T23:30:00-01:00\r\n\
        \r\n\
        \x20 , ,\r\n\
        C2,\"dev \"\"3\"\"\",\r\n";
    let rows = parse(text).unwrap();
    assert_eq!(ids(&rows), [("dev-1", 2), ("dev,2", 3), ("dev \"3\"", 6)]);
    assert_eq!(rows[0].date, Some(date!(2026 - 03 - 01)));
    // An RFC 3339 time counts on its UTC date.
    assert_eq!(rows[1].date, Some(date!(2026 - 03 - 02)));
    assert_eq!(rows[2].date, None);
    assert_eq!(rows[0].fields["carton"], "C1");
    assert_eq!(rows[0].fields["shipped_at"], "2026-03-01");
    assert!(!rows[0].fields.contains_key("device_id"));
    assert!(
        !rows[2].fields.contains_key("shipped_at"),
        "empty cells are left out"
    );
}

#[test]
fn lf_without_bom_and_header_only() {
    let rows = parse(b"device_id\ndev-1\ndev-2").unwrap();
    assert_eq!(ids(&rows), [("dev-1", 2), ("dev-2", 3)]);
    assert_eq!(rows[0].date, None);
    assert!(parse(b"device_id\n").unwrap().is_empty());
    assert!(parse(b"\xEF\xBB\xBFdevice_id\r\n").unwrap().is_empty());
}

#[test]
fn quoted_newlines_keep_line_numbers_right() {
    let rows = parse(b"device_id,note\n\"dev-1\",\"two\nlines\"\ndev-2,x\n").unwrap();
    assert_eq!(ids(&rows), [("dev-1", 2), ("dev-2", 4)]);
    assert_eq!(rows[0].fields["note"], "two\nlines");
}

#[test]
fn duplicates_are_kept_for_the_report() {
    let rows = parse(b"device_id\ndev-1\ndev-1\n").unwrap();
    assert_eq!(ids(&rows), [("dev-1", 2), ("dev-1", 3)]);
}

#[test]
fn date_columns_in_order_of_preference() {
    let rows = parse(b"date,device_id\n2026-01-02,a\n").unwrap();
    assert_eq!(rows[0].date, Some(date!(2026 - 01 - 02)));
    let rows = parse(b"date,scrapped_at,device_id\n2026-01-02,2026-01-05T10:00:00Z,a\n").unwrap();
    assert_eq!(rows[0].date, Some(date!(2026 - 01 - 05)));
    let rows = parse(b"shipped_at,date,device_id\n2026-01-03,2026-01-02,a\n").unwrap();
    assert_eq!(rows[0].date, Some(date!(2026 - 01 - 03)));
}

#[test]
fn missing_header_names_the_file_and_line() {
    for (text, line) in [
        (&b"dev-1\ndev-2\n"[..], 1),
        (b"", 1),
        (b"\xEF\xBB\xBF", 1),
        (b"\n\r\n", 1),
        (b"\n\nid,carton\ndev-1,C1\n", 3),
        (b"device,shipped_at\n", 1),
    ] {
        let err = parse(text).unwrap_err();
        assert!(
            matches!(&err, Error::CsvMissingHeader { file, line: l } if file == "shipped.csv" && *l == line),
            "{err:?} for {text:?}"
        );
        let message = err.to_string();
        assert!(message.contains("shipped.csv") && message.contains(&format!("line {line}")));
        assert!(message.contains("device_id"), "{message}");
    }
}

#[test]
fn empty_id_names_the_line() {
    for text in [
        &b"device_id,carton\ndev-1,C1\n,C2\n"[..],
        b"device_id,carton\ndev-1,C1\n\"  \",C2\n",
        b"carton,device_id\nC1,dev-1\nC2\n",
    ] {
        let err = parse(text).unwrap_err();
        assert!(
            matches!(&err, Error::CsvEmptyDeviceId { file, line: 3 } if file == "shipped.csv"),
            "{err:?}"
        );
        assert_eq!(err.to_string(), "shipped.csv, line 3: empty device_id");
    }
}

#[test]
fn bad_dates_name_the_line_and_column() {
    for bad in [
        "01/03/2026",
        "2026-02-30",
        "yesterday",
        "9999-12-31T23:59:59-01:00",
    ] {
        let text = format!("device_id,Shipped_At\ndev-1,2026-03-01\ndev-2,{bad}\n");
        let err = parse(text.as_bytes()).unwrap_err();
        assert!(
            matches!(&err, Error::CsvBadDate { file, line: 3, column } if file == "shipped.csv" && column == "shipped_at"),
            "{err:?} for {bad}"
        );
    }
}

#[test]
fn unreadable_input_is_malformed() {
    let err = parse(b"device_id\ndev-1\ndev-\xFF\n").unwrap_err();
    assert!(
        matches!(&err, Error::CsvMalformed { file, line: 3, .. } if file == "shipped.csv"),
        "{err:?}"
    );
    assert!(err.to_string().contains("UTF-8"));

    let err = parse(b"device_id,Device_Id\na,b\n").unwrap_err();
    assert!(
        matches!(&err, Error::CsvMalformed { line: 1, .. }),
        "{err:?}"
    );
    assert!(err.to_string().contains("twice"));
}

#[test]
fn reads_from_a_file() {
    use std::io::Write as _;
    let mut file = tempfile::NamedTempFile::new().unwrap();
    file.write_all(b"device_id\r\ndev-1\r\n").unwrap();
    let rows = parse_device_csv(std::fs::File::open(file.path()).unwrap(), "f.csv").unwrap();
    assert_eq!(ids(&rows), [("dev-1", 2)]);
}
