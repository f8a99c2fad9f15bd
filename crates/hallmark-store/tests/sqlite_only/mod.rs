//! SQLite-only checks of orders and stations: what the trait cannot
//! express (upgrading a version 1 file, revoking a station, two stores on
//! one file, the schema's own guards).

mod orders;
mod upgrade;
