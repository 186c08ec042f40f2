//! A batch credit run's accounts file (`credit run --accounts FILE`).

use super::Records;
use crate::domain;
use crate::error::{Error, Result};

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
/// (BOM, CRLF, quoted fields, phone numbers in any format, as spreadsheets save it in every
/// locale: see `sheet`). Returns the rows with their line numbers, and the bad rows' problems
/// (line, message), for the caller to refuse or skip.
pub fn parse_batch_accounts(source: &str, data: &[u8]) -> Result<BatchFile> {
    let (h, mut rows) = Records::open(source, data)?;
    let has_no = h.has("account_no");
    let has_phone = h.has("msisdn");
    if !has_no && !has_phone {
        return Err(Error::invalid(format!(
            "{source}: the header has neither an account_no nor an msisdn column (spelled so, or \"Account No\", \"Phone\" and the like)"
        )));
    }
    let mut refs = Vec::new();
    let mut bad = Vec::new();
    while let Some((line, rec)) = rows.next()? {
        let no = if has_no { h.get(rec, "account_no") } else { "" };
        let phone = if has_phone { h.get(rec, "msisdn") } else { "" };
        if !no.is_empty() {
            if let Some(problem) = h.scientific("account_no", no) {
                bad.push((line, problem));
            } else if domain::is_account_no(no) {
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
            // Masked below: a phone number is private. One in scientific notation holds none
            // of the number's digits, so it is named as written.
            if let Some(problem) = h.scientific("msisdn", phone) {
                bad.push((line, problem));
                continue;
            }
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
}
