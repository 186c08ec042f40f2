//! `lookup`, `show`, `worklist`, `note` and `declare-loss`: an agent's everyday commands on
//! accounts.

use std::io::{BufRead, Read};

use serde_json::json;

use super::Format;
use super::print::{
    clean, detail_json, detail_text, print, summaries_json, summaries_text, worklist_json,
    worklist_text,
};
use crate::desk::Desk;
use crate::domain::{Category, CategoryStatus, MAX_QUERY_CHARS, QueryTooLong, check_query};
use crate::error::{Error, Result};

/// `lookup QUERY`, or with `-` one query per line of standard input and one result per line.
///
/// A query longer than [`MAX_QUERY_CHARS`] is refused (exit 2). With `-` the lookup stops at
/// such a line: the lines before it have been answered, one output line each, so a script
/// can resume after it; the lines after it are not read. A line is never held whole: at
/// most the longest query (and a little room for spaces) is read before it is refused.
pub async fn lookup(desk: &Desk, format: Format, query: &str, limit: usize) -> Result<()> {
    if query != "-" {
        check_query(query).map_err(Error::invalid)?;
        let results = desk.search(query.to_string(), limit).await?;
        return print(format, summaries_text(&results), summaries_json(&results));
    }
    let mut stdin = std::io::stdin().lock();
    let mut buf = Vec::new();
    let mut line_no = 0u64;
    loop {
        line_no += 1;
        let q = match read_query_line(&mut stdin, &mut buf)
            .map_err(|e| Error::io("cannot read standard input", e))?
        {
            QueryLine::End => return Ok(()),
            QueryLine::Query(q) => q,
            QueryLine::TooLong => {
                return Err(Error::invalid(format!(
                    "standard input line {line_no}: {QueryTooLong}; the lines before it were answered, the rest were not read"
                )));
            }
            QueryLine::NotText => {
                return Err(Error::invalid(format!(
                    "standard input line {line_no} is not UTF-8 text; the lines before it were answered, the rest were not read"
                )));
            }
        };
        let results = desk.search(q.to_string(), limit).await?;
        let text = match results.first() {
            Some(a) => format!(
                "{}\t{}\t{}\t{}\t{}\n",
                clean(q.trim()),
                a.account_no,
                a.msisdn,
                clean(&a.name),
                a.status.as_str()
            ),
            None => format!("{}\t-\n", clean(q.trim())),
        };
        let mut v = summaries_json(&results);
        v["query"] = json!(q.trim());
        print(format, text, v)?;
    }
}

/// The most bytes of one line `lookup -` reads: the longest query in the widest UTF-8, and
/// room for surrounding spaces and a CRLF.
const QUERY_LINE_BYTES: usize = 4 * MAX_QUERY_CHARS + 64;

/// One line of `lookup -`'s standard input.
#[derive(Debug, PartialEq, Eq)]
enum QueryLine {
    Query(String),
    /// Longer than a query can be (the rest of the line is left unread).
    TooLong,
    NotText,
    End,
}

/// Reads one line (LF or CRLF) holding at most [`QUERY_LINE_BYTES`] bytes of it in `buf`.
fn read_query_line(input: &mut impl BufRead, buf: &mut Vec<u8>) -> std::io::Result<QueryLine> {
    buf.clear();
    let n = input
        .take(QUERY_LINE_BYTES as u64 + 1)
        .read_until(b'\n', buf)?;
    if n == 0 {
        return Ok(QueryLine::End);
    }
    if buf.last() == Some(&b'\n') {
        buf.pop();
        if buf.last() == Some(&b'\r') {
            buf.pop();
        }
    } else if buf.len() > QUERY_LINE_BYTES {
        return Ok(QueryLine::TooLong);
    }
    let Ok(q) = std::str::from_utf8(buf) else {
        return Ok(QueryLine::NotText);
    };
    Ok(match check_query(q) {
        Ok(()) => QueryLine::Query(q.to_string()),
        Err(QueryTooLong) => QueryLine::TooLong,
    })
}

pub async fn show(desk: &Desk, format: Format, account: &str, reveal: bool) -> Result<()> {
    let d = desk.show(account.to_string(), reveal).await?;
    print(format, detail_text(&d), detail_json(&d))
}

pub async fn worklist(
    desk: &Desk,
    format: Format,
    status: Option<String>,
    limit: usize,
) -> Result<()> {
    let status = status
        .map(|s| s.parse::<CategoryStatus>())
        .transpose()
        .map_err(Error::invalid)?;
    let list = desk.worklist(status, limit).await?;
    print(format, worklist_text(&list), worklist_json(&list))
}

pub async fn note(desk: &Desk, format: Format, account: &str, text: &str) -> Result<()> {
    let (a, id) = desk.add_note(account.to_string(), text.to_string()).await?;
    print(
        format,
        format!("note #{id} added to account {}\n", a.account_no),
        json!({"note_id": id, "account_no": a.account_no}),
    )
}

pub async fn declare_loss(
    desk: &Desk,
    format: Format,
    account: &str,
    category: &str,
    reason: &str,
    incident: Option<&str>,
) -> Result<()> {
    let category: Category = category.parse().map_err(Error::invalid)?;
    let changed = desk
        .declare_loss(
            account.to_string(),
            incident.map(str::to_string),
            category,
            reason.to_string(),
        )
        .await?;
    let text = if changed {
        format!(
            "declared {category} of account {} permanently lost\n",
            clean(account)
        )
    } else {
        format!(
            "{category} of account {} was already declared permanently lost\n",
            clean(account)
        )
    };
    print(
        format,
        text,
        json!({"category": category.as_str(), "changed": changed}),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lines(input: &[u8]) -> Vec<QueryLine> {
        let mut r = std::io::BufReader::with_capacity(16, input);
        let mut buf = Vec::new();
        let mut out = Vec::new();
        loop {
            let l = read_query_line(&mut r, &mut buf).expect("read");
            if l == QueryLine::End {
                return out;
            }
            let stop = matches!(l, QueryLine::TooLong);
            out.push(l);
            if stop {
                return out;
            }
        }
    }

    #[test]
    fn query_lines_end_with_lf_or_crlf_and_the_last_needs_none() {
        assert_eq!(
            lines(b"a\r\nb\n\nc"),
            vec![
                QueryLine::Query("a".into()),
                QueryLine::Query("b".into()),
                QueryLine::Query(String::new()),
                QueryLine::Query("c".into())
            ]
        );
    }

    #[test]
    fn a_huge_line_is_refused_after_reading_no_more_than_a_query_holds() {
        let mut input = "x".repeat(10 * 1024 * 1024).into_bytes();
        input.extend_from_slice(b"\nnext\n");
        let mut r = std::io::BufReader::with_capacity(64, input.as_slice());
        let mut buf = Vec::new();
        assert_eq!(
            read_query_line(&mut r, &mut buf).expect("read"),
            QueryLine::TooLong
        );
        assert!(
            buf.len() <= QUERY_LINE_BYTES + 1,
            "held {} bytes",
            buf.len()
        );
        let long_but_not_huge = format!("{}\n", "y".repeat(MAX_QUERY_CHARS + 1));
        assert_eq!(
            lines(long_but_not_huge.as_bytes()),
            vec![QueryLine::TooLong]
        );
        let exactly = format!("{}\n", "é".repeat(MAX_QUERY_CHARS));
        assert_eq!(
            lines(exactly.as_bytes()),
            vec![QueryLine::Query("é".repeat(MAX_QUERY_CHARS))]
        );
        assert_eq!(
            lines(b"ok\n\xff\xfe\n"),
            vec![QueryLine::Query("ok".into()), QueryLine::NotText]
        );
    }
}
