//! `lookup`, `show`, `worklist`, `note` and `declare-loss`: an agent's everyday commands on
//! accounts.

use std::io::BufRead;

use serde_json::json;

use super::Format;
use super::print::{clean, detail_json, detail_text, print, summaries_json, summaries_text};
use crate::desk::Desk;
use crate::domain::{Category, CategoryStatus};
use crate::error::{Error, Result};

/// `lookup QUERY`, or with `-` one query per line of standard input and one result per line.
pub async fn lookup(desk: &Desk, format: Format, query: &str, limit: usize) -> Result<()> {
    if query != "-" {
        let results = desk.search(query.to_string(), limit).await?;
        return print(format, summaries_text(&results), summaries_json(&results));
    }
    let stdin = std::io::stdin();
    for line in stdin.lock().lines() {
        let q = line.map_err(|e| Error::io("cannot read standard input", e))?;
        let results = desk.search(q.clone(), limit).await?;
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
    Ok(())
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
    print(format, summaries_text(&list), summaries_json(&list))
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
