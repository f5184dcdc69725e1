//! Printing: aligned tables, section headings, and number formats.

/// A table printed with its columns aligned.
pub struct Table {
    headers: Vec<String>,
    rows: Vec<Vec<String>>,
}

impl Table {
    /// A table with these column headers.
    pub fn new(headers: &[&str]) -> Self {
        Self {
            headers: headers.iter().map(|h| (*h).to_string()).collect(),
            rows: Vec::new(),
        }
    }

    /// Adds a row (missing cells print empty).
    pub fn row(&mut self, cells: Vec<String>) {
        self.rows.push(cells);
    }

    /// Prints the table, first column left-aligned, the others right-aligned.
    pub fn print(&self) {
        let columns = self.headers.len();
        let mut widths: Vec<usize> = self.headers.iter().map(|h| h.chars().count()).collect();
        for row in &self.rows {
            for (i, cell) in row.iter().enumerate().take(columns) {
                widths[i] = widths[i].max(cell.chars().count());
            }
        }
        let line = |cells: &[String]| {
            let mut out = String::from("  ");
            for (i, width) in widths.iter().enumerate() {
                let cell = cells.get(i).map_or("", String::as_str);
                let pad = width.saturating_sub(cell.chars().count());
                if i == 0 {
                    out.push_str(cell);
                    out.push_str(&" ".repeat(pad));
                } else {
                    out.push_str("  ");
                    out.push_str(&" ".repeat(pad));
                    out.push_str(cell);
                }
            }
            println!("{}", out.trim_end());
        };
        line(&self.headers);
        let rule: Vec<String> = widths.iter().map(|w| "-".repeat(*w)).collect();
        line(&rule);
        for row in &self.rows {
            line(row);
        }
    }
}

/// Prints a section heading.
pub fn heading(title: &str) {
    println!();
    println!("== {title} ==");
}

/// Prints a progress line (flushed at once, so a long part shows it is alive).
pub fn progress(message: &str) {
    use std::io::Write as _;
    println!("  .. {message}");
    let _ = std::io::stdout().flush();
}

/// A ratio as `0.97x`, or `-` when undefined.
pub fn times(r: f64) -> String {
    if r.is_finite() {
        format!("{r:.2}x")
    } else {
        "-".to_string()
    }
}

/// A relative difference as `+3.1%`, or `-` when undefined.
pub fn percent(r: f64) -> String {
    if r.is_finite() {
        format!("{:+.1}%", (r - 1.0) * 100.0)
    } else {
        "-".to_string()
    }
}

/// A number with no decimals and thin grouping, e.g. `12 345`.
pub fn int(n: f64) -> String {
    if !n.is_finite() {
        return "-".to_string();
    }
    let digits = format!("{:.0}", n.abs());
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push(' ');
        }
        out.push(c);
    }
    if n < 0.0 { format!("-{out}") } else { out }
}

/// Microseconds as `123 µs` or `12.3 ms`.
pub fn micros(us: f64) -> String {
    if us >= 10_000.0 {
        format!("{:.1} ms", us / 1000.0)
    } else {
        format!("{} µs", int(us))
    }
}

/// `met` or `NOT met`, for a target stated beside a measurement.
pub fn verdict(met: bool) -> &'static str {
    if met { "met" } else { "NOT met" }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats() {
        assert_eq!(int(1234567.4), "1 234 567");
        assert_eq!(int(999.0), "999");
        assert_eq!(times(0.966), "0.97x");
        assert_eq!(percent(1.031), "+3.1%");
        assert_eq!(micros(12_345.0), "12.3 ms");
        assert_eq!(micros(123.0), "123 µs");
    }
}
