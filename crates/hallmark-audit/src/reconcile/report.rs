//! The reconciliation's result.

use serde::{Deserialize, Serialize};
use time::Date;

use super::Category;

/// What was compared: sizes of the inputs.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Totals {
    /// Certificates issued (every [`Provisioned`](super::Provisioned)).
    pub certificates: u64,
    /// Of those, renewals.
    pub renewals: u64,
    /// Of those, certificates whose station does not report installation.
    pub installation_unknown: u64,
    /// Distinct devices certified.
    pub provisioned_devices: u64,
    /// Rows in the shipped list.
    pub shipped_rows: u64,
    /// Distinct devices in the shipped list.
    pub shipped_devices: u64,
    /// Shipped rows without a date (not in the per-day chart).
    pub shipped_date_unknown: u64,
    /// Rows in the scrapped list.
    pub scrapped_rows: u64,
    /// Distinct devices in the scrapped list.
    pub scrapped_devices: u64,
}

/// A device and certificates of it: for
/// [`Report::duplicate_certified`] (its non-renewal certificates) and
/// [`Report::issued_not_installed`] (its certificates never installed).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CertifiedDevice {
    /// The device id.
    pub device_id: String,
    /// The certificates' serial numbers (hex), in order of issue.
    pub serials: Vec<String>,
}

/// A device id listed more than once in a shipped or scrapped list.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ListedDevice {
    /// The device id.
    pub device_id: String,
    /// The lines it is on, ascending.
    pub lines: Vec<u64>,
}

/// One station's devices. A device certified by two stations counts in
/// both rows.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct StationRow {
    /// The station (`None`: certificates with no station recorded).
    pub station_id: Option<String>,
    /// Distinct devices it certified.
    pub provisioned: u64,
    /// Of those, shipped.
    pub shipped: u64,
    /// Of those, neither shipped nor scrapped (possible leakage).
    pub not_shipped: u64,
    /// Of those, scrapped.
    pub scrapped: u64,
    /// Distinct devices with a certificate from it that was never installed.
    pub not_installed: u64,
}

/// One UTC day: certificates issued (renewals excluded) and shipped rows.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DayRow {
    /// The day.
    pub date: Date,
    /// Non-renewal certificates issued that day (by `issued_at`, UTC).
    pub issued: u64,
    /// Shipped rows dated that day.
    pub shipped: u64,
}

/// The reconciliation of issued certificates against shipped and scrapped
/// devices. Every list is sorted by device id (byte order).
///
/// A device can be in several lists; see each field.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Report {
    /// A title for the reports (e.g. `"Order 42"`); set by the caller.
    pub title: Option<String>,
    /// Sizes of the inputs.
    pub totals: Totals,
    /// Certified and shipped: as expected (scrapped ones included).
    pub provisioned_and_shipped: Vec<String>,
    /// Certified, neither shipped nor scrapped: possible leakage.
    pub provisioned_not_shipped: Vec<String>,
    /// Shipped, never certified: possible counterfeits.
    pub shipped_not_provisioned: Vec<String>,
    /// Devices with more than one non-renewal certificate.
    pub duplicate_certified: Vec<CertifiedDevice>,
    /// Ids on more than one line of the shipped list.
    pub duplicate_shipped: Vec<ListedDevice>,
    /// Ids on more than one line of the scrapped list.
    pub duplicate_scrapped: Vec<ListedDevice>,
    /// Devices with a certificate the station reports it never installed.
    pub issued_not_installed: Vec<CertifiedDevice>,
    /// Every scrapped device.
    pub scrapped: Vec<String>,
    /// Scrapped, yet in the shipped list.
    pub scrapped_but_shipped: Vec<String>,
    /// Scrapped, never certified.
    pub scrapped_not_provisioned: Vec<String>,
    /// Per station, by station id (`None` last).
    pub stations: Vec<StationRow>,
    /// Days with any issuance or dated shipment, ascending.
    pub days: Vec<DayRow>,
}

/// The number of devices in each category (the JSON `counts` object).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[allow(missing_docs)] // one field per `Category`, named by its key
pub struct Counts {
    pub provisioned_and_shipped: u64,
    pub provisioned_not_shipped: u64,
    pub shipped_not_provisioned: u64,
    pub duplicate_certified: u64,
    pub duplicate_shipped: u64,
    pub duplicate_scrapped: u64,
    pub issued_not_installed: u64,
    pub scrapped: u64,
    pub scrapped_but_shipped: u64,
    pub scrapped_not_provisioned: u64,
}

impl Report {
    /// Whether anything needs an auditor's attention: a non-empty list in
    /// any category that [is a discrepancy](Category::is_discrepancy). The
    /// CLI exits non-zero when this is true.
    pub fn has_discrepancy(&self) -> bool {
        Category::ALL
            .into_iter()
            .any(|c| c.is_discrepancy() && self.count(c) > 0)
    }

    /// The number of devices in a category.
    pub fn count(&self, category: Category) -> usize {
        match category {
            Category::ProvisionedAndShipped => self.provisioned_and_shipped.len(),
            Category::ProvisionedNotShipped => self.provisioned_not_shipped.len(),
            Category::ShippedNotProvisioned => self.shipped_not_provisioned.len(),
            Category::DuplicateCertified => self.duplicate_certified.len(),
            Category::DuplicateShipped => self.duplicate_shipped.len(),
            Category::DuplicateScrapped => self.duplicate_scrapped.len(),
            Category::IssuedNotInstalled => self.issued_not_installed.len(),
            Category::Scrapped => self.scrapped.len(),
            Category::ScrappedButShipped => self.scrapped_but_shipped.len(),
            Category::ScrappedNotProvisioned => self.scrapped_not_provisioned.len(),
        }
    }

    /// The device ids in a category, sorted.
    pub fn device_ids(&self, category: Category) -> Vec<&str> {
        self.entries(category)
            .into_iter()
            .map(|(id, _)| id)
            .collect()
    }

    /// The number of devices in each category.
    pub fn counts(&self) -> Counts {
        let n = |c| self.count(c) as u64;
        Counts {
            provisioned_and_shipped: n(Category::ProvisionedAndShipped),
            provisioned_not_shipped: n(Category::ProvisionedNotShipped),
            shipped_not_provisioned: n(Category::ShippedNotProvisioned),
            duplicate_certified: n(Category::DuplicateCertified),
            duplicate_shipped: n(Category::DuplicateShipped),
            duplicate_scrapped: n(Category::DuplicateScrapped),
            issued_not_installed: n(Category::IssuedNotInstalled),
            scrapped: n(Category::Scrapped),
            scrapped_but_shipped: n(Category::ScrappedButShipped),
            scrapped_not_provisioned: n(Category::ScrappedNotProvisioned),
        }
    }

    /// A category's devices with, where the category has them, details
    /// for people (`"serials 0A, 0B"`, `"lines 3, 9"`).
    pub(crate) fn entries(&self, category: Category) -> Vec<Entry<'_>> {
        match category {
            Category::ProvisionedAndShipped => plain(&self.provisioned_and_shipped),
            Category::ProvisionedNotShipped => plain(&self.provisioned_not_shipped),
            Category::ShippedNotProvisioned => plain(&self.shipped_not_provisioned),
            Category::DuplicateCertified => certs(&self.duplicate_certified),
            Category::DuplicateShipped => lines(&self.duplicate_shipped),
            Category::DuplicateScrapped => lines(&self.duplicate_scrapped),
            Category::IssuedNotInstalled => certs(&self.issued_not_installed),
            Category::Scrapped => plain(&self.scrapped),
            Category::ScrappedButShipped => plain(&self.scrapped_but_shipped),
            Category::ScrappedNotProvisioned => plain(&self.scrapped_not_provisioned),
        }
    }
}

type Entry<'a> = (&'a str, Option<String>);

fn plain(ids: &[String]) -> Vec<Entry<'_>> {
    ids.iter().map(|id| (id.as_str(), None)).collect()
}

fn certs(devices: &[CertifiedDevice]) -> Vec<Entry<'_>> {
    devices
        .iter()
        .map(|d| {
            let word = if d.serials.len() == 1 {
                "serial"
            } else {
                "serials"
            };
            (
                d.device_id.as_str(),
                Some(format!("{word} {}", d.serials.join(", "))),
            )
        })
        .collect()
}

fn lines(devices: &[ListedDevice]) -> Vec<Entry<'_>> {
    devices
        .iter()
        .map(|d| {
            let lines: Vec<String> = d.lines.iter().map(u64::to_string).collect();
            (
                d.device_id.as_str(),
                Some(format!("lines {}", lines.join(", "))),
            )
        })
        .collect()
}
