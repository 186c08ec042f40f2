//! How results are printed: plain text for people (every database string sanitized first),
//! one JSON object per result for scripts (the fields of docs/commands.md), and the one function
//! every command prints through.
//!
//! Whatever reaches a terminal goes through one of two last guards as well:
//! [`terminal_text`] for text (each line and tab-separated field sanitized again, so a string
//! a formatter forgot to clean still cannot carry an escape sequence) and [`json_text`] for
//! JSON (serde_json escapes only C0 controls; DEL, C1 controls, bidi and zero-width
//! characters are written as `\uXXXX` escapes too, which every JSON reader decodes to the
//! same string).

use std::fmt::Write as _;
use std::io::Write as _;

use serde_json::{Value, json};

use super::Format;
use crate::domain::text::terminal_text;
use chrono::{DateTime, Utc};

use crate::domain::{
    AccountDetail, AccountSummary, Agent, RequestStatus, Worklist, WorklistReason, advice_for,
    advice_words, callback_words,
};
use crate::domain::{format_cents, sanitize};
use crate::error::{Error, Result};
use crate::store::{AuditRecord, AuditVerification};

/// Prints one result: `text` for people, `value` for scripts. A reader that went away is not
/// an error of ours, so a failed write is not reported.
pub fn print(format: Format, text: String, value: Value) -> Result<()> {
    let mut out = std::io::stdout().lock();
    let _ = match format {
        Format::Text | Format::Csv => out.write_all(terminal_text(&text).as_bytes()),
        Format::Json => writeln!(out, "{}", json_text(&value)?),
    };
    Ok(())
}

/// A result as a JSON value, for [`print`].
pub fn to_json<T: serde::Serialize + ?Sized>(value: &T) -> Result<Value> {
    serde_json::to_value(value)
        .map_err(|e| Error::System(format!("cannot write the result as JSON: {e}")))
}

/// Text for the terminal: control characters and escape sequences removed.
pub fn clean(s: &str) -> String {
    sanitize(s).into_owned()
}

/// Characters serde_json leaves raw that a terminal could act on or that change how text
/// reads: DEL, C1 controls, bidi controls, zero-width characters, line separators.
fn json_must_escape(c: char) -> bool {
    c == '\u{7f}'
        || ('\u{80}'..='\u{9f}').contains(&c)
        || matches!(
            c,
            '\u{061c}' | '\u{200b}'..='\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}' | '\u{feff}' | '\u{2028}' | '\u{2029}'
        )
}

/// serde_json's compact output, with [`json_must_escape`] characters escaped as well.
struct TerminalSafeJson;

impl serde_json::ser::Formatter for TerminalSafeJson {
    fn write_string_fragment<W: ?Sized + std::io::Write>(
        &mut self,
        writer: &mut W,
        fragment: &str,
    ) -> std::io::Result<()> {
        let mut rest = fragment;
        while let Some(i) = rest.find(json_must_escape) {
            writer.write_all(&rest.as_bytes()[..i])?;
            let c = rest[i..].chars().next().unwrap_or_default();
            let mut units = [0u16; 2];
            for u in c.encode_utf16(&mut units) {
                write!(writer, "\\u{u:04x}")?;
            }
            rest = &rest[i + c.len_utf8()..];
        }
        writer.write_all(rest.as_bytes())
    }
}

/// One JSON value as compact text that is safe on a terminal (see [`json_must_escape`]).
pub fn json_text<T: serde::Serialize + ?Sized>(value: &T) -> Result<String> {
    let mut buf = Vec::with_capacity(256);
    let mut ser = serde_json::Serializer::with_formatter(&mut buf, TerminalSafeJson);
    // Serializing into memory fails only for maps with non-string keys, which no output has.
    value
        .serialize(&mut ser)
        .map_err(|e| Error::System(format!("cannot write the result as JSON: {e}")))?;
    // The formatter writes only UTF-8 (the input's own bytes, and ASCII escapes).
    String::from_utf8(buf).map_err(|e| Error::System(format!("the JSON written is not UTF-8: {e}")))
}

pub fn summary_json(a: &AccountSummary) -> Value {
    json!({
        "account_no": a.account_no,
        "msisdn": a.msisdn,
        "name": a.name,
        "email": a.email,
        "account_status": a.account_status.as_str(),
        "status": a.status.as_str(),
    })
}

pub fn summaries_json(list: &[AccountSummary]) -> Value {
    json!({ "results": list.iter().map(summary_json).collect::<Vec<_>>() })
}

/// One line per account: number, phone, status badge, name, e-mail.
pub fn summaries_text(list: &[AccountSummary]) -> String {
    if list.is_empty() {
        return "no accounts found\n".to_string();
    }
    let mut out = String::new();
    for a in list {
        let _ = writeln!(out, "{}", summary_line(a));
    }
    out
}

fn summary_line(a: &AccountSummary) -> String {
    format!(
        "{:<10} {:<13} {:<17} {:<9} {} {}",
        clean(&a.account_no),
        clean(&a.msisdn),
        format!("[{}]", a.status.as_str()),
        a.account_status.as_str(),
        clean(&a.name),
        if a.email.is_empty() {
            String::new()
        } else {
            format!("<{}>", clean(&a.email))
        }
    )
}

/// A time as the reader's clock shows it, with its offset from UTC.
pub fn local_time(t: DateTime<Utc>) -> String {
    t.with_timezone(&chrono::Local)
        .format("%Y-%m-%d %H:%M %:z")
        .to_string()
}

/// The worklist: its true size, then one line per account with why it is on the list.
pub fn worklist_text(list: &Worklist) -> String {
    if list.entries.is_empty() {
        return "the worklist is empty\n".to_string();
    }
    let shown = list.entries.len() as i64;
    let mut out = if shown < list.total {
        format!(
            "{} accounts in the worklist, the first {shown}:\n",
            list.total
        )
    } else {
        format!("{} accounts in the worklist:\n", list.total)
    };
    for e in &list.entries {
        let why = match &e.reason {
            WorklistReason::CallbackDue { due_at } => {
                format!("callback due {}", local_time(*due_at))
            }
            WorklistReason::NotAdvised => "not advised".to_string(),
            WorklistReason::Status => String::new(),
        };
        let _ = writeln!(out, "{:<32} {}", why, summary_line(&e.account));
    }
    out
}

/// `{"total": N, "results": [summary + "reason" (+ "due_at")]}`.
pub fn worklist_json(list: &Worklist) -> Value {
    let results = list
        .entries
        .iter()
        .map(|e| {
            let mut v = summary_json(&e.account);
            let (reason, due) = match &e.reason {
                WorklistReason::CallbackDue { due_at } => ("callback_due", Some(*due_at)),
                WorklistReason::NotAdvised => ("not_advised", None),
                WorklistReason::Status => ("status", None),
            };
            v["reason"] = json!(reason);
            if let Some(due) = due {
                v["due_at"] = json!(due);
            }
            v
        })
        .collect::<Vec<_>>();
    json!({ "total": list.total, "results": results })
}

pub fn detail_json(d: &AccountDetail) -> Value {
    let plan_at_start = d
        .acting_incident(None, chrono::Utc::now())
        .ok()
        .and_then(|i| d.plan_at(i.started_at))
        .map(|p| p.plan_code.clone());
    let advisories = d.advisories();
    json!({
        "account_no": d.summary.account_no,
        "msisdn": d.summary.msisdn,
        "name": d.summary.name,
        "email": d.summary.email,
        "account_status": d.summary.account_status.as_str(),
        "status": d.summary.status.as_str(),
        "device_model": d.device_model,
        "masked": d.masked,
        "plan": d.current_plan().map(|p| json!({
            "plan_code": p.plan_code,
            "data_plan": p.data_plan,
            "price_cents": p.price_cents,
            "currency": p.currency,
            "valid_from": p.valid_from,
        })),
        "plan_at_incident_start": plan_at_start,
        "plans": d.plans,
        "advisory": advisories.first().map(|(i, _)| i.advisory.clone()),
        "advisories": advisories.iter().map(|(i, cats)| json!({
            "incident": i.id,
            "categories": cats,
            "advisory": i.advisory,
        })).collect::<Vec<_>>(),
        "incidents": d.touched_by().iter().map(|i| json!({"id": i.id, "title": i.title})).collect::<Vec<_>>(),
        "categories": d.categories.iter().map(|c| json!({
            "incident": c.incident,
            "category": c.category.as_str(),
            "status": c.status.as_str(),
            "server_lost": c.server_lost,
            "device_state": c.device_state.as_str(),
            "items_before": c.items_before,
            "items_live": c.items_live,
            "items_backup": c.items_backup,
        })).collect::<Vec<_>>(),
        "credits": d.credits.iter().map(|c| json!({
            "id": c.id,
            "kind": c.kind,
            "amount_cents": c.amount_cents,
            "currency": c.currency,
            "incident": c.incident,
            "agent": c.agent,
            "approver": c.approver,
            "reverses": c.reverses,
            "created_at": c.created_at,
        })).collect::<Vec<_>>(),
        "requests": d.requests,
        "backups": d.backups.iter().map(|b| json!({
            "id": b.id,
            "taken_at": b.taken_at,
            "source": b.source,
            "verification": b.verification,
            "verified": b.verified(),
            "categories": b.categories.iter().map(|c| json!({
                "category": c.category.as_str(),
                "items": c.item_count,
                "bad_items": c.bad_items,
            })).collect::<Vec<_>>(),
        })).collect::<Vec<_>>(),
        "notes": d.notes,
        "advice": d.advice,
        "callbacks": d.callbacks,
        "timeline": d.timeline,
    })
}

pub fn detail_text(d: &AccountDetail) -> String {
    let mut o = String::new();
    let s = &d.summary;
    let _ = writeln!(
        o,
        "{}  {}  [{}]",
        clean(&s.account_no),
        clean(&s.name),
        s.status.as_str()
    );
    let _ = writeln!(
        o,
        "  phone {}   e-mail {}   account {}   device {}",
        clean(&s.msisdn),
        if s.email.is_empty() {
            "-".to_string()
        } else {
            clean(&s.email)
        },
        s.account_status.as_str(),
        if d.device_model.is_empty() {
            "-".to_string()
        } else {
            clean(&d.device_model)
        }
    );
    if d.masked {
        let _ = writeln!(
            o,
            "  (masked: your role sees customers masked; `show --reveal` shows them in full, and is audited)"
        );
    }
    match d.current_plan() {
        Some(p) => {
            let _ = write!(
                o,
                "  plan {} {}/month{}",
                clean(&p.plan_code),
                format_cents(p.price_cents, &p.currency),
                if p.data_plan { "" } else { " (no data plan)" }
            );
        }
        None => {
            let _ = write!(o, "  no plan");
        }
    }
    let touched = d.touched_by();
    let several = touched.len() > 1;
    for inc in &touched {
        let named = if several {
            format!(" {}", inc.id)
        } else {
            String::new()
        };
        match d.plan_at(inc.started_at) {
            Some(p) if Some(p) != d.current_plan() => {
                let _ = write!(
                    o,
                    "   at the start of incident{named}: {} {}",
                    clean(&p.plan_code),
                    format_cents(p.price_cents, &p.currency)
                );
            }
            None => {
                let _ = write!(o, "   no plan at the start of incident{named}");
            }
            _ => {}
        }
    }
    o.push('\n');
    if several {
        let ids: Vec<&str> = touched.iter().map(|i| i.id.as_str()).collect();
        let _ = writeln!(
            o,
            "  touched by {} incidents: {}",
            ids.len(),
            ids.join(", ")
        );
    }
    for (inc, at_risk) in d.advisories() {
        let cats: Vec<&str> = at_risk.iter().map(|c| c.as_str()).collect();
        let _ = writeln!(
            o,
            "\n  !! AT RISK ({}{}) — read this to the customer:\n  {}",
            cats.join(", "),
            if several {
                format!(", {}", inc.id)
            } else {
                String::new()
            },
            clean(&inc.advisory)
        );
        let now = Utc::now();
        match advice_for(&d.advice, Some(&inc.id)).filter(|a| a.incident == inc.id) {
            Some(a) => {
                let _ = writeln!(o, "  {}", clean(&advice_words(a, now, &chrono::Local)));
            }
            None => {
                let _ = writeln!(
                    o,
                    "  not advised yet: `caredesk advise {}` once you have read it",
                    clean(&s.account_no)
                );
            }
        }
    }
    for c in &d.callbacks {
        let _ = writeln!(
            o,
            "  callback #{}: {}",
            c.id,
            clean(&callback_words(c, Utc::now(), &chrono::Local))
        );
    }
    let _ = writeln!(
        o,
        "\n  {:<9} {:<17} {:>7} {:>6} {:>7}  {}",
        "category",
        "status",
        "before",
        "live",
        "backup",
        if several {
            "device      incident"
        } else {
            "device"
        }
    );
    for c in &d.categories {
        let _ = writeln!(
            o,
            "  {:<9} {:<17} {:>7} {:>6} {:>7}  {}",
            c.category.as_str(),
            c.status.as_str(),
            c.items_before,
            c.items_live,
            c.items_backup
                .map(|n| n.to_string())
                .unwrap_or_else(|| "-".to_string()),
            if several {
                format!("{:<10}  {}", c.device_state.as_str(), c.incident)
            } else {
                c.device_state.as_str().to_string()
            }
        );
    }
    if d.categories.is_empty() {
        let _ = writeln!(o, "  (no impact recorded)");
    }
    let _ = writeln!(o, "\n  backups:");
    if d.backups.is_empty() {
        let _ = writeln!(o, "    none");
    }
    for b in &d.backups {
        let cats: Vec<String> = b
            .categories
            .iter()
            .map(|c| {
                if c.bad_items > 0 {
                    format!(
                        "{} {} ({} bad)",
                        c.category.as_str(),
                        c.item_count,
                        c.bad_items
                    )
                } else {
                    format!("{} {}", c.category.as_str(), c.item_count)
                }
            })
            .collect();
        let _ = writeln!(
            o,
            "    {}  {}  {}  {}",
            clean(&b.id),
            b.taken_at.format("%Y-%m-%d %H:%M"),
            b.verification,
            cats.join(", ")
        );
    }
    let _ = writeln!(o, "\n  credits:");
    if d.credits.is_empty() && d.requests.is_empty() {
        let _ = writeln!(o, "    none");
    }
    for c in &d.credits {
        let _ = writeln!(
            o,
            "    #{} {} {} by {}{} {}",
            c.id,
            c.kind,
            format_cents(c.amount_cents, &c.currency),
            clean(&c.agent),
            c.approver
                .as_ref()
                .map(|a| format!(" approved by {}", clean(a)))
                .unwrap_or_default(),
            c.created_at.format("%Y-%m-%d %H:%M")
        );
    }
    for r in &d.requests {
        let by = r.decided_by.as_deref().map_or_else(String::new, clean);
        let state = match r.status {
            RequestStatus::Approved => format!(
                "approved by {by} (credit #{})",
                r.credit_id.unwrap_or_default()
            ),
            RequestStatus::Rejected => format!(
                "rejected by {by}: {}",
                clean(r.rejection_reason.as_deref().unwrap_or("no reason kept"))
            ),
            RequestStatus::Pending => "pending approval".to_string(),
        };
        let _ = writeln!(
            o,
            "    request #{} {} {} by {}: {}",
            r.id,
            r.kind,
            format_cents(r.amount_cents, "USD"),
            clean(&r.requested_by),
            state
        );
    }
    let _ = writeln!(o, "\n  timeline:");
    if d.timeline.is_empty() {
        let _ = writeln!(o, "    nothing yet");
    }
    for e in d.timeline.iter().take(20) {
        let _ = writeln!(
            o,
            "    {}  {}",
            e.at.format("%Y-%m-%d %H:%M"),
            clean(&d.describe(e))
        );
    }
    o
}

pub fn agents_json(list: &[Agent]) -> Value {
    json!({ "results": list.iter().map(|a| json!({
        "login": a.login, "display_name": a.display_name, "role": a.role.as_str(), "active": a.active,
        "changed_by": a.changed_by, "changed_at": a.changed_at,
    })).collect::<Vec<_>>() })
}

pub fn agents_text(list: &[Agent]) -> String {
    let mut o = String::new();
    for a in list {
        let _ = writeln!(
            o,
            "{:<16} {:<10} {:<8} {}",
            clean(&a.login),
            a.role.as_str(),
            if a.active { "active" } else { "disabled" },
            clean(&a.display_name)
        );
    }
    o
}

pub fn audit_json(list: &[AuditRecord]) -> Value {
    json!({ "results": list })
}

pub fn audit_text(list: &[AuditRecord]) -> String {
    let mut o = String::new();
    for r in list {
        let _ = writeln!(
            o,
            "{:>7} {} {:<10} {:<10} {:<18} {:<10} {:<6} {}",
            r.seq,
            r.at.format("%Y-%m-%d %H:%M:%S"),
            clean(&r.agent),
            r.role,
            clean(&r.action),
            r.account_no
                .as_deref()
                .map(clean)
                .unwrap_or_else(|| "-".to_string()),
            clean(&r.outcome),
            clean(&r.detail)
        );
    }
    o
}

pub fn verification_json(v: &AuditVerification) -> Value {
    json!({
        "valid": v.first_bad.is_none(),
        "records": v.records,
        "head_seq": v.head_seq,
        "head_hash": v.head_hash,
        "first_bad_seq": v.first_bad.as_ref().map(|(s, _)| s),
        "problem": v.first_bad.as_ref().map(|(_, m)| m),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn serde_json_alone_leaves_c1_and_bidi_raw_and_json_text_escapes_them() {
        let v = json!({"name": "a\u{1b}[2Jb\u{9b}31m\u{7f}\u{202e}\u{2066}\u{200b}\u{2028}é𝄞"});
        let plain = v.to_string();
        assert!(plain.contains("\\u001b"), "serde_json escapes C0: {plain}");
        assert!(
            plain.contains('\u{9b}') && plain.contains('\u{202e}'),
            "{plain}"
        );
        let safe = json_text(&v).expect("serializes");
        assert!(!safe.chars().any(needs), "{safe}");
        assert!(safe.contains("\\u009b") && safe.contains("\\u202e") && safe.contains("é𝄞"));
        let back: Value = serde_json::from_str(&safe).expect("valid JSON");
        assert_eq!(back, v, "the same value once decoded");
    }

    fn needs(c: char) -> bool {
        crate::domain::needs_sanitizing(c)
    }
}
