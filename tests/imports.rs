//! Imports of accounts, impact and backups on one backend (SQLite, or PostgreSQL when
//! CAREDESK_TEST_PG is set): a mix of new, changed and unchanged rows, statuses derived from
//! them, and the whole database compared field by field with what the row-by-row importer
//! wrote (`snapshots/imports__mixed_imports.snap` was recorded from it).

mod common;

use std::fmt::Write as _;

use caredesk::domain::Category;
use caredesk::store::{ImportCounts, Store};
use chrono::{DateTime, Utc};
use common::World;
use serde_json::json;

fn counts(c: &ImportCounts) -> (i64, i64, i64, i64) {
    (c.rows, c.inserted, c.updated, c.unchanged)
}

const ACCOUNTS_HEADER: &str =
    "account_no,msisdn,name,email,status,plan_code,plan_cents,device,plan_from\n";
const IMPACT_HEADER: &str = "account_no,incident,category,server_lost,device_state,items_before\n";
const INCIDENT: &str = "danger-2009-10";

fn account_no(i: u32) -> String {
    format!("{}", 510_000_000 + i)
}

/// Account `i` as the first accounts file has it; `variant` changes one thing:
/// 1 the name, 2 the e-mail, 3 the plan (with plan_from), 4 the plan (without plan_from).
fn account_line(i: u32, variant: u32) -> String {
    let status = ["active", "active", "suspended", "closed"][(i % 4) as usize];
    let (mut code, mut cents, mut from) = match i % 5 {
        0 => ("", "", ""),
        1 => ("SK-DATA", "1999", "2008-01-15"),
        2 => ("SK-DATA-PLUS", "2999", ""),
        3 => ("SK-VOICE", "0", "2008-05-01"),
        _ => ("SK-DATA", "1999", ""),
    };
    let mut name = format!("Person{i} Okafor");
    let mut email = format!("person{i}@example.net");
    match variant {
        1 => name = format!("Person{i} Núñez"),
        2 => email = format!("person{i}.new@example.org"),
        3 => {
            (code, cents, from) = if code == "SK-DATA-PLUS" {
                ("SK-DATA", "1999", "2009-11-01")
            } else {
                ("SK-DATA-PLUS", "2999", "2009-11-01")
            }
        }
        4 => {
            (code, cents, from) = if code == "SK-DATA" {
                ("SK-DATA-PLUS", "2999", "")
            } else {
                ("SK-DATA", "1999", "")
            }
        }
        _ => {}
    }
    format!(
        "{},(206) 555-{:04},{name},{email},{status},{code},{cents},Sidekick {},{from}\n",
        account_no(i),
        1000 + i,
        ["LX", "iD", "3"][(i % 3) as usize]
    )
}

fn impact_line(i: u32, cat: Category, variant: u32) -> String {
    let device = ["holds-copy", "wiped", "unknown"][((i + variant) % 3) as usize];
    let lost = !i.is_multiple_of(7);
    let before = 10 * i + cat as u32 + variant;
    format!(
        "{},{INCIDENT},{},{lost},{device},{before}\n",
        account_no(i),
        cat.as_str()
    )
}

fn categories_of(i: u32) -> Vec<Category> {
    let mut cats = vec![Category::Contacts];
    if i.is_multiple_of(2) {
        cats.push(Category::Calendar);
    }
    if i.is_multiple_of(3) {
        cats.push(Category::Photos);
    }
    cats
}

fn item(cat: Category, uid: &str, payload: serde_json::Value, good: bool) -> serde_json::Value {
    let hash = if good {
        caredesk::domain::items::content_hash(&payload)
    } else {
        "0".repeat(64)
    };
    json!({"category": cat.as_str(), "uid": uid, "payload": payload, "content_hash": hash})
}

fn contact(i: u32, n: u32) -> serde_json::Value {
    json!({"name": format!("Contact {i}-{n}"), "phone": format!("+1 206 555 {:04}", 2000 + n)})
}

fn snapshot(i: u32, items: Vec<serde_json::Value>) -> String {
    format!(
        "{}\n",
        json!({"id": format!("snap-{}", account_no(i)), "account_no": account_no(i),
               "taken_at": "2009-10-01T03:00:00Z", "source": "server-snapshot", "items": items})
    )
}

fn manifest(i: u32) -> String {
    format!(
        "{}\n",
        json!({"id": format!("snap-{}", account_no(i)), "account_no": account_no(i),
               "taken_at": "2009-10-01", "manifest": {"contacts": 50, "calendar": 3}})
    )
}

/// The first backups file: verified snapshots, a manifest, a corrupt one, partial ones.
fn backups_first() -> String {
    let mut s = String::new();
    for i in (1..=21).step_by(4) {
        let mut items = vec![item(Category::Contacts, "c-1", contact(i, 1), true)];
        if i.is_multiple_of(2) {
            items.push(item(
                Category::Calendar,
                "e-1",
                json!({"title": "Dentist", "start": "2009-09-03T09:00:00Z"}),
                true,
            ));
        }
        s.push_str(&snapshot(i, items));
    }
    s.push_str(&manifest(2));
    // Corrupt: every item fails its hash.
    s.push_str(&snapshot(
        3,
        vec![item(Category::Contacts, "c-1", contact(3, 1), false)],
    ));
    // Partial: one bad contact beside a good one; calendar all bad (not covered).
    s.push_str(&snapshot(
        6,
        vec![
            item(Category::Contacts, "c-1", contact(6, 1), true),
            item(Category::Contacts, "c-2", contact(6, 2), false),
            item(
                Category::Calendar,
                "e-1",
                json!({"title": "Gym", "start": "2009-09-04T07:00:00Z"}),
                false,
            ),
        ],
    ));
    s
}

/// The second backups file: the manifest of account 2 completed by its items, a new
/// snapshot for account 12 and 14, and account 1's snapshot again, unchanged.
fn backups_second() -> String {
    let mut s = snapshot(
        1,
        vec![item(Category::Contacts, "c-1", contact(1, 1), true)],
    );
    s.push_str(&snapshot(
        2,
        vec![
            item(Category::Contacts, "c-1", contact(2, 1), true),
            item(
                Category::Calendar,
                "e-1",
                json!({"title": "Flight", "start": "2009-09-05T10:00:00Z"}),
                true,
            ),
        ],
    ));
    for i in [12, 14] {
        s.push_str(&snapshot(
            i,
            vec![
                item(Category::Contacts, "c-1", contact(i, 1), true),
                item(Category::Contacts, "c-2", contact(i, 2), true),
            ],
        ));
    }
    s
}

type AccountRow = (
    i64,
    String,
    String,
    String,
    String,
    String,
    String,
    String,
    i64,
    DateTime<Utc>,
);
type PlanRow = (
    i64,
    i64,
    String,
    bool,
    i64,
    String,
    DateTime<Utc>,
    Option<DateTime<Utc>>,
);
type ImpactRow = (
    i64,
    String,
    String,
    bool,
    String,
    i64,
    bool,
    Option<i64>,
    String,
    DateTime<Utc>,
);
type BackupRow = (
    String,
    i64,
    DateTime<Utc>,
    String,
    String,
    String,
    DateTime<Utc>,
);
type ItemRow = (i64, String, String, String, String, String, bool);
type AuditRow = (i64, String, String, Option<String>, String);

/// Every table an import writes, field by field, in a form both backends print alike.
async fn dump(store: &Store, login: &str) -> String {
    let mut out = String::new();
    let accounts: Vec<AccountRow> = on_pool!(store, pool => sqlx::query_as(
        "SELECT id, account_no, msisdn, name, name_norm, email, status, device_model, loss_rank, created_at \
         FROM accounts ORDER BY id",
    )
    .fetch_all(pool)
    .await
    .expect("accounts"));
    let plans: Vec<PlanRow> = on_pool!(store, pool => sqlx::query_as(
        "SELECT id, account_id, plan_code, data_plan, price_cents, currency, valid_from, valid_to FROM plans ORDER BY id",
    )
    .fetch_all(pool)
    .await
    .expect("plans"));
    let impact: Vec<ImpactRow> = on_pool!(store, pool => sqlx::query_as(
        "SELECT account_id, incident_id, category, server_lost, device_state, items_before, permanent_loss, \
                recovered_items, status, updated_at FROM impact ORDER BY account_id, incident_id, category",
    )
    .fetch_all(pool)
    .await
    .expect("impact"));
    let backups: Vec<BackupRow> = on_pool!(store, pool => sqlx::query_as(
        "SELECT id, account_id, taken_at, source, checksum, verification, imported_at FROM backups ORDER BY id",
    )
    .fetch_all(pool)
    .await
    .expect("backups"));
    let cats: Vec<(String, String, i64, i64)> = on_pool!(store, pool => sqlx::query_as(
        "SELECT backup_id, category, item_count, bad_items FROM backup_categories ORDER BY backup_id, category",
    )
    .fetch_all(pool)
    .await
    .expect("backup categories"));
    let items: Vec<ItemRow> = on_pool!(store, pool => sqlx::query_as(
        "SELECT id, backup_id, category, uid, payload, content_hash, hash_ok FROM backup_items ORDER BY id",
    )
    .fetch_all(pool)
    .await
    .expect("backup items"));
    let audit: Vec<AuditRow> = on_pool!(store, pool => sqlx::query_as(
        "SELECT seq, action, outcome, account_no, detail FROM audit ORDER BY seq",
    )
    .fetch_all(pool)
    .await
    .expect("audit"));
    let t = |d: &DateTime<Utc>| d.to_rfc3339();
    out.push_str("accounts\n");
    for a in &accounts {
        let _ = writeln!(
            out,
            "{} {} {} {:?} {:?} {:?} {} {:?} rank={} {}",
            a.0,
            a.1,
            a.2,
            a.3,
            a.4,
            a.5,
            a.6,
            a.7,
            a.8,
            t(&a.9)
        );
    }
    out.push_str("plans\n");
    for p in &plans {
        let _ = writeln!(
            out,
            "{} account={} {} data={} {} {} {} .. {}",
            p.0,
            p.1,
            p.2,
            p.3,
            p.4,
            p.5,
            t(&p.6),
            p.7.as_ref().map(t).unwrap_or_default()
        );
    }
    out.push_str("impact\n");
    for i in &impact {
        let _ = writeln!(
            out,
            "account={} {} {} lost={} {} before={} permanent={} recovered={:?} {} {}",
            i.0,
            i.1,
            i.2,
            i.3,
            i.4,
            i.5,
            i.6,
            i.7,
            i.8,
            t(&i.9)
        );
    }
    out.push_str("backups\n");
    for b in &backups {
        let _ = writeln!(
            out,
            "{} account={} {} {} {} {} {}",
            b.0,
            b.1,
            t(&b.2),
            b.3,
            b.4,
            b.5,
            t(&b.6)
        );
    }
    for c in &cats {
        let _ = writeln!(out, "  {} {} {} bad={}", c.0, c.1, c.2, c.3);
    }
    out.push_str("backup items\n");
    for i in &items {
        let _ = writeln!(
            out,
            "{} {} {} {} {} {} ok={}",
            i.0, i.1, i.2, i.3, i.4, i.5, i.6
        );
    }
    out.push_str("audit\n");
    for a in &audit {
        let _ = writeln!(
            out,
            "{} {} {} {} {:?}",
            a.0,
            a.1,
            a.2,
            a.3.as_deref().unwrap_or("-"),
            // The first supervisor is the database login on PostgreSQL.
            a.4.replace(login, "ops")
        );
    }
    out
}

/// The mixed story: accounts, impact and backups imported, a loss declared and a phone
/// re-synced, then a second round of each file with new, changed and unchanged rows.
/// Returns each import's counts and the database as the dump prints it.
async fn mixed_story(w: &World) -> (Vec<(i64, i64, i64, i64)>, String) {
    let mut seen = Vec::new();
    let mut a1 = ACCOUNTS_HEADER.to_string();
    for i in 1..=30 {
        a1.push_str(&account_line(i, 0));
    }
    seen.push(counts(&w.accounts("a1.csv", &a1).await.expect("a1")));

    let mut i1 = IMPACT_HEADER.to_string();
    for i in 1..=24 {
        for cat in categories_of(i) {
            i1.push_str(&impact_line(i, cat, 0));
        }
    }
    seen.push(counts(&w.impact("i1.csv", &i1).await.expect("i1")));
    seen.push(counts(
        &w.backups("b1.jsonl", &backups_first()).await.expect("b1"),
    ));

    // Recovery facts the statuses keep: a permanent loss and a re-synced phone.
    w.clock.advance(chrono::TimeDelta::minutes(5));
    w.svc
        .declare_loss(
            &w.sup,
            &account_no(8),
            None,
            Category::Contacts,
            "nothing left",
        )
        .await
        .expect("declare loss");
    w.svc
        .record_resync(&w.sup, &account_no(9), None, Category::Contacts, Some(7))
        .await
        .expect("resync");

    // Stale statuses: refreshed where an import touches the account (10, by a new notes
    // row), left alone where it does not (7).
    for (account, category, status) in [
        ("510000010", "calendar", "at-risk"),
        ("510000007", "contacts", "lost"),
    ] {
        common::restore::execute(
            w.store(),
            "UPDATE impact SET status = $1 WHERE category = $2 AND account_id = (SELECT id FROM accounts WHERE account_no = $3)",
            &[status, category, account],
        )
        .await;
    }

    w.clock.advance(chrono::TimeDelta::minutes(5));
    let mut a2 = ACCOUNTS_HEADER.to_string();
    for i in 5..=34 {
        let variant = if i > 30 { 0 } else { i % 6 };
        a2.push_str(&account_line(i, variant));
    }
    seen.push(counts(&w.accounts("a2.csv", &a2).await.expect("a2")));

    let mut i2 = IMPACT_HEADER.to_string();
    for i in 6..=34 {
        for cat in categories_of(i) {
            // Accounts 6-12 unchanged; 13-24 changed in one of three rows; 25-34 new rows.
            let variant = if (13..=24).contains(&i) && cat == Category::Contacts {
                1
            } else {
                0
            };
            i2.push_str(&impact_line(i, cat, variant));
        }
        if i % 5 == 0 {
            i2.push_str(&impact_line(i, Category::Notes, 0));
        }
    }
    seen.push(counts(&w.impact("i2.csv", &i2).await.expect("i2")));
    seen.push(counts(
        &w.backups("b2.jsonl", &backups_second()).await.expect("b2"),
    ));

    // The same files again change nothing.
    let audit_before = common::restore::count(w.store(), "SELECT COUNT(*) FROM audit").await;
    seen.push(counts(&w.accounts("a2.csv", &a2).await.expect("a2 again")));
    seen.push(counts(&w.impact("i2.csv", &i2).await.expect("i2 again")));
    seen.push(counts(
        &w.backups("b2.jsonl", &backups_second())
            .await
            .expect("b2 again"),
    ));
    assert_eq!(
        common::restore::count(w.store(), "SELECT COUNT(*) FROM audit").await,
        audit_before,
        "a second import writes no audit record"
    );

    let mut out = dump(w.store(), &w.sup.login).await;
    // The search index follows renamed accounts.
    for q in ["Person6 Núñez", "person7.new@example.org", "Person6 Okafor"] {
        let found: Vec<String> = w
            .svc
            .lookup(q, 5)
            .await
            .expect("lookup")
            .into_iter()
            .map(|a| a.account_no)
            .collect();
        let _ = writeln!(out, "lookup {q:?}: {found:?}");
    }
    (seen, out)
}

#[tokio::test]
async fn a_mix_of_new_changed_and_unchanged_rows_stores_what_the_row_by_row_import_did() {
    // One chunk, chunks that split accounts' rows and files at odd places, one row a chunk;
    // rows parsed first or files read while written: the same counts and the same database,
    // field by field.
    for (chunk, files) in [
        (caredesk::store::IMPORT_CHUNK, false),
        (7, false),
        (3, false),
        (1, false),
        (caredesk::store::IMPORT_CHUNK, true),
        (3, true),
    ] {
        let w = World::empty_importing("ops", chunk, files).await;
        let (seen, dump) = mixed_story(&w).await;
        assert_eq!(
            seen,
            vec![
                (30, 30, 0, 0),
                (44, 44, 0, 0),
                (9, 9, 0, 0),
                (30, 4, 16, 10),
                (59, 23, 12, 24),
                (4, 2, 1, 1),
                (30, 0, 0, 30),
                (59, 0, 0, 59),
                (4, 0, 0, 4),
            ],
            "chunks of {chunk}, files {files}"
        );
        insta::assert_snapshot!("mixed_imports", dump);
        w.finish().await;
    }
}

/// A database with the first round of the mixed story, for the refusals below.
async fn first_round(w: &World) {
    let mut a1 = ACCOUNTS_HEADER.to_string();
    for i in 1..=30 {
        a1.push_str(&account_line(i, 0));
    }
    w.accounts("a1.csv", &a1).await.expect("a1");
    let mut i1 = IMPACT_HEADER.to_string();
    for i in 1..=24 {
        for cat in categories_of(i) {
            i1.push_str(&impact_line(i, cat, 0));
        }
    }
    w.impact("i1.csv", &i1).await.expect("i1");
    w.backups("b1.jsonl", &backups_first()).await.expect("b1");
}

#[tokio::test]
async fn a_bad_row_at_the_end_of_a_long_file_writes_nothing() {
    for files in [false, true] {
        bad_row_at_the_end(files).await;
    }
}

async fn bad_row_at_the_end(files: bool) {
    // Chunks of 4: the bad row is in the last chunk, after chunks that were written.
    let w = World::empty_importing("ops", 4, files).await;
    first_round(&w).await;
    let before = dump(w.store(), &w.sup.login).await;

    // Accounts: new and changed rows first, then a plan that starts before the current one.
    let mut a = ACCOUNTS_HEADER.to_string();
    for i in 1..=40 {
        a.push_str(&account_line(i, i % 6));
    }
    a.push_str(&format!(
        "{},(206) 555-1001,Person1 Okafor,person1@example.net,active,SK-DATA-PLUS,2999,Sidekick iD,2008-01-01\n",
        account_no(1)
    ));
    // (account 1 appears once in the file: drop its earlier row)
    let a = a.replacen(&account_line(1, 1), "", 1);
    let e = w
        .accounts("late.csv", &a)
        .await
        .expect_err("bad plan start");
    assert_eq!(e.exit_code(), 2);
    assert_eq!(
        e.to_string(),
        "the plan SK-DATA-PLUS for this account starts on 2008-01-01, not after its current plan's start (2008-01-15); give plan_from"
    );
    assert_eq!(dump(w.store(), &w.sup.login).await, before);

    // Impact: new and changed rows, then an unknown account on the last line.
    let mut i = IMPACT_HEADER.to_string();
    for n in 1..=30 {
        for cat in categories_of(n) {
            i.push_str(&impact_line(n, cat, n % 2));
        }
    }
    i.push_str(&impact_line(99, Category::Contacts, 0));
    let lines = i.lines().count();
    let e = w.impact("late.csv", &i).await.expect_err("unknown account");
    assert_eq!(e.exit_code(), 2);
    assert_eq!(
        e.to_string(),
        format!("late.csv line {lines}: there is no account 510000099")
    );
    assert_eq!(dump(w.store(), &w.sup.login).await, before);

    // Backups: new snapshots, then one line at fault, each case on its own.
    let mut good = String::new();
    for n in 22..=30 {
        good.push_str(&snapshot(
            n,
            vec![item(Category::Contacts, "c-1", contact(n, 1), true)],
        ));
    }
    let other_owner = format!(
        "{}\n",
        json!({"id": "snap-510000001", "account_no": account_no(4), "taken_at": "2009-10-01",
               "items": [item(Category::Contacts, "c-1", contact(1, 1), true)]})
    );
    let changed = snapshot(
        5,
        vec![item(Category::Contacts, "c-1", contact(5, 2), true)],
    );
    let manifest_again = format!(
        "{}\n",
        json!({"id": "snap-510000002", "account_no": account_no(2), "taken_at": "2009-10-01",
               "manifest": {"contacts": 51}})
    );
    let unknown = snapshot(
        99,
        vec![item(Category::Contacts, "c-1", contact(99, 1), true)],
    );
    for (last, message) in [
        (
            other_owner,
            "late.jsonl line 10: the backup snap-510000001 belongs to another account; nothing was imported",
        ),
        (
            changed,
            "late.jsonl line 10: the backup snap-510000005 was imported before with other content, and a snapshot never changes (give it a new id); nothing was imported",
        ),
        (
            manifest_again,
            "late.jsonl line 10: the backup snap-510000002 was imported before with other content, and a snapshot never changes (give it a new id); nothing was imported",
        ),
        (
            unknown,
            "late.jsonl line 10: there is no account 510000099; nothing was imported",
        ),
    ] {
        let e = w
            .backups("late.jsonl", &format!("{good}{last}"))
            .await
            .expect_err("refused");
        assert_eq!(e.exit_code(), 2);
        assert_eq!(e.to_string(), message);
        assert_eq!(dump(w.store(), &w.sup.login).await, before);
    }
    w.finish().await;
}

#[tokio::test]
async fn a_file_read_while_written_reports_what_reading_it_first_would() {
    let w = World::empty_importing("ops", 4, true).await;
    first_round(&w).await;
    let (agent, actor) = w
        .as_agent("ct_imp_agent", caredesk::domain::Role::Agent)
        .await;
    let before = dump(w.store(), &w.sup.login).await;

    // An unknown account early, a malformed row late: the malformed row is reported (the
    // file's own problems come first), though the store met the unknown account before.
    let mut i = IMPACT_HEADER.to_string();
    i.push_str(&impact_line(99, Category::Contacts, 0));
    for n in 1..=20 {
        i.push_str(&impact_line(n, Category::Notes, 0));
    }
    i.push_str("510000001,danger-2009-10,music,true,wiped,3\n");
    let e = w.impact("i.csv", &i).await.expect_err("bad file");
    assert_eq!(e.exit_code(), 2);
    assert!(
        e.to_string()
            .starts_with("i.csv line 23: \"music\" is not a category"),
        "{e}"
    );
    assert!(
        dump(w.store(), &w.sup.login).await == before,
        "nothing written"
    );

    // An unknown account early, an unknown incident late: the incident (checked over the
    // whole file before any row was written) is reported.
    let mut i = IMPACT_HEADER.to_string();
    i.push_str(&impact_line(99, Category::Contacts, 0));
    for n in 1..=20 {
        i.push_str(&impact_line(n, Category::Notes, 0));
    }
    i.push_str("510000001,other-incident,notes,true,wiped,3\n");
    let e = w.impact("i.csv", &i).await.expect_err("unknown incident");
    assert_eq!(
        e.to_string(),
        "i.csv line 23: there is no incident \"other-incident\" (known: danger-2009-10)"
    );
    assert!(
        dump(w.store(), &w.sup.login).await == before,
        "nothing written"
    );

    // Good rows, then a duplicate on the last line: refused, nothing written.
    let mut a = ACCOUNTS_HEADER.to_string();
    for n in 31..=45 {
        a.push_str(&account_line(n, 0));
    }
    a.push_str(&account_line(31, 0));
    let e = w.accounts("a.csv", &a).await.expect_err("duplicate");
    assert!(
        e.to_string()
            .starts_with("a.csv line 17: account 510000031 appears twice"),
        "{e}"
    );
    assert!(
        dump(w.store(), &w.sup.login).await == before,
        "nothing written"
    );
    let mut b = String::new();
    for n in 22..=30 {
        b.push_str(&snapshot(
            n,
            vec![item(Category::Contacts, "c-1", contact(n, 1), true)],
        ));
    }
    b.push_str("{not json\n");
    let e = w.backups("b.jsonl", &b).await.expect_err("bad line");
    assert!(
        e.to_string().contains("b.jsonl line 10: not valid JSON"),
        "{e}"
    );
    assert!(
        dump(w.store(), &w.sup.login).await == before,
        "nothing written"
    );

    // An agent may not import: a bad file is still reported as bad, a good one refused.
    let e = agent
        .import_backups_file(&actor, "b.jsonl", b.into_bytes())
        .await
        .expect_err("bad file");
    assert_eq!(e.exit_code(), 2, "{e}");
    let e = agent
        .import_accounts_file(&actor, "a.csv", account_line(31, 0).into_bytes())
        .await
        .expect_err("bad file");
    assert_eq!(e.exit_code(), 2, "{e}");
    let mut good = ACCOUNTS_HEADER.to_string();
    good.push_str(&account_line(31, 0));
    let e = agent
        .import_accounts_file(&actor, "a.csv", good.into_bytes())
        .await
        .expect_err("refused");
    assert_eq!(e.exit_code(), 3, "{e}");
    let e = agent
        .import_impact_file(&actor, "i.csv", IMPACT_HEADER.as_bytes().to_vec())
        .await
        .expect_err("no rows");
    assert_eq!(e.exit_code(), 2, "{e}");
    agent.close().await;
    assert!(
        dump(w.store(), &w.sup.login).await == before,
        "nothing written"
    );
    w.finish().await;
}

#[tokio::test]
async fn a_large_import_merges_the_search_index_and_puts_its_setting_back() {
    // Past the size where SQLite's search index stops merging while the rows go in: the
    // threshold (50,000 accounts in use) set to 300 here, crossed in the import's third chunk.
    const N: u32 = 800;
    let mut w = World::empty_importing("ops", 100, true).await;
    w.svc.set_search_merge_threshold(300);
    let mut a = ACCOUNTS_HEADER.to_string();
    for i in 1..=N {
        a.push_str(&format!(
            "{},+1 425 {} {:04},Bulk Person{i},bulk{i}@example.net,active,SK-DATA,1999,Sidekick LX,2008-01-01\n",
            account_no(i),
            230 + i / 10_000,
            i % 10_000
        ));
    }
    let c = w.accounts("big.csv", &a).await.expect("import");
    assert_eq!(counts(&c), (i64::from(N), i64::from(N), 0, 0));
    for (q, no) in [("Person299", 299), ("bulk800@", 800), ("Person7 ", 7)] {
        let found: Vec<String> = w
            .svc
            .lookup(q, 5)
            .await
            .expect("lookup")
            .into_iter()
            .map(|a| a.account_no)
            .collect();
        assert_eq!(found.first(), Some(&account_no(no)), "{q}: {found:?}");
    }
    if let Store::Sqlite(s) = w.store() {
        let automerge: Option<i64> = sqlx::query_scalar(
            "SELECT CAST(v AS INTEGER) FROM accounts_fts_config WHERE k = 'automerge'",
        )
        .fetch_optional(s.pool())
        .await
        .expect("setting");
        assert_eq!(automerge, Some(4), "FTS5's default, as before the import");
    }
    let audit = common::restore::count(w.store(), "SELECT COUNT(*) FROM audit").await;
    let again = w.accounts("big.csv", &a).await.expect("again");
    assert_eq!(counts(&again), (i64::from(N), 0, 0, i64::from(N)));
    assert_eq!(
        common::restore::count(w.store(), "SELECT COUNT(*) FROM audit").await,
        audit
    );
    w.finish().await;
}

#[tokio::test]
async fn rows_handed_over_twice_in_one_chunk_see_each_other_as_row_by_row() {
    // The parsers refuse a key twice in a file; a caller of the service may still pass one.
    let w = World::empty("ops").await;
    let mut a = caredesk::import::parse_accounts(
        "a.csv",
        format!("{ACCOUNTS_HEADER}{}", account_line(1, 0)).as_bytes(),
    )
    .expect("rows");
    let mut renamed = a[0].clone();
    renamed.name = "Person1 Renamed".to_string();
    a.push(renamed);
    let c = w
        .svc
        .import_accounts(&w.sup, &a, "a")
        .await
        .expect("accounts");
    assert_eq!(counts(&c), (2, 1, 1, 0));
    let found = w.svc.lookup("Person1 Renamed", 5).await.expect("lookup");
    assert_eq!(found.len(), 1);

    let mut i = caredesk::import::parse_impact(
        "i.csv",
        format!("{IMPACT_HEADER}{}", impact_line(1, Category::Contacts, 0)).as_bytes(),
    )
    .expect("rows");
    let mut more = i[0].clone();
    more.items_before += 5;
    i.push(more);
    let c = w.svc.import_impact(&w.sup, &i, "i").await.expect("impact");
    assert_eq!(counts(&c), (2, 1, 1, 0));
    let before: i64 = common::restore::count_for(
        w.store(),
        "SELECT items_before FROM impact WHERE account_id = (SELECT id FROM accounts WHERE account_no = $1)",
        &account_no(1),
    )
    .await;
    assert_eq!(before, 15);

    let b = caredesk::import::parse_backups(
        "b.jsonl",
        format!(
            "{}{}",
            manifest(1),
            snapshot(
                1,
                vec![item(Category::Contacts, "c-1", contact(1, 1), true)]
            )
        )
        .as_bytes(),
    );
    assert!(b.is_err(), "a file may not name a snapshot twice");
    let mut b = caredesk::import::parse_backups("b.jsonl", manifest(1).as_bytes()).expect("m");
    b.extend(
        caredesk::import::parse_backups(
            "b.jsonl",
            snapshot(
                1,
                vec![item(Category::Contacts, "c-1", contact(1, 1), true)],
            )
            .as_bytes(),
        )
        .expect("items"),
    );
    let c = w
        .svc
        .import_backups(&w.sup, &b, "b")
        .await
        .expect("backups");
    assert_eq!(
        counts(&c),
        (2, 1, 1, 0),
        "a manifest, then completed by its items"
    );
    assert_eq!(
        common::restore::statuses(w.store(), &account_no(1)).await,
        [("contacts".to_string(), "restorable".to_string())]
    );
    w.finish().await;
}
