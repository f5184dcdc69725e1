//! What goes to stdout and stderr: one JSON document, or tables and lines
//! for people, colored only on a terminal and never when `NO_COLOR` is set.
//!
//! Human output passes every piece of text through [`sanitize`], so text
//! from the service (log lines, names, messages) cannot drive the terminal;
//! JSON output is written exactly as the API gave it (serde escapes control
//! characters there).

use std::borrow::Cow;
use std::io::{IsTerminal as _, Write as _};

use serde::Serialize;

use crate::failure::Failure;

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

/// Whether stdout is a person's terminal: a terminal, not `TERM=dumb`, and
/// not a CI job (`CI` set, as CI services do, some with a pseudo-terminal).
fn person_at(is_terminal: bool) -> bool {
    let dumb = std::env::var_os("TERM").is_some_and(|t| t == "dumb");
    let ci = std::env::var_os("CI").is_some_and(|v| !v.is_empty() && v != "false");
    is_terminal && !dumb && !ci
}

/// Where and how a command shows its results.
#[derive(Debug, Clone, Copy)]
pub struct Output {
    format: Format,
    color: bool,
    err_color: bool,
    /// Stdout is a person's terminal: links are clickable and a join link
    /// may carry its token.
    person: bool,
}

impl Output {
    /// Output in `format`, colors and links decided by what stdout and
    /// stderr are.
    pub fn new(format: Format) -> Self {
        Output {
            format,
            color: colors_for(std::io::stdout().is_terminal()),
            err_color: colors_for(std::io::stderr().is_terminal()),
            person: person_at(std::io::stdout().is_terminal()),
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
        self.raw_line(&text)
    }

    /// One compact JSON value on its own line (JSON Lines, for `--follow`).
    pub fn json_line<T: Serialize + ?Sized>(&self, value: &T) -> Result<(), Failure> {
        let text = serde_json::to_string(value)
            .map_err(|e| Failure::Internal(format!("cannot write the line as JSON: {e}")))?;
        self.raw_line(&text)
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

    /// A line on stdout (human output), control characters neutralized.
    pub fn line(&self, text: &str) -> Result<(), Failure> {
        self.raw_line(&sanitize(text))
    }

    /// `text` and a newline on stdout, as is: for JSON and for lines whose
    /// parts were sanitized and painted here.
    fn raw_line(&self, text: &str) -> Result<(), Failure> {
        let mut stdout = std::io::stdout().lock();
        writeln!(stdout, "{text}")
            .and_then(|()| stdout.flush())
            .map_err(broken_stdout)
    }

    /// One log line: its timestamp (dim) and its text, both sanitized.
    pub fn log_line(&self, timestamp: Option<&str>, text: Option<&str>) -> Result<(), Failure> {
        let stamp = sanitize(timestamp.unwrap_or("-"));
        self.raw_line(&format!(
            "{} {}",
            self.paint(&stamp, Style::Dim),
            sanitize(text.unwrap_or(""))
        ))
    }

    /// A link on stdout: on a person's terminal, an OSC 8 hyperlink whose
    /// text is the URL itself (terminals without OSC 8 ignore the sequence
    /// and still show a URL to copy); elsewhere the plain URL.
    pub fn link_line(&self, label: &str, url: &str) -> Result<(), Failure> {
        let label = sanitize(label);
        let url = sanitize(url);
        if self.person {
            // ESC ] 8 ; ; URL ST  text  ESC ] 8 ; ; ST
            self.raw_line(&format!("{label}\x1b]8;;{url}\x1b\\{url}\x1b]8;;\x1b\\"))
        } else {
            self.raw_line(&format!("{label}{url}"))
        }
    }

    /// Whether human output may show a session token: only to a person at
    /// a terminal, who asked for the session (the official CLI shows the
    /// join link with its token); never on a pipe, in a file or in CI.
    pub fn shows_tokens(&self) -> bool {
        self.person && !self.is_json()
    }

    /// Progress or a note on stderr; never on stdout, so JSON stays clean.
    pub fn note(&self, text: &str) {
        let text = paint(self.err_color, &sanitize(text), Style::Dim);
        to_stderr(&text);
    }

    /// A warning on stderr.
    pub fn warn(&self, text: &str) {
        let label = paint(self.err_color, "warning:", Style::Yellow);
        to_stderr(&format!("{label} {}", sanitize(text)));
    }

    /// Prints `table` (human output).
    pub fn table(&self, table: &Table) -> Result<(), Failure> {
        let text = table.render(self.color);
        let mut stdout = std::io::stdout().lock();
        write!(stdout, "{text}")
            .and_then(|()| stdout.flush())
            .map_err(broken_stdout)
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
            self.raw_line(&format!(
                "{} {}",
                self.paint(&sanitize(&key), Style::Bold),
                cell.painted(self.color)
            ))?;
        }
        Ok(())
    }

    /// An error message on stderr.
    pub fn error(&self, text: &str) {
        let label = paint(self.err_color, "error:", Style::Red);
        to_stderr(&format!("{label} {}", sanitize(text)));
    }
}

/// A line on stderr. A closed or failing stderr is ignored: there is nowhere
/// left to say anything (`eprintln!` would panic instead).
pub fn to_stderr(text: &str) {
    let mut stderr = std::io::stderr().lock();
    let _ = writeln!(stderr, "{text}");
}

/// A failed write to stdout: a reader that went away (`| head`) ends the
/// command quietly; anything else is reported.
fn broken_stdout(e: std::io::Error) -> Failure {
    if e.kind() == std::io::ErrorKind::BrokenPipe {
        Failure::ClosedPipe
    } else {
        Failure::Internal(format!("cannot write to stdout: {e}"))
    }
}

/// `1 key`, `2 keys`: a count with its noun in the right number.
pub fn count(n: usize, noun: &str) -> String {
    if n == 1 {
        format!("1 {noun}")
    } else {
        format!("{n} {noun}s")
    }
}

/// The Daily room link that joins with `token`: `room?t=token` (`&t=` when
/// the room already has a query). Characters outside a URL's unreserved
/// set are percent-encoded.
pub fn join_url(room: &str, token: &str) -> String {
    let mut url = String::with_capacity(room.len() + token.len() + 3);
    url.push_str(room);
    url.push_str(if room.contains('?') { "&t=" } else { "?t=" });
    for byte in token.bytes() {
        if byte.is_ascii_alphanumeric() || b"-._~".contains(&byte) {
            url.push(char::from(byte));
        } else {
            url.push_str(&format!("%{byte:02X}"));
        }
    }
    url
}

/// `text` safe to show on a terminal: C0 and C1 control characters (ESC,
/// BEL, CR, backspace, DEL, CSI …) and the bidirectional overrides that can
/// reorder what is seen become visible escapes such as `\x1b` and
/// `\u{202e}`, so an `ESC ]0;…` title or an `ESC [2J` in a log line is
/// shown, never obeyed. Newlines and tabs stay: they move the cursor
/// forward only.
pub fn sanitize(text: &str) -> Cow<'_, str> {
    escape(text, false)
}

/// `text` as [`sanitize`] shows it, with newlines and tabs escaped too: for
/// a value that must stay on its line (a plan's `old -> new`).
pub fn sanitize_line(text: &str) -> Cow<'_, str> {
    escape(text, true)
}

fn escape(text: &str, one_line: bool) -> Cow<'_, str> {
    let unsafe_here = |c: char| is_unsafe(c) || (one_line && (c == '\n' || c == '\t'));
    if !text.chars().any(unsafe_here) {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        if !unsafe_here(c) {
            out.push(c);
        } else if u32::from(c) <= 0xff {
            out.push_str(&format!("\\x{:02x}", u32::from(c)));
        } else {
            out.push_str(&format!("\\u{{{:x}}}", u32::from(c)));
        }
    }
    Cow::Owned(out)
}

/// Characters a terminal may act on (or that reorder the text shown).
fn is_unsafe(c: char) -> bool {
    (c.is_control() && c != '\n' && c != '\t')
        || matches!(c, '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}')
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
    /// A plain cell; its text is sanitized (it may come from the service).
    pub fn new(text: impl Into<String>) -> Self {
        Cell::styled(text, None)
    }

    /// A cell in `style`; its text is sanitized.
    pub fn styled(text: impl Into<String>, style: Option<Style>) -> Self {
        let text: String = text.into();
        Cell {
            text: sanitize(&text).into_owned(),
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
    fn control_characters_are_shown_never_obeyed() {
        let hostile = "a\x1b]0;pwned\x07b\x1b[2Jc\rd\u{9b}e\u{202e}f\tg\nh";
        let safe = sanitize(hostile);
        assert_eq!(
            safe,
            "a\\x1b]0;pwned\\x07b\\x1b[2Jc\\x0dd\\x9be\\u{202e}f\tg\nh"
        );
        assert!(!safe.chars().any(is_unsafe));
        assert!(matches!(sanitize("plain text"), Cow::Borrowed(_)));
        // Cells (names and statuses from the service) are sanitized too.
        let mut table = Table::new(&["NAME"]);
        table.row(vec![Cell::new("x\x1b[2J")]);
        assert_eq!(table.render(false), "NAME\nx\\x1b[2J\n");
    }

    #[test]
    fn a_join_url_carries_the_token_encoded() {
        assert_eq!(
            join_url("https://d.co/r", "ab.c-_"),
            "https://d.co/r?t=ab.c-_"
        );
        assert_eq!(
            join_url("https://d.co/r?x=1", "a b"),
            "https://d.co/r?x=1&t=a%20b"
        );
    }

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
