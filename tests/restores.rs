//! Restores on demo data, on one backend (SQLite, or PostgreSQL when CAREDESK_TEST_PG is set):
//! previews that write nothing, merges that never lose what the customer typed in again,
//! replays that add nothing, keep-both copies, replace for supervisors only, undo back to the
//! exact prior items (and its refusal when the customer's data changed), corrupt and partial
//! snapshots, device re-syncs, and the backups import.

mod common;

use std::collections::HashMap;

use caredesk::Error;
use caredesk::domain::restore::Mode;
use caredesk::domain::{Actor, RequestOutcome, RestoreOutcome};
use caredesk::domain::{Category, CategoryStatus, Role};
use common::World;
use common::restore::{count, count_for, execute, live_hash, live_rows, statuses};
use serde_json::Value;

const JOSE: &str = "310000001";
const JOSE_BACKUP: &str = "snap-310000001-20091001";

/// The demo's first 200 accounts carry backup items; later ones only manifests.
async fn demo() -> World {
    World::demo(200, 2009).await
}

/// An agent (not a supervisor) of the demo.
async fn agent(w: &World) -> (common::Svc, Actor) {
    w.as_agent("ct_alice", Role::Agent).await
}

async fn audit_records(w: &World) -> i64 {
    count(w.store(), "SELECT COUNT(*) FROM audit").await
}

async fn restores(w: &World) -> i64 {
    count(w.store(), "SELECT COUNT(*) FROM restores").await
}

/// An account of the test's own whose three contacts the incident lost with the device, and
/// one snapshot of them with `verification`: "partial" (one item does not match its hash) or
/// "corrupt" (the snapshot's checksum does not match its items). Returns the account and the
/// snapshot's id.
async fn account_with_backup(w: &World, verification: &str) -> (String, String) {
    let (account, phone) = match verification {
        "partial" => ("730000001", "+12065550301"),
        "corrupt" => ("730000002", "+12065550302"),
        other => panic!("no such snapshot in these tests: {other}"),
    };
    w.accounts(
        "restore-accounts.csv",
        &format!(
            "account_no,msisdn,name,email,status,plan_code,plan_cents\n\
             {account},{phone},Resto Rer,,active,SK-DATA,1999\n"
        ),
    )
    .await
    .expect("account");
    w.impact(
        "restore-impact.csv",
        &format!(
            "account_no,incident,category,server_lost,device_state,items_before\n\
             {account},danger-2009-10,contacts,true,wiped,3\n"
        ),
    )
    .await
    .expect("impact");
    let items: Vec<Value> = (1..=3)
        .map(|i| {
            let payload = serde_json::json!({
                "name": format!("Friend {i}"),
                "phone": format!("+1 206 555 03{:02}", 10 + i),
            });
            let good = caredesk::domain::items::content_hash(&payload);
            let hash = if verification == "partial" && i == 2 {
                "0".repeat(64)
            } else {
                good
            };
            serde_json::json!({"category": "contacts", "uid": format!("c-{i}"),
                "content_hash": hash, "payload": payload})
        })
        .collect();
    let backup = format!("snap-{account}-20091001");
    let mut line = serde_json::json!({"id": backup, "account_no": account,
        "taken_at": "2009-10-01T03:00:00Z", "source": "server-snapshot", "items": items});
    if verification == "corrupt" {
        line["checksum"] = Value::from("0".repeat(64));
    }
    w.backups("restore-backups.jsonl", &format!("{line}\n"))
        .await
        .expect("snapshot");
    (account.to_string(), backup)
}

/// Checks that the audit chain stayed valid, then closes the world.
async fn finish_with_a_valid_chain(w: World) {
    let v = w.svc.audit_verify(&w.sup).await.expect("verify");
    assert_eq!(v.first_bad, None, "the audit chain stays valid");
    w.finish().await;
}

fn status_of(list: &[(String, String)], cat: &str) -> String {
    list.iter()
        .find(|(c, _)| c == cat)
        .map(|(_, s)| s.clone())
        .unwrap_or_default()
}

fn payloads(rows: &[common::restore::LiveRow]) -> HashMap<(String, String), Value> {
    rows.iter()
        .map(|r| {
            (
                (r.0.clone(), r.1.clone()),
                serde_json::from_str(&r.3).expect("payload"),
            )
        })
        .collect()
}

fn is_empty(v: &Value) -> bool {
    caredesk::domain::restore::is_empty_value(v)
}

#[tokio::test]
async fn a_preview_counts_each_category_and_writes_nothing() {
    let w = demo().await;
    let (svc, agent) = agent(&w).await;
    let before = live_hash(w.store(), JOSE).await;
    let audit = audit_records(&w).await;
    let p = svc
        .restore_preview(&agent, JOSE, JOSE_BACKUP, &[], Mode::Merge)
        .await
        .expect("preview");
    assert_eq!(p.outcome, RestoreOutcome::Preview);
    assert_eq!(p.restore_id, None);
    let contacts = p
        .categories
        .iter()
        .find(|c| c.category == Category::Contacts)
        .expect("contacts in the backup");
    // 64 of José's 300 contacts survive in the snapshot; he typed 8 of them in again, four
    // exactly as they were and four under another name.
    assert_eq!(contacts.counts.in_backup, 64);
    assert_eq!(contacts.counts.present, 4);
    assert_eq!(contacts.counts.conflicting, 4);
    assert_eq!(contacts.counts.to_add, 56);
    assert_eq!(contacts.counts.corrupt, 0);
    for c in &p.categories {
        assert_eq!(
            c.counts.in_backup,
            c.counts.to_add + c.counts.present + c.counts.conflicting + c.counts.corrupt,
            "{} adds up",
            c.category
        );
    }
    assert_eq!(
        live_hash(w.store(), JOSE).await,
        before,
        "no live item changed"
    );
    assert_eq!(audit_records(&w).await, audit, "a preview writes no audit");
    assert_eq!(restores(&w).await, 0);
    finish_with_a_valid_chain(w).await;
}

#[tokio::test]
async fn a_merge_never_deletes_or_overwrites_a_live_value_and_fills_empty_fields() {
    let w = demo().await;
    let (svc, agent) = agent(&w).await;
    // The customer typed in one more contact that the backup holds, by phone only, with an
    // empty name: merge may fill the name, never change the phone.
    let backup_contact: String = on_pool!(w.store(), pool => sqlx::query_scalar(
        "SELECT payload FROM backup_items WHERE backup_id = $1 AND category = 'contacts' AND payload LIKE '%phone%' ORDER BY uid",
    )
    .bind(JOSE_BACKUP)
    .fetch_all(pool)
    .await
    .expect("backup contacts")
    .into_iter()
    .nth(20)
    .expect("a 21st contact"));
    let backup_contact: Value = serde_json::from_str(&backup_contact).expect("json");
    let typed = serde_json::json!({"name": "", "phone": backup_contact["phone"], "note": "typed on the phone"});
    let key = caredesk::domain::items::natural_key(Category::Contacts, &typed);
    let hash = caredesk::domain::items::content_hash(&typed);
    execute(
        w.store(),
        "INSERT INTO live_items (account_id, category, uid, natural_key, payload, content_hash, origin, review, created_at, updated_at) \
         SELECT id, 'contacts', 'typed-1', $2, $3, $4, 'customer', FALSE, '2009-10-10T10:00:00Z', '2009-10-10T10:00:00Z' FROM accounts WHERE account_no = $1",
        &[JOSE, &key, &typed.to_string(), &hash],
    )
    .await;
    let before_rows = live_rows(w.store(), JOSE).await;
    let before = payloads(&before_rows);

    let r = svc
        .restore_apply(&agent, JOSE, JOSE_BACKUP, &[], Mode::Merge)
        .await
        .expect("merge");
    assert_eq!(r.outcome, RestoreOutcome::Restored);
    assert!(r.restore_id.is_some());

    let after = payloads(&live_rows(w.store(), JOSE).await);
    for (k, old) in &before {
        let new = after
            .get(k)
            .unwrap_or_else(|| panic!("live item {k:?} was deleted"));
        for (field, v) in old.as_object().expect("object") {
            if !is_empty(v) {
                assert_eq!(new.get(field), Some(v), "{field} of {k:?} was overwritten");
            }
        }
    }
    let filled = &after[&("contacts".to_string(), "typed-1".to_string())];
    assert_eq!(
        filled["name"], backup_contact["name"],
        "the empty name was filled"
    );
    assert_eq!(filled["note"], "typed on the phone");
    let added: i64 = r.categories.iter().map(|c| c.counts.add).sum();
    assert_eq!(after.len() as i64, before.len() as i64 + added);
    let contacts = &r.categories[0];
    assert_eq!(contacts.category, Category::Contacts);
    assert_eq!(contacts.counts.fill, 1);
    assert_eq!(contacts.counts.remove, 0);

    // 64 of 300 contacts back is partial; a category the snapshot held whole is full.
    let st = statuses(w.store(), JOSE).await;
    assert_eq!(status_of(&st, "contacts"), "restored-partial");
    assert_eq!(contacts.result, "restored-partial");
    assert_eq!(contacts.status, Some(CategoryStatus::RestoredPartial));
    let full: Vec<&str> = r
        .categories
        .iter()
        .filter(|c| c.items_before == Some(c.counts.in_backup))
        .map(|c| c.category.as_str())
        .collect();
    assert!(!full.is_empty(), "José has a category backed up whole");
    for cat in full {
        assert_eq!(status_of(&st, cat), "restored-full", "{cat}");
    }
    assert_eq!(r.result, "restored-partial");

    // Undo takes the filled-in name out again and removes what was added: exactly as before.
    let (sup, actor) = (&w.svc, &w.sup);
    sup.restore_undo(actor, r.restore_id.expect("id"))
        .await
        .expect("undo");
    assert_eq!(live_rows(w.store(), JOSE).await, before_rows);
    finish_with_a_valid_chain(w).await;
}

#[tokio::test]
async fn a_second_identical_restore_adds_nothing_and_names_the_first() {
    let w = demo().await;
    let (svc, agent) = agent(&w).await;
    let first = svc
        .restore_apply(
            &agent,
            JOSE,
            JOSE_BACKUP,
            &[Category::Contacts],
            Mode::Merge,
        )
        .await
        .expect("first");
    let after_first = live_hash(w.store(), JOSE).await;
    let audit = audit_records(&w).await;
    w.clock.advance(chrono::TimeDelta::minutes(3));
    for mode in [Mode::Merge, Mode::Merge] {
        let again = svc
            .restore_apply(&agent, JOSE, JOSE_BACKUP, &[Category::Contacts], mode)
            .await
            .expect("again");
        assert_eq!(again.outcome, RestoreOutcome::AlreadyRestored);
        assert_eq!(again.restore_id, first.restore_id);
        assert_eq!(again.categories[0].counts.add, 0);
        assert_eq!(again.categories[0].counts.fill, 0);
    }
    assert_eq!(live_hash(w.store(), JOSE).await, after_first);
    assert_eq!(audit_records(&w).await, audit);
    assert_eq!(restores(&w).await, 1);
    finish_with_a_valid_chain(w).await;
}

#[tokio::test]
async fn keep_both_adds_conflicting_backup_items_as_copies_flagged_for_review() {
    let w = demo().await;
    let (svc, agent) = agent(&w).await;
    let before = payloads(&live_rows(w.store(), JOSE).await);
    let r = svc
        .restore_apply(
            &agent,
            JOSE,
            JOSE_BACKUP,
            &[Category::Contacts],
            Mode::KeepBoth,
        )
        .await
        .expect("keep-both");
    let c = &r.categories[0];
    assert_eq!((c.counts.conflicting, c.counts.flag), (4, 4));
    assert_eq!(c.counts.add, c.counts.to_add + c.counts.conflicting);
    let rows = live_rows(w.store(), JOSE).await;
    let flagged: Vec<_> = rows.iter().filter(|r| r.6).collect();
    assert_eq!(flagged.len(), 4, "one copy per conflicting item, flagged");
    for f in &flagged {
        assert!(
            f.1.starts_with(JOSE_BACKUP),
            "a copy names its backup: {}",
            f.1
        );
        assert_eq!(f.5, "restore");
    }
    let after = payloads(&rows);
    for (k, v) in &before {
        assert_eq!(after.get(k), Some(v), "keep-both left {k:?} untouched");
    }
    // A replay in keep-both (or merge) finds the copies and adds nothing.
    let again = svc
        .restore_apply(
            &agent,
            JOSE,
            JOSE_BACKUP,
            &[Category::Contacts],
            Mode::KeepBoth,
        )
        .await
        .expect("replay");
    assert_eq!(again.outcome, RestoreOutcome::AlreadyRestored);
    finish_with_a_valid_chain(w).await;
}

#[tokio::test]
async fn replace_is_refused_to_an_agent_and_makes_the_live_set_the_backups_for_a_supervisor() {
    let w = demo().await;
    let (svc, agent) = agent(&w).await;
    let before = live_hash(w.store(), JOSE).await;
    let audit = audit_records(&w).await;
    let err = svc
        .restore_apply(
            &agent,
            JOSE,
            JOSE_BACKUP,
            &[Category::Contacts],
            Mode::Replace,
        )
        .await
        .expect_err("an agent may not replace");
    assert!(matches!(err, Error::Refused(_)), "{err}");
    assert_eq!(err.exit_code(), 3);
    assert!(
        err.to_string().contains("may not run a replace restore"),
        "{err}"
    );
    assert_eq!(live_hash(w.store(), JOSE).await, before);
    assert_eq!(audit_records(&w).await, audit);

    let (sup, sup_actor) = (&w.svc, &w.sup);
    let r = sup
        .restore_apply(
            sup_actor,
            JOSE,
            JOSE_BACKUP,
            &[Category::Contacts],
            Mode::Replace,
        )
        .await
        .expect("a supervisor may");
    assert!(
        r.categories[0].counts.remove > 0,
        "the re-entered contacts go"
    );
    let mut live: Vec<String> = live_rows(w.store(), JOSE)
        .await
        .into_iter()
        .filter(|r| r.0 == "contacts")
        .map(|r| r.4)
        .collect();
    let mut backup: Vec<String> = on_pool!(w.store(), pool => sqlx::query_scalar(
        "SELECT content_hash FROM backup_items WHERE backup_id = $1 AND category = 'contacts' AND hash_ok",
    )
    .bind(JOSE_BACKUP)
    .fetch_all(pool)
    .await
    .expect("hashes"));
    live.sort();
    backup.sort();
    assert_eq!(live, backup, "the live contacts are exactly the backup's");
    finish_with_a_valid_chain(w).await;
}

#[tokio::test]
async fn undo_gives_back_exactly_the_prior_items_after_every_mode() {
    let w = demo().await;
    let (sup, actor) = (&w.svc, &w.sup);
    let before = live_hash(w.store(), JOSE).await;
    let before_status = statuses(w.store(), JOSE).await;
    for mode in Mode::ALL {
        w.clock.advance(chrono::TimeDelta::minutes(1));
        let r = sup
            .restore_apply(actor, JOSE, JOSE_BACKUP, &[], mode)
            .await
            .expect("restore");
        assert_eq!(r.outcome, RestoreOutcome::Restored, "{mode}");
        assert_ne!(
            live_hash(w.store(), JOSE).await,
            before,
            "{mode} changed items"
        );
        w.clock.advance(chrono::TimeDelta::minutes(1));
        let u = sup
            .restore_undo(actor, r.restore_id.expect("id"))
            .await
            .expect("undo");
        assert!(!u.already_undone);
        assert_eq!(
            live_hash(w.store(), JOSE).await,
            before,
            "undo of {mode} gives back every item, field by field"
        );
        assert_eq!(statuses(w.store(), JOSE).await, before_status, "{mode}");
        let again = sup
            .restore_undo(actor, r.restore_id.expect("id"))
            .await
            .expect("second undo");
        assert!(again.already_undone, "a second undo changes nothing");
    }
    finish_with_a_valid_chain(w).await;
}

#[tokio::test]
async fn undo_refuses_when_the_customer_changed_data_since_and_says_what_changed() {
    let w = demo().await;
    let (svc, agent) = agent(&w).await;
    let r = svc
        .restore_apply(
            &agent,
            JOSE,
            JOSE_BACKUP,
            &[Category::Contacts],
            Mode::Merge,
        )
        .await
        .expect("merge");
    let id = r.restore_id.expect("id");
    let (sup, actor) = (&w.svc, &w.sup);

    // An agent may not undo at all.
    let err = svc.restore_undo(&agent, id).await.expect_err("agent");
    assert_eq!(err.exit_code(), 3);

    // The customer types in a new contact and edits a restored one.
    execute(
        w.store(),
        "INSERT INTO live_items (account_id, category, uid, natural_key, payload, content_hash, origin, review, created_at, updated_at) \
         SELECT id, 'contacts', 'typed-after', 'name:new friend', '{\"name\":\"New Friend\"}', 'h1', 'customer', FALSE, \
         '2009-10-20T10:00:00Z', '2009-10-20T10:00:00Z' FROM accounts WHERE account_no = $1",
        &[JOSE],
    )
    .await;
    let restored_uid = format!("{JOSE_BACKUP}/contacts-10");
    execute(
        w.store(),
        "UPDATE live_items SET payload = '{\"name\":\"Edited\"}', content_hash = 'h2' WHERE uid = $1",
        &[&restored_uid],
    )
    .await;
    let before = live_hash(w.store(), JOSE).await;
    let audit = audit_records(&w).await;
    let err = sup
        .restore_undo(actor, id)
        .await
        .expect_err("changed since");
    assert!(matches!(err, Error::Refused(_)), "{err}");
    let msg = err.to_string();
    assert!(msg.contains("changed since restore"), "{msg}");
    assert!(msg.contains("1 item added"), "{msg}");
    assert!(msg.contains("1 item changed"), "{msg}");
    assert!(msg.contains("typed-after"), "{msg}");
    assert!(msg.contains("nothing was undone"), "{msg}");
    assert_eq!(live_hash(w.store(), JOSE).await, before, "nothing lost");
    assert_eq!(audit_records(&w).await, audit);
    assert_eq!(
        count(
            w.store(),
            "SELECT COUNT(*) FROM restores WHERE undone_at IS NOT NULL"
        )
        .await,
        0
    );
    finish_with_a_valid_chain(w).await;
}

#[tokio::test]
async fn undo_waits_for_a_later_restore_of_the_same_category_to_be_undone_first() {
    let w = demo().await;
    let (sup, actor) = (&w.svc, &w.sup);
    let before = live_hash(w.store(), JOSE).await;
    let first = sup
        .restore_apply(actor, JOSE, JOSE_BACKUP, &[Category::Contacts], Mode::Merge)
        .await
        .expect("merge")
        .restore_id
        .expect("id");
    let second = sup
        .restore_apply(
            actor,
            JOSE,
            JOSE_BACKUP,
            &[Category::Contacts],
            Mode::Replace,
        )
        .await
        .expect("replace")
        .restore_id
        .expect("id");
    let err = sup.restore_undo(actor, first).await.expect_err("later one");
    assert!(
        err.to_string().contains(&format!("undo #{second} first")),
        "{err}"
    );
    sup.restore_undo(actor, second).await.expect("undo later");
    sup.restore_undo(actor, first).await.expect("undo first");
    assert_eq!(live_hash(w.store(), JOSE).await, before);
    finish_with_a_valid_chain(w).await;
}

#[tokio::test]
async fn a_restore_from_a_corrupt_snapshot_is_refused_and_writes_nothing() {
    let w = demo().await;
    let (account, backup) = account_with_backup(&w, "corrupt").await;
    let (sup, actor) = (&w.svc, &w.sup);
    let shown = sup.show(actor, &account).await.expect("show");
    assert!(
        shown
            .backups
            .iter()
            .any(|b| b.id == backup && b.verification.as_str() == "corrupt" && !b.verified()),
        "the snapshot is shown as corrupt"
    );
    let before = live_hash(w.store(), &account).await;
    let audit = audit_records(&w).await;
    for mode in Mode::ALL {
        let err = sup
            .restore_apply(actor, &account, &backup, &[], mode)
            .await
            .expect_err("corrupt");
        assert!(matches!(err, Error::Refused(_)), "{err}");
        assert!(err.to_string().contains("is corrupt"), "{err}");
    }
    let err = sup
        .restore_preview(actor, &account, &backup, &[], Mode::Merge)
        .await
        .expect_err("no preview either");
    assert_eq!(err.exit_code(), 3);
    assert_eq!(live_hash(w.store(), &account).await, before);
    assert_eq!(audit_records(&w).await, audit);
    assert_eq!(restores(&w).await, 0);
    finish_with_a_valid_chain(w).await;
}

#[tokio::test]
async fn a_snapshot_with_bad_items_restores_only_the_good_ones_and_says_how_many_it_could_not() {
    let w = demo().await;
    let (account, backup) = account_with_backup(&w, "partial").await;
    let (svc, agent) = agent(&w).await;
    let bad: i64 = count_for(
        w.store(),
        "SELECT COUNT(*) FROM backup_items WHERE backup_id = $1 AND NOT hash_ok",
        &backup,
    )
    .await;
    assert!(bad > 0);
    let r = svc
        .restore_apply(&agent, &account, &backup, &[], Mode::Merge)
        .await
        .expect("partial snapshot restores");
    assert_eq!(r.verification.as_str(), "partial");
    assert_eq!(r.corrupt(), bad, "it says how many it could not restore");
    let restored: i64 = live_rows(w.store(), &account)
        .await
        .iter()
        .filter(|r| r.1.starts_with(&backup))
        .count() as i64;
    let good: i64 = r
        .categories
        .iter()
        .map(|c| c.counts.in_backup - c.counts.corrupt - c.counts.present - c.counts.conflicting)
        .sum();
    assert_eq!(restored, good, "every good item and no bad one");
    for c in r.categories.iter().filter(|c| c.counts.corrupt > 0) {
        assert_eq!(c.result, "restored-partial", "{}", c.category);
    }
    finish_with_a_valid_chain(w).await;
}

#[tokio::test]
async fn a_device_resync_moves_an_at_risk_category_to_restored_full_and_is_audited() {
    let w = demo().await;
    let (svc, agent) = agent(&w).await;
    let account: String = on_pool!(w.store(), pool => sqlx::query_scalar(
        "SELECT a.account_no FROM impact i JOIN accounts a ON a.id = i.account_id \
         WHERE i.category = 'contacts' AND i.status = 'at-risk' ORDER BY a.account_no LIMIT 1",
    )
    .fetch_one(pool)
    .await
    .expect("an at-risk account"));
    let r = svc
        .record_resync(&agent, &account, None, Category::Contacts, None)
        .await
        .expect("resync");
    assert!(r.changed);
    assert_eq!(r.status_before, CategoryStatus::AtRisk);
    assert_eq!(r.status, CategoryStatus::RestoredFull);
    assert_eq!(
        status_of(&statuses(w.store(), &account).await, "contacts"),
        "restored-full"
    );
    let log = w
        .svc
        .audit_log(&w.sup, Some(&account), None, 10)
        .await
        .expect("log");
    let rec = log
        .iter()
        .find(|a| a.action == "device.resync")
        .expect("audited");
    assert_eq!(rec.agent, agent.login);
    // The same re-sync again changes nothing.
    let again = svc
        .record_resync(&agent, &account, None, Category::Contacts, None)
        .await
        .expect("again");
    assert!(!again.changed);

    // Fewer items than before the incident is partial; a wiped phone has nothing to re-sync.
    let other: String = on_pool!(w.store(), pool => sqlx::query_scalar(
        "SELECT a.account_no FROM impact i JOIN accounts a ON a.id = i.account_id \
         WHERE i.category = 'contacts' AND i.status = 'at-risk' AND i.items_before > 10 ORDER BY a.account_no DESC LIMIT 1",
    )
    .fetch_one(pool)
    .await
    .expect("another"));
    let part = svc
        .record_resync(&agent, &other, None, Category::Contacts, Some(5))
        .await
        .expect("partial");
    assert_eq!(part.status, CategoryStatus::RestoredPartial);
    let err = svc
        .record_resync(&agent, JOSE, None, Category::Contacts, None)
        .await
        .expect_err("wiped");
    assert_eq!(err.exit_code(), 3);
    assert!(err.to_string().contains("wiped"), "{err}");
    finish_with_a_valid_chain(w).await;
}

#[tokio::test]
async fn a_permanent_loss_declared_after_a_partial_restore_opens_the_appreciation_credit() {
    let w = demo().await;
    let (svc, agent) = agent(&w).await;
    svc.restore_apply(
        &agent,
        JOSE,
        JOSE_BACKUP,
        &[Category::Contacts],
        Mode::Merge,
    )
    .await
    .expect("merge");
    let err = svc
        .declare_loss(&agent, JOSE, None, Category::Contacts, "the rest is gone")
        .await
        .expect_err("supervisor only");
    assert_eq!(err.exit_code(), 3);
    let (sup, actor) = (&w.svc, &w.sup);
    assert!(
        sup.declare_loss(actor, JOSE, None, Category::Contacts, "the rest is gone")
            .await
            .expect("declare")
    );
    assert_eq!(
        status_of(&statuses(w.store(), JOSE).await, "contacts"),
        "permanent-loss"
    );
    match svc
        .credit_request(&agent, JOSE, None, "236 contacts lost for good")
        .await
        .expect("request")
    {
        RequestOutcome::Requested(r) => assert_eq!(r.amount_cents, 10_000),
        other => panic!("expected a new request, got {other:?}"),
    }
    finish_with_a_valid_chain(w).await;
}

/// What a refused declaration must leave as it was: the audit log, the impact row (still
/// not declared), and no way to an appreciation credit.
async fn nothing_declared(w: &World, account: &str, category: &str, audit_before: i64) {
    assert_eq!(
        audit_records(w).await,
        audit_before,
        "a refusal writes no record"
    );
    assert_eq!(
        count_for(
            w.store(),
            "SELECT COUNT(*) FROM impact WHERE permanent_loss AND account_id = (SELECT id FROM accounts WHERE account_no = $1)",
            account,
        )
        .await,
        0,
        "{category} of {account} is not declared"
    );
    assert_ne!(
        status_of(&statuses(w.store(), account).await, category),
        "permanent-loss"
    );
}

#[tokio::test]
async fn a_permanent_loss_is_refused_while_recovery_is_not_exhausted_and_nothing_is_written() {
    let w = demo().await;
    let (sup, actor) = (&w.svc, &w.sup);
    let (agent_svc, agent) = agent(&w).await;
    let refused = |e: Error| {
        assert_eq!(e.exit_code(), 3, "{e}");
        e.to_string()
    };

    // José's contacts: a verified snapshot still holds 64 of them.
    let audit = audit_records(&w).await;
    let e = sup
        .declare_loss(actor, JOSE, None, Category::Contacts, "300 contacts gone")
        .await
        .expect_err("a verified backup covers them");
    assert_eq!(
        refused(e),
        format!(
            "cannot declare account {JOSE}'s contacts permanently lost: verified backup {JOSE_BACKUP} still holds 64 of them; restore from it first"
        )
    );
    nothing_declared(&w, JOSE, "contacts", audit).await;
    let e = agent_svc
        .credit_request(&agent, JOSE, None, "300 contacts gone")
        .await
        .expect_err("no appreciation without a permanent loss");
    assert_eq!(e.exit_code(), 3, "{e}");
    assert_eq!(
        count(w.store(), "SELECT COUNT(*) FROM credit_requests").await,
        0
    );

    // Photos restored in full from that snapshot: nothing is lost.
    let r = sup
        .restore_apply(actor, JOSE, JOSE_BACKUP, &[Category::Photos], Mode::Merge)
        .await
        .expect("restore photos");
    assert_eq!(
        status_of(&statuses(w.store(), JOSE).await, "photos"),
        "restored-full"
    );
    let audit = audit_records(&w).await;
    let e = sup
        .declare_loss(actor, JOSE, None, Category::Photos, "photos gone")
        .await
        .expect_err("restored in full");
    assert_eq!(
        refused(e),
        format!(
            "cannot declare account {JOSE}'s photos permanently lost: the category was restored in full"
        )
    );
    nothing_declared(&w, JOSE, "photos", audit).await;
    // Undone, the snapshot covers the photos again.
    sup.restore_undo(actor, r.restore_id.expect("restore id"))
        .await
        .expect("undo");
    let e = sup
        .declare_loss(actor, JOSE, None, Category::Photos, "photos gone")
        .await
        .expect_err("the backup covers them again");
    assert!(refused(e).contains("still holds 209 of them"));

    // A phone that still holds its copy: warn the customer, never declare it lost.
    let at_risk: String = on_pool!(w.store(), pool => sqlx::query_scalar(
        "SELECT a.account_no FROM impact i JOIN accounts a ON a.id = i.account_id \
         WHERE i.category = 'contacts' AND i.status = 'at-risk' ORDER BY a.account_no LIMIT 1",
    )
    .fetch_one(pool)
    .await
    .expect("an at-risk account"));
    let audit = audit_records(&w).await;
    let e = sup
        .declare_loss(actor, &at_risk, None, Category::Contacts, "gone")
        .await
        .expect_err("the device holds a copy");
    assert_eq!(
        refused(e),
        format!(
            "cannot declare account {at_risk}'s contacts permanently lost: the customer's device still holds a copy (have it re-synced and record the re-sync)"
        )
    );
    nothing_declared(&w, &at_risk, "contacts", audit).await;

    // The screen asks the same rule of the account it shows, and gives the same reason.
    let d = sup.show(actor, JOSE).await.expect("show");
    let c = d
        .categories
        .iter()
        .find(|c| c.category == Category::Contacts)
        .expect("contacts");
    let why = caredesk::domain::loss::declare_loss(
        JOSE,
        c.category,
        &c.incident,
        Some(&caredesk::domain::LossFacts::of(&d, c)),
    )
    .expect_err("the screen refuses it too");
    assert!(why.to_string().contains("still holds 64 of them"), "{why}");
    finish_with_a_valid_chain(w).await;
}

#[tokio::test]
async fn backups_import_all_or_nothing_idempotent_and_complete_a_manifest() {
    let w = World::demo(260, 2009).await;
    let (sup, actor) = (&w.svc, &w.sup);
    let dir = env!("CARGO_MANIFEST_DIR");
    let read = |name: &str| std::fs::read(format!("{dir}/assets/{name}")).expect("asset");
    sup.import_accounts(
        actor,
        &caredesk::import::parse_accounts("accounts.csv", &read("accounts.csv")).expect("csv"),
        "accounts.csv",
    )
    .await
    .expect("accounts");
    sup.import_impact(
        actor,
        &caredesk::import::parse_impact("impact.csv", &read("impact.csv")).expect("csv"),
        "impact.csv",
    )
    .await
    .expect("impact");
    let rows = caredesk::import::parse_backups("backups.jsonl", &read("backups.jsonl"))
        .expect("the sample reads");
    let first = sup
        .import_backups(actor, &rows, "backups.jsonl")
        .await
        .expect("import");
    assert_eq!(first.inserted, 5);
    let audit = audit_records(&w).await;
    let again = sup
        .import_backups(actor, &rows, "backups.jsonl")
        .await
        .expect("again");
    assert_eq!((again.inserted, again.updated, again.unchanged), (0, 0, 5));
    assert_eq!(
        audit_records(&w).await,
        audit,
        "a second import writes nothing"
    );

    // The sample's snapshots: verified, partial (one bad item), corrupt (checksum), manifest.
    let p = sup
        .restore_preview(
            actor,
            "410000002",
            "snap-410000002-20091001",
            &[],
            Mode::Merge,
        )
        .await
        .expect("partial restores");
    assert_eq!(p.corrupt(), 1);
    let err = sup
        .restore_apply(
            actor,
            "410000003",
            "snap-410000003-20091001",
            &[],
            Mode::Merge,
        )
        .await
        .expect_err("corrupt");
    assert_eq!(err.exit_code(), 3);
    let err = sup
        .restore_apply(
            actor,
            "410000004",
            "snap-410000004-20091001",
            &[],
            Mode::Merge,
        )
        .await
        .expect_err("manifest");
    assert!(err.to_string().contains("only a manifest"), "{err}");
    let r = sup
        .restore_apply(
            actor,
            "410000001",
            "snap-410000001-20091001",
            &[],
            Mode::Merge,
        )
        .await
        .expect("verified restores");
    assert_eq!(r.categories.iter().map(|c| c.counts.add).sum::<i64>(), 10);

    // A file with one bad line imports nothing.
    let backups = count(w.store(), "SELECT COUNT(*) FROM backups").await;
    let items = count(w.store(), "SELECT COUNT(*) FROM backup_items").await;
    let mut data = read("backups.jsonl");
    data.extend_from_slice(b"{\"id\": \"snap-x\", \"account_no\": \"999999999\", \"taken_at\": \"2009-10-01\", \"manifest\": {\"contacts\": 1}}\n");
    let rows = caredesk::import::parse_backups("bad.jsonl", &data).expect("well formed");
    let err = sup
        .import_backups(actor, &rows, "bad.jsonl")
        .await
        .expect_err("unknown account");
    assert!(err.to_string().contains("bad.jsonl line 6"), "{err}");
    assert_eq!(err.exit_code(), 2);
    assert_eq!(
        count(w.store(), "SELECT COUNT(*) FROM backups").await,
        backups
    );
    assert_eq!(
        count(w.store(), "SELECT COUNT(*) FROM backup_items").await,
        items
    );

    // A demo snapshot known only by its manifest is completed by importing its items.
    let (account, backup): (String, String) = on_pool!(w.store(), pool => sqlx::query_as(
        "SELECT a.account_no, b.id FROM backups b JOIN accounts a ON a.id = b.account_id \
         WHERE b.verification = 'manifest' ORDER BY b.id LIMIT 1",
    )
    .fetch_one(pool)
    .await
    .expect("a manifest backup"));
    let payload = serde_json::json!({"name": "Late Item", "phone": "+1 206 555 0188"});
    let line = serde_json::json!({"id": backup, "account_no": account, "taken_at": "2009-10-01T03:00:00Z",
        "items": [{"category": "contacts", "uid": "c-0", "payload": payload,
                   "content_hash": caredesk::domain::items::content_hash(&payload)}]});
    let rows = caredesk::import::parse_backups("late.jsonl", format!("{line}\n").as_bytes())
        .expect("line");
    let c = sup
        .import_backups(actor, &rows, "late.jsonl")
        .await
        .expect("complete the manifest");
    assert_eq!(c.updated, 1);
    let r = sup
        .restore_apply(actor, &account, &backup, &[], Mode::Merge)
        .await
        .expect("restorable now");
    assert_eq!(r.verification.as_str(), "verified");
    assert_eq!(r.categories.len(), 1);
    assert_eq!(r.categories[0].counts.add, 1);
    finish_with_a_valid_chain(w).await;
}

#[tokio::test]
async fn restores_and_undos_are_audited_without_personal_data() {
    let w = demo().await;
    let (sup, actor) = (&w.svc, &w.sup);
    let r = sup
        .restore_apply(actor, JOSE, JOSE_BACKUP, &[], Mode::KeepBoth)
        .await
        .expect("restore");
    sup.restore_undo(actor, r.restore_id.expect("id"))
        .await
        .expect("undo");
    let log = sup
        .audit_log(actor, Some(JOSE), None, 20)
        .await
        .expect("log");
    let apply = log
        .iter()
        .find(|a| a.action == "restore.apply")
        .expect("apply audited");
    assert!(apply.detail.contains(JOSE_BACKUP) && apply.detail.contains("keep-both"));
    assert!(log.iter().any(|a| a.action == "restore.undo"));
    let record = sup
        .restore_record(actor, r.restore_id.expect("id"))
        .await
        .expect("record");
    assert_eq!(record.agent, actor.login);
    assert_eq!(record.undone_by.as_deref(), Some(actor.login.as_str()));
    assert_eq!(record.mode.as_str(), "keep-both");
    // Names, e-mails and phone numbers of contacts never reach the audit.
    let contacts: Vec<String> = live_rows(w.store(), JOSE)
        .await
        .into_iter()
        .map(|r| r.3)
        .collect();
    for a in log.iter().filter(|a| a.action.starts_with("restore.")) {
        assert!(
            !a.detail.contains("Núñez") && !a.detail.contains('@'),
            "{}",
            a.detail
        );
        for c in &contacts {
            let v: Value = serde_json::from_str(c).expect("json");
            if let Some(name) = v.get("name").and_then(Value::as_str) {
                assert!(!a.detail.contains(name), "{}", a.detail);
            }
        }
    }
    finish_with_a_valid_chain(w).await;
}
