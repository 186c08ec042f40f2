//! Reading the import files of docs/commands.md (CSV as spreadsheets save it: BOM, CRLF, quoted
//! fields) into checked rows. Every bad row is reported with its line number; a file with any
//! bad row yields no rows at all, so an import is all or nothing.
//!
//! This module owns what every file shares (reading the input, the header and the spellings of
//! its columns, BOM, CRLF and line numbers, the limits on what one error reports, chunks handed
//! on while the file is good); `sheet` how spreadsheets save CSV in every locale (encoding,
//! separator, scientific notation); `accounts`, `impact`, `batch` (a batch run's accounts
//! file), `outreach` (a delivery report) and `backups` read one format each.

use std::borrow::Cow;
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
mod sheet;

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

/// The columns caredesk reads, each with the other spellings that name it, as `column_key`
/// writes them (`Account No.`, `account-number` and `Account #` are all `account_no`). Every
/// format looks its columns up by the canonical name on the left.
const COLUMNS: &[(&str, &[&str])] = &[
    ("account_no", &["acct_no"]),
    (
        "msisdn",
        &[
            "msisdn_no",
            "mdn",
            "mdn_no",
            "phone",
            "phone_no",
            "mobile",
            "mobile_no",
            "mobile_phone",
            "mobile_phone_no",
            "cell",
            "cell_no",
            "cell_phone",
            "cell_phone_no",
            "cellphone",
            "cellphone_no",
            "telephone",
            "telephone_no",
            "tel",
            "tel_no",
        ],
    ),
    (
        "name",
        &[
            "full_name",
            "customer_name",
            "subscriber_name",
            "account_name",
        ],
    ),
    ("email", &["e_mail", "email_address", "e_mail_address"]),
    ("status", &["account_status"]),
    ("plan_code", &["plan"]),
    ("plan_cents", &["plan_price_cents", "price_cents"]),
    ("plan_from", &["plan_start", "plan_since"]),
    ("device", &["device_model", "handset"]),
    ("currency", &[]),
    ("incident", &["incident_id"]),
    ("category", &[]),
    ("server_lost", &[]),
    ("device_state", &[]),
    ("items_before", &[]),
    ("outreach_id", &[]),
];

/// A header cell as a key: lower case, words split at spaces, `-`, `_`, `.`, `/` and the
/// like (and where `AccountNo` changes case), joined by `_`, with `#`, `No`, `Nr`, `N°` and
/// `Number` all written `no`.
fn column_key(cell: &str) -> String {
    let cell = cell.trim().trim_start_matches('\u{feff}');
    let mut spaced = String::with_capacity(cell.len() + 8);
    let mut after_lower = false;
    let mut chars = cell.chars().peekable();
    while let Some(c) = chars.next() {
        if c.is_uppercase() && after_lower {
            spaced.push(' ');
        }
        after_lower = c.is_lowercase() || c.is_ascii_digit();
        match c {
            '#' | '№' => spaced.push_str(" no "),
            'N' | 'n' if matches!(chars.peek(), Some('°' | 'º')) => {
                chars.next();
                spaced.push_str(" no ");
            }
            c => spaced.push(c),
        }
    }
    spaced
        .split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .map(|w| match w.to_lowercase().as_str() {
            "no" | "nr" | "nbr" | "num" | "number" => "no".to_string(),
            w => w.to_string(),
        })
        .collect::<Vec<_>>()
        .join("_")
}

/// The canonical column a header cell names, if it names one caredesk reads.
fn canonical_column(cell: &str) -> Option<&'static str> {
    let key = column_key(cell);
    COLUMNS
        .iter()
        .find(|(name, others)| *name == key || others.contains(&key.as_str()))
        .map(|(name, _)| *name)
}

/// A CSV file's header: the column each cell names, whichever way it is spelled.
struct Header {
    /// Each cell's column: its canonical name, or for a cell naming none of caredesk's
    /// columns its key (`column_key`); empty for a blank cell.
    names: Vec<String>,
    /// Each cell as written, for messages.
    written: Vec<String>,
}

impl Header {
    fn new(record: &csv::StringRecord) -> Self {
        let written: Vec<String> = record
            .iter()
            .map(|h| h.trim().trim_start_matches('\u{feff}').trim().to_string())
            .collect();
        let names = written
            .iter()
            .map(|w| canonical_column(w).map_or_else(|| column_key(w), str::to_string))
            .collect();
        Self { names, written }
    }

    /// Refuses a header naming a column twice, however spelled (`Phone` and `Mobile`): which
    /// of the two a row's value came from would be a guess (spreadsheets' blank trailing
    /// columns are not names, so they may repeat).
    fn refuse_repeats(&self, source: &str) -> Result<()> {
        for (i, name) in self.names.iter().enumerate() {
            if name.is_empty() {
                continue;
            }
            if let Some(j) = self.names[i + 1..].iter().position(|n| n == name) {
                let j = i + j + 1;
                let (first, second) = (&self.written[i], &self.written[j]);
                let name = crate::domain::sanitize(name);
                return Err(Error::invalid(
                    if first.to_lowercase() == second.to_lowercase() {
                        format!(
                            "{source}: the header names the column \"{name}\" twice (columns {} and {}); keep one",
                            i + 1,
                            j + 1
                        )
                    } else {
                        format!(
                            "{source}: the header names the column \"{name}\" twice (\"{}\" in column {} and \"{}\" in column {}); keep one",
                            crate::domain::sanitize(first),
                            i + 1,
                            crate::domain::sanitize(second),
                            j + 1
                        )
                    },
                ));
            }
        }
        Ok(())
    }

    fn require(&self, source: &str, columns: &[&str]) -> Result<()> {
        let missing: Vec<&str> = columns.iter().copied().filter(|c| !self.has(c)).collect();
        if missing.is_empty() {
            Ok(())
        } else {
            Err(Error::invalid(format!(
                "{source}: the header lacks the column(s) {}",
                missing.join(", ")
            )))
        }
    }

    /// True when a cell names `column` (a canonical name).
    fn has(&self, column: &str) -> bool {
        self.names.iter().any(|n| n == column)
    }

    fn get<'r>(&self, record: &'r csv::StringRecord, column: &str) -> &'r str {
        self.names
            .iter()
            .position(|n| n == column)
            .and_then(|i| record.get(i))
            .map(str::trim)
            .unwrap_or("")
    }

    /// The problem with `value` of `column` when a spreadsheet saved it in scientific
    /// notation, naming the column and the cell as the file has them: the digits are not in
    /// the file, so none are shown (or guessed).
    fn scientific(&self, column: &str, value: &str) -> Option<String> {
        sheet::is_scientific(value).then(|| {
            let label = self
                .names
                .iter()
                .position(|n| n == column)
                .map(|i| self.written[i].as_str())
                .filter(|w| !w.is_empty())
                .unwrap_or(column);
            format!(
                "{} \"{}\" is in scientific notation: the spreadsheet dropped its digits; format the column as text and save again",
                crate::domain::sanitize(label),
                crate::domain::sanitize(value)
            )
        })
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

/// The reader of a file's text (UTF-8, decoded by `sheet::decode` when it was not) whose
/// columns `separator` separates.
fn reader(text: Cow<'_, [u8]>, separator: u8) -> csv::Reader<std::io::Cursor<Cow<'_, [u8]>>> {
    csv::ReaderBuilder::new()
        .has_headers(true)
        .flexible(true)
        .trim(csv::Trim::None)
        .delimiter(separator)
        .from_reader(std::io::Cursor::new(text))
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
        let line = LineCounter::new().line_at(data, i as u64);
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
    /// Reads the file's text, which it holds (line numbers are counted in it).
    rdr: csv::Reader<std::io::Cursor<Cow<'a, [u8]>>>,
    lines: LineCounter,
    rec: csv::StringRecord,
    /// The first row, read ahead to know the file holds one.
    pending: Option<u64>,
}

impl<'a> Records<'a> {
    /// Reads the header and the first row: a file without rows is refused here. The file is
    /// read in its encoding, split by its separator (`sheet`).
    fn open(source: &'a str, data: &'a [u8]) -> Result<(Header, Self)> {
        require_text(source, data, "CSV")?;
        let text = sheet::decode(source, data)?;
        let separator = sheet::separator(source, &text)?;
        let mut rdr = reader(text, separator);
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
            lines: LineCounter::new(),
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
                    .map(|p| LineCounter::new().line_at(self.rdr.get_ref().get_ref(), p.byte()))
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
                .map(|p| self.lines.line_at(self.rdr.get_ref().get_ref(), p.byte()))
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
/// a lone CR (old Mac spreadsheets save CSV that way, and the csv reader accepts it). Every
/// call is given the same text.
struct LineCounter {
    pos: usize,
    line: u64,
}

impl LineCounter {
    fn new() -> Self {
        Self { pos: 0, line: 1 }
    }

    fn line_at(&mut self, data: &[u8], byte: u64) -> u64 {
        let mut start = usize::try_from(byte).unwrap_or(usize::MAX).min(data.len());
        while start < data.len() && matches!(data[start], b'\r' | b'\n') {
            start += 1;
        }
        if start >= self.pos {
            let span = &data[self.pos..start];
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
    fn header_cells_as_people_type_them_name_the_columns() {
        for (cells, column) in [
            (
                &[
                    "account_no",
                    "Account No",
                    "Account No.",
                    "Account number",
                    "account-no",
                    "ACCOUNT_NUMBER",
                    "Account #",
                    "AccountNo",
                    "Acct. Nr",
                    " \u{feff}Account N° ",
                ][..],
                "account_no",
            ),
            (
                &[
                    "msisdn",
                    "MSISDN",
                    "Phone",
                    "Phone number",
                    "phone_no",
                    "Mobile #",
                    "Cell phone",
                    "Cell phone number",
                    "MDN #",
                    "Tel.",
                ][..],
                "msisdn",
            ),
            (
                &["email", "E-mail", "Email address", "e_mail", "eMail"][..],
                "email",
            ),
            (&["Name", "Full name", "Customer Name"][..], "name"),
            (&["Plan Cents", "plan-cents"][..], "plan_cents"),
            (&["Items before", "ItemsBefore"][..], "items_before"),
            (&["Outreach ID"][..], "outreach_id"),
        ] {
            for cell in cells {
                assert_eq!(canonical_column(cell), Some(column), "{cell:?}");
            }
        }
        for unknown in ["Account", "Notes", "No.", "Phone 2", "mail", ""] {
            assert_eq!(canonical_column(unknown), None, "{unknown:?}");
        }
    }

    #[test]
    fn two_spellings_of_one_column_are_refused_naming_both_cells() {
        let err = parse_batch_accounts(
            "b.csv",
            b"Phone,Name,Mobile number
2065550123,Ann,\n",
        )
        .expect_err("msisdn twice")
        .to_string();
        assert_eq!(
            err,
            "b.csv: the header names the column \"msisdn\" twice (\"Phone\" in column 1 and \"Mobile number\" in column 3); keep one"
        );
        let err = parse_batch_accounts("b.csv", b"Account No;account-number\n310000001;\n")
            .expect_err("account_no twice")
            .to_string();
        assert!(err.contains("\"account_no\" twice"), "{err}");
    }

    #[test]
    fn every_format_reads_a_semicolon_windows_1252_file_with_typed_headers() {
        // What LibreOffice Calc in a European locale saves: `;`, Windows-1252 (° is 0xB0),
        // CRLF, headers as typed, a cell holding the separator quoted.
        let accounts = b"Account N\xb0;Phone;Name;E-mail;Status;Plan;Plan cents\r\n\
            310000001;(206) 555-0123;Ren\xe9e Dubois;renee@example.org;active;SK-DATA;1999\r\n\
            310000002;+1 425 555 0199;\"M\xfcller; Fran\xe7oise\";;closed;;\r\n";
        let rows = parse_accounts("a.csv", accounts).expect("read as saved");
        assert_eq!(rows.len(), 2);
        assert_eq!(rows[0].account_no, "310000001");
        assert_eq!(rows[0].msisdn, "+12065550123");
        assert_eq!(rows[0].name, "Renée Dubois");
        assert_eq!(rows[0].email, "renee@example.org");
        assert_eq!(rows[0].plans[0].price_cents, 1999);
        assert_eq!(rows[1].name, "Müller; Françoise");
        assert_eq!(rows[1].line, 3);

        let impact = "Account No;Incident;Category;Server lost;Device state;Items before\r\n\
                      310000001;danger-2009-10;contacts;yes;wiped;300\r\n";
        let rows = parse_impact("i.csv", impact.as_bytes()).expect("impact");
        assert_eq!(
            (rows[0].account_no.as_str(), rows[0].items_before),
            ("310000001", 300)
        );

        let batch = b"Account No\tName\n310000001\tRen\xe9e\n\n12\tBo\n";
        let file = parse_batch_accounts("b.csv", batch).expect("batch");
        assert_eq!(
            file.refs,
            vec![(2, BatchRef::AccountNo("310000001".to_string()))]
        );
        assert_eq!(
            file.bad.iter().map(|(l, _)| *l).collect::<Vec<_>>(),
            vec![4]
        );

        let now = DateTime::parse_from_rfc3339("2009-10-06T12:00:00Z")
            .expect("time")
            .with_timezone(&Utc);
        let report = b"Outreach ID;Status;Time\r\nout-1;delivered;2009-10-05 17:32\r\n";
        let rows = parse_delivery("d.csv", report, now).expect("report");
        assert_eq!(rows[0].outreach, 1);
    }

    #[test]
    fn a_number_in_scientific_notation_is_named_as_written_with_the_fix() {
        let accounts = "account_no;Phone;name;email;status;plan_code;plan_cents\n\
                        310000001;2065550123;Ann;;active;SK;1999\n\
                        310000002;1,36E+10;Bob;;active;SK;1999\n\
                        3,1E+08;2065550124;Cy;;active;SK;1999\n";
        let err = parse_accounts("a.csv", accounts.as_bytes())
            .expect_err("scientific")
            .to_string();
        assert_eq!(
            err,
            "a.csv has 2 bad row(s); nothing was imported:\n\
             a.csv line 3: Phone \"1,36E+10\" is in scientific notation: the spreadsheet dropped its digits; format the column as text and save again\n\
             a.csv line 4: account_no \"3,1E+08\" is in scientific notation: the spreadsheet dropped its digits; format the column as text and save again"
        );
        let impact = "Account number,incident,category,server_lost,device_state,items_before\n\
                      3.1E+08,danger-2009-10,contacts,yes,wiped,300\n";
        let err = parse_impact("i.csv", impact.as_bytes())
            .expect_err("scientific")
            .to_string();
        assert!(
            err.starts_with("i.csv line 2: Account number \"3.1E+08\" is in scientific notation"),
            "{err}"
        );
        let batch = "msisdn,account_no\n1.36E+10,\n,3.1E+08\n(206) 555-0123,\n";
        let file = parse_batch_accounts("b.csv", batch.as_bytes()).expect("batch");
        assert_eq!(
            file.bad,
            vec![
                (2, "msisdn \"1.36E+10\" is in scientific notation: the spreadsheet dropped its digits; format the column as text and save again".to_string()),
                (3, "account_no \"3.1E+08\" is in scientific notation: the spreadsheet dropped its digits; format the column as text and save again".to_string()),
            ]
        );
        assert_eq!(file.refs.len(), 1);
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
