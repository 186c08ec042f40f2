//! Reading the import files of SPEC.md §3 (CSV as spreadsheets save it: BOM, CRLF, quoted
//! fields) into checked rows. Every bad row is reported with its line number; a file with any
//! bad row yields no rows at all, so an import is all or nothing.

use std::collections::{HashMap, HashSet};
use std::io::Read;
use std::path::Path;

use chrono::{DateTime, NaiveDate, Utc};

use crate::domain::{self, AccountStatus, Category, DeviceState};
use crate::error::{Error, Result};
use crate::store::{NewAccount, NewImpact, NewPlan};

mod backups;
pub use backups::{parse_backups, parse_backups_chunks, snapshot_checksum};

/// Most bad rows listed in one error before the rest are only counted.
const MAX_REPORTED: usize = 20;
/// Longest message about one bad row, in characters.
const MAX_MESSAGE_CHARS: usize = 300;

/// Longest values of the text columns, in characters: a name or an address longer than
/// this is a broken file, not a customer.
const MAX_NAME_CHARS: usize = 200;
const MAX_EMAIL_CHARS: usize = 254;
const MAX_DEVICE_CHARS: usize = 100;
const MAX_PLAN_CODE_CHARS: usize = 40;
const MAX_INCIDENT_CHARS: usize = 64;

/// `Some(problem)` when `value` of `column` is longer than `max` characters.
fn too_long(column: &str, value: &str, max: usize) -> Option<String> {
    let n = value.chars().count();
    (n > max).then(|| format!("the {column} is {n} characters long; at most {max} are allowed"))
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

    fn finish(mut self) -> Result<()> {
        if self.count == 0 {
            return Ok(());
        }
        self.trim();
        let shown: Vec<&str> = self.lines.iter().map(|(_, m)| m.as_str()).collect();
        if self.count == 1 {
            return Err(Error::invalid(format!(
                "{}; nothing was imported",
                shown.join("")
            )));
        }
        let mut msg = format!(
            "{} has {} bad row(s); nothing was imported:\n{}",
            self.source,
            self.count,
            shown.join("\n")
        );
        if self.count > shown.len() {
            msg.push_str(&format!("\n… and {} more", self.count - shown.len()));
        }
        Err(Error::invalid(msg))
    }
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

/// `import accounts`: account_no, msisdn, name, email, status, plan_code, plan_cents
/// (optional device, plan_from, currency). A row with an empty plan_code or plan_cents of 0 is
/// an account without a data plan.
pub fn parse_accounts(source: &str, data: &[u8]) -> Result<Vec<NewAccount>> {
    let mut out = Vec::new();
    parse_accounts_chunks(source, data, usize::MAX, &mut |rows| {
        out.extend(rows);
        true
    })?;
    Ok(out)
}

/// `parse_accounts` handing the rows on in chunks of `chunk` while the file is good, for an
/// import that writes while the rest of the file is read. A bad row anywhere still fails the
/// whole file (the chunks handed on before it are to be thrown away).
pub fn parse_accounts_chunks(
    source: &str,
    data: &[u8],
    chunk: usize,
    emit: &mut dyn FnMut(Vec<NewAccount>) -> bool,
) -> Result<()> {
    let (h, mut rows) = Records::open(source, data)?;
    h.require(
        source,
        &[
            "account_no",
            "msisdn",
            "name",
            "email",
            "status",
            "plan_code",
            "plan_cents",
        ],
    )?;
    let mut problems = Problems::new(source);
    let mut seen: HashSet<u64> = HashSet::new();
    let mut out = Chunks::new(chunk, emit);
    while let Some((line, rec)) = rows.next()? {
        if !out.wanted() {
            return Ok(());
        }
        let account_no = h.get(rec, "account_no");
        if !domain::is_account_no(account_no) {
            problems.add(
                line,
                format!(
                    "account_no \"{}\" is not 6 to 12 digits",
                    domain::sanitize(account_no)
                ),
            );
            continue;
        }
        if !seen.insert(account_key(account_no)) {
            problems.add(line, format!("account {account_no} appears twice"));
            continue;
        }
        let msisdn = match domain::normalize_msisdn(h.get(rec, "msisdn")) {
            Ok(m) => m,
            Err(e) => {
                problems.add(line, e);
                continue;
            }
        };
        let name = domain::sanitize(h.get(rec, "name")).trim().to_string();
        if name.is_empty() {
            problems.add(line, "the name is empty");
            continue;
        }
        let device_model = domain::sanitize(h.get(rec, "device")).trim().to_string();
        let long = too_long("name", &name, MAX_NAME_CHARS)
            .or_else(|| too_long("e-mail", h.get(rec, "email"), MAX_EMAIL_CHARS))
            .or_else(|| too_long("device", &device_model, MAX_DEVICE_CHARS))
            .or_else(|| too_long("plan_code", h.get(rec, "plan_code"), MAX_PLAN_CODE_CHARS));
        if let Some(problem) = long {
            problems.add(line, problem);
            continue;
        }
        let email = domain::normalize_email(&domain::sanitize(h.get(rec, "email")));
        if !email.is_empty() && (!email.contains('@') || email.contains(' ')) {
            problems.add(
                line,
                format!("the e-mail of account {account_no} is not an address"),
            );
            continue;
        }
        let status = match h.get(rec, "status").parse::<AccountStatus>() {
            Ok(s) => s,
            Err(e) => {
                problems.add(line, e);
                continue;
            }
        };
        let plan_code = domain::sanitize(h.get(rec, "plan_code")).trim().to_string();
        let cents_text = h.get(rec, "plan_cents");
        let price_cents = if cents_text.is_empty() {
            0
        } else {
            match cents_text.parse::<i64>() {
                Ok(c) if c >= 0 => c,
                _ => {
                    problems.add(
                        line,
                        format!(
                            "plan_cents \"{}\" is not a whole number of cents",
                            domain::sanitize(cents_text)
                        ),
                    );
                    continue;
                }
            }
        };
        if price_cents > 0 && plan_code.is_empty() {
            problems.add(line, "plan_cents is given without a plan_code");
            continue;
        }
        let plan_from = match h.get(rec, "plan_from") {
            "" => None,
            t => match parse_time(t) {
                Some(t) => Some(t),
                None => {
                    problems.add(
                        line,
                        format!(
                            "plan_from \"{}\" is not a date (YYYY-MM-DD)",
                            domain::sanitize(t)
                        ),
                    );
                    continue;
                }
            },
        };
        let currency = match h.get(rec, "currency") {
            "" => "USD".to_string(),
            c if c.len() == 3 && c.chars().all(|ch| ch.is_ascii_alphabetic()) => {
                c.to_ascii_uppercase()
            }
            c => {
                problems.add(
                    line,
                    format!(
                        "currency \"{}\" is not a 3-letter code",
                        domain::sanitize(c)
                    ),
                );
                continue;
            }
        };
        let plans = if plan_code.is_empty() {
            Vec::new()
        } else {
            vec![NewPlan {
                plan_code,
                data_plan: price_cents > 0,
                price_cents,
                currency,
                valid_from: plan_from,
                valid_to: None,
            }]
        };
        out.push(
            NewAccount {
                line,
                account_no: account_no.to_string(),
                msisdn: msisdn.as_str().to_string(),
                name,
                email,
                status,
                device_model,
                plans,
            },
            &problems,
        );
    }
    out.finish(problems)
}

/// `import impact`: account_no, incident, category, server_lost, device_state, items_before.
pub fn parse_impact(source: &str, data: &[u8]) -> Result<Vec<NewImpact>> {
    let mut out = Vec::new();
    parse_impact_chunks(source, data, usize::MAX, &mut |rows| {
        out.extend(rows);
        true
    })?;
    Ok(out)
}

/// `parse_impact` handing the rows on in chunks, as `parse_accounts_chunks` does.
pub fn parse_impact_chunks(
    source: &str,
    data: &[u8],
    chunk: usize,
    emit: &mut dyn FnMut(Vec<NewImpact>) -> bool,
) -> Result<()> {
    let (h, mut rows) = Records::open(source, data)?;
    h.require(
        source,
        &[
            "account_no",
            "incident",
            "category",
            "server_lost",
            "device_state",
            "items_before",
        ],
    )?;
    let mut problems = Problems::new(source);
    // (account, incident, category) seen so far, in a compact form: millions of rows.
    let mut seen: HashSet<(u64, u32, Category)> = HashSet::new();
    let mut incidents: HashMap<String, u32> = HashMap::new();
    let mut out = Chunks::new(chunk, emit);
    while let Some((line, rec)) = rows.next()? {
        if !out.wanted() {
            return Ok(());
        }
        let account_no = h.get(rec, "account_no");
        if !domain::is_account_no(account_no) {
            problems.add(
                line,
                format!(
                    "account_no \"{}\" is not 6 to 12 digits",
                    domain::sanitize(account_no)
                ),
            );
            continue;
        }
        let incident = h.get(rec, "incident");
        if incident.is_empty() {
            problems.add(line, "the incident is empty");
            continue;
        }
        if let Some(problem) = too_long("incident", incident, MAX_INCIDENT_CHARS) {
            problems.add(line, problem);
            continue;
        }
        let category = match h.get(rec, "category").parse::<Category>() {
            Ok(c) => c,
            Err(e) => {
                problems.add(line, e);
                continue;
            }
        };
        let Some(server_lost) = parse_bool(h.get(rec, "server_lost")) else {
            problems.add(
                line,
                format!(
                    "server_lost \"{}\" is not true or false",
                    domain::sanitize(h.get(rec, "server_lost"))
                ),
            );
            continue;
        };
        let device_state = match h.get(rec, "device_state").parse::<DeviceState>() {
            Ok(d) => d,
            Err(e) => {
                problems.add(line, e);
                continue;
            }
        };
        let items_before = match h.get(rec, "items_before").parse::<i64>() {
            Ok(n) if n >= 0 => n,
            _ => {
                problems.add(
                    line,
                    format!(
                        "items_before \"{}\" is not a count",
                        domain::sanitize(h.get(rec, "items_before"))
                    ),
                );
                continue;
            }
        };
        let n = incidents.len() as u32;
        let incident_key = match incidents.get(incident) {
            Some(k) => *k,
            None => *incidents.entry(incident.to_string()).or_insert(n),
        };
        if !seen.insert((account_key(account_no), incident_key, category)) {
            problems.add(
                line,
                format!(
                    "account {account_no}, {}, {category} appears twice",
                    domain::sanitize(incident)
                ),
            );
            continue;
        }
        out.push(
            NewImpact {
                line,
                account_no: account_no.to_string(),
                incident: incident.to_string(),
                category,
                server_lost,
                device_state,
                items_before,
            },
            &problems,
        );
    }
    out.finish(problems)
}

/// A batch run's accounts file: the rows that name an account, and the bad rows.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct BatchFile {
    /// (line, the account it names).
    pub refs: Vec<(u64, BatchRef)>,
    /// (line, what is wrong with it).
    pub bad: Vec<(u64, String)>,
}

/// One row of a batch run's accounts file: an account number or a phone number.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BatchRef {
    AccountNo(String),
    Msisdn(String),
}

/// `credit run --accounts FILE`: a CSV with a header and an `account_no` or `msisdn` column
/// (BOM, CRLF, quoted fields, phone numbers in any format). Returns the rows with their line
/// numbers, and the bad rows' problems (line, message), for the caller to refuse or skip.
pub fn parse_batch_accounts(source: &str, data: &[u8]) -> Result<BatchFile> {
    let (h, mut rows) = Records::open(source, data)?;
    let has_no = h.names.iter().any(|n| n == "account_no");
    let has_phone = h.names.iter().any(|n| n == "msisdn");
    if !has_no && !has_phone {
        return Err(Error::invalid(format!(
            "{source}: the header has neither an account_no nor an msisdn column"
        )));
    }
    let mut refs = Vec::new();
    let mut bad = Vec::new();
    while let Some((line, rec)) = rows.next()? {
        let no = if has_no { h.get(rec, "account_no") } else { "" };
        let phone = if has_phone { h.get(rec, "msisdn") } else { "" };
        if !no.is_empty() {
            if domain::is_account_no(no) {
                refs.push((line, BatchRef::AccountNo(no.to_string())));
            } else {
                bad.push((
                    line,
                    format!(
                        "account_no \"{}\" is not 6 to 12 digits",
                        domain::sanitize(no)
                    ),
                ));
            }
        } else if !phone.is_empty() {
            match domain::normalize_msisdn(phone) {
                Ok(m) => refs.push((line, BatchRef::Msisdn(m.as_str().to_string()))),
                Err(_) => bad.push((
                    line,
                    format!(
                        "\"{}\" is not a phone number",
                        domain::phone::mask_phone_text(phone)
                    ),
                )),
            }
        } else {
            bad.push((line, "the row names no account".to_string()));
        }
    }
    Ok(BatchFile { refs, bad })
}

#[cfg(test)]
mod tests {
    use super::*;

    const ACCOUNTS: &str = "\u{feff}account_no,msisdn,name,email,status,plan_code,plan_cents,device\r\n\
        310000001,(206) 555-0123,\"Núñez, José\",JOSE@example.com,active,SK-DATA,1999,Sidekick LX\r\n\
        310000002,+1 425 555 0199,Ann Lee,,closed,,,\r\n";

    #[test]
    fn a_spreadsheet_saved_file_with_bom_crlf_and_quotes_is_read() {
        let rows = parse_accounts("a.csv", ACCOUNTS.as_bytes()).expect("valid file");
        assert_eq!(rows.len(), 2);
        assert_eq!(rows[0].msisdn, "+12065550123");
        assert_eq!(rows[0].name, "Núñez, José");
        assert_eq!(rows[0].email, "jose@example.com");
        assert_eq!(rows[0].plans[0].price_cents, 1999);
        assert!(rows[1].plans.is_empty(), "no plan code means no data plan");
    }

    #[test]
    fn every_bad_row_is_named_by_its_line_and_nothing_is_returned() {
        let data = "account_no,msisdn,name,email,status,plan_code,plan_cents\n\
                    310000001,2065550123,Ann,,active,SK,1999\n\
                    12,2065550124,Bob,,active,SK,1999\n\
                    310000003,not-a-phone,Cy,,active,SK,1999\n\
                    310000004,2065550125,Di,,sleeping,SK,1999\n\
                    310000005,2065550126,Ed,,active,SK,19.99\n";
        let err = parse_accounts("a.csv", data.as_bytes()).expect_err("bad rows");
        let msg = err.to_string();
        assert_eq!(err.exit_code(), 2);
        assert!(msg.contains("4 bad row(s)"), "{msg}");
        for line in ["line 3", "line 4", "line 5", "line 6"] {
            assert!(msg.contains(line), "{line} missing from {msg}");
        }
        assert!(!msg.contains("line 2:"), "{msg}");
    }

    #[test]
    fn a_missing_column_is_named() {
        let err = parse_accounts("a.csv", b"account_no,name\n1,2\n").expect_err("missing");
        assert!(err.to_string().contains("msisdn"), "{err}");
    }

    #[test]
    fn a_batch_file_takes_account_numbers_or_phones_in_any_format() {
        let data =
            "\u{feff}msisdn,account_no\r\n\"(206) 555-0123\",\r\n,310000002\r\n12,\r\n,abc\r\n";
        let BatchFile { refs, bad } = parse_batch_accounts("b.csv", data.as_bytes()).expect("file");
        assert_eq!(
            refs,
            vec![
                (2, BatchRef::Msisdn("+12065550123".to_string())),
                (3, BatchRef::AccountNo("310000002".to_string()))
            ]
        );
        assert_eq!(bad.iter().map(|(l, _)| *l).collect::<Vec<_>>(), vec![4, 5]);
        let crlf = "account_no\r\n310000001\r\n12\r\n\r\n13\r\n";
        let bad = parse_batch_accounts("b.csv", crlf.as_bytes())
            .expect("file")
            .bad;
        assert_eq!(
            bad.iter().map(|(l, _)| *l).collect::<Vec<_>>(),
            vec![3, 5],
            "lines count after CRLF and blank lines"
        );
        let err = parse_batch_accounts("b.csv", b"name\nx\n").expect_err("no column");
        assert!(err.to_string().contains("account_no"), "{err}");
    }

    #[test]
    fn a_file_saved_with_lone_cr_line_ends_names_the_right_lines() {
        let data = "account_no\r310000001\r12\r\r13\r";
        let bad = parse_batch_accounts("b.csv", data.as_bytes())
            .expect("file")
            .bad;
        assert_eq!(bad.iter().map(|(l, _)| *l).collect::<Vec<_>>(), vec![3, 5]);
    }

    #[test]
    fn an_overlong_cell_is_a_bad_row_quoted_only_in_part() {
        let data = format!(
            "account_no,msisdn,name,email,status,plan_code,plan_cents\n310000001,2065550123,{},,active,SK,1999\n310000002,{},Bo,,active,SK,1999\n",
            "N".repeat(1_000_000),
            "9".repeat(1_000_000)
        );
        let msg = parse_accounts("a.csv", data.as_bytes())
            .expect_err("too long")
            .to_string();
        assert!(
            msg.contains("line 2: the name is 1000000 characters long"),
            "{msg}"
        );
        assert!(msg.contains("line 3:"), "{msg}");
        assert!(msg.len() < 1_000, "{} bytes", msg.len());
    }

    #[test]
    fn impact_rows_are_checked_and_duplicates_refused() {
        let data = "account_no,incident,category,server_lost,device_state,items_before\n\
                    310000001,danger-2009-10,contacts,yes,wiped,300\n\
                    310000001,danger-2009-10,Contacts,true,wiped,300\n\
                    310000001,danger-2009-10,music,true,wiped,3\n";
        let err = parse_impact("i.csv", data.as_bytes()).expect_err("bad rows");
        let msg = err.to_string();
        assert!(
            msg.contains("line 3") && msg.contains("appears twice"),
            "{msg}"
        );
        assert!(msg.contains("line 4"), "{msg}");
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
