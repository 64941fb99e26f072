//! Human and machine output: aligned tables (colours only on a terminal, or when forced), key/value blocks,
//! and JSON. Every command decides what to print; this module only decides how.

use std::io::Write;

use console::{measure_text_width, Style};
use serde::Serialize;

/// When to colour.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub(crate) enum ColorChoice {
    /// Only when standard output is a terminal (and `NO_COLOR` is not set).
    Auto,
    /// Always.
    Always,
    /// Never.
    Never,
}

/// Column alignment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Align {
    Left,
    Right,
}

/// The output settings of one command.
#[derive(Debug, Clone)]
pub(crate) struct Output {
    json: bool,
    colors: bool,
}

impl Output {
    pub(crate) fn new(json: bool, color: ColorChoice) -> Self {
        let colors = match color {
            ColorChoice::Auto => console::colors_enabled(),
            ColorChoice::Always => true,
            ColorChoice::Never => false,
        };
        Self { json, colors }
    }

    /// True when `--json` was given.
    pub(crate) fn is_json(&self) -> bool {
        self.json
    }

    fn paint(&self, style: Style, text: &str) -> String {
        style.force_styling(self.colors).apply_to(text).to_string()
    }

    pub(crate) fn good(&self, text: &str) -> String {
        self.paint(Style::new().green(), text)
    }

    pub(crate) fn bad(&self, text: &str) -> String {
        self.paint(Style::new().red().bold(), text)
    }

    pub(crate) fn warn(&self, text: &str) -> String {
        self.paint(Style::new().yellow(), text)
    }

    pub(crate) fn dim(&self, text: &str) -> String {
        self.paint(Style::new().dim(), text)
    }

    pub(crate) fn bold(&self, text: &str) -> String {
        self.paint(Style::new().bold(), text)
    }

    /// Prints a value as pretty JSON on standard output.
    pub(crate) fn print_json<T: Serialize>(&self, value: &T) -> Result<(), crate::Error> {
        let mut stdout = std::io::stdout().lock();
        serde_json::to_writer_pretty(&mut stdout, value)?;
        writeln!(stdout)?;
        Ok(())
    }

    /// Prints a line on standard output.
    pub(crate) fn line(&self, text: impl AsRef<str>) {
        // A closed pipe (`| head`) is not worth a panic: the reader has what it wanted.
        let _ = writeln!(std::io::stdout(), "{}", text.as_ref());
    }

    /// Prints an aligned table on standard output.
    pub(crate) fn print_table(&self, table: &Table) {
        let _ = write!(std::io::stdout(), "{}", table.render(self));
    }

    /// Prints `key: value` lines with the keys aligned.
    pub(crate) fn print_fields(&self, fields: &[(&str, String)]) {
        let width = fields.iter().map(|(key, _)| key.len()).max().unwrap_or(0);
        for (key, value) in fields {
            self.line(format!("{}  {value}", self.dim(&format!("{key:<width$}"))));
        }
    }
}

/// A table of text cells; cells may carry colour codes (they do not count towards the width).
#[derive(Debug, Clone, Default)]
pub(crate) struct Table {
    headers: Vec<String>,
    aligns: Vec<Align>,
    rows: Vec<Vec<String>>,
}

impl Table {
    pub(crate) fn new(columns: &[(&str, Align)]) -> Self {
        Self {
            headers: columns.iter().map(|(name, _)| (*name).to_owned()).collect(),
            aligns: columns.iter().map(|(_, align)| *align).collect(),
            rows: Vec::new(),
        }
    }

    pub(crate) fn push(&mut self, row: Vec<String>) {
        self.rows.push(row);
    }

    /// The table as text: a header line, then one line per row, columns separated by two spaces.
    pub(crate) fn render(&self, output: &Output) -> String {
        let mut widths: Vec<usize> = self.headers.iter().map(|header| measure_text_width(header)).collect();
        for row in &self.rows {
            for (index, cell) in row.iter().enumerate() {
                if let Some(width) = widths.get_mut(index) {
                    *width = (*width).max(measure_text_width(cell));
                }
            }
        }
        let mut text = String::new();
        let header: Vec<String> = self.headers.iter().map(|header| output.bold(header)).collect();
        self.render_row(&mut text, &header, &widths);
        for row in &self.rows {
            self.render_row(&mut text, row, &widths);
        }
        text
    }

    fn render_row(&self, text: &mut String, row: &[String], widths: &[usize]) {
        let last = row.len().saturating_sub(1);
        let mut line = String::new();
        for (index, cell) in row.iter().enumerate() {
            let width = widths.get(index).copied().unwrap_or(0);
            let padding = " ".repeat(width.saturating_sub(measure_text_width(cell)));
            let align = self.aligns.get(index).copied().unwrap_or(Align::Left);
            match align {
                Align::Left if index == last => line.push_str(cell),
                Align::Left => {
                    line.push_str(cell);
                    line.push_str(&padding);
                }
                Align::Right => {
                    line.push_str(&padding);
                    line.push_str(cell);
                }
            }
            if index != last {
                line.push_str("  ");
            }
        }
        text.push_str(line.trim_end());
        text.push('\n');
    }
}

/// Thousands separators for counts: `1234567` → `1,234,567`.
pub(crate) fn count(value: u64) -> String {
    let digits = value.to_string();
    let mut grouped = String::with_capacity(digits.len() + digits.len() / 3);
    for (index, digit) in digits.chars().enumerate() {
        if index > 0 && (digits.len() - index) % 3 == 0 {
            grouped.push(',');
        }
        grouped.push(digit);
    }
    grouped
}

/// A rate with no more precision than it deserves: `53,211/s`.
pub(crate) fn rate(per_second: f64) -> String {
    if !per_second.is_finite() {
        return "-".to_owned();
    }
    format!("{}/s", count(per_second.round().max(0.0) as u64))
}

/// A duration for humans: `850 ms`, `12.3 s`, `4 min 05 s`, `2 h 03 min`.
pub(crate) fn duration(seconds: f64) -> String {
    if seconds < 1.0 {
        format!("{:.0} ms", seconds * 1000.0)
    } else if seconds < 60.0 {
        format!("{seconds:.1} s")
    } else if seconds < 3600.0 {
        format!("{} min {:02} s", (seconds / 60.0).floor(), (seconds % 60.0).floor())
    } else {
        format!("{} h {:02} min", (seconds / 3600.0).floor(), ((seconds % 3600.0) / 60.0).floor())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tables_align_columns_and_ignore_colour_codes() {
        let output = Output::new(false, ColorChoice::Always);
        let mut table = Table::new(&[("NAME", Align::Left), ("EVENTS", Align::Right), ("NOTE", Align::Left)]);
        table.push(vec!["order_views".to_owned(), output.good("12"), "fine".to_owned()]);
        table.push(vec!["order_search".to_owned(), "1,234".to_owned(), String::new()]);
        let plain = console::strip_ansi_codes(&table.render(&output)).to_string();
        assert_eq!(plain, "NAME          EVENTS  NOTE\norder_views       12  fine\norder_search   1,234\n");
    }

    #[test]
    fn counts_get_thousands_separators() {
        assert_eq!(count(0), "0");
        assert_eq!(count(999), "999");
        assert_eq!(count(1000), "1,000");
        assert_eq!(count(1_234_567), "1,234,567");
        assert_eq!(rate(53_210.6), "53,211/s");
    }

    #[test]
    fn durations_read_naturally() {
        assert_eq!(duration(0.25), "250 ms");
        assert_eq!(duration(12.34), "12.3 s");
        assert_eq!(duration(245.0), "4 min 05 s");
        assert_eq!(duration(7380.0), "2 h 03 min");
    }
}
