//! `restore preview|apply|undo|list` and `resync`: parse the arguments, call the service,
//! print a table for people or one JSON object for scripts (docs/commands.md).

use std::fmt::Write as _;

use serde_json::{Value, json};

use super::print::{clean, print};
use super::{Format, RestoreArgs, RestoreCommand};
use crate::desk::Desk;
use crate::domain::Category;
use crate::domain::restore::Mode;
use crate::domain::{RestoreCategory, RestoreOutcome, RestoreRecord, RestoreReport, UndoReport};
use crate::error::{Error, Result};

fn categories(args: &RestoreArgs) -> Result<Vec<Category>> {
    args.categories
        .iter()
        .map(|c| c.parse::<Category>().map_err(Error::invalid))
        .collect()
}

fn category_json(c: &RestoreCategory) -> Value {
    json!({
        "category": c.category.as_str(),
        "in_backup": c.counts.in_backup,
        "to_add": c.counts.to_add,
        "present": c.counts.present,
        "conflicting": c.counts.conflicting,
        "corrupt": c.counts.corrupt,
        "add": c.counts.add,
        "fill": c.counts.fill,
        "flag": c.counts.flag,
        "remove": c.counts.remove,
        "live_before": c.counts.live_before,
        "live_after": c.counts.live_after,
        "recovered": c.counts.recovered,
        "items_before": c.items_before,
        "result": c.result,
        "status": c.status.map(|s| s.as_str()),
    })
}

pub fn report_json(r: &RestoreReport) -> Value {
    let mut v = json!({
        "outcome": r.outcome.as_str(),
        "account_no": r.account_no,
        "backup_id": r.backup_id,
        "verification": r.verification,
        "mode": r.mode.as_str(),
        "result": r.result,
        "corrupt": r.corrupt(),
        "categories": r.categories.iter().map(category_json).collect::<Vec<_>>(),
    });
    if r.outcome != RestoreOutcome::Preview {
        v["restore_id"] = json!(r.restore_id);
    }
    v
}

fn table(o: &mut String, cats: &[RestoreCategory]) {
    let _ = writeln!(
        o,
        "  {:<9} {:>9} {:>7} {:>8} {:>12} {:>8}  | {:>5} {:>5} {:>5} {:>7}  | live before → after",
        "category",
        "in backup",
        "to add",
        "present",
        "conflicting",
        "corrupt",
        "add",
        "fill",
        "flag",
        "remove"
    );
    for c in cats {
        let n = &c.counts;
        let _ = writeln!(
            o,
            "  {:<9} {:>9} {:>7} {:>8} {:>12} {:>8}  | {:>5} {:>5} {:>5} {:>7}  | {} → {}",
            c.category.as_str(),
            n.in_backup,
            n.to_add,
            n.present,
            n.conflicting,
            n.corrupt,
            n.add,
            n.fill,
            n.flag,
            n.remove,
            n.live_before,
            n.live_after
        );
    }
}

fn results(o: &mut String, cats: &[RestoreCategory], would: bool) {
    for c in cats {
        let before = c
            .items_before
            .map(|b| format!(" of {b} before the incident"))
            .unwrap_or_default();
        let _ = writeln!(
            o,
            "  {}: {}{} ({} backup items back{before}){}",
            c.category,
            if would { "would be " } else { "" },
            c.result,
            c.set_recovered.unwrap_or(c.counts.recovered),
            c.status
                .map(|s| format!(", status {}", s.as_str()))
                .unwrap_or_default()
        );
    }
}

pub fn report_text(r: &RestoreReport) -> String {
    let mut o = String::new();
    let head = format!(
        "account {} from backup {} ({}), mode {}",
        r.account_no,
        clean(&r.backup_id),
        r.verification,
        r.mode
    );
    match r.outcome {
        RestoreOutcome::Preview => {
            let _ = writeln!(o, "restore preview: {head} (nothing written)");
        }
        RestoreOutcome::Restored => {
            let _ = writeln!(
                o,
                "restore #{}: {head}: {}",
                r.restore_id.unwrap_or_default(),
                r.result
            );
        }
        RestoreOutcome::AlreadyRestored => {
            let _ = writeln!(
                o,
                "already restored by restore #{}: {head}; nothing changed",
                r.restore_id.unwrap_or_default()
            );
        }
        RestoreOutcome::NothingToRestore => {
            let _ = writeln!(
                o,
                "nothing to restore: the live items already hold what backup {} can give; nothing changed",
                clean(&r.backup_id)
            );
        }
    }
    table(&mut o, &r.categories);
    results(&mut o, &r.categories, r.outcome == RestoreOutcome::Preview);
    let corrupt = r.corrupt();
    if corrupt > 0 {
        let _ = writeln!(
            o,
            "  {corrupt} item(s) do not match their hashes and {} restored",
            if r.outcome == RestoreOutcome::Preview {
                "would not be"
            } else {
                "were not"
            }
        );
    }
    if r.mode == Mode::Replace && r.outcome == RestoreOutcome::Preview {
        let removed: i64 = r.categories.iter().map(|c| c.counts.remove).sum();
        if removed > 0 {
            let _ = writeln!(
                o,
                "  replace would remove {removed} live item(s) (archived first; undo brings them back)"
            );
        }
    }
    if r.outcome == RestoreOutcome::Restored
        && let Some(id) = r.restore_id
    {
        let _ = writeln!(o, "  undo (supervisor): caredesk restore undo {id}");
    }
    o
}

fn undo_json(u: &UndoReport) -> Value {
    json!({
        "restore_id": u.restore_id,
        "account_no": u.account_no,
        "result": if u.already_undone { "already-undone" } else { "undone" },
        "undone_by": u.undone_by,
        "categories": u.categories.iter().map(|c| json!({
            "category": c.category.as_str(),
            "removed": c.removed,
            "put_back": c.put_back,
            "live_after": c.live_after,
            "status": c.status.map(|s| s.as_str()),
        })).collect::<Vec<_>>(),
    })
}

fn undo_text(u: &UndoReport) -> String {
    if u.already_undone {
        return format!(
            "restore #{} was already undone by {}; nothing changed\n",
            u.restore_id,
            u.undone_by.as_deref().map(clean).unwrap_or_default()
        );
    }
    let mut o = format!(
        "undid restore #{} of account {}: the live items are back as they were before it\n",
        u.restore_id, u.account_no
    );
    for c in &u.categories {
        let _ = writeln!(
            o,
            "  {}: {} restored item(s) removed, {} put back, {} live{}",
            c.category,
            c.removed,
            c.put_back,
            c.live_after,
            c.status
                .map(|s| format!(", status {}", s.as_str()))
                .unwrap_or_default()
        );
    }
    o
}

fn record_json(r: &RestoreRecord) -> Value {
    json!({
        "restore_id": r.id,
        "account_no": r.account_no,
        "backup_id": r.backup_id,
        "mode": r.mode,
        "agent": r.agent,
        "result": r.result,
        "created_at": r.created_at,
        "undone_by": r.undone_by,
        "undone_at": r.undone_at,
        "categories": r.categories.iter().map(category_json).collect::<Vec<_>>(),
    })
}

fn records_text(list: &[RestoreRecord]) -> String {
    if list.is_empty() {
        return "no restores\n".to_string();
    }
    let mut o = String::new();
    for r in list {
        let cats: Vec<String> = r
            .categories
            .iter()
            .map(|c| format!("{} +{}", c.category, c.counts.add))
            .collect();
        let _ = writeln!(
            o,
            "#{:<5} {}  {:<9} {:<25} {:<16} {:<10} {}{}",
            r.id,
            r.created_at.format("%Y-%m-%d %H:%M"),
            r.mode.as_str(),
            clean(&r.backup_id),
            clean(&r.result),
            clean(&r.agent),
            cats.join(", "),
            r.undone_by
                .as_deref()
                .map(|by| format!("  (undone by {})", clean(by)))
                .unwrap_or_default()
        );
    }
    o
}

pub async fn run(desk: &Desk, format: Format, command: RestoreCommand) -> Result<()> {
    match command {
        RestoreCommand::Preview(args) => {
            let mode: Mode = args.mode.parse().map_err(Error::invalid)?;
            let cats = categories(&args)?;
            let r = desk
                .restore_preview(args.account.clone(), args.backup.clone(), cats, mode)
                .await?;
            print(format, report_text(&r), report_json(&r))
        }
        RestoreCommand::Apply(args) => {
            let mode: Mode = args.mode.parse().map_err(Error::invalid)?;
            let cats = categories(&args)?;
            let r = desk
                .restore_apply(args.account.clone(), args.backup.clone(), cats, mode)
                .await?;
            print(format, report_text(&r), report_json(&r))
        }
        RestoreCommand::Undo { restore_id } => {
            let u = desk.restore_undo(restore_id).await?;
            print(format, undo_text(&u), undo_json(&u))
        }
        RestoreCommand::List { account } => {
            let list = desk.restores(account).await?;
            print(
                format,
                records_text(&list),
                json!({ "results": list.iter().map(record_json).collect::<Vec<_>>() }),
            )
        }
    }
}

pub async fn resync(
    desk: &Desk,
    format: Format,
    account: &str,
    category: &str,
    items: Option<i64>,
    incident: Option<&str>,
) -> Result<()> {
    let category: Category = category.parse().map_err(Error::invalid)?;
    let r = desk
        .record_resync(
            account.to_string(),
            incident.map(str::to_string),
            category,
            items,
        )
        .await?;
    let text = if r.changed {
        format!(
            "recorded a device re-sync of account {}'s {}: {} of {} items; {} → {}\n",
            r.account_no, r.category, r.items, r.items_before, r.status_before, r.status
        )
    } else {
        format!(
            "account {}'s {} already count {} or more items recovered; nothing changed ({})\n",
            r.account_no, r.category, r.items, r.status
        )
    };
    print(
        format,
        text,
        json!({
            "account_no": r.account_no,
            "category": r.category.as_str(),
            "items": r.items,
            "items_before": r.items_before,
            "changed": r.changed,
            "status_before": r.status_before.as_str(),
            "status": r.status.as_str(),
        }),
    )
}
