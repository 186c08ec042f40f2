//! Incidents as data: a file stored by `incident create`, edited within its rules, several in
//! one database, and every command choosing the one it means. On the backend the environment
//! selects (CAREDESK_TEST_PG), through the service and through the real binary.

mod common;

use caredesk::domain::{IncidentEdit, Role};
use caredesk::service::credit::IncidentCredit;
use common::{World, json_of, outcome};

const MARCH: &str = r#"id = "photos-2009-12"
title = "Photo sync outage, December 2009"
start = 2009-12-01T09:00:00Z
snapshot_as_of = 2009-11-30
categories = ["photos", "notes"]
advisory = "Keep the phone charged and switched on."

[credit]
months = 2
appreciation_cents = 5000
currency = "USD"
"#;

fn march() -> caredesk::domain::Incident {
    caredesk::import::parse_incident("march.toml", MARCH).expect("the test file is valid")
}

#[tokio::test]
async fn an_incident_file_is_stored_listed_and_replayed_and_a_bad_one_names_its_line() {
    let w = World::empty("sofia").await;
    let file = w.file("march.toml");
    std::fs::write(&file, MARCH).expect("write");

    let created = json_of(w.cli().args(["incident", "create"]).arg(&file));
    assert_eq!(created["changed"], true);
    assert_eq!(created["incident"]["id"], "photos-2009-12");
    let again = json_of(w.cli().args(["incident", "create"]).arg(&file));
    assert_eq!(
        again["changed"], false,
        "the same file again changes nothing"
    );

    let list = json_of(w.cli().args(["incident", "list"]));
    let ids: Vec<&str> = list["results"]
        .as_array()
        .expect("results")
        .iter()
        .map(|i| i["id"].as_str().expect("id"))
        .collect();
    assert_eq!(ids, ["danger-2009-10", "photos-2009-12"]);
    let shown = json_of(w.cli().args(["incident", "show", "photos-2009-12"]));
    assert_eq!(shown["credit_months"], 2);
    assert_eq!(shown["categories"], serde_json::json!(["photos", "notes"]));
    assert_eq!(shown["credits"], 0);

    // A different definition under the same id is refused: edits go through `incident edit`.
    std::fs::write(&file, MARCH.replace("months = 2", "months = 3")).expect("write");
    let (code, _, err) = outcome(w.cli().args(["incident", "create"]).arg(&file));
    assert_eq!(code, 3, "{err}");
    assert!(err.contains("incident edit photos-2009-12"), "{err}");

    // A broken file names the file and the line, and writes nothing.
    let audit_before = w
        .svc
        .audit_log(&w.sup, None, None, 1000)
        .await
        .expect("log")
        .len();
    let bad = w.file("bad.toml");
    std::fs::write(
        &bad,
        MARCH
            .replace("id = \"photos-2009-12\"", "id = \"may\"")
            .replace("currency = \"USD\"", "currency = \"dollars\""),
    )
    .expect("write");
    let (code, out, err) = outcome(w.cli().args(["incident", "create"]).arg(&bad));
    assert_eq!(code, 2, "{err}");
    assert!(out.is_empty());
    assert!(
        err.contains("bad.toml line 11:") && err.contains("three-letter"),
        "{err}"
    );
    std::fs::write(&bad, "id = \"may\"\ntitle = 3\n").expect("write");
    let (code, _, err) = outcome(w.cli().args(["incident", "create"]).arg(&bad));
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("bad.toml line 2:"), "{err}");
    let audit_after = w
        .svc
        .audit_log(&w.sup, None, None, 1000)
        .await
        .expect("log")
        .len();
    assert_eq!(audit_before, audit_after, "nothing was written");
    assert_eq!(w.svc.incidents().await.expect("incidents").len(), 2);
    w.finish().await;
}

#[tokio::test]
async fn only_a_supervisor_changes_incidents_and_the_credit_policy_freezes_at_the_first_credit() {
    let w = World::empty("sofia").await;
    let (agent_svc, agent) = w.as_agent("inc_agent", Role::Agent).await;
    let refused = agent_svc
        .incident_create(&agent, &march())
        .await
        .expect_err("an agent may not create an incident");
    assert_eq!(refused.exit_code(), 3, "{refused}");
    w.svc
        .incident_create(&w.sup, &march())
        .await
        .expect("created");

    // Before any credit, the policy may change; the advisory and the end always may.
    let months = IncidentEdit {
        credit_months: Some(1),
        ..Default::default()
    };
    let changed = w
        .svc
        .incident_edit(&w.sup, "photos-2009-12", &months)
        .await
        .expect("the policy changes before any credit");
    assert_eq!(changed.fields, ["credit months"]);

    let account = w.eligible_account("730000001", "+12065550301").await;
    let credited = w
        .svc
        .credit_apply(&w.sup, &account, Some("photos-2009-12"), false)
        .await
        .expect("credited");
    assert!(
        matches!(credited, IncidentCredit::Applied(_)),
        "{credited:?}"
    );

    let frozen = w
        .svc
        .incident_edit(
            &w.sup,
            "photos-2009-12",
            &IncidentEdit {
                appreciation_cents: Some(9_000),
                ..Default::default()
            },
        )
        .await
        .expect_err("the policy is frozen");
    assert_eq!(frozen.exit_code(), 3);
    assert!(frozen.to_string().contains("frozen"), "{frozen}");

    // The binary: the advisory and the end change, audited; an end before the start is refused.
    let edited = json_of(w.cli().args([
        "incident",
        "edit",
        "photos-2009-12",
        "--advisory",
        "Keep it on the charger.",
        "--end",
        "2009-12-03T12:00:00Z",
    ]));
    assert_eq!(edited["fields"], serde_json::json!(["advisory", "end"]));
    let (code, _, err) =
        outcome(
            w.cli()
                .args(["incident", "edit", "photos-2009-12", "--end", "2009-11-01"]),
        );
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("before it starts"), "{err}");
    let (code, _, err) = outcome(
        w.cli()
            .args(["incident", "edit", "may-2010", "--advisory", "x"]),
    );
    assert_eq!(code, 2, "{err}");
    assert!(
        err.contains("no incident \"may-2010\"") && err.contains("photos-2009-12"),
        "{err}"
    );

    let log = w
        .svc
        .audit_log(&w.sup, None, None, 1000)
        .await
        .expect("log");
    let actions: Vec<&str> = log
        .iter()
        .filter(|r| r.object_id.as_deref() == Some("photos-2009-12"))
        .map(|r| r.action.as_str())
        .collect();
    // The creation, the policy, the advisory and end; the refusals wrote nothing.
    assert_eq!(
        actions,
        ["incident.create", "incident.edit", "incident.edit"]
    );
    assert!(
        w.svc
            .audit_verify(&w.sup)
            .await
            .expect("verify")
            .first_bad
            .is_none()
    );
    agent_svc.close().await;
    w.finish().await;
}

#[tokio::test]
async fn with_several_incidents_a_command_names_one_or_is_told_which_there_are() {
    let w = World::empty("sofia").await;
    // The world's clock is in October 2009: the December incident has not begun, so the
    // October one is the only open one and commands naming none get it.
    w.svc
        .incident_create(&w.sup, &march())
        .await
        .expect("created");
    let account = w.eligible_account("740000001", "+12065550401").await;
    w.impact(
        "impact.csv",
        "account_no,incident,category,server_lost,device_state,items_before\n\
         740000001,danger-2009-10,contacts,yes,holds-copy,40\n\
         740000001,photos-2009-12,photos,yes,holds-copy,90\n",
    )
    .await
    .expect("impact for both incidents");

    let shown = w.svc.show(&w.sup, &account).await.expect("show");
    let touched: Vec<&str> = shown.touched_by().iter().map(|i| i.id.as_str()).collect();
    assert_eq!(touched, ["danger-2009-10", "photos-2009-12"]);
    assert_eq!(
        shown.advisories().len(),
        2,
        "each incident's own words to read out"
    );

    let credited = w
        .svc
        .credit_apply(&w.sup, &account, None, false)
        .await
        .expect("the open incident");
    let IncidentCredit::Applied(o) = credited else {
        panic!("{credited:?}")
    };
    assert_eq!(o.credit().incident, "danger-2009-10");
    let second = w
        .svc
        .credit_apply(&w.sup, &account, Some("photos-2009-12"), false)
        .await
        .expect("the named incident");
    let IncidentCredit::Applied(o) = second else {
        panic!("{second:?}")
    };
    assert_eq!(o.credit().incident, "photos-2009-12");
    assert_eq!(o.credit().amount_cents, 2 * 1999, "two months of the plan");

    // The dashboard gives each incident its own credits.
    let totals = w.svc.totals(&w.sup).await.expect("totals");
    let per: Vec<(&str, i64, i64)> = totals
        .by_incident
        .iter()
        .map(|i| (i.incident.as_str(), i.credited, i.net_credited_cents))
        .collect();
    assert_eq!(
        per,
        [("danger-2009-10", 1, 1999), ("photos-2009-12", 1, 2 * 1999)]
    );

    // Once the October incident ends, no incident is open and the binary (with the real
    // clock) must be told which one.
    w.svc
        .incident_edit(
            &w.sup,
            "photos-2009-12",
            &IncidentEdit {
                ended_at: Some(chrono::Utc::now() - chrono::Duration::days(1)),
                ..Default::default()
            },
        )
        .await
        .expect("ended");
    let (code, _, err) = outcome(w.cli().args(["credit", "apply", &account, "--dry-run"]));
    assert_eq!(code, 2, "{err}");
    assert!(
        err.contains("danger-2009-10, photos-2009-12") && err.contains("--incident"),
        "{err}"
    );
    let shown = json_of(w.cli().args(["show", &account]));
    let incidents: Vec<&str> = shown["categories"]
        .as_array()
        .expect("categories")
        .iter()
        .map(|c| c["incident"].as_str().expect("incident"))
        .collect();
    assert_eq!(incidents, ["danger-2009-10", "photos-2009-12"]);
    w.finish().await;
}

#[tokio::test]
async fn a_database_made_without_an_incident_says_how_to_add_one() {
    let db = common::TestDb::new().await;
    let mut init = db.cli();
    init.args(["init", "--admin", "sofia"]);
    let (code, out, err) = outcome(&mut init);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("no incident yet"), "{out}");
    let (code, _, err) = outcome(db.cli().args(["credit", "apply", "1", "--dry-run"]));
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("caredesk incident create FILE"), "{err}");
    db.cleanup().await;
}

#[tokio::test]
async fn init_stores_the_incident_file_it_is_given() {
    let db = common::TestDb::new().await;
    let dir = tempfile::tempdir().expect("dir");
    let file = dir.path().join("march.toml");
    std::fs::write(&file, MARCH).expect("write");
    let out = json_of(
        db.cli()
            .args(["init", "--admin", "sofia", "--incident"])
            .arg(&file),
    );
    assert_eq!(out["incident"], "photos-2009-12");
    let list = json_of(db.cli().args(["incident", "list"]));
    assert_eq!(list["results"][0]["id"], "photos-2009-12");
    assert_eq!(list["results"].as_array().map(Vec::len), Some(1));
    db.cleanup().await;
}
