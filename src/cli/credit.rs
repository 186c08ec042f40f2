//! `credit apply|request|approve|reject|requests|goodwill|goodwill-cap|reverse|export`: one
//! account's credits, the queue of appreciation requests, and the ledger's export for billing
//! (batch runs are in `batch`).

use std::fmt::Write as _;
use std::io::Write;

use serde_json::json;

use super::print::{clean, json_text, print};
use super::{CreditCommand, Format, parse_since};
use crate::desk::Desk;
use crate::domain::text::neutralise_cell;
use crate::domain::{Cents, format_cents};
use crate::domain::{Credit, CreditOutcome, CreditRequest, RequestOutcome};
use crate::domain::{RequestStatus, RequestView};
use crate::error::{Error, Result};
use crate::service::credit::IncidentCredit;

fn credit_json(c: &Credit) -> serde_json::Value {
    json!({
        "credit_id": c.id,
        "account_no": c.account_no,
        "incident": c.incident,
        "kind": c.kind,
        "amount_cents": c.amount_cents,
        "currency": c.currency,
        "agent": c.agent,
        "approver": c.approver,
        "reason": c.reason,
        "batch_run_id": c.batch_run_id,
        "created_at": c.created_at,
        "reverses": c.reverses,
    })
}

fn outcome_print(format: Format, o: &CreditOutcome) -> Result<()> {
    let c = o.credit();
    let amount = crate::domain::format_cents(c.amount_cents, &c.currency);
    let text = if o.is_new() {
        format!(
            "credited {amount} ({} credit #{}, {}) to account {}\n",
            c.kind, c.id, c.incident, c.account_no
        )
    } else {
        format!(
            "already credited: account {} holds {} credit #{} of {amount} ({}) from {}; nothing changed\n",
            c.account_no,
            c.kind,
            c.id,
            c.incident,
            c.created_at.format("%Y-%m-%d %H:%M")
        )
    };
    let mut v = credit_json(c);
    v["result"] = json!(if o.is_new() {
        "credited"
    } else {
        "already-credited"
    });
    print(format, text, v)
}

pub async fn run(desk: &Desk, format: Format, command: CreditCommand) -> Result<()> {
    match command {
        CreditCommand::Apply {
            account,
            incident,
            dry_run,
        } => match desk.credit_apply(account, incident, dry_run).await? {
            IncidentCredit::Applied(o) => outcome_print(format, &o),
            IncidentCredit::WouldCredit {
                account_no,
                incident,
                amount_cents,
                currency,
            } => print(
                format,
                format!(
                    "would credit {} to account {account_no} for {incident} (dry run: nothing written)\n",
                    format_cents(amount_cents, &currency)
                ),
                json!({"result": "would-credit", "account_no": account_no, "incident": incident, "amount_cents": amount_cents, "currency": currency, "dry_run": true}),
            ),
            IncidentCredit::WouldFindCredited(c) => {
                let mut v = credit_json(&c);
                v["result"] = json!("already-credited");
                v["dry_run"] = json!(true);
                print(
                    format,
                    format!(
                        "account {} already holds incident credit #{} ({}); nothing to do\n",
                        c.account_no, c.id, c.incident
                    ),
                    v,
                )
            }
        },
        CreditCommand::Request {
            account,
            reason,
            incident,
        } => {
            let (r, new) = match desk.credit_request(account, incident, reason).await? {
                RequestOutcome::Requested(r) => (r, true),
                RequestOutcome::AlreadyRequested(r) => (r, false),
            };
            let text = if new {
                format!(
                    "requested {} appreciation credit (request #{}); a supervisor other than you must approve it\n",
                    format_cents(r.amount_cents, "USD"),
                    r.id
                )
            } else {
                format!("already requested (request #{}); nothing changed\n", r.id)
            };
            print(
                format,
                text,
                json!({"request_id": r.id, "result": if new { "requested" } else { "already-requested" }, "amount_cents": r.amount_cents, "requested_by": r.requested_by, "credit_id": r.credit_id}),
            )
        }
        CreditCommand::Approve { request_id } => {
            outcome_print(format, &desk.credit_approve(request_id).await?)
        }
        CreditCommand::Reject { request_id, reason } => {
            let o = desk.credit_reject(request_id, reason).await?;
            let r = o.request();
            let by = r.decided_by.as_deref().map(clean).unwrap_or_default();
            let text = if o.is_new() {
                format!(
                    "rejected request #{} ({} appreciation credit requested by {}); the requester reads the reason on the account\n",
                    r.id,
                    format_cents(r.amount_cents, "USD"),
                    clean(&r.requested_by)
                )
            } else {
                format!(
                    "already rejected: request #{} was rejected by {by} with that reason; nothing changed\n",
                    r.id
                )
            };
            let mut v = request_json(r);
            v["result"] = json!(if o.is_new() {
                "rejected"
            } else {
                "already-rejected"
            });
            print(format, text, v)
        }
        CreditCommand::Requests { status, limit } => {
            let status = status.parse::<RequestStatus>().map_err(Error::invalid)?;
            let list = desk.credit_requests(Some(status), limit).await?;
            print(
                format,
                requests_text(status, &list),
                json!({ "results": list.iter().map(view_json).collect::<Vec<_>>() }),
            )
        }
        CreditCommand::Goodwill {
            account,
            amount,
            reason,
            key,
            incident,
        } => {
            let amount = Cents::parse(&amount).map_err(Error::invalid)?;
            outcome_print(
                format,
                &desk
                    .credit_goodwill(account, incident, amount.0, reason, key)
                    .await?,
            )
        }
        CreditCommand::GoodwillCap { amount } => {
            if let Some(a) = amount {
                let cap = Cents::parse(&a).map_err(Error::invalid)?;
                desk.set_goodwill_cap(cap.0).await?;
            }
            let cap = desk.goodwill_cap().await?;
            print(
                format,
                format!("goodwill cap: {}\n", Cents(cap)),
                json!({"goodwill_cap_cents": cap}),
            )
        }
        CreditCommand::Reverse { credit_id, reason } => {
            outcome_print(format, &desk.credit_reverse(credit_id, reason).await?)
        }
        CreditCommand::Export { since } => export(desk, format, since).await,
        CreditCommand::Run(args) => super::batch::run(desk, format, args).await,
    }
}

/// One request as the commands print it.
fn request_json(r: &CreditRequest) -> serde_json::Value {
    json!({
        "request_id": r.id,
        "incident": r.incident,
        "kind": r.kind,
        "amount_cents": r.amount_cents,
        "reason": r.reason,
        "requested_by": r.requested_by,
        "requested_at": r.requested_at,
        "status": r.status,
        "decided_by": r.decided_by,
        "decided_at": r.decided_at,
        "rejection_reason": r.rejection_reason,
        "credit_id": r.credit_id,
    })
}

/// One row of `credit requests`: the request and the account it is for.
fn view_json(v: &RequestView) -> serde_json::Value {
    let mut j = request_json(&v.request);
    j["account_no"] = json!(v.account_no);
    j["customer"] = json!(v.customer);
    j["currency"] = json!(v.currency);
    j
}

fn requests_text(status: RequestStatus, list: &[RequestView]) -> String {
    if list.is_empty() {
        return format!("no {status} appreciation requests\n");
    }
    let mut o = String::new();
    let _ = writeln!(
        o,
        "{:>7}  {:<10} {:<14} {:>9}  {:<10} {:<16}  reason",
        "request", "account", "customer", "amount", "by", "requested"
    );
    for v in list {
        let r = &v.request;
        let decided = match (r.status, &r.decided_by) {
            (RequestStatus::Approved, Some(by)) => format!(
                "  [approved by {}, credit #{}]",
                clean(by),
                r.credit_id.unwrap_or_default()
            ),
            (RequestStatus::Rejected, Some(by)) => format!(
                "  [rejected by {}: {}]",
                clean(by),
                clean(r.rejection_reason.as_deref().unwrap_or(""))
            ),
            _ => String::new(),
        };
        let _ = writeln!(
            o,
            "{:>7}  {:<10} {:<14} {:>9}  {:<10} {:<16}  {}{decided}",
            format!("#{}", r.id),
            clean(&v.account_no),
            clean(&v.customer),
            format_cents(r.amount_cents, &v.currency),
            clean(&r.requested_by),
            r.requested_at.format("%Y-%m-%d %H:%M"),
            clean(&r.reason)
        );
    }
    o
}

/// `credit export`: the ledger for billing, streamed (CSV, or one JSON object).
async fn export(desk: &Desk, format: Format, since: Option<String>) -> Result<()> {
    let since = parse_since(since)?;
    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::new(stdout.lock());
    let io = |e: std::io::Error| Error::io("cannot write the export", e);
    match format {
        Format::Json => {
            // One object with results[], streamed so a million credits never sit in memory.
            out.write_all(b"{\"results\":[").map_err(io)?;
            let mut first = true;
            desk.credit_export(since, |c| {
                if !first {
                    out.write_all(b",").map_err(io)?;
                }
                first = false;
                let v = json!({"credit_id": c.id, "account_no": c.account_no, "incident": c.incident, "kind": c.kind,
                    "amount_cents": c.amount_cents, "currency": c.currency, "created_at": c.created_at, "reverses": c.reverses});
                out.write_all(json_text(&v)?.as_bytes()).map_err(io)
            })
            .await?;
            out.write_all(b"]}\n").map_err(io)?;
        }
        Format::Text | Format::Csv => {
            let mut w = csv::Writer::from_writer(out);
            let cerr = |e: csv::Error| match e.into_kind() {
                csv::ErrorKind::Io(e) => Error::io("cannot write the export", e),
                other => Error::System(format!("cannot write the export: {other:?}")),
            };
            w.write_record([
                "credit_id",
                "account_no",
                "incident",
                "kind",
                "amount_cents",
                "currency",
                "created_at",
                "reverses",
            ])
            .map_err(cerr)?;
            desk.credit_export(since, |c| {
                w.write_record([
                    c.id.to_string(),
                    neutralise_cell(&c.account_no).into_owned(),
                    neutralise_cell(&c.incident).into_owned(),
                    c.kind.as_str().to_string(),
                    c.amount_cents.to_string(),
                    neutralise_cell(&c.currency).into_owned(),
                    c.created_at
                        .to_rfc3339_opts(chrono::SecondsFormat::Micros, true),
                    c.reverses.map(|r| r.to_string()).unwrap_or_default(),
                ])
                .map_err(cerr)
            })
            .await?;
            w.flush().map_err(io)?;
        }
    }
    Ok(())
}
