//! Text helpers shared by the renderers. Device and station ids come from
//! factory files: every renderer treats them as hostile.

use std::borrow::Cow;
use std::fmt::Write as _;

use super::Totals;

/// `text` with every character that could deceive a reader — control
/// characters (a terminal escape sequence starts with one), bidirectional
/// overrides and isolates, zero-width characters — shown as `\u{…}`.
pub(crate) fn visible(text: &str) -> Cow<'_, str> {
    if !text.chars().any(deceptive) {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        if deceptive(c) {
            let _ = write!(out, "\\u{{{:x}}}", u32::from(c));
        } else {
            out.push(c);
        }
    }
    Cow::Owned(out)
}

fn deceptive(c: char) -> bool {
    c.is_control()
        || matches!(c,
            '\u{200B}'..='\u{200F}'   // zero-width, LRM, RLM
            | '\u{2028}'..='\u{202E}' // separators, embeddings, overrides
            | '\u{2060}'..='\u{2069}' // word joiner, invisible operators, isolates
            | '\u{FEFF}'              // zero-width no-break space
        )
}

/// `text` made safe for HTML text and attribute values (quoted with `"`
/// or `'`), after [`visible`].
pub(crate) fn html(text: &str) -> String {
    let text = visible(text);
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// `"1 row"`, `"12,345 rows"`.
pub(crate) fn counted(n: u64, one: &str, many: &str) -> String {
    format!("{} {}", count(n), if n == 1 { one } else { many })
}

/// The inputs' sizes as (what, how many) for people.
pub(crate) fn inputs(t: &Totals) -> [(&'static str, String); 4] {
    let mut certs = format!(
        "{} ({})",
        counted(t.certificates, "certificate", "certificates"),
        counted(t.renewals, "renewal", "renewals")
    );
    if t.installation_unknown > 0 {
        certs.insert_str(
            certs.len() - 1,
            &format!(
                "; installation not reported for {}",
                count(t.installation_unknown)
            ),
        );
    }
    let list = |rows: u64, devices: u64| {
        format!(
            "{}, {}",
            counted(rows, "row", "rows"),
            counted(devices, "device", "devices")
        )
    };
    let mut shipped = list(t.shipped_rows, t.shipped_devices);
    if t.shipped_date_unknown > 0 {
        let undated = counted(t.shipped_date_unknown, "row", "rows");
        shipped.push_str(&format!(" ({undated} without a date)"));
    }
    [
        ("issued", certs),
        (
            "provisioned",
            counted(t.provisioned_devices, "device", "devices"),
        ),
        ("shipped list", shipped),
        ("scrapped list", list(t.scrapped_rows, t.scrapped_devices)),
    ]
}

/// A count with thousands separated: `12,345`.
pub(crate) fn count(n: impl Into<u64>) -> String {
    let digits = n.into().to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_are_grouped() {
        assert_eq!(count(0u64), "0");
        assert_eq!(count(999u64), "999");
        assert_eq!(count(1000u64), "1,000");
        assert_eq!(count(1_234_567u64), "1,234,567");
    }

    #[test]
    fn deceptive_characters_are_shown() {
        assert_eq!(visible("dev-1"), "dev-1");
        assert_eq!(visible("a\u{1b}[31mb"), "a\\u{1b}[31mb");
        assert_eq!(visible("x\u{202E}y\r"), "x\\u{202e}y\\u{d}");
        assert_eq!(
            html("<a href='x'>&\"</a>"),
            "&lt;a href=&#39;x&#39;&gt;&amp;&quot;&lt;/a&gt;"
        );
    }
}
