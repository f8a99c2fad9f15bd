//! The inputs: what Hallmark issued, and the factory's device lists.

use std::collections::BTreeMap;

use time::Date;

/// Whether an issued certificate was written to its device, as the station
/// reported it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Installation {
    /// The station reported the certificate installed on the device.
    Installed,
    /// The station reported that the certificate was issued but never
    /// written to the device: a valid certificate no device holds.
    NotInstalled,
    /// The station does not report installation.
    Unknown,
}

/// One certificate Hallmark issued to a device.
///
/// A device certified twice appears twice; that is a duplicate
/// ([`Report::duplicate_certified`](super::Report::duplicate_certified))
/// unless all but one of its certificates are renewals.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Provisioned {
    /// The device id the certificate names.
    pub device_id: String,
    /// The production order it was issued under, if any.
    pub order_id: Option<String>,
    /// The station that requested it, if known.
    pub station_id: Option<String>,
    /// The certificate's serial number, hexadecimal.
    pub serial_hex: String,
    /// When it was issued (unix seconds); its UTC date is its day.
    pub issued_at: i64,
    /// Whether it reached the device.
    pub installed: Installation,
    /// A renewal (re-enrollment) of a device's certificate: not counted as
    /// a duplicate, nor as production in the per-day chart.
    pub renewal: bool,
}

/// One row of a shipped or scrapped list (see
/// [`parse_device_csv`](super::parse_device_csv)).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CsvDevice {
    /// The device id, trimmed, never empty.
    pub device_id: String,
    /// The 1-based line the row starts on.
    pub line: u64,
    /// The row's date (UTC) from its `shipped_at`, `scrapped_at` or `date`
    /// column, if the file has one and the cell is not empty.
    pub date: Option<Date>,
    /// The row's other columns, by lower-cased header name (values
    /// trimmed); empty cells are left out.
    pub fields: BTreeMap<String, String>,
}

impl CsvDevice {
    /// A row with only a device id (no date, no other columns).
    pub fn new(device_id: impl Into<String>, line: u64) -> Self {
        Self {
            device_id: device_id.into(),
            line,
            date: None,
            fields: BTreeMap::new(),
        }
    }

    /// The same row with a date.
    #[must_use]
    pub fn with_date(mut self, date: Date) -> Self {
        self.date = Some(date);
        self
    }
}
