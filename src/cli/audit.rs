//! `audit verify [--checkpoint FILE]`, `audit checkpoint --out FILE` and `audit log`.

use std::path::Path;

use serde_json::json;

use super::print::{audit_json, audit_text, clean, print, to_json, verification_json};
use super::{AuditCommand, Format};
use crate::audit::checkpoint;
use crate::desk::Desk;
use crate::error::{Error, Result};

pub async fn run(desk: &Desk, format: Format, command: AuditCommand) -> Result<()> {
    match command {
        AuditCommand::Verify { checkpoint: None } => verify(desk, format).await,
        AuditCommand::Verify {
            checkpoint: Some(path),
        } => verify_checkpoints(desk, format, &path).await,
        AuditCommand::Checkpoint { out } => write_checkpoint(desk, format, &out).await,
        AuditCommand::Log {
            account,
            since,
            limit,
        } => {
            let since = super::parse_since(since)?;
            let list = desk.audit_log(account, since, limit).await?;
            print(format, audit_text(&list), audit_json(&list))
        }
    }
}

/// `audit verify`: the chain alone.
async fn verify(desk: &Desk, format: Format) -> Result<()> {
    let v = desk.audit_verify().await?;
    match &v.first_bad {
        None => print(
            format,
            format!(
                "the audit chain is valid: {} records, head {} {}\n",
                v.records, v.head_seq, v.head_hash
            ),
            verification_json(&v),
        ),
        Some((_, problem)) => {
            if format == Format::Json {
                print(format, String::new(), verification_json(&v))?;
            }
            Err(Error::refused(format!(
                "the audit chain does not verify: {problem}"
            )))
        }
    }
}

/// `audit verify --checkpoint FILE`: the chain, then every checkpoint of the file against it.
async fn verify_checkpoints(desk: &Desk, format: Format, path: &Path) -> Result<()> {
    let source = path.display().to_string();
    let data = checkpoint::read(path)?
        .ok_or_else(|| Error::invalid(format!("there is no audit checkpoint file {source}")))?;
    let entries = checkpoint::parse(&source, &data)?;
    if entries.is_empty() {
        return Err(Error::invalid(format!(
            "{source} holds no audit checkpoint"
        )));
    }
    let (v, mismatches) = desk
        .audit_verify_checkpoints(source.clone(), entries.clone())
        .await?;
    let mut json = verification_json(&v);
    json["valid"] = json!(v.first_bad.is_none() && mismatches.is_empty());
    json["chain_valid"] = json!(v.first_bad.is_none());
    json["checkpoints"] = json!({
        "file": source,
        "count": entries.len(),
        "matched": entries.len() - mismatches.len(),
        "problems": mismatches,
    });
    if v.first_bad.is_none() && mismatches.is_empty() {
        let newest = entries
            .iter()
            .max_by_key(|e| e.checkpoint.seq)
            .map(|e| &e.checkpoint);
        let text = format!(
            "the audit chain is valid: {} records, head {} {}\nit holds all {} checkpoint(s) of {}{}\n",
            v.records,
            v.head_seq,
            v.head_hash,
            entries.len(),
            clean(&source),
            newest
                .map(|c| format!(
                    " (the furthest at seq {}, taken {})",
                    c.seq,
                    c.taken_at
                        .to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
                ))
                .unwrap_or_default()
        );
        return print(format, text, json);
    }
    if format == Format::Json {
        print(format, String::new(), json)?;
    }
    let mut msg = match (&v.first_bad, mismatches.first()) {
        (Some((_, problem)), _) => format!("the audit chain does not verify: {problem}"),
        (None, Some(m)) => format!(
            "the audit chain does not match its checkpoints: {}",
            m.problem
        ),
        (None, None) => String::new(),
    };
    if mismatches.len() > 1 || (v.first_bad.is_some() && !mismatches.is_empty()) {
        msg.push_str(&format!(
            " ({} of {} checkpoints do not match)",
            mismatches.len(),
            entries.len()
        ));
    }
    Err(Error::refused(msg))
}

/// `audit checkpoint --out FILE`: verify, then append the head to the file atomically.
async fn write_checkpoint(desk: &Desk, format: Format, path: &Path) -> Result<()> {
    let source = path.display().to_string();
    let existing = checkpoint::read(path)?;
    let entries = match &existing {
        Some(data) => checkpoint::parse(&source, data)?,
        None => Vec::new(),
    };
    let c = desk
        .audit_checkpoint(source.clone(), entries.clone())
        .await?;
    checkpoint::append(path, existing.as_deref(), &c)?;
    tracing::info!(file = %source, seq = c.seq, "audit checkpoint written");
    let count = entries.len() + 1;
    let text = format!(
        "checkpoint {count} written to {}: seq {}, hash {}, {} records, taken {}\n",
        clean(&source),
        c.seq,
        c.hash,
        c.records,
        c.taken_at
            .to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
    );
    let mut v = to_json(&c)?;
    v["file"] = json!(source);
    v["checkpoints"] = json!(count);
    print(format, text, v)
}
