//! `import accounts`: one account per row with its data plan, as docs/commands.md describes.

use std::collections::HashSet;

use super::{Chunks, Problems, Records, account_key, parse_time, too_long};
use crate::domain::{self, AccountStatus};
use crate::error::Result;
use crate::store::{NewAccount, NewPlan};

/// Longest values of the text columns, in characters: a name or an address longer than
/// this is a broken file, not a customer.
const MAX_NAME_CHARS: usize = 200;
const MAX_EMAIL_CHARS: usize = 254;
const MAX_DEVICE_CHARS: usize = 100;
const MAX_PLAN_CODE_CHARS: usize = 40;

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
        if let Some(problem) = h.scientific("account_no", account_no) {
            problems.add(line, problem);
            continue;
        }
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
        if let Some(problem) = h.scientific("msisdn", h.get(rec, "msisdn")) {
            problems.add(line, problem);
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
}
