//! What goes to stdout and stderr: one JSON document, or tables and lines
//! for people, colored only on a terminal and never when `NO_COLOR` is set.

use std::io::{IsTerminal as _, Write as _};

use serde::Serialize;

use crate::app::Failure;

/// How results are shown (`--output`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// Tables and sentences (the official CLI's `rich` and `plain` name it too).
    #[value(alias = "rich", alias = "plain")]
    Human,
    /// One JSON document on stdout, with the API's own field names.
    Json,
}

/// A color, applied only when colors are on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Style {
    Bold,
    Green,
    Yellow,
    Red,
    Dim,
}

impl Style {
    fn code(self) -> &'static str {
        match self {
            Style::Bold => "1",
            Style::Green => "32",
            Style::Yellow => "33",
            Style::Red => "31",
            Style::Dim => "2",
        }
    }
}

/// Whether colors are wanted on a stream that is (or is not) a terminal.
fn colors_for(is_terminal: bool) -> bool {
    let no_color = std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty());
    let dumb = std::env::var_os("TERM").is_some_and(|t| t == "dumb");
    is_terminal && !no_color && !dumb
}

/// Where and how a command shows its results.
#[derive(Debug, Clone, Copy)]
pub struct Output {
    format: Format,
    color: bool,
    err_color: bool,
}

impl Output {
    pub fn new(format: Format) -> Self {
        Output {
            format,
            color: colors_for(std::io::stdout().is_terminal()),
            err_color: colors_for(std::io::stderr().is_terminal()),
        }
    }

    /// True for `--output json`: the command prints one document and nothing else.
    pub fn is_json(&self) -> bool {
        self.format == Format::Json
    }

    /// `text` in `style` for stdout.
    pub fn paint(&self, text: &str, style: Style) -> String {
        paint(self.color, text, style)
    }

    /// Prints `value` as the one JSON document of this run.
    pub fn json<T: Serialize + ?Sized>(&self, value: &T) -> Result<(), Failure> {
        let text = serde_json::to_string_pretty(value)
            .map_err(|e| Failure::Internal(format!("cannot write the answer as JSON: {e}")))?;
        self.line(&text)
    }

    /// Prints `value` as the one JSON document of this run, with `list`
    /// present even when empty (the API's types leave empty lists out, but a
    /// script reading `.sets[]` should not have to care).
    pub fn json_listing<T: Serialize>(&self, value: &T, list: &str) -> Result<(), Failure> {
        let mut value = serde_json::to_value(value)
            .map_err(|e| Failure::Internal(format!("cannot write the answer as JSON: {e}")))?;
        if let serde_json::Value::Object(map) = &mut value {
            map.entry(list)
                .or_insert_with(|| serde_json::Value::Array(Vec::new()));
        }
        self.json(&value)
    }

    /// A line on stdout (human output).
    pub fn line(&self, text: &str) -> Result<(), Failure> {
        let mut stdout = std::io::stdout().lock();
        writeln!(stdout, "{text}").map_err(broken_stdout)
    }

    /// Progress or a note on stderr; never on stdout, so JSON stays clean.
    pub fn note(&self, text: &str) {
        eprintln!("{}", paint(self.err_color, text, Style::Dim));
    }

    /// A warning on stderr.
    pub fn warn(&self, text: &str) {
        eprintln!(
            "{} {text}",
            paint(self.err_color, "warning:", Style::Yellow)
        );
    }

    /// Prints `table` (human output).
    pub fn table(&self, table: &Table) -> Result<(), Failure> {
        let text = table.render(self.color);
        let mut stdout = std::io::stdout().lock();
        write!(stdout, "{text}").map_err(broken_stdout)
    }

    /// `key: value` lines, keys aligned.
    pub fn fields(&self, rows: &[(&str, Cell)]) -> Result<(), Failure> {
        let width = rows
            .iter()
            .map(|(k, _)| k.chars().count())
            .max()
            .unwrap_or(0);
        for (key, cell) in rows {
            let key = format!("{key}:{}", " ".repeat(width - key.chars().count()));
            self.line(&format!(
                "{} {}",
                self.paint(&key, Style::Bold),
                cell.painted(self.color)
            ))?;
        }
        Ok(())
    }

    /// An error message on stderr.
    pub fn error(&self, text: &str) {
        eprintln!("{} {text}", paint(self.err_color, "error:", Style::Red));
    }
}

fn broken_stdout(e: std::io::Error) -> Failure {
    Failure::Internal(format!("cannot write to stdout: {e}"))
}

fn paint(color: bool, text: &str, style: Style) -> String {
    if color {
        format!("\x1b[{}m{text}\x1b[0m", style.code())
    } else {
        text.to_string()
    }
}

/// One table cell: text and an optional style.
#[derive(Debug, Clone)]
pub struct Cell {
    text: String,
    style: Option<Style>,
}

impl Cell {
    pub fn new(text: impl Into<String>) -> Self {
        Cell {
            text: text.into(),
            style: None,
        }
    }

    pub fn styled(text: impl Into<String>, style: Option<Style>) -> Self {
        Cell {
            text: text.into(),
            style,
        }
    }

    /// `-` for a missing value.
    pub fn opt(value: Option<impl ToString>) -> Self {
        match value {
            Some(v) => Cell::new(v.to_string()),
            None => Cell::styled("-", Some(Style::Dim)),
        }
    }

    /// A status, green when good, red when failed, yellow otherwise.
    pub fn status(value: Option<impl ToString>) -> Self {
        let Some(text) = value.map(|v| v.to_string()) else {
            return Cell::opt(None::<&str>);
        };
        let style = match text.to_ascii_lowercase().as_str() {
            "ready" | "success" | "succeeded" | "ok" | "active" | "yes" | "true" | "running" => {
                Style::Green
            }
            "failed" | "error" | "timeout" | "no" | "false" | "cancelled" => Style::Red,
            _ => Style::Yellow,
        };
        Cell::styled(text, Some(style))
    }

    fn width(&self) -> usize {
        self.text.chars().count()
    }

    fn painted(&self, color: bool) -> String {
        match self.style {
            Some(style) => paint(color, &self.text, style),
            None => self.text.clone(),
        }
    }
}

impl From<&str> for Cell {
    fn from(text: &str) -> Self {
        Cell::new(text)
    }
}

impl From<String> for Cell {
    fn from(text: String) -> Self {
        Cell::new(text)
    }
}

/// A plain table: a bold header and left-aligned columns.
#[derive(Debug, Clone)]
pub struct Table {
    header: Vec<String>,
    rows: Vec<Vec<Cell>>,
}

impl Table {
    pub fn new(header: &[&str]) -> Self {
        Table {
            header: header.iter().map(|h| h.to_string()).collect(),
            rows: Vec::new(),
        }
    }

    pub fn row(&mut self, cells: Vec<Cell>) {
        self.rows.push(cells);
    }

    pub fn is_empty(&self) -> bool {
        self.rows.is_empty()
    }

    fn render(&self, color: bool) -> String {
        let columns = self.header.len();
        let mut widths: Vec<usize> = self.header.iter().map(|h| h.chars().count()).collect();
        for row in &self.rows {
            for (i, cell) in row.iter().enumerate().take(columns) {
                widths[i] = widths[i].max(cell.width());
            }
        }
        let mut out = String::new();
        let header: Vec<Cell> = self
            .header
            .iter()
            .map(|h| Cell::styled(h.clone(), Some(Style::Bold)))
            .collect();
        for row in std::iter::once(&header).chain(&self.rows) {
            let mut line = String::new();
            for (i, cell) in row.iter().enumerate().take(columns) {
                line.push_str(&cell.painted(color));
                if i + 1 < row.len().min(columns) {
                    line.push_str(&" ".repeat(widths[i] - cell.width() + 2));
                }
            }
            out.push_str(line.trim_end());
            out.push('\n');
        }
        out
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
    use super::*;

    #[test]
    fn tables_align_columns_and_color_only_when_asked() {
        let mut table = Table::new(&["NAME", "STATUS"]);
        table.row(vec![Cell::new("a-long-name"), Cell::status(Some("ready"))]);
        table.row(vec![Cell::new("b"), Cell::status(None::<&str>)]);
        assert_eq!(
            table.render(false),
            "NAME         STATUS\na-long-name  ready\nb            -\n"
        );
        assert!(table.render(true).contains("\x1b[32mready\x1b[0m"));
        assert!(!table.render(false).contains('\x1b'));
    }
}
