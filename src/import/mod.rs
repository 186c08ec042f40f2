//! Reading the import files of docs/commands.md (CSV as spreadsheets save it: BOM, CRLF, quoted
//! fields) into checked rows. Every bad row is reported with its line number; a file with any
//! bad row yields no rows at all, so an import is all or nothing.
//!
//! This module owns what every file shares (reading the input, the header, BOM, CRLF and line
//! numbers, the limits on what one error reports, chunks handed on while the file is good);
//! `accounts`, `impact`, `batch` (a batch run's accounts file) and `backups` read one format
//! each.

use std::io::Read;
use std::path::Path;

use chrono::{DateTime, NaiveDate, Utc};

use crate::error::{Error, Result};

mod accounts;
mod backups;
mod batch;
mod impact;
mod incident;
mod outreach;

pub use accounts::{parse_accounts, parse_accounts_chunks};
pub use backups::{parse_backups, parse_backups_chunks, snapshot_checksum};
pub use batch::{BatchFile, BatchRef, parse_batch_accounts};
pub use impact::{parse_impact, parse_impact_chunks};
pub use incident::parse_incident;
pub use outreach::parse_delivery;

/// Most bad rows listed in one error before the rest are only counted.
const MAX_REPORTED: usize = 20;
/// Longest message about one bad row, in characters.
const MAX_MESSAGE_CHARS: usize = 300;

/// `Some(problem)` when `value` of `column` is longer than `max` characters.
fn too_long(column: &str, value: &str, max: usize) -> Option<String> {
    let n = value.chars().count();
    (n > max).then(|| format!("the {column} is {n} characters long; at most {max} are allowed"))
}

/// How messages name an input file: its path, or "standard input" for "-".
pub fn source_name(path: &Path) -> String {
    if path.as_os_str() == "-" {
        "standard input".to_string()
    } else {
        path.display().to_string()
    }
}

/// Reads a whole input file ("-" is standard input).
pub fn read_input(path: &Path) -> Result<Vec<u8>> {
    let mut buf = Vec::new();
    if path.as_os_str() == "-" {
        std::io::stdin()
            .read_to_end(&mut buf)
            .map_err(|e| Error::io("cannot read standard input", e))?;
    } else {
        buf = std::fs::read(path)
            .map_err(|e| Error::io(format!("cannot read {}", path.display()), e))?;
    }
    Ok(buf)
}

/// A CSV file's header, with the position of each named column.
struct Header {
    names: Vec<String>,
}

impl Header {
    fn new(record: &csv::StringRecord) -> Self {
        Self {
            names: record
                .iter()
                .map(|h| h.trim().trim_start_matches('\u{feff}').to_ascii_lowercase())
                .collect(),
        }
    }

    /// Refuses a header naming a column twice: which of the two a row's value came from
    /// would be a guess (spreadsheets' blank trailing columns are not names, so they may
    /// repeat).
    fn refuse_repeats(&self, source: &str) -> Result<()> {
        for (i, name) in self.names.iter().enumerate() {
            if name.is_empty() {
                continue;
            }
            if let Some(j) = self.names[i + 1..].iter().position(|n| n == name) {
                return Err(Error::invalid(format!(
                    "{source}: the header names the column \"{}\" twice (columns {} and {}); keep one",
                    crate::domain::sanitize(name),
                    i + 1,
                    i + j + 2
                )));
            }
        }
        Ok(())
    }

    fn require(&self, source: &str, columns: &[&str]) -> Result<()> {
        let missing: Vec<&str> = columns
            .iter()
            .copied()
            .filter(|c| !self.names.iter().any(|n| n == c))
            .collect();
        if missing.is_empty() {
            Ok(())
        } else {
            Err(Error::invalid(format!(
                "{source}: the header lacks the column(s) {}",
                missing.join(", ")
            )))
        }
    }

    fn get<'r>(&self, record: &'r csv::StringRecord, column: &str) -> &'r str {
        self.names
            .iter()
            .position(|n| n == column)
            .and_then(|i| record.get(i))
            .map(str::trim)
            .unwrap_or("")
    }
}

/// Collects per-line problems and turns them into one error: the first `MAX_REPORTED` by
/// line number, and how many there were.
struct Problems {
    source: String,
    /// (line, message), at most `2 * MAX_REPORTED` between trims.
    lines: Vec<(u64, String)>,
    count: usize,
}

impl Problems {
    fn new(source: &str) -> Self {
        Self {
            source: source.to_string(),
            lines: Vec::new(),
            count: 0,
        }
    }

    fn add(&mut self, line: u64, msg: impl std::fmt::Display) {
        self.count += 1;
        if self.lines.len() == 2 * MAX_REPORTED {
            self.trim();
        }
        if self.lines.len() < MAX_REPORTED || self.lines.iter().any(|(l, _)| *l > line) {
            // A message quotes the input at fault; a 10 MB cell is not quoted whole.
            let mut msg = msg.to_string();
            if msg.chars().count() > MAX_MESSAGE_CHARS {
                msg = msg.chars().take(MAX_MESSAGE_CHARS).collect::<String>() + "…";
            }
            self.lines
                .push((line, format!("{} line {line}: {msg}", self.source)));
        }
    }

    /// Keeps the first `MAX_REPORTED` problems by line (each line has at most one).
    fn trim(&mut self) {
        self.lines.sort_by_key(|(l, _)| *l);
        self.lines.truncate(MAX_REPORTED);
    }

    fn finish(self) -> Result<()> {
        self.finish_as("nothing was imported")
    }

    /// The file's verdict, saying `what_happened` when it is refused.
    fn finish_as(mut self, what_happened: &str) -> Result<()> {
        if self.count == 0 {
            return Ok(());
        }
        self.trim();
        let shown = self.lines.into_iter().map(|(_, m)| m).collect();
        Err(refusal(&self.source, shown, self.count, what_happened))
    }
}

/// Bad rows found after a file was read (by the store, against the database), as one error
/// naming the first `MAX_REPORTED` and how many there were; `what_happened` says what was not
/// done ("nothing was recorded").
pub fn bad_rows(source: &str, mut problems: Vec<String>, what_happened: &str) -> Error {
    let count = problems.len();
    problems.truncate(MAX_REPORTED);
    refusal(source, problems, count, what_happened)
}

/// One error for `count` bad rows of which `shown` are named.
fn refusal(source: &str, shown: Vec<String>, count: usize, what_happened: &str) -> Error {
    if count == 1 {
        return Error::invalid(format!("{}; {what_happened}", shown.join("")));
    }
    let mut msg = format!(
        "{source} has {count} bad row(s); {what_happened}:\n{}",
        shown.join("\n")
    );
    if count > shown.len() {
        msg.push_str(&format!("\n… and {} more", count - shown.len()));
    }
    Error::invalid(msg)
}

fn reader(data: &[u8]) -> csv::Reader<&[u8]> {
    csv::ReaderBuilder::new()
        .has_headers(true)
        .flexible(true)
        .trim(csv::Trim::None)
        .from_reader(data)
}

/// Refuses what is not a text file at all: UTF-16 (what a spreadsheet saves as "Unicode
/// text") and anything holding a NUL byte, which no text file does.
pub(crate) fn require_text(source: &str, data: &[u8], what: &str) -> Result<()> {
    if data.starts_with(&[0xff, 0xfe]) || data.starts_with(&[0xfe, 0xff]) {
        return Err(Error::invalid(format!(
            "{source} is UTF-16 text; save it as {what} in UTF-8"
        )));
    }
    if let Some(i) = data.iter().position(|b| *b == 0) {
        let line = LineCounter::new(data).line_at(i as u64);
        return Err(Error::invalid(format!(
            "{source} line {line} holds a NUL byte: it is not a {what} text file"
        )));
    }
    Ok(())
}

/// A CSV file's rows, read one at a time into one reused record (a file of millions of rows
/// is never held as millions of records), blank rows skipped, each with its line number.
struct Records<'a> {
    source: &'a str,
    rdr: csv::Reader<&'a [u8]>,
    lines: LineCounter<'a>,
    rec: csv::StringRecord,
    /// The first row, read ahead to know the file holds one.
    pending: Option<u64>,
}

impl<'a> Records<'a> {
    /// Reads the header and the first row: a file without rows is refused here.
    fn open(source: &'a str, data: &'a [u8]) -> Result<(Header, Self)> {
        require_text(source, data, "CSV")?;
        let mut rdr = reader(data);
        let header = Header::new(rdr.headers().map_err(|e| {
            Error::invalid(format!(
                "{source}: the header cannot be read: {}",
                csv_problem(&e)
            ))
        })?);
        header.refuse_repeats(source)?;
        let mut records = Self {
            source,
            rdr,
            lines: LineCounter::new(data),
            rec: csv::StringRecord::new(),
            pending: None,
        };
        records.pending = records.read()?;
        if records.pending.is_none() {
            return Err(Error::invalid(format!("{source} holds no rows")));
        }
        Ok((header, records))
    }

    fn read(&mut self) -> Result<Option<u64>> {
        loop {
            let more = self.rdr.read_record(&mut self.rec).map_err(|e| {
                let line = e
                    .position()
                    .map(|p| LineCounter::new(self.lines.data).line_at(p.byte()))
                    .unwrap_or(0);
                Error::invalid(format!("{} line {line}: {}", self.source, csv_problem(&e)))
            })?;
            if !more {
                return Ok(None);
            }
            if self.rec.iter().all(|f| f.trim().is_empty()) {
                continue;
            }
            let line = self
                .rec
                .position()
                .map(|p| self.lines.line_at(p.byte()))
                .unwrap_or(0);
            return Ok(Some(line));
        }
    }

    /// The next row and its line.
    fn next(&mut self) -> Result<Option<(u64, &csv::StringRecord)>> {
        let line = match self.pending.take() {
            Some(line) => Some(line),
            None => self.read()?,
        };
        Ok(line.map(|l| (l, &self.rec)))
    }
}

/// What is wrong with a record the csv reader refused, without its own position (which
/// counts lines differently; the caller names the line).
fn csv_problem(e: &csv::Error) -> String {
    match e.kind() {
        csv::ErrorKind::Utf8 { err, .. } => format!(
            "field {} is not UTF-8 text (save the file as CSV UTF-8)",
            err.field() + 1
        ),
        csv::ErrorKind::UnequalLengths {
            expected_len, len, ..
        } => format!("the row has {len} fields where the header has {expected_len}"),
        _ => e.to_string(),
    }
}

/// Line numbers from byte offsets. The csv reader's own line count lags by one after CRLF
/// line ends (it reports a record as starting on the previous line's '\n'), so lines are
/// counted here, incrementally, from the record's first byte. A line ends with LF, CRLF or
/// a lone CR (old Mac spreadsheets save CSV that way, and the csv reader accepts it).
struct LineCounter<'a> {
    data: &'a [u8],
    pos: usize,
    line: u64,
}

impl<'a> LineCounter<'a> {
    fn new(data: &'a [u8]) -> Self {
        Self {
            data,
            pos: 0,
            line: 1,
        }
    }

    fn line_at(&mut self, byte: u64) -> u64 {
        let mut start = usize::try_from(byte)
            .unwrap_or(usize::MAX)
            .min(self.data.len());
        while start < self.data.len() && matches!(self.data[start], b'\r' | b'\n') {
            start += 1;
        }
        if start >= self.pos {
            let span = &self.data[self.pos..start];
            // `start` is never just after a CR that a LF follows, so every CR in the span is
            // either part of a CRLF (counted by its LF) or a line end of its own.
            self.line += span
                .iter()
                .enumerate()
                .filter(|(i, b)| **b == b'\n' || (**b == b'\r' && span.get(i + 1) != Some(&b'\n')))
                .count() as u64;
            self.pos = start;
        }
        self.line
    }
}

/// An account number (6 to 12 digits, checked before) as one number that keeps its length,
/// so "000123" and "0123" stay apart: what the duplicate checks of big files remember.
fn account_key(account_no: &str) -> u64 {
    let value = account_no
        .bytes()
        .fold(0u64, |n, b| n * 10 + u64::from(b - b'0'));
    value | ((account_no.len() as u64) << 40)
}

/// Rows handed on in chunks while the file is good. Once a row is bad, none are kept: the
/// file will be refused, and its problems are all that is still collected.
struct Chunks<'e, T> {
    rows: Vec<T>,
    size: usize,
    emit: &'e mut dyn FnMut(Vec<T>) -> bool,
    /// False once the receiver wants no more.
    open: bool,
}

impl<'e, T> Chunks<'e, T> {
    fn new(size: usize, emit: &'e mut dyn FnMut(Vec<T>) -> bool) -> Self {
        Self {
            rows: Vec::new(),
            size: size.max(1),
            emit,
            open: true,
        }
    }

    fn wanted(&self) -> bool {
        self.open
    }

    fn push(&mut self, row: T, problems: &Problems) {
        if problems.count > 0 {
            self.rows = Vec::new();
            return;
        }
        self.rows.push(row);
        if self.rows.len() >= self.size {
            self.flush();
        }
    }

    fn flush(&mut self) {
        if !self.rows.is_empty() && self.open {
            self.open = (self.emit)(std::mem::take(&mut self.rows));
        }
    }

    /// The file's verdict: its problems, or the last rows handed on.
    fn finish(mut self, problems: Problems) -> Result<()> {
        problems.finish()?;
        self.flush();
        Ok(())
    }
}

/// A date (YYYY-MM-DD, midnight UTC) or an RFC 3339 time.
pub fn parse_time(s: &str) -> Option<DateTime<Utc>> {
    let s = s.trim();
    if let Ok(t) = DateTime::parse_from_rfc3339(s) {
        return Some(t.with_timezone(&Utc));
    }
    NaiveDate::parse_from_str(s, "%Y-%m-%d")
        .ok()
        .and_then(|d| d.and_hms_opt(0, 0, 0))
        .map(|t| t.and_utc())
}

fn parse_bool(s: &str) -> Option<bool> {
    match s.trim().to_ascii_lowercase().as_str() {
        "true" | "yes" | "y" | "1" => Some(true),
        "false" | "no" | "n" | "0" => Some(false),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_header_naming_a_column_twice_is_refused_naming_the_column() {
        let accounts = "account_no,msisdn,name,email,status,plan_code,plan_cents,Name\n\
                        310000001,+12065550123,Ann,a@b.c,active,d5,2999,Ann\n";
        let err = parse_accounts("a.csv", accounts.as_bytes())
            .expect_err("name twice")
            .to_string();
        assert_eq!(
            err,
            "a.csv: the header names the column \"name\" twice (columns 3 and 8); keep one"
        );
        let impact = "account_no,incident,category,server_lost,device_state,items_before,category\n\
                      310000001,danger-2009-10,contacts,yes,wiped,300,notes\n";
        let err = parse_impact("i.csv", impact.as_bytes())
            .expect_err("category twice")
            .to_string();
        assert!(
            err.starts_with("i.csv: the header names the column \"category\" twice"),
            "{err}"
        );
        let batch = "account_no, ACCOUNT_NO\n310000001,310000002\n";
        let err = parse_batch_accounts("b.csv", batch.as_bytes())
            .expect_err("account_no twice")
            .to_string();
        assert!(
            err.contains("\"account_no\" twice (columns 1 and 2)"),
            "{err}"
        );
        // A spreadsheet's blank trailing columns are not names.
        let blank = "account_no,,\n310000001,,\n";
        assert!(parse_batch_accounts("b.csv", blank.as_bytes()).is_ok());
    }

    #[test]
    fn the_first_twenty_problems_by_line_are_named_wherever_they_were_found() {
        // Line 3 repeats line 2 (found after its fields are checked); lines 4 to 30 are bad.
        let mut data = String::from(
            "account_no,incident,category,server_lost,device_state,items_before\n\
             310000001,danger-2009-10,contacts,yes,wiped,300\n\
             310000001,danger-2009-10,contacts,yes,wiped,300\n",
        );
        for _ in 4..=30 {
            data.push_str("310000001,danger-2009-10,music,yes,wiped,300\n");
        }
        let msg = parse_impact("i.csv", data.as_bytes())
            .expect_err("bad rows")
            .to_string();
        assert!(msg.starts_with("i.csv has 28 bad row(s)"), "{msg}");
        let lines: Vec<&str> = msg.lines().skip(1).collect();
        assert!(
            lines[0].starts_with("i.csv line 3: account 310000001"),
            "{msg}"
        );
        assert!(lines[1].starts_with("i.csv line 4:"), "{msg}");
        assert!(lines[19].starts_with("i.csv line 22:"), "{msg}");
        assert_eq!(lines[20], "… and 8 more");
    }
}
