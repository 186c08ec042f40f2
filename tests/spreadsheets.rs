//! Files as LibreOffice Calc 7.4 saves them (`assets/spreadsheets/`), through the real binary
//! on the backend the environment selects (CAREDESK_TEST_PG): a Windows-1252 accounts file, a
//! `;`-separated list for a credit run, a header as people type it, and a phone column Calc
//! saved in scientific notation, which is refused naming the cell, with nothing written.

mod common;

use std::path::PathBuf;

use common::{World, json_of, outcome};

fn asset(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("assets/spreadsheets")
        .join(name)
}

/// A world holding the three accounts of `accounts-windows-1252.csv`, imported by the binary.
async fn world_with_the_windows_1252_accounts() -> World {
    let w = World::empty("sofia").await;
    let imported = json_of(
        w.cli()
            .args(["import", "accounts"])
            .arg(asset("accounts-windows-1252.csv")),
    );
    assert_eq!(imported["rows"], 3, "{imported}");
    assert_eq!(imported["inserted"], 3, "{imported}");
    w
}

/// How many credits `account` holds, as `show` prints them.
fn credits_of(w: &World, account: &str) -> usize {
    let shown = json_of(w.cli().args(["show", account]));
    shown["credits"].as_array().expect("credits").len()
}

#[tokio::test]
async fn a_windows_1252_accounts_file_is_imported_and_shown_back_in_utf8() {
    let w = world_with_the_windows_1252_accounts().await;
    let bytes = std::fs::read(asset("accounts-windows-1252.csv")).expect("asset");
    assert!(
        std::str::from_utf8(&bytes).is_err() && bytes.windows(4).any(|b| b == b"Ren\xe9"),
        "the sample holds Windows-1252 bytes, not UTF-8"
    );
    for (account, name) in [
        ("760000001", "Renée Dubois"),
        ("760000002", "Núñez, José"),
        ("760000003", "Šárka Müller"),
    ] {
        let shown = json_of(w.cli().args(["show", account]));
        assert_eq!(shown["name"], name, "{shown}");
        let out = w.cli().args(["show", account]).output().expect("show");
        assert!(out.status.success());
        let text = String::from_utf8(out.stdout).expect("show prints UTF-8");
        assert!(text.contains(name), "{text}");
    }
    let shown = json_of(w.cli().args(["show", "760000001"]));
    assert_eq!(shown["msisdn"], "+12065550161", "{shown}");
    // Read the same way the second time: nothing changes.
    let again = json_of(
        w.cli()
            .args(["import", "accounts"])
            .arg(asset("accounts-windows-1252.csv")),
    );
    assert_eq!(
        (&again["inserted"], &again["updated"], &again["unchanged"]),
        (&0.into(), &0.into(), &3.into()),
        "{again}"
    );
    w.finish().await;
}

#[tokio::test]
async fn a_semicolon_separated_list_is_planned_then_credited_for_the_accounts_it_names() {
    let w = world_with_the_windows_1252_accounts().await;
    let list = asset("accounts-semicolon.csv");
    let plan = json_of(w.cli().args(["credit", "run", "--accounts"]).arg(&list));
    assert_eq!(plan["applied"], false, "{plan}");
    assert_eq!(plan["selected"], 2, "{plan}");
    assert_eq!(plan["invalid"], 0, "{plan}");
    assert_eq!(credits_of(&w, "760000001"), 0, "a plan credits no one");

    let run = json_of(
        w.cli()
            .args(["credit", "run", "--apply", "--accounts"])
            .arg(&list),
    );
    assert_eq!(run["applied"], true, "{run}");
    assert_eq!(run["selected"], 2, "{run}");
    assert_eq!(run["credited"], 2, "{run}");
    assert_eq!(credits_of(&w, "760000001"), 1);
    assert_eq!(credits_of(&w, "760000002"), 0, "not on the list");
    assert_eq!(credits_of(&w, "760000003"), 1);
    w.finish().await;
}

#[tokio::test]
async fn a_header_typed_as_account_no_and_phone_selects_by_both() {
    let w = world_with_the_windows_1252_accounts().await;
    let run = json_of(
        w.cli()
            .args(["credit", "run", "--apply", "--accounts"])
            .arg(asset("accounts-typed-header.csv")),
    );
    assert_eq!(run["selected"], 2, "{run}");
    assert_eq!(run["credited"], 2, "{run}");
    assert_eq!(credits_of(&w, "760000001"), 0, "not on the list");
    assert_eq!(credits_of(&w, "760000002"), 1, "by its Account No");
    assert_eq!(credits_of(&w, "760000003"), 1, "by its Phone");
    w.finish().await;
}

#[tokio::test]
async fn a_number_in_scientific_notation_is_refused_naming_the_cell_and_nothing_is_written() {
    let w = world_with_the_windows_1252_accounts().await;
    let file = asset("accounts-scientific.csv");
    let (code, out, err) = outcome(w.cli().args(["import", "accounts"]).arg(&file));
    assert_eq!(code, 2, "{err}");
    assert!(out.is_empty(), "{out}");
    assert_eq!(
        err.trim_end(),
        format!(
            "caredesk: {} line 4: msisdn \"1.36E+10\" is in scientific notation: the spreadsheet \
             dropped its digits; format the column as text and save again; nothing was imported",
            file.display()
        )
    );
    for good_row in ["770000001", "770000002"] {
        let (code, _, err) = outcome(w.cli().args(["show", good_row]));
        assert_ne!(code, 0, "{good_row} was not imported: {err}");
    }

    // The same cell in a credit run's list, under the header as typed: named as written
    // (not masked: it holds none of the number's digits), and nothing is credited.
    let list = w.file("callers.csv");
    std::fs::write(&list, "Phone\n(206) 555-0161\n1.36E+10\n").expect("write");
    let (code, _, err) = outcome(
        w.cli()
            .args(["credit", "run", "--apply", "--accounts"])
            .arg(&list),
    );
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("nothing was applied"), "{err}");
    assert!(
        err.contains(&format!(
            "{} line 3: Phone \"1.36E+10\" is in scientific notation: the spreadsheet dropped its \
             digits; format the column as text and save again",
            list.display()
        )),
        "{err}"
    );
    assert_eq!(credits_of(&w, "760000001"), 0);
    w.finish().await;
}
