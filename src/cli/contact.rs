//! `advise`, `callback` and `outreach`: contact with the customer beyond the ledger.

use std::io::Write as _;
use std::path::Path;

use serde_json::json;

use super::print::{clean, json_text, local_time, print, to_json};
use super::{CallbackArgs, CallbackCommand, Format, OutreachCommand};
use crate::desk::{Desk, HexBytes};
use crate::domain::{Callback, CallbackState, Channel, when::parse_when};
use crate::error::{Error, Result};

pub async fn advise(
    desk: &Desk,
    format: Format,
    account: &str,
    channel: &str,
    incident: Option<String>,
) -> Result<()> {
    let channel: Channel = channel.parse().map_err(Error::invalid)?;
    let out = desk.advise(account.to_string(), incident, channel).await?;
    let a = &out.advice;
    let text = if out.recorded {
        format!(
            "account {}: advised by {} at {} ({}), incident {}\n",
            clean(&out.account_no),
            clean(&a.agent),
            local_time(a.advised_at),
            a.channel.words(),
            clean(&a.incident)
        )
    } else {
        format!(
            "account {}: already advised by {} at {} ({}), incident {}; nothing changed\n",
            clean(&out.account_no),
            clean(&a.agent),
            local_time(a.advised_at),
            a.channel.words(),
            clean(&a.incident)
        )
    };
    print(
        format,
        text,
        json!({
            "account_no": out.account_no,
            "outcome": if out.recorded { "advised" } else { "already_advised" },
            "incident": a.incident,
            "agent": a.agent,
            "channel": a.channel,
            "advised_at": a.advised_at,
        }),
    )
}

pub async fn callback(desk: &Desk, format: Format, args: CallbackArgs) -> Result<()> {
    match args.command {
        Some(CallbackCommand::List { mine, due, limit }) => {
            let list = desk.callbacks(mine, due, limit).await?;
            let text = if list.is_empty() {
                "no pending callbacks\n".to_string()
            } else {
                list.iter().map(callback_line).collect()
            };
            print(
                format,
                text,
                json!({ "results": list.iter().map(callback_json).collect::<Vec<_>>() }),
            )
        }
        Some(CallbackCommand::Done { id }) => close(desk, format, id, CallbackState::Done).await,
        Some(CallbackCommand::Cancel { id }) => {
            close(desk, format, id, CallbackState::Cancelled).await
        }
        None => {
            // clap requires both without a subcommand.
            let (Some(account), Some(at)) = (args.account, args.at) else {
                return Err(Error::invalid("give the account and --at TIME"));
            };
            let due = parse_when(&at, &chrono::Local::now()).map_err(Error::from)?;
            let c = desk.callback_add(account, due, args.note).await?;
            print(
                format,
                format!(
                    "callback #{} set: {} will call back account {} at {}\n",
                    c.id,
                    clean(&c.agent),
                    clean(&c.account_no),
                    local_time(c.due_at)
                ),
                callback_json(&c),
            )
        }
    }
}

async fn close(desk: &Desk, format: Format, id: i64, to: CallbackState) -> Result<()> {
    let (c, changed) = desk.callback_close(id, to).await?;
    let text = if changed {
        format!(
            "callback #{} on account {}: {}\n",
            c.id,
            clean(&c.account_no),
            to.as_str()
        )
    } else {
        format!(
            "callback #{} on account {} was already {}; nothing changed\n",
            c.id,
            clean(&c.account_no),
            c.state.as_str()
        )
    };
    let mut v = callback_json(&c);
    v["changed"] = json!(changed);
    print(format, text, v)
}

fn callback_line(c: &Callback) -> String {
    format!(
        "#{:<6} {}  {:<10} {:<12} {}\n",
        c.id,
        local_time(c.due_at),
        clean(&c.account_no),
        clean(&c.agent),
        clean(&c.note)
    )
}

fn callback_json(c: &Callback) -> serde_json::Value {
    json!({
        "id": c.id,
        "account_no": c.account_no,
        "agent": c.agent,
        "due_at": c.due_at,
        "note": c.note,
        "state": c.state,
        "created_at": c.created_at,
        "closed_by": c.closed_by,
        "closed_at": c.closed_at,
    })
}

pub async fn outreach(desk: &Desk, format: Format, command: OutreachCommand) -> Result<()> {
    match command {
        OutreachCommand::Export {
            incident,
            channel,
            limit,
        } => {
            let channel: Channel = channel.parse().map_err(Error::invalid)?;
            let list = desk.outreach_export(incident, channel, limit).await?;
            write_list(format, &list)?;
            // The counts go where a person reads them, not into the gateway's file.
            eprintln!(
                "{} contacts for {} by {}; skipped {} closed and {} without {}",
                list.contacts.len(),
                list.incident,
                list.channel.words(),
                list.skipped_closed,
                list.skipped_no_address,
                match list.channel {
                    Channel::Email => "an e-mail address",
                    _ => "a mobile number",
                }
            );
            Ok(())
        }
        OutreachCommand::Delivered { file } => delivered(desk, format, &file).await,
    }
}

/// The list as a gateway imports it: CSV with a header (sms: outreach_id, msisdn, message;
/// e-mail: outreach_id, email, subject, message), or one JSON object per line. Cells are
/// written as they are (a gateway reads them, and a formula guard's apostrophe would reach
/// the customer); the numbers are E.164 and the addresses checked.
fn write_list(format: Format, list: &crate::domain::OutreachExport) -> Result<()> {
    let io = |e: std::io::Error| Error::io("cannot write the outreach list", e);
    let out = std::io::BufWriter::new(std::io::stdout().lock());
    let email = list.channel == Channel::Email;
    match format {
        Format::Json => {
            let mut out = out;
            for c in &list.contacts {
                let mut v = json!({
                    "outreach_id": c.outreach_id,
                    "account_no": c.account_no,
                    "channel": c.channel,
                    "message": list.message,
                });
                if email {
                    v["email"] = json!(c.to);
                    v["subject"] = json!(list.subject);
                } else {
                    v["msisdn"] = json!(c.to);
                }
                writeln!(out, "{}", json_text(&v)?).map_err(io)?;
            }
            out.into_inner()
                .map_err(|e| io(e.into_error()))?
                .flush()
                .map_err(io)
        }
        Format::Text | Format::Csv => {
            let mut w = csv::Writer::from_writer(out);
            let cerr = |e: csv::Error| match e.into_kind() {
                csv::ErrorKind::Io(e) => io(e),
                other => Error::System(format!("cannot write the outreach list: {other:?}")),
            };
            if email {
                w.write_record(["outreach_id", "email", "subject", "message"])
            } else {
                w.write_record(["outreach_id", "msisdn", "message"])
            }
            .map_err(cerr)?;
            for c in &list.contacts {
                if email {
                    w.write_record([&c.outreach_id, &c.to, &list.subject, &list.message])
                } else {
                    w.write_record([&c.outreach_id, &c.to, &list.message])
                }
                .map_err(cerr)?;
            }
            w.flush().map_err(io)
        }
    }
}

async fn delivered(desk: &Desk, format: Format, file: &Path) -> Result<()> {
    let source = crate::import::source_name(file);
    let data = crate::import::read_input(file)?;
    let out = desk
        .outreach_delivered(source.clone(), HexBytes(data))
        .await?;
    print(
        format,
        format!(
            "{source}: {} accounts advised now, {} advised before, {} not delivered\n",
            out.advised, out.already_advised, out.failed
        ),
        to_json(&out)?,
    )
}
