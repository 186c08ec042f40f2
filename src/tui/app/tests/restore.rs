//! The restore panel, its dialog and undo, driven headless.

use super::*;

fn with_backup(verification: &str) -> AccountDetail {
    let mut d = detail(AccountStatus::Active);
    d.backups.push(crate::domain::Backup {
        id: "snap-1".to_string(),
        taken_at: t(2009, 10, 1),
        source: "server-snapshot".to_string(),
        verification: verification.parse().expect("verification"),
        categories: vec![
            crate::domain::BackupCategory {
                category: Category::Contacts,
                item_count: 64,
                bad_items: 0,
                restored: false,
            },
            crate::domain::BackupCategory {
                category: Category::Photos,
                item_count: 10,
                bad_items: 10,
                restored: false,
            },
        ],
    });
    d
}

fn report(seq_mode: Mode) -> RestoreReport {
    RestoreReport {
        restore_id: None,
        outcome: crate::domain::RestoreOutcome::Preview,
        account_no: "310000001".to_string(),
        backup_id: "snap-1".to_string(),
        verification: domain::Verification::Verified,
        mode: seq_mode,
        result: "restored-partial".to_string(),
        categories: Vec::new(),
    }
}

#[test]
fn a_restore_previews_first_and_applies_only_after_the_dialog() {
    let mut a = opened(Role::Agent, with_backup("verified"));
    let e = a.update(key('r'));
    assert_eq!(
        e,
        vec![Effect::RestorePreview {
            seq: 1,
            account_no: "310000001".to_string(),
            backup_id: "snap-1".to_string(),
            categories: vec![Category::Contacts],
            mode: Mode::Merge
        }],
        "only categories with good items are offered"
    );
    assert!(a.busy());
    assert!(
        a.update(code(KeyCode::Enter)).is_empty(),
        "nothing to confirm before the preview is in"
    );
    // Changing the mode asks again; the older preview is dropped when it arrives.
    let e = a.update(key('m'));
    assert!(matches!(
        &e[..],
        [Effect::RestorePreview {
            seq: 2,
            mode: Mode::KeepBoth,
            ..
        }]
    ));
    a.update(Msg::RestorePreviewed {
        seq: 1,
        result: Ok(Box::new(report(Mode::Merge))),
    });
    assert!(
        a.restore().is_some_and(|p| p.preview.is_none()),
        "stale preview dropped"
    );
    a.update(Msg::RestorePreviewed {
        seq: 2,
        result: Ok(Box::new(report(Mode::KeepBoth))),
    });
    assert!(
        a.update(key('m')).len() == 1 && a.restore().is_some_and(|p| p.mode == Mode::Merge),
        "an agent never gets replace"
    );
    a.update(Msg::RestorePreviewed {
        seq: 3,
        result: Ok(Box::new(report(Mode::Merge))),
    });
    a.update(code(KeyCode::Enter));
    assert!(a.restore().is_none());
    assert_eq!(a.dialog().map(|d| d.focus), Some(Button::Cancel));
    let e = a.update(key('y'));
    assert_eq!(
        e,
        vec![Effect::Run(Command::Restore {
            account_id: 7,
            account_no: "310000001".to_string(),
            backup_id: "snap-1".to_string(),
            categories: vec![Category::Contacts],
            mode: Mode::Merge
        })]
    );
}

#[test]
fn a_supervisor_can_choose_replace_and_unchoosing_every_category_asks_nothing() {
    let mut a = opened(Role::Supervisor, with_backup("partial"));
    a.update(key('r'));
    a.update(key('m'));
    let e = a.update(key('m'));
    assert!(matches!(
        &e[..],
        [Effect::RestorePreview {
            mode: Mode::Replace,
            ..
        }]
    ));
    assert!(
        a.update(key(' ')).is_empty(),
        "no category chosen: nothing to preview"
    );
    a.update(code(KeyCode::Esc));
    assert!(a.restore().is_none());
}

#[test]
fn a_corrupt_or_manifest_only_backup_is_refused_in_one_line() {
    for (verification, words) in [("corrupt", "corrupt"), ("manifest", "not loaded")] {
        let mut a = opened(Role::Agent, with_backup(verification));
        assert!(a.update(key('r')).is_empty());
        assert!(a.restore().is_none());
        assert!(
            matches!(&a.message, Some((Level::Error, m)) if m.contains(words)),
            "{verification}"
        );
    }
}

#[test]
fn undo_is_a_supervisors_and_goes_through_a_dialog() {
    let mut agent = opened(Role::Agent, with_backup("verified"));
    assert!(agent.update(key('u')).is_empty());
    assert!(matches!(&agent.message, Some((Level::Error, m)) if m.contains("may not undo")));
    let mut sup = opened(Role::Supervisor, with_backup("verified"));
    let e = sup.update(key('u'));
    assert_eq!(
        e,
        vec![Effect::FindUndo {
            account_id: 7,
            account_no: "310000001".to_string()
        }]
    );
    let record = RestoreRecord {
        id: 4,
        account_no: "310000001".to_string(),
        backup_id: "snap-1".to_string(),
        mode: Mode::Merge,
        categories: Vec::new(),
        agent: "bob".to_string(),
        result: "restored-partial".to_string(),
        created_at: t(2009, 10, 14),
        undone_by: None,
        undone_at: None,
    };
    sup.update(Msg::UndoCandidate {
        account_id: 7,
        result: Ok(Some(record)),
    });
    assert_eq!(sup.dialog().map(|d| d.focus), Some(Button::Cancel));
    assert_eq!(
        sup.update(key('y')),
        vec![Effect::Run(Command::Undo {
            account_id: 7,
            restore_id: 4
        })]
    );
    sup.update(key('u'));
    sup.update(Msg::UndoCandidate {
        account_id: 7,
        result: Ok(None),
    });
    assert!(sup.dialog().is_none());
}

#[test]
fn dialog_and_restore_keys_follow_the_keymap() {
    let file: crate::tui::keymap::ConfigFile =
        toml::from_str("[keys]\nconfirm = \"o\"\ncancel = \"x\"\nrestore-choose = \"t\"\n")
            .expect("toml");
    let mut a = opened(Role::Agent, with_backup("verified"));
    a.keymap = Keymap::default().with_overrides(&file.keys).expect("keys");
    a.update(key('c'));
    assert!(a.update(key('y')).is_empty(), "y is no longer yes");
    assert!(a.dialog().is_some());
    assert_eq!(a.update(key('o')).len(), 1, "o is");
    a.update(key('c'));
    a.update(key('x'));
    assert!(a.dialog().is_none(), "x cancels");
    a.update(key('r'));
    assert!(a.update(key(' ')).is_empty(), "Space no longer chooses");
    assert!(
        a.update(key('t')).is_empty() && a.restore().is_some_and(|p| !p.categories[0].1),
        "t unchooses the only category"
    );
}
