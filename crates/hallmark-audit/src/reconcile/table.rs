//! The report as text for a terminal.

use super::text::{count, inputs, visible};
use super::{Category, Report};

/// How many ids of each discrepancy [`Report::to_table`] lists.
pub const TABLE_LIST_LIMIT: usize = 20;

impl Report {
    /// The report for people in a terminal: the verdict, the inputs'
    /// sizes, the count per category, the per-station table, then the
    /// first [`TABLE_LIST_LIMIT`] ids of each non-empty discrepancy
    /// ("… and K more"). Control and bidirectional characters in ids are
    /// shown as `\u{…}`, so a hostile id cannot drive the terminal.
    pub fn to_table(&self) -> String {
        let mut out = String::new();
        let title = self.title.as_deref().map(visible);
        match title {
            Some(title) => line(&mut out, format!("Hallmark reconciliation: {title}")),
            None => line(&mut out, "Hallmark reconciliation".into()),
        }
        let bad = Category::ALL
            .into_iter()
            .filter(|&c| c.is_discrepancy() && self.count(c) > 0)
            .count();
        if bad == 0 {
            line(&mut out, "Verdict: OK, no discrepancies".into());
        } else {
            let s = if bad == 1 { "y" } else { "ies" };
            line(
                &mut out,
                format!("Verdict: DISCREPANCIES FOUND in {bad} categor{s}"),
            );
        }

        line(&mut out, "\nInputs".into());
        let inputs = inputs(&self.totals);
        for (what, value) in inputs {
            line(&mut out, format!("  {what:<15}{value}"));
        }

        line(&mut out, "\nCategories".into());
        let rows: Vec<Vec<String>> = Category::ALL
            .into_iter()
            .map(|c| {
                let n = self.count(c);
                let flag = if c.is_discrepancy() && n > 0 {
                    "!!"
                } else {
                    ""
                };
                let note = if n > 0 { c.meaning() } else { "" };
                vec![flag.into(), c.label().into(), count(n as u64), note.into()]
            })
            .collect();
        grid(&mut out, &rows, &[false, false, true, false]);

        line(&mut out, "\nStations".into());
        let mut rows = vec![
            [
                "station",
                "provisioned",
                "shipped",
                "not shipped",
                "scrapped",
                "not installed",
            ]
            .map(String::from)
            .to_vec(),
        ];
        rows.extend(self.stations.iter().map(|s| {
            let name = s
                .station_id
                .as_deref()
                .map_or("(none recorded)".into(), visible);
            let cells = [
                s.provisioned,
                s.shipped,
                s.not_shipped,
                s.scrapped,
                s.not_installed,
            ];
            let mut row = vec![name.into_owned()];
            row.extend(cells.map(count));
            row
        }));
        grid(&mut out, &rows, &[false, true, true, true, true, true]);

        for c in Category::ALL.into_iter().filter(|c| c.is_discrepancy()) {
            let entries = self.entries(c);
            if entries.is_empty() {
                continue;
            }
            let n = count(entries.len() as u64);
            line(&mut out, format!("\n{}: {n} ({})", c.label(), c.meaning()));
            for (id, detail) in entries.iter().take(TABLE_LIST_LIMIT) {
                match detail {
                    Some(detail) => line(
                        &mut out,
                        format!("  {}  ({})", visible(id), visible(detail)),
                    ),
                    None => line(&mut out, format!("  {}", visible(id))),
                }
            }
            if entries.len() > TABLE_LIST_LIMIT {
                let more = count((entries.len() - TABLE_LIST_LIMIT) as u64);
                line(&mut out, format!("  … and {more} more"));
            }
        }
        out
    }
}

fn line(out: &mut String, text: String) {
    out.push_str(&text);
    out.push('\n');
}

/// Rows as aligned columns, two spaces apart, indented by two;
/// `right[i]` right-aligns column `i`.
fn grid(out: &mut String, rows: &[Vec<String>], right: &[bool]) {
    let columns = rows.iter().map(Vec::len).max().unwrap_or(0);
    let widths: Vec<usize> = (0..columns)
        .map(|i| {
            let width = |row: &Vec<String>| row.get(i).map_or(0, |c| c.chars().count());
            rows.iter().map(width).max().unwrap_or(0)
        })
        .collect();
    for row in rows {
        let mut text = String::from(" ");
        for ((cell, width), right) in row.iter().zip(&widths).zip(right) {
            let pad = " ".repeat(width - cell.chars().count());
            text.push(' ');
            if *right {
                text.push_str(&pad);
                text.push_str(cell);
            } else {
                text.push_str(cell);
                text.push_str(&pad);
            }
            text.push(' ');
        }
        line(out, text.trim_end().to_string());
    }
}
