//! The restore planner's unit and property tests.
use super::*;
use proptest::prelude::*;
use serde_json::json;

fn backup_item(uid: &str, payload: Value) -> BackupItem {
    BackupItem {
        uid: uid.to_string(),
        content_hash: content_hash(&payload),
        payload,
        hash_ok: true,
    }
}

fn live_item(id: i64, payload: Value) -> LiveItem {
    LiveItem {
        id,
        uid: format!("live-{id}"),
        natural_key: natural_key(Category::Contacts, &payload),
        content_hash: content_hash(&payload),
        payload,
        review: false,
    }
}

fn contacts() -> (Vec<BackupItem>, Vec<LiveItem>) {
    let backup = vec![
        backup_item("c-1", json!({"name": "Ann Lee", "phone": "+12065550101"})),
        backup_item(
            "c-2",
            json!({"name": "Bo Kim", "phone": "+12065550102", "email": "bo@x.org"}),
        ),
        backup_item("c-3", json!({"name": "Cy Ode", "phone": "+12065550103"})),
    ];
    let live = vec![
        // The same as c-1.
        live_item(1, json!({"name": "Ann Lee", "phone": "+12065550101"})),
        // Same phone as c-2, re-entered with another name and no e-mail.
        live_item(
            2,
            json!({"name": "Bo (new)", "phone": "(206) 555-0102", "email": ""}),
        ),
        // Only live.
        live_item(3, json!({"name": "Dee New", "phone": "+12065550199"})),
    ];
    (backup, live)
}

#[test]
fn items_are_present_conflicting_or_to_add_by_natural_key_and_content() {
    let (backup, live) = contacts();
    let p = plan_category(Category::Contacts, Mode::Merge, "s", &backup, &live);
    assert_eq!(
        (
            p.counts.in_backup,
            p.counts.present,
            p.counts.conflicting,
            p.counts.to_add,
            p.counts.corrupt
        ),
        (3, 1, 1, 1, 0)
    );
}

#[test]
fn merge_adds_the_missing_and_fills_only_empty_fields() {
    let (backup, live) = contacts();
    let p = plan_category(Category::Contacts, Mode::Merge, "s", &backup, &live);
    assert_eq!(p.adds.len(), 1);
    assert_eq!(p.adds[0].uid, "s/c-3");
    assert!(!p.adds[0].review);
    assert_eq!(p.updates.len(), 1);
    let u = &p.updates[0];
    assert_eq!(u.live_id, Some(2));
    assert_eq!(u.payload["name"], "Bo (new)", "the live name wins");
    assert_eq!(u.payload["phone"], "(206) 555-0102");
    assert_eq!(u.payload["email"], "bo@x.org", "the empty e-mail is filled");
    assert!(p.removes.is_empty());
}

#[test]
fn keep_both_adds_conflicting_items_as_copies_for_review() {
    let (backup, live) = contacts();
    let p = plan_category(Category::Contacts, Mode::KeepBoth, "s", &backup, &live);
    assert!(p.updates.is_empty() && p.removes.is_empty());
    let flagged: Vec<&str> = p
        .adds
        .iter()
        .filter(|a| a.review)
        .map(|a| a.uid.as_str())
        .collect();
    assert_eq!(flagged, ["s/c-2"]);
    assert_eq!((p.counts.add, p.counts.flag), (2, 1));
}

#[test]
fn replace_makes_the_live_set_the_backups_good_items() {
    let (backup, live) = contacts();
    let p = plan_category(Category::Contacts, Mode::Replace, "s", &backup, &live);
    let after = apply_in_memory(&live, &p);
    let mut hashes: Vec<&str> = after.iter().map(|l| l.content_hash.as_str()).collect();
    hashes.sort_unstable();
    let mut want: Vec<&str> = backup.iter().map(|b| b.content_hash.as_str()).collect();
    want.sort_unstable();
    assert_eq!(hashes, want);
    assert_eq!(p.counts.remove, 2, "the conflicting and the live-only item");
    assert_eq!(
        after.iter().find(|l| l.id == 1).map(|l| &l.uid),
        Some(&live[0].uid)
    );
}

#[test]
fn corrupt_items_are_counted_and_never_restored() {
    let mut bad = backup_item("c-9", json!({"name": "Eve", "phone": "+12065550109"}));
    bad.hash_ok = false;
    let mut tampered = backup_item("c-8", json!({"name": "Fay", "phone": "+12065550108"}));
    tampered.payload = json!({"name": "Fay!", "phone": "+12065550108"});
    for mode in Mode::ALL {
        let p = plan_category(
            Category::Contacts,
            mode,
            "s",
            &[bad.clone(), tampered.clone()],
            &[],
        );
        assert_eq!(p.counts.corrupt, 2);
        assert!(!p.writes_anything(), "{mode}");
        assert_eq!(p.counts.recovered, 0);
    }
}

#[test]
fn a_second_plan_after_the_first_writes_nothing_in_any_mode() {
    let (backup, live) = contacts();
    for mode in Mode::ALL {
        let first = plan_category(Category::Contacts, mode, "s", &backup, &live);
        let after = apply_in_memory(&live, &first);
        let again = plan_category(Category::Contacts, mode, "s", &backup, &after);
        assert!(!again.writes_anything(), "{mode}: {again:?}");
    }
}

#[test]
fn merge_fills_from_every_backup_item_of_a_key_so_a_second_merge_fills_nothing() {
    // Found by the properties: filling live-1 from c-5 made it stop matching c-4, and a
    // second merge then filled live-2 from c-4.
    let backup = vec![
        backup_item("c-4", json!({"email": "B@x.org", "name": "Ann"})),
        backup_item(
            "c-5",
            json!({"email": "B@x.org", "name": "", "phone": "n/a"}),
        ),
    ];
    let live = vec![
        live_item(1, json!({"email": "B@x.org", "name": "Ann"})),
        live_item(2, json!({"email": "B@x.org", "name": ""})),
    ];
    let first = plan_category(Category::Contacts, Mode::Merge, "s", &backup, &live);
    let after = apply_in_memory(&live, &first);
    assert_eq!(
        after[1].payload["name"], "Ann",
        "live-2's empty name is filled"
    );
    assert_eq!(after[0].payload["phone"], "n/a");
    let again = plan_category(Category::Contacts, Mode::Merge, "s", &backup, &after);
    assert!(!again.writes_anything(), "{again:?}");
}

#[test]
fn a_restored_copy_the_customer_edited_is_not_restored_again_by_merge() {
    let (backup, live) = contacts();
    let first = plan_category(Category::Contacts, Mode::Merge, "s", &backup, &live);
    let mut after = apply_in_memory(&live, &first);
    let copy = after
        .iter_mut()
        .find(|l| l.uid == "s/c-3")
        .expect("restored copy");
    copy.payload = json!({"name": "Cy Ode", "phone": "+12065550177"});
    copy.natural_key = natural_key(Category::Contacts, &copy.payload);
    copy.content_hash = content_hash(&copy.payload);
    let again = plan_category(Category::Contacts, Mode::Merge, "s", &backup, &after);
    assert!(!again.writes_anything());
    // Replace puts the backup's content back in place, under the same uid.
    let replace = plan_category(Category::Contacts, Mode::Replace, "s", &backup, &after);
    assert!(replace.updates.iter().any(|u| u.uid == "s/c-3"));
    assert!(replace.adds.iter().all(|a| a.uid != "s/c-3"));
}

#[test]
fn emptiness_is_null_blank_or_an_empty_container() {
    for v in [json!(null), json!(""), json!("  "), json!([]), json!({})] {
        assert!(is_empty_value(&v), "{v}");
    }
    for v in [
        json!(0),
        json!(false),
        json!("x"),
        json!([1]),
        json!({"a": 1}),
    ] {
        assert!(!is_empty_value(&v), "{v}");
    }
}

#[test]
fn modes_parse_from_their_names_and_need_the_right_permission() {
    for m in Mode::ALL {
        assert_eq!(m.as_str().parse::<Mode>(), Ok(m));
    }
    assert_eq!("Keep Both".parse::<Mode>(), Ok(Mode::KeepBoth));
    assert!("overwrite".parse::<Mode>().is_err());
    assert_eq!(Mode::Replace.permission(), Permission::RestoreReplace);
    assert_eq!(Mode::KeepBoth.permission(), Permission::RestoreMerge);
}

// ----- properties ---------------------------------------------------------------------

/// Contacts from small pools, so keys collide and fields are often empty.
fn contact() -> impl Strategy<Value = Value> {
    let name = prop::sample::select(vec!["Ann", "Bo", "Cy", "", "  "]);
    let phone = prop::sample::select(vec!["+12065550101", "(206) 555-0102", "", "n/a"]);
    let email = prop::sample::select(vec!["a@x.org", "B@x.org", ""]);
    let extra = prop::option::of(prop::sample::select(vec!["note", ""]));
    (name, phone, email, extra).prop_map(|(n, p, e, x)| {
        let mut o = serde_json::Map::new();
        o.insert("name".into(), json!(n));
        if !p.is_empty() {
            o.insert("phone".into(), json!(p));
        }
        o.insert("email".into(), json!(e));
        if let Some(x) = x {
            o.insert("extra".into(), json!(x));
        }
        Value::Object(o)
    })
}

fn sides() -> impl Strategy<Value = (Vec<BackupItem>, Vec<LiveItem>)> {
    (
        prop::collection::vec((contact(), any::<bool>()), 0..12),
        prop::collection::vec(contact(), 0..12),
    )
        .prop_map(|(b, l)| {
            let backup = b
                .into_iter()
                .enumerate()
                .map(|(i, (p, ok))| BackupItem {
                    hash_ok: ok || i % 3 != 0,
                    ..backup_item(&format!("c-{i}"), p)
                })
                .collect();
            let live = l
                .into_iter()
                .enumerate()
                .map(|(i, p)| live_item(i as i64 + 1, p))
                .collect();
            (backup, live)
        })
}

proptest! {
    #[test]
    fn merge_never_removes_a_live_item_or_changes_a_non_empty_field((backup, live) in sides()) {
        let p = plan_category(Category::Contacts, Mode::Merge, "s", &backup, &live);
        prop_assert!(p.removes.is_empty());
        let after = apply_in_memory(&live, &p);
        for l in &live {
            let now = after.iter().find(|a| a.id == l.id);
            prop_assert!(now.is_some(), "live item {} was removed", l.id);
            let now = now.map(|a| &a.payload).cloned().unwrap_or_default();
            if let Value::Object(fields) = &l.payload {
                for (k, v) in fields {
                    if !is_empty_value(v) {
                        prop_assert_eq!(now.get(k), Some(v), "field {} of {} changed", k, l.id);
                    }
                }
            }
        }
    }

    #[test]
    fn keep_both_never_touches_a_live_item((backup, live) in sides()) {
        let p = plan_category(Category::Contacts, Mode::KeepBoth, "s", &backup, &live);
        prop_assert!(p.removes.is_empty() && p.updates.is_empty());
        prop_assert_eq!(p.counts.flag, p.counts.conflicting);
    }

    #[test]
    fn replanning_after_any_restore_writes_nothing((backup, live) in sides(), m in 0usize..3) {
        let mode = Mode::ALL[m];
        let first = plan_category(Category::Contacts, mode, "s", &backup, &live);
        let after = apply_in_memory(&live, &first);
        let again = plan_category(Category::Contacts, mode, "s", &backup, &after);
        prop_assert!(!again.writes_anything(), "{:?}", again);
        let uids: HashSet<&str> = after.iter().map(|l| l.uid.as_str()).collect();
        prop_assert_eq!(uids.len(), after.len(), "uids stay unique");
    }

    #[test]
    fn replace_leaves_exactly_the_good_backup_items((backup, live) in sides()) {
        let p = plan_category(Category::Contacts, Mode::Replace, "s", &backup, &live);
        let after = apply_in_memory(&live, &p);
        let mut got: Vec<String> = after.iter().map(|l| l.content_hash.clone()).collect();
        let mut want: Vec<String> = backup.iter().filter(|b| b.is_good()).map(|b| b.content_hash.clone()).collect();
        got.sort();
        want.sort();
        prop_assert_eq!(got, want);
    }

    #[test]
    fn every_good_backup_key_is_live_after_any_restore((backup, live) in sides(), m in 0usize..3) {
        let mode = Mode::ALL[m];
        let p = plan_category(Category::Contacts, mode, "s", &backup, &live);
        let after = apply_in_memory(&live, &p);
        let keys: HashSet<&str> = after.iter().map(|l| l.natural_key.as_str()).collect();
        prop_assert_eq!(covered(&p.good_keys, &keys), p.counts.recovered);
        prop_assert_eq!(after.len() as i64, p.counts.live_after);
    }
}
