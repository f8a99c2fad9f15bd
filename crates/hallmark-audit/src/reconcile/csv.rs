//! Reading the factory's shipped and scrapped lists.

use std::collections::BTreeMap;
use std::io::Read;

use ::csv::{ErrorKind, ReaderBuilder, StringRecord};
use time::format_description::well_known::Rfc3339;
use time::macros::format_description;
use time::{Date, OffsetDateTime, UtcOffset};

use super::CsvDevice;
use crate::Error;

/// The UTF-8 byte order mark some spreadsheet programs write first.
const BOM: [u8; 3] = [0xEF, 0xBB, 0xBF];

/// Columns whose value is a row's date, in order of preference.
pub const DATE_COLUMNS: [&str; 3] = ["shipped_at", "scrapped_at", "date"];

/// Parses a device list: a CSV file whose header row has a `device_id`
/// column. `what` names the file in errors (e.g. its path).
///
/// * UTF-8, with or without a byte order mark; LF or CRLF line ends;
///   RFC 4180 quoting (`"a, ""quoted"" id"`).
/// * The first non-blank row is the header. Column names are matched
///   without regard to case or surrounding spaces. Columns other than
///   `device_id` are kept in [`CsvDevice::fields`] and otherwise ignored.
/// * If the header has a `shipped_at`, `scrapped_at` or `date` column (the
///   first of these), its cells are the rows' dates: an RFC 3339 time
///   (its UTC date is used) or `YYYY-MM-DD`; an empty cell is no date.
/// * Blank rows (every cell empty or spaces) are skipped; ids are trimmed.
/// * Duplicate ids are returned as they are: the reconciliation reports them.
///
/// The input is read whole into memory (a million rows is some tens of
/// megabytes). Line numbers count LF line ends, so they match an editor's
/// for LF and CRLF files.
///
/// # Errors
///
/// Each names `what` and the 1-based line: [`Error::CsvMissingHeader`] (no
/// header row with a `device_id` column, including an empty file),
/// [`Error::CsvEmptyDeviceId`], [`Error::CsvBadDate`], and
/// [`Error::CsvMalformed`] (read error, invalid UTF-8, `device_id` twice).
pub fn parse_device_csv<R: Read>(mut reader: R, what: &str) -> Result<Vec<CsvDevice>, Error> {
    let mut bytes = Vec::new();
    if let Err(e) = reader.read_to_end(&mut bytes) {
        let line = Lines::new(&bytes).line_at(bytes.len());
        return Err(malformed(what, line, format!("read error: {e}")));
    }
    let bytes = bytes.strip_prefix(&BOM[..]).unwrap_or(&bytes);
    let mut lines = Lines::new(bytes);

    let mut csv = ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .from_reader(bytes);
    let mut record = StringRecord::new();
    let mut header: Option<Header> = None;
    let mut rows = Vec::new();
    loop {
        match csv.read_record(&mut record) {
            Ok(true) => {}
            Ok(false) => break,
            Err(e) => {
                let start = e.position().map_or(csv.position().byte(), |p| p.byte());
                let line = Lines::new(bytes).line_at(offset(start));
                let reason = match e.kind() {
                    ErrorKind::Utf8 { .. } => "not valid UTF-8".to_string(),
                    _ => e.to_string(),
                };
                return Err(malformed(what, line, reason));
            }
        }
        let line = lines.line_at(offset(record.position().map_or(0, |p| p.byte())));
        if record.iter().all(|cell| cell.trim().is_empty()) {
            continue;
        }
        match &header {
            None => header = Some(Header::parse(&record, what, line)?),
            Some(header) => rows.push(header.row(&record, what, line)?),
        }
    }
    if header.is_none() {
        return Err(Error::CsvMissingHeader {
            file: what.to_string(),
            line: 1,
        });
    }
    Ok(rows)
}

fn offset(byte: u64) -> usize {
    usize::try_from(byte).unwrap_or(usize::MAX)
}

/// Line numbers of byte offsets, asked in ascending order. (The `csv`
/// crate's own line numbers do not count skipped empty lines, nor the LF
/// of a CRLF, before a record.)
struct Lines<'a> {
    bytes: &'a [u8],
    /// Offset up to which newlines are counted.
    at: usize,
    /// Newlines before `at`.
    newlines: u64,
}

impl<'a> Lines<'a> {
    fn new(bytes: &'a [u8]) -> Self {
        Self {
            bytes,
            at: 0,
            newlines: 0,
        }
    }

    /// The 1-based line of the first byte at or after `start` that is not
    /// a line end (where a record reported to start at `start` begins).
    fn line_at(&mut self, start: usize) -> u64 {
        let mut start = start.min(self.bytes.len());
        while matches!(self.bytes.get(start), Some(b'\r' | b'\n')) {
            start += 1;
        }
        if start < self.at {
            (self.at, self.newlines) = (0, 0);
        }
        let skipped = self.bytes.get(self.at..start).unwrap_or_default();
        self.newlines += skipped.iter().filter(|&&b| b == b'\n').count() as u64;
        self.at = start;
        self.newlines + 1
    }
}

fn malformed(what: &str, line: u64, reason: String) -> Error {
    Error::CsvMalformed {
        file: what.to_string(),
        line,
        reason,
    }
}

/// The header row: column names and where the id and date are.
struct Header {
    names: Vec<String>,
    id: usize,
    date: Option<usize>,
}

impl Header {
    fn parse(record: &StringRecord, what: &str, line: u64) -> Result<Self, Error> {
        let names: Vec<String> = record.iter().map(|c| c.trim().to_lowercase()).collect();
        let mut ids = names.iter().enumerate().filter(|(_, n)| *n == "device_id");
        let Some((id, _)) = ids.next() else {
            return Err(Error::CsvMissingHeader {
                file: what.to_string(),
                line,
            });
        };
        if ids.next().is_some() {
            return Err(malformed(
                what,
                line,
                "the header names device_id twice".into(),
            ));
        }
        let date = DATE_COLUMNS
            .iter()
            .find_map(|col| names.iter().position(|n| n == col));
        Ok(Self { names, id, date })
    }

    fn row(&self, record: &StringRecord, what: &str, line: u64) -> Result<CsvDevice, Error> {
        let cell = |i: usize| record.get(i).unwrap_or("").trim();
        let device_id = cell(self.id);
        if device_id.is_empty() {
            return Err(Error::CsvEmptyDeviceId {
                file: what.to_string(),
                line,
            });
        }
        let date = match self.date {
            Some(i) if !cell(i).is_empty() => {
                Some(parse_date(cell(i)).ok_or_else(|| Error::CsvBadDate {
                    file: what.to_string(),
                    line,
                    column: self.names.get(i).cloned().unwrap_or_default(),
                })?)
            }
            _ => None,
        };
        let fields: BTreeMap<String, String> = self
            .names
            .iter()
            .enumerate()
            .filter(|&(i, _)| i != self.id)
            .map(|(i, name)| (name.clone(), cell(i).to_string()))
            .filter(|(_, value)| !value.is_empty())
            .collect();
        Ok(CsvDevice {
            device_id: device_id.to_string(),
            line,
            date,
            fields,
        })
    }
}

/// An RFC 3339 time's UTC date, or a `YYYY-MM-DD` date.
pub(crate) fn parse_date(text: &str) -> Option<Date> {
    if let Ok(at) = OffsetDateTime::parse(text, &Rfc3339) {
        // Checked: a time near year 9999 may have no UTC date.
        return at.checked_to_offset(UtcOffset::UTC).map(|at| at.date());
    }
    Date::parse(text, format_description!("[year]-[month]-[day]")).ok()
}
