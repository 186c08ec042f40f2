//! Audit records in the words an agent reads aloud: "$19.99 incident credit by alice", not
//! `alice credit.incident 1999 cents`. The one place that turns an action and its masked
//! detail into a sentence, for every action the ledger and the audit log write.
//!
//! The detail is the text the writer put in the audit record. Each action's sentence reads
//! the figures it needs from it; when a detail does not read as expected (an older record, a
//! changed writer), the sentence still names what happened and who did it, followed by the
//! detail as written, so nothing is hidden and nothing panics.

use super::money::format_cents;

/// One audit record, as the sentence needs it.
#[derive(Debug, Clone, Copy)]
pub struct Record<'a> {
    pub action: &'a str,
    pub agent: &'a str,
    /// The record's object (a credit id, a login, "restore 4"), when it has one.
    pub object_id: Option<&'a str>,
    pub detail: &'a str,
}

/// The sentence for `r`, with amounts in `currency` ("USD" → `$19.99`).
pub fn sentence(r: &Record<'_>, currency: &str) -> String {
    let by = r.agent;
    let d = r.detail.trim();
    let money = |cents: i64| format_cents(cents, currency);
    let said = match r.action {
        "account.view" => Some(format!("viewed by {by}")),
        "account.reveal" => Some(format!("name, e-mail and phone shown in full to {by}")),
        "note" => Some(if d.is_empty() {
            format!("note by {by}")
        } else {
            format!("note by {by}: {d}")
        }),
        "note.add" => Some(format!("note added by {by}")),
        "loss.declare" => d
            .split_once(" permanently lost")
            .map(|(category, _)| format!("{category} declared permanently lost by {by}")),
        "credit.incident" => cents(d).map(|c| match after(d, "run ") {
            Some(run) => format!("{} incident credit by {by} (batch run {run})", money(c)),
            None => format!("{} incident credit by {by}", money(c)),
        }),
        "credit.request" => cents(d).map(|c| {
            let kind = d.split_whitespace().next().unwrap_or("appreciation");
            format!("{} {kind} credit requested by {by}", money(c))
        }),
        "credit.approve" => cents(d).map(|c| match number_after(d, "request ") {
            Some(req) => format!(
                "{} appreciation credit approved by {by} (request #{req})",
                money(c)
            ),
            None => format!("{} appreciation credit approved by {by}", money(c)),
        }),
        "credit.reject" => cents(d).map(|c| {
            let kind = d.split_whitespace().next().unwrap_or("appreciation");
            match number_after(d, "request ") {
                Some(req) => format!("{} {kind} request #{req} rejected by {by}", money(c)),
                None => format!("{} {kind} request rejected by {by}", money(c)),
            }
        }),
        "credit.goodwill" => cents(d).map(|c| format!("{} goodwill credit by {by}", money(c))),
        "credit.reverse" => cents(d).map(|c| match number_after(d, "reverses ") {
            Some(id) => format!("credit #{id} reversed by {by}: {}", money(c)),
            None => format!("credit reversed by {by}: {}", money(c)),
        }),
        "restore.apply" => restore_applied(d, by),
        "restore.undo" => restore_undone(d, by),
        "device.resync" => resynced(d, by),
        "agent.add" => r.object_id.map(|login| match d.strip_prefix("role ") {
            Some(role) => format!("agent {login} added as {role} by {by}"),
            None => format!("agent {login} added by {by}"),
        }),
        "agent.init" => r
            .object_id
            .map(|login| format!("{login} made the first supervisor")),
        "agent.disable" => r
            .object_id
            .map(|login| format!("agent {login} disabled by {by}{}", sessions_ended(d))),
        "agent.enable" => r
            .object_id
            .map(|login| format!("agent {login} enabled by {by}")),
        "agent.role" => r.object_id.and_then(|login| {
            let (from, to) = d.strip_prefix("role ")?.split_once(" -> ")?;
            let to = to.split(';').next().unwrap_or(to);
            Some(format!(
                "agent {login}'s role changed from {from} to {to} by {by}"
            ))
        }),
        "agent.password" => r.object_id.map(|login| {
            if d.starts_with("one-time password changed") {
                format!("{login} replaced their one-time password")
            } else {
                format!("one-time password set for {login} by {by}")
            }
        }),
        "session.login" => Some(match d.strip_prefix("until ") {
            Some(until) => format!("{by} logged in (session until {until})"),
            None if d.is_empty() => format!("login as {by} refused"),
            None => format!("login as {by} refused: {d}"),
        }),
        "session.logout" => Some(format!("{by} logged out")),
        "import.accounts" | "import.impact" | "import.backups" => {
            let what = r.action.trim_start_matches("import.");
            Some(format!("{what} imported by {by}: {d}"))
        }
        "batch.start" => Some(match r.object_id {
            Some(run) => format!("batch credit {run} started by {by}"),
            None => format!("batch credit run started by {by}"),
        }),
        "batch.end" => Some(format!(
            "batch credit {} finished: {}",
            r.object_id.unwrap_or("run"),
            with_money(d, currency)
        )),
        "config.set" => d.split_once(" = ").map(|(key, value)| match key {
            "goodwill_cap_cents" => match value.parse::<i64>() {
                Ok(c) => format!("goodwill cap set to {} by {by}", money(c)),
                Err(_) => format!("goodwill cap set to {value} by {by}"),
            },
            "mask_roles" => format!("customers masked for {value} (set by {by})"),
            _ => format!("setting {key} set to {value} by {by}"),
        }),
        "db.grant" => Some(format!("database rights granted by {by}: {d}")),
        "demo.build" => Some(format!("demo database built by {by}")),
        "advice.record" => advice_sentence(d, by),
        "callback.add" => d
            .strip_prefix("due ")
            .and_then(|rest| rest.split(';').next())
            .and_then(|due| chrono::DateTime::parse_from_rfc3339(due.trim()).ok())
            .map(|due| {
                let due = due.with_timezone(&chrono::Utc).format("%Y-%m-%d %H:%M UTC");
                match r.object_id {
                    Some(id) => format!("callback #{id} set by {by} for {due}"),
                    None => format!("callback set by {by} for {due}"),
                }
            }),
        "callback.done" => Some(match r.object_id {
            Some(id) => format!("called back by {by} (callback #{id})"),
            None => format!("called back by {by}"),
        }),
        "callback.cancelled" => Some(match r.object_id {
            Some(id) => format!("callback #{id} cancelled by {by}"),
            None => format!("callback cancelled by {by}"),
        }),
        "outreach.export" => Some(format!("outreach list exported by {by}: {d}")),
        "outreach.delivered" => Some(format!("delivery report read by {by}: {d}")),
        "incident.define" => Some(match r.object_id {
            Some(id) => format!("incident {id} defined by {by}"),
            None => format!("incident defined by {by}"),
        }),
        _ => None,
    };
    said.unwrap_or_else(|| fallback(r))
}

/// "advised by alice (call)", or for a gateway's delivery "advised by SMS (outreach out-7,
/// recorded by sofia)".
fn advice_sentence(d: &str, by: &str) -> Option<String> {
    let (channel, outreach) = match d.split_once(';') {
        Some((c, o)) => (c.trim(), Some(o.trim())),
        None => (d, None),
    };
    let channel: super::Channel = channel.parse().ok()?;
    Some(match outreach {
        Some(o) => format!(
            "advised by {} (outreach {o}, recorded by {by})",
            channel.words()
        ),
        None => format!("advised by {by} ({})", channel.words()),
    })
}

/// An action without its own sentence, or whose detail did not read as expected: what
/// happened in words from its name, who did it, and the detail as written.
fn fallback(r: &Record<'_>) -> String {
    let what = r.action.replace(['.', '_'], " ");
    let d = r.detail.trim();
    if d.is_empty() {
        format!("{what} by {}", r.agent)
    } else {
        format!("{what} by {}: {d}", r.agent)
    }
}

/// The amount in "… 1999 cents …" (negative for a reversal).
fn cents(d: &str) -> Option<i64> {
    let words: Vec<&str> = d.split_whitespace().collect();
    words
        .windows(2)
        .find(|w| w[1].trim_end_matches([',', ';']) == "cents")
        .and_then(|w| w[0].parse().ok())
}

/// The word after `prefix` in `d`, without trailing punctuation.
fn after<'a>(d: &'a str, prefix: &str) -> Option<&'a str> {
    let (_, rest) = d.split_once(prefix)?;
    let word = rest.split_whitespace().next()?;
    Some(word.trim_end_matches([',', ';', ':']))
}

fn number_after(d: &str, prefix: &str) -> Option<i64> {
    after(d, prefix)?.parse().ok()
}

/// "; 2 session(s) ended" → ", 2 session(s) ended".
fn sessions_ended(d: &str) -> String {
    d.split_once("; ")
        .map(|(_, s)| format!(", {s}"))
        .unwrap_or_default()
}

/// The detail with every "N cents" written as money.
fn with_money(d: &str, currency: &str) -> String {
    let mut out: Vec<String> = Vec::new();
    let words: Vec<&str> = d.split(' ').collect();
    let mut i = 0;
    while i < words.len() {
        let next = words.get(i + 1).copied().unwrap_or("");
        let unit = next.trim_end_matches([',', ';']);
        match (words[i].parse::<i64>(), unit == "cents") {
            (Ok(c), true) => {
                out.push(format!(
                    "{}{}",
                    format_cents(c, currency),
                    &next[unit.len()..]
                ));
                i += 2;
            }
            _ => {
                out.push(words[i].to_string());
                i += 1;
            }
        }
    }
    out.join(" ")
}

/// "backup B, merge: contacts 64 in backup, 50 added, 2 filled, 0 flagged, 0 removed, 0
/// corrupt; …; restored-partial" → "merge restore from backup B by alice: contacts 50 added,
/// 2 filled; now restored-partial".
fn restore_applied(d: &str, by: &str) -> Option<String> {
    let rest = d.strip_prefix("backup ")?;
    let (backup, rest) = rest.split_once(", ")?;
    let (mode, rest) = rest.split_once(": ")?;
    let mut parts: Vec<&str> = rest.split("; ").collect();
    let result = parts.pop()?;
    let cats: Vec<String> = parts.iter().filter_map(|p| restored_category(p)).collect();
    if cats.is_empty() {
        return None;
    }
    Some(format!(
        "{mode} restore from backup {backup} by {by}: {}; now {result}",
        cats.join("; ")
    ))
}

/// "contacts 64 in backup, 50 added, 2 filled, 0 flagged, 0 removed, 0 corrupt" →
/// "contacts 50 added, 2 filled" (counts of zero left out, the items added always said).
fn restored_category(p: &str) -> Option<String> {
    let (category, counts) = p.split_once(' ')?;
    let mut said = Vec::new();
    for c in counts.split(", ") {
        let (n, what) = c.split_once(' ')?;
        let n: i64 = n.parse().ok()?;
        match what {
            "in backup" => {}
            "added" => said.push(format!("{n} added")),
            "flagged" if n > 0 => said.push(format!("{n} flagged for review")),
            "corrupt" if n > 0 => said.push(format!("{n} corrupt left out")),
            _ if n > 0 => said.push(format!("{n} {what}")),
            _ => {}
        }
    }
    Some(format!("{category} {}", said.join(", ")))
}

/// "restore 4 of backup B: contacts 50 removed, 14 put back" → "restore #4 (backup B) undone
/// by sofia: contacts 50 removed, 14 put back".
fn restore_undone(d: &str, by: &str) -> Option<String> {
    let rest = d.strip_prefix("restore ")?;
    let (id, rest) = rest.split_once(" of backup ")?;
    let (backup, cats) = rest.split_once(": ")?;
    Some(format!(
        "restore #{id} (backup {backup}) undone by {by}: {cats}"
    ))
}

/// "contacts: 300 of 300 items re-synced from the device; at-risk -> restored-full" →
/// "contacts re-synced from the phone by alice: 300 of 300 items; now restored-full".
fn resynced(d: &str, by: &str) -> Option<String> {
    let (category, rest) = d.split_once(": ")?;
    let (counts, statuses) = rest.split_once(" re-synced from the device")?;
    let now = statuses.split(" -> ").nth(1).map(str::trim);
    Some(match now {
        Some(s) => format!("{category} re-synced from the phone by {by}: {counts}; now {s}"),
        None => format!("{category} re-synced from the phone by {by}: {counts}"),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn say(action: &str, object_id: Option<&str>, detail: &str) -> String {
        sentence(
            &Record {
                action,
                agent: "alice",
                object_id,
                detail,
            },
            "USD",
        )
    }

    #[test]
    fn credits_read_as_money_by_whom() {
        assert_eq!(
            say("credit.incident", Some("12"), "1999 cents"),
            "$19.99 incident credit by alice"
        );
        assert_eq!(
            say("credit.incident", Some("12"), "2999 cents, run 3"),
            "$29.99 incident credit by alice (batch run 3)"
        );
        assert_eq!(
            say(
                "credit.request",
                Some("request 4"),
                "appreciation 10000 cents"
            ),
            "$100.00 appreciation credit requested by alice"
        );
        assert_eq!(
            say("credit.approve", Some("13"), "request 4, 10000 cents"),
            "$100.00 appreciation credit approved by alice (request #4)"
        );
        assert_eq!(
            say(
                "credit.reject",
                Some("request 4"),
                "appreciation request 4, 10000 cents; 23 characters of reason"
            ),
            "$100.00 appreciation request #4 rejected by alice"
        );
        assert_eq!(
            say("credit.goodwill", Some("14"), "2500 cents"),
            "$25.00 goodwill credit by alice"
        );
        assert_eq!(
            say("credit.reverse", Some("15"), "reverses 12, -1999 cents"),
            "credit #12 reversed by alice: -$19.99"
        );
        assert_eq!(
            sentence(
                &Record {
                    action: "credit.goodwill",
                    agent: "alice",
                    object_id: None,
                    detail: "123456 cents",
                },
                "EUR"
            ),
            "1,234.56 EUR goodwill credit by alice"
        );
    }

    #[test]
    fn advice_and_callbacks_read_as_what_happened() {
        assert_eq!(
            say("advice.record", Some("i1"), "call"),
            "advised by alice (call)"
        );
        assert_eq!(
            say("advice.record", Some("i1"), "sms; out-7"),
            "advised by SMS (outreach out-7, recorded by alice)"
        );
        assert_eq!(
            say(
                "callback.add",
                Some("4"),
                "due 2009-10-14T09:00:00Z; note of 12 characters"
            ),
            "callback #4 set by alice for 2009-10-14 09:00 UTC"
        );
        assert_eq!(
            say("callback.done", Some("4"), ""),
            "called back by alice (callback #4)"
        );
        assert_eq!(
            say("callback.cancelled", Some("4"), ""),
            "callback #4 cancelled by alice"
        );
        // A detail that does not read as expected still names what happened.
        assert_eq!(
            say("advice.record", Some("i1"), "pigeon"),
            "advice record by alice: pigeon"
        );
    }

    #[test]
    fn views_notes_and_declarations_read_as_what_happened() {
        assert_eq!(say("account.view", None, ""), "viewed by alice");
        assert_eq!(
            say(
                "account.reveal",
                None,
                "unmasked name, e-mail and phone number"
            ),
            "name, e-mail and phone shown in full to alice"
        );
        assert_eq!(
            say("note", None, "Advised: do not reset"),
            "note by alice: Advised: do not reset"
        );
        assert_eq!(
            say("note.add", Some("3"), "21 characters"),
            "note added by alice"
        );
        assert_eq!(
            say(
                "loss.declare",
                Some("calendar"),
                "calendar permanently lost: 24 characters of reason"
            ),
            "calendar declared permanently lost by alice"
        );
    }

    #[test]
    fn restores_undos_and_resyncs_read_as_counts() {
        assert_eq!(
            say(
                "restore.apply",
                Some("restore 4"),
                "backup bk-1, merge: contacts 64 in backup, 50 added, 2 filled, 0 flagged, 0 removed, 0 corrupt; photos 10 in backup, 0 added, 0 filled, 3 flagged, 0 removed, 1 corrupt; restored-partial"
            ),
            "merge restore from backup bk-1 by alice: contacts 50 added, 2 filled; photos 0 added, 3 flagged for review, 1 corrupt left out; now restored-partial"
        );
        assert_eq!(
            say(
                "restore.undo",
                Some("restore 4"),
                "restore 4 of backup bk-1: contacts 50 removed, 14 put back"
            ),
            "restore #4 (backup bk-1) undone by alice: contacts 50 removed, 14 put back"
        );
        assert_eq!(
            say(
                "device.resync",
                None,
                "contacts: 300 of 300 items re-synced from the device; at-risk -> restored-full"
            ),
            "contacts re-synced from the phone by alice: 300 of 300 items; now restored-full"
        );
    }

    #[test]
    fn agent_changes_sessions_and_operations_read_as_sentences() {
        assert_eq!(
            say("agent.add", Some("eve"), "role auditor"),
            "agent eve added as auditor by alice"
        );
        assert_eq!(
            say(
                "agent.disable",
                Some("bob"),
                "role agent; 2 session(s) ended"
            ),
            "agent bob disabled by alice, 2 session(s) ended"
        );
        assert_eq!(
            say("agent.enable", Some("bob"), "role agent"),
            "agent bob enabled by alice"
        );
        assert_eq!(
            say("agent.role", Some("bob"), "role agent -> supervisor"),
            "agent bob's role changed from agent to supervisor by alice"
        );
        assert_eq!(
            say("agent.init", Some("sofia"), "first supervisor sofia"),
            "sofia made the first supervisor"
        );
        assert_eq!(
            say(
                "agent.password",
                Some("bob"),
                "one-time password set; 0 session(s) ended"
            ),
            "one-time password set for bob by alice"
        );
        assert_eq!(
            say("session.login", Some("alice"), "until 2009-10-14T16:00:00Z"),
            "alice logged in (session until 2009-10-14T16:00:00Z)"
        );
        assert_eq!(
            say("session.login", Some("alice"), "wrong password"),
            "login as alice refused: wrong password"
        );
        assert_eq!(
            say("config.set", None, "goodwill_cap_cents = 5000"),
            "goodwill cap set to $50.00 by alice"
        );
        assert_eq!(
            say(
                "batch.end",
                Some("run 3"),
                "selected 10, credited 9, already 1, ineligible 0, invalid 0, failed 0, total 17991 cents"
            ),
            "batch credit run 3 finished: selected 10, credited 9, already 1, ineligible 0, invalid 0, failed 0, total $179.91"
        );
        assert_eq!(
            say("import.accounts", None, "a.csv: 3 rows, 3 new, 0 changed"),
            "accounts imported by alice: a.csv: 3 rows, 3 new, 0 changed"
        );
    }

    #[test]
    fn an_unknown_action_or_an_unexpected_detail_still_says_who_did_what() {
        assert_eq!(
            say("incident.edit", Some("danger-2009-10"), "advisory"),
            "incident edit by alice: advisory"
        );
        assert_eq!(
            say("credit.incident", None, "a lot"),
            "credit incident by alice: a lot"
        );
        assert_eq!(say("callback.snooze", None, ""), "callback snooze by alice");
    }
}
