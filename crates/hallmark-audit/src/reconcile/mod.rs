//! Reconciliation: what Hallmark certified against what the factory
//! shipped and scrapped. Pure computation on plain data; the caller reads
//! the store and the files.
//!
//! Auditors look for *leakage* (devices certified but neither shipped nor
//! scrapped: possibly sold on the grey market), *counterfeits* (devices
//! shipped that Hallmark never certified) and sloppiness (duplicates,
//! certificates never installed, scrap that shipped). `docs/reconcile.md`
//! describes the CSV formats, every category and what to do about it, and
//! the JSON schema.
//!
//! * Inputs: [`Provisioned`] (one per issued certificate) and the shipped
//!   and scrapped lists read by [`parse_device_csv`] into [`CsvDevice`]s.
//! * [`reconcile`] compares them into a [`Report`]: one sorted list per
//!   [`Category`], [`Totals`], per-station rows and per-day counts;
//!   [`Report::has_discrepancy`] decides the exit status.
//! * Renderers: [`Report::to_table`] (terminal), [`Report::to_json`]
//!   (machines), [`Report::to_html`] (one self-contained page).
//!
//! # Example
//!
//! ```
//! use hallmark_audit::reconcile::{Installation, Provisioned, parse_device_csv, reconcile};
//!
//! let issued = |id: &str, serial: &str| Provisioned {
//!     device_id: id.into(),
//!     order_id: Some("order-1".into()),
//!     station_id: Some("st-1".into()),
//!     serial_hex: serial.into(),
//!     issued_at: 1_772_323_200, // 2026-03-01
//!     installed: Installation::Installed,
//!     renewal: false,
//! };
//! let provisioned = [issued("dev-1", "01"), issued("dev-2", "02")];
//! let shipped = parse_device_csv(&b"device_id,carton\ndev-1,C7\ndev-9,C7\n"[..], "shipped.csv")?;
//!
//! let report = reconcile(&provisioned, &shipped, &[]);
//! assert_eq!(report.provisioned_and_shipped, ["dev-1"]);
//! assert_eq!(report.provisioned_not_shipped, ["dev-2"]); // possible leakage
//! assert_eq!(report.shipped_not_provisioned, ["dev-9"]); // possible counterfeit
//! assert!(report.has_discrepancy());
//! # Ok::<(), hallmark_audit::Error>(())
//! ```

mod category;
mod chart;
mod compute;
mod csv;
mod html;
mod input;
mod json;
mod report;
mod table;
mod text;

pub use category::Category;
pub use compute::reconcile;
pub use csv::{DATE_COLUMNS, parse_device_csv};
pub use input::{CsvDevice, Installation, Provisioned};
pub use json::JSON_FORMAT;
pub use report::{CertifiedDevice, Counts, DayRow, ListedDevice, Report, StationRow, Totals};
pub use table::TABLE_LIST_LIMIT;
