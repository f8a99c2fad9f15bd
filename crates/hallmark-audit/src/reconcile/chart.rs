//! The per-day bar chart of the HTML report, as inline SVG.

use std::fmt::Write as _;

use time::{Date, Duration};

use super::DayRow;
use super::text::count;

/// At most this many slots (days); longer spans get one slot per several
/// days.
const MAX_SLOTS: i64 = 400;
/// Beyond this many slots the chart is drawn dense (see [`chart`]).
const DENSE: usize = 120;
/// At most this many date labels on the x axis.
const MAX_LABELS: usize = 8;

const WIDTH: f64 = 960.0;
const HEIGHT: f64 = 320.0;
const LEFT: f64 = 64.0;
const RIGHT: f64 = 48.0;
const TOP: f64 = 40.0;
const BOTTOM: f64 = 40.0;

/// Colours of the two series (blue and orange: distinct for most colour
/// vision deficiencies).
pub(crate) const ISSUED_COLOUR: &str = "#2563eb";
pub(crate) const SHIPPED_COLOUR: &str = "#f97316";
const TEXT_COLOUR: &str = "#4b5563";
const LEGEND_COLOUR: &str = "#1f2937";
const GRID_COLOUR: &str = "#e5e7eb";
const AXIS_COLOUR: &str = "#9ca3af";

/// `YYYY-MM-DD`.
pub(crate) fn iso_date(date: Date) -> String {
    format!(
        "{:04}-{:02}-{:02}",
        date.year(),
        u8::from(date.month()),
        date.day()
    )
}

/// A rendered chart.
pub(crate) struct Chart {
    /// The `<svg>` element.
    pub svg: String,
    /// Days each bar covers (1 unless the span exceeds [`MAX_SLOTS`] days).
    pub days_per_bar: i64,
}

/// The days bucketed into slots of `days_per_bar` days from `first`.
struct Slots {
    first: Date,
    days_per_bar: i64,
    /// (issued, shipped) per slot.
    values: Vec<(u64, u64)>,
}

impl Slots {
    fn new(days: &[DayRow]) -> Option<Self> {
        let first = days.first()?.date;
        let span = (days.last()?.date - first).whole_days() + 1;
        let days_per_bar = (span + MAX_SLOTS - 1) / MAX_SLOTS;
        let n = usize::try_from((span + days_per_bar - 1) / days_per_bar).ok()?;
        let mut values = vec![(0u64, 0u64); n];
        for day in days {
            let i = (day.date - first).whole_days() / days_per_bar;
            if let Some(slot) = usize::try_from(i).ok().and_then(|i| values.get_mut(i)) {
                slot.0 += day.issued;
                slot.1 += day.shipped;
            }
        }
        Some(Self {
            first,
            days_per_bar,
            values,
        })
    }

    fn start(&self, i: usize) -> Date {
        let offset = i64::try_from(i).unwrap_or(0) * self.days_per_bar;
        self.first
            .checked_add(Duration::days(offset))
            .unwrap_or(self.first)
    }

    /// Slots to label: the first of every month or few months for a long
    /// daily chart, else evenly spaced slots.
    fn labelled(&self) -> Vec<usize> {
        let n = self.values.len();
        if self.days_per_bar == 1 && n > 62 {
            let months: Vec<usize> = (0..n).filter(|&i| self.start(i).day() == 1).collect();
            let every = months.len().div_ceil(MAX_LABELS).max(1);
            months.into_iter().step_by(every).collect()
        } else {
            (0..n).step_by(n.div_ceil(MAX_LABELS).max(1)).collect()
        }
    }
}

/// Issued vs shipped per day (or per few days), or `None` without days.
///
/// Up to [`DENSE`] slots each day has two bars side by side; beyond, issued
/// is drawn as touching bars and shipped as a line over them.
pub(crate) fn chart(days: &[DayRow]) -> Option<Chart> {
    let slots = Slots::new(days)?;
    let n = slots.values.len();
    let max = slots
        .values
        .iter()
        .map(|&(a, b)| a.max(b))
        .max()
        .unwrap_or(0)
        .max(1);
    let step = nice_step(max);
    let top = max.div_ceil(step) * step;
    let plot_w = WIDTH - LEFT - RIGHT;
    let plot_h = HEIGHT - TOP - BOTTOM;
    let base = TOP + plot_h;
    let y = |v: u64| base - v as f64 / top as f64 * plot_h;
    let slot_w = plot_w / n as f64;
    let x = |i: usize| LEFT + i as f64 * slot_w;
    let dense = n > DENSE;

    let mut s = String::new();
    let _ = write!(
        s,
        r#"<svg class="chart" viewBox="0 0 {WIDTH} {HEIGHT}" role="img" aria-labelledby="chart-title" xmlns="http://www.w3.org/2000/svg" font-family="system-ui, -apple-system, 'Segoe UI', Roboto, sans-serif" font-size="11" fill="{TEXT_COLOUR}"><title id="chart-title">Certificates issued and devices shipped per day</title>"#
    );
    // Legend: a swatch per series (a line for shipped when it is one).
    let _ = write!(
        s,
        r#"<rect x="{LEFT}" y="10" width="14" height="14" rx="2" fill="{ISSUED_COLOUR}"/><text x="{}" y="22" font-size="13" fill="{LEGEND_COLOUR}">Issued</text>"#,
        LEFT + 20.0
    );
    let swatch = if dense {
        format!(
            r#"<line x1="{0}" x2="{1}" y1="17" y2="17" stroke="{SHIPPED_COLOUR}" stroke-width="3"/>"#,
            LEFT + 110.0,
            LEFT + 124.0
        )
    } else {
        format!(
            r#"<rect x="{}" y="10" width="14" height="14" rx="2" fill="{SHIPPED_COLOUR}"/>"#,
            LEFT + 110.0
        )
    };
    let _ = write!(
        s,
        r#"{swatch}<text x="{}" y="22" font-size="13" fill="{LEGEND_COLOUR}">Shipped</text>"#,
        LEFT + 130.0
    );
    // Y grid and labels.
    let mut v = 0;
    while v <= top {
        let (yv, right, label_x, label) = (y(v), WIDTH - RIGHT, LEFT - 8.0, count(v));
        let _ = write!(
            s,
            r#"<line x1="{LEFT}" x2="{right}" y1="{yv:.1}" y2="{yv:.1}" stroke="{GRID_COLOUR}"/><text x="{label_x}" y="{:.1}" text-anchor="end">{label}</text>"#,
            yv + 4.0,
        );
        v += step;
    }
    // The series.
    let rect = |s: &mut String, x: f64, w: f64, v: u64, colour: &str| {
        if v > 0 {
            let _ = write!(
                s,
                r#"<rect x="{x:.2}" y="{:.2}" width="{w:.2}" height="{:.2}" fill="{colour}"/>"#,
                y(v),
                base - y(v)
            );
        }
    };
    if dense {
        for (i, &(issued, _)) in slots.values.iter().enumerate() {
            rect(&mut s, x(i), slot_w + 0.2, issued, ISSUED_COLOUR);
        }
        let points: Vec<String> = (slots.values.iter().enumerate())
            .map(|(i, &(_, shipped))| format!("{:.2},{:.2}", x(i) + slot_w / 2.0, y(shipped)))
            .collect();
        let _ = write!(
            s,
            r#"<polyline points="{}" fill="none" stroke="{SHIPPED_COLOUR}" stroke-width="1.5" stroke-linejoin="round"/>"#,
            points.join(" ")
        );
    } else {
        let bar_w = (slot_w * 0.4).min(24.0);
        for (i, &(issued, shipped)) in slots.values.iter().enumerate() {
            let mid = x(i) + slot_w / 2.0;
            rect(&mut s, mid - bar_w, bar_w, issued, ISSUED_COLOUR);
            rect(&mut s, mid, bar_w, shipped, SHIPPED_COLOUR);
        }
    }
    // A hover target per slot carrying its numbers.
    for (i, &(issued, shipped)) in slots.values.iter().enumerate() {
        let _ = write!(
            s,
            r#"<rect class="hit" x="{:.2}" y="{TOP}" width="{slot_w:.2}" height="{plot_h}" fill="transparent"><title>{}: {} issued, {} shipped</title></rect>"#,
            x(i),
            slot_label(slots.start(i), slots.days_per_bar),
            count(issued),
            count(shipped)
        );
    }
    // X axis, ticks and date labels.
    let _ = write!(
        s,
        r#"<line x1="{LEFT}" x2="{}" y1="{base}" y2="{base}" stroke="{AXIS_COLOUR}"/>"#,
        WIDTH - RIGHT
    );
    for i in slots.labelled() {
        let mid = x(i) + slot_w / 2.0;
        let _ = write!(
            s,
            r#"<line x1="{mid:.1}" x2="{mid:.1}" y1="{base}" y2="{}" stroke="{AXIS_COLOUR}"/><text x="{mid:.1}" y="{}" text-anchor="middle">{}</text>"#,
            base + 5.0,
            base + 20.0,
            iso_date(slots.start(i))
        );
    }
    s.push_str("</svg>");
    Some(Chart {
        svg: s,
        days_per_bar: slots.days_per_bar,
    })
}

/// "2026-03-01", or "2026-03-01 +6 days" for a bar covering a week.
fn slot_label(start: Date, days_per_bar: i64) -> String {
    if days_per_bar == 1 {
        iso_date(start)
    } else {
        format!("{} +{} days", iso_date(start), days_per_bar - 1)
    }
}

/// A step of 1, 2 or 5 × 10ⁿ giving about four grid lines up to `max`.
fn nice_step(max: u64) -> u64 {
    let raw = max.div_ceil(4).max(1);
    let mut magnitude = 1u64;
    while magnitude.saturating_mul(10) <= raw {
        magnitude *= 10;
    }
    [1, 2, 5, 10]
        .into_iter()
        .map(|m: u64| m.saturating_mul(magnitude))
        .find(|&step| step >= raw)
        .unwrap_or(raw)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn steps_are_round() {
        assert_eq!(nice_step(1), 1);
        assert_eq!(nice_step(4), 1);
        assert_eq!(nice_step(7), 2);
        assert_eq!(nice_step(19), 5);
        assert_eq!(nice_step(100), 50);
        assert_eq!(nice_step(1234), 500);
    }
}
