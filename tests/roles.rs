//! Who may do what. The service enforces each role's rights, the same on both backends (an
//! agent acting through `caredesk serve` is resolved with `Service::actor_for`, as the tests'
//! `as_agent` does). On PostgreSQL `caredesk db grant` gives rights on the database to its two
//! groups only: the server's logins and the operators (every active supervisor with a database
//! login); agents, auditors and disabled agents have none at all, and even an operator cannot
//! update or delete a credit or an audit record. On SQLite, where there are no logins,
//! `db grant` is refused as bad usage. The forgeries an agent's or an auditor's login might
//! try with psql are tests/db_rights.rs.

mod common;

use caredesk::domain::CreditOutcome;
use caredesk::domain::Role;
use caredesk::error::Error;
use caredesk::service::Service;
use caredesk::service::credit::IncidentCredit;
use caredesk::store::{ConnectOptions, DbUrl, Store};
use common::World;

/// Runs one statement on the service's own connection (its login) and returns the error text.
async fn raw(svc: &Service, sql: &'static str) -> Result<u64, String> {
    match svc.store() {
        Store::Postgres(s) => sqlx::query(sql)
            .execute(s.pool())
            .await
            .map(|r| r.rows_affected())
            .map_err(|e| e.to_string()),
        Store::Sqlite(s) => sqlx::query(sql)
            .execute(s.pool())
            .await
            .map(|r| r.rows_affected())
            .map_err(|e| e.to_string()),
    }
}

async fn assert_denied(svc: &Service, who: &str, sql: &'static str) {
    let e = raw(svc, sql)
        .await
        .expect_err(&format!("{who} must not be able to run: {sql}"));
    assert!(
        e.contains("permission denied") || e.contains("must be owner"),
        "{who}: {sql} failed, but not for want of privilege: {e}"
    );
}

/// Database logins for the test's agents, as an operator would create them (`db grant`
/// creates none for agents). Logins belong to the server, not to one database: they may be
/// left from an earlier run.
const CREATE_LOGINS: &str = r#"
DO $$
DECLARE l text;
BEGIN
    FOREACH l IN ARRAY ARRAY['rl_agent', 'rl_supervisor', 'rl_auditor'] LOOP
        IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = l) THEN
            BEGIN
                EXECUTE format('CREATE ROLE %I LOGIN', l);
            EXCEPTION WHEN duplicate_object OR unique_violation THEN NULL;
            END;
        END IF;
    END LOOP;
END $$"#;

/// Tables of the schema on which login `$1` holds `$2` (a comma-separated privilege list).
const TABLES_WITH: &str = "SELECT COUNT(*) FROM pg_tables WHERE schemaname = current_schema() \
     AND has_table_privilege($1, quote_ident(schemaname) || '.' || quote_ident(tablename), $2)";

#[tokio::test]
async fn each_role_does_what_it_may_and_db_grant_gives_rights_to_operators_only() {
    let w = World::demo(60, 7).await;
    let (sup_svc, sup) = (&w.svc, &w.sup);
    let (agent_svc, agent) = w.as_agent("rl_agent", Role::Agent).await;
    let (sv_svc, sv) = w.as_agent("rl_supervisor", Role::Supervisor).await;
    let (aud_svc, aud) = w.as_agent("rl_auditor", Role::Auditor).await;

    // Each role does its work through the service.
    let account = w.eligible_account("720000001", "+12065550201").await;
    agent_svc
        .add_note(&agent, &account, "called about contacts")
        .await
        .expect("an agent adds a note");
    let credited = agent_svc
        .credit_apply(&agent, &account, None, false)
        .await
        .expect("an agent applies the incident credit");
    let IncidentCredit::Applied(CreditOutcome::Credited(credit)) = credited else {
        panic!("{credited:?}")
    };
    aud_svc
        .show(&aud, &account)
        .await
        .expect("an auditor views an account (and the view is audited)");
    assert!(
        aud_svc
            .audit_verify(&aud)
            .await
            .expect("an auditor verifies the chain")
            .first_bad
            .is_none()
    );
    sv_svc
        .add_agent(&sv, "rl_temp", None, Role::Agent)
        .await
        .expect("a supervisor manages agents");

    // ... and the service refuses the rest, on either backend, before anything is written.
    let refusals = [
        agent_svc
            .add_agent(&agent, "rl_other", None, Role::Supervisor)
            .await
            .err(),
        agent_svc.disable_agent(&agent, "rl_auditor").await.err(),
        agent_svc
            .credit_reverse(&agent, credit.id, "undo it")
            .await
            .err(),
        aud_svc.add_note(&aud, &account, "a note").await.err(),
        aud_svc
            .credit_apply(&aud, &account, None, false)
            .await
            .err(),
        sup_svc.disable_agent(sup, &sup.login).await.err(),
    ];
    for (n, e) in refusals.into_iter().enumerate() {
        let e = e.unwrap_or_else(|| panic!("refusal {n} was let through"));
        assert_eq!(e.exit_code(), 3, "refusal {n}: {e}");
    }

    if !w.db.is_postgres() {
        let e = sup_svc
            .grant_roles(sup)
            .await
            .expect_err("SQLite has no logins");
        assert!(matches!(e, Error::Invalid(_)), "{e:?}");
        assert_eq!(e.exit_code(), 2);
        assert!(e.to_string().contains("PostgreSQL only"), "{e}");
        for svc in [agent_svc, sv_svc, aud_svc] {
            svc.close().await;
        }
        w.finish().await;
        return;
    }

    // On PostgreSQL: the agents have logins, and `db grant` syncs them.
    let Store::Postgres(s) = sup_svc.store() else {
        unreachable!("PostgreSQL only")
    };
    sqlx::query(CREATE_LOGINS)
        .execute(s.pool())
        .await
        .expect("logins");
    let report = sup_svc.grant_roles(sup).await.expect("db grant");
    let db = w.db.pg_name().to_string();
    assert_eq!(
        report.groups,
        vec![format!("{db}_server"), format!("{db}_operator")]
    );
    assert!(
        report.operators.contains(&"rl_supervisor".to_string()),
        "{report:?}"
    );
    for l in ["rl_agent", "rl_auditor", "rl_temp"] {
        assert!(
            report.without_rights.contains(&l.to_string()),
            "{l}: {report:?}"
        );
    }
    assert!(report.still_privileged.is_empty(), "{report:?}");
    let member = |login: &'static str, group: &'static str| async move {
        let yes: bool =
            sqlx::query_scalar("SELECT pg_has_role($1, current_database() || '_' || $2, 'MEMBER')")
                .bind(login)
                .bind(group)
                .fetch_one(s.pool())
                .await
                .expect("membership");
        yes
    };
    let tables_with = |login: &'static str, privileges: &'static str| async move {
        let n: i64 = sqlx::query_scalar(TABLES_WITH)
            .bind(login)
            .bind(privileges)
            .fetch_one(s.pool())
            .await
            .expect("privileges");
        n
    };
    assert!(member("rl_supervisor", "operator").await);
    // Agents and auditors: in no group, and no privilege of any kind on any table.
    for l in ["rl_agent", "rl_auditor"] {
        for g in ["server", "operator"] {
            assert!(!member(l, g).await, "{l} in {g}");
        }
        assert_eq!(
            tables_with(
                l,
                "SELECT, INSERT, UPDATE, DELETE, TRUNCATE, REFERENCES, TRIGGER"
            )
            .await,
            0,
            "{l} has rights"
        );
    }
    // The operator reads everything, and may write all but the ledger and the audit log
    // (append only) and the audit head (update only, and its trigger lets it only move on).
    let tables: i64 =
        sqlx::query_scalar("SELECT COUNT(*) FROM pg_tables WHERE schemaname = current_schema()")
            .fetch_one(s.pool())
            .await
            .expect("tables");
    assert_eq!(tables_with("rl_supervisor", "SELECT").await, tables);
    assert_eq!(
        tables_with("rl_supervisor", "TRUNCATE, REFERENCES, TRIGGER").await,
        0
    );
    assert_eq!(tables_with("rl_supervisor", "UPDATE").await, tables - 3);
    assert_eq!(tables_with("rl_supervisor", "DELETE").await, tables - 4);
    assert_eq!(tables_with("rl_supervisor", "INSERT").await, tables - 2);

    // The operator works directly on the database, as its own login.
    let url = DbUrl::parse(&w.db.url_as("rl_supervisor")).expect("url");
    let op_svc = Service::open(
        &url,
        &ConnectOptions::default(),
        w.clock.clone() as std::sync::Arc<dyn caredesk::domain::Clock>,
        caredesk::service::OpenMode::Normal,
    )
    .await
    .expect("an operator opens the database");
    let op = op_svc.actor(None).await.expect("the operator is its login");
    assert_eq!(op.login, "rl_supervisor");
    op_svc
        .add_note(&op, &account, "called back")
        .await
        .expect("an operator writes, audit and all");
    op_svc
        .credit_reverse(&op, credit.id, "applied twice")
        .await
        .expect("an operator reverses a credit (a new ledger row)");
    for sql in [
        "DELETE FROM credits",
        "UPDATE credits SET amount_cents = 0",
        "TRUNCATE credits",
        "DELETE FROM audit",
        "UPDATE audit SET detail = 'rewritten'",
        "TRUNCATE audit",
        "DELETE FROM audit_head",
        "INSERT INTO audit_head (id, seq, hash) VALUES (2, 0, '00')",
        "DROP TABLE credits",
        "UPDATE _sqlx_migrations SET success = false",
    ] {
        assert_denied(&op_svc, "an operator", sql).await;
    }
    // The identity is the login: an operator cannot name someone else.
    let e = op_svc
        .actor(Some("rl_agent"))
        .await
        .expect_err("--agent cannot override the login");
    assert_eq!(e.exit_code(), 3, "{e}");

    // A disabled supervisor leaves the operator group at the next grant, and its open
    // connection can no longer read anything.
    sup_svc
        .disable_agent(sup, "rl_supervisor")
        .await
        .expect("disable");
    let report = sup_svc.grant_roles(sup).await.expect("grant again");
    assert!(
        !report.operators.contains(&"rl_supervisor".to_string()),
        "{report:?}"
    );
    assert!(
        report.without_rights.contains(&"rl_supervisor".to_string()),
        "{report:?}"
    );
    assert!(!member("rl_supervisor", "operator").await);
    assert_denied(
        &op_svc,
        "a disabled supervisor",
        "SELECT COUNT(*) FROM accounts",
    )
    .await;
    // Every grant left its audit record, and the chain holds.
    let log = sup_svc
        .audit_log(sup, None, None, 50)
        .await
        .expect("audit log");
    assert_eq!(log.iter().filter(|r| r.action == "db.grant").count(), 2);
    assert!(
        sup_svc
            .audit_verify(sup)
            .await
            .expect("verify")
            .first_bad
            .is_none()
    );

    for svc in [agent_svc, sv_svc, aud_svc, op_svc.into()] {
        svc.close().await;
    }
    w.finish().await;
}

#[tokio::test]
async fn a_role_that_sees_less_gets_masked_customers_and_every_reveal_is_audited() {
    let w = World::demo(60, 8).await;
    let (sup_svc, sup) = (&w.svc, &w.sup);
    let as_ = |l: &'static str, r: Role| w.as_agent(l, r);
    let account = "310000001";
    let full = sup_svc
        .show(sup, account)
        .await
        .expect("supervisor sees all");
    assert!(!full.masked);
    let full = full.summary;

    // By default auditors see customers masked, in searches, worklists and the account view.
    let (aud_svc, aud) = as_("pm_auditor", Role::Auditor).await;
    let found = aud_svc.search(&aud, account, 5).await.expect("search");
    let hit = found
        .iter()
        .find(|a| a.account_no == account)
        .expect("found");
    assert_eq!(hit.name, caredesk::domain::privacy::mask_name(&full.name));
    assert_ne!(hit.name, full.name);
    assert_eq!(
        hit.msisdn,
        format!("…{}", &full.msisdn[full.msisdn.len() - 4..])
    );
    assert_eq!(
        hit.email,
        caredesk::domain::privacy::mask_email(&full.email)
    );
    let by_name = aud_svc
        .search(&aud, &full.name, 50)
        .await
        .expect("search by name");
    assert!(
        by_name.iter().all(|a| a.name != full.name),
        "masked by name too"
    );
    for a in aud_svc
        .worklist_accounts(&aud, None, 50)
        .await
        .expect("worklist")
    {
        assert!(a.msisdn.starts_with('…'), "{}", a.msisdn);
    }
    let shown = aud_svc.show(&aud, account).await.expect("show");
    assert!(shown.masked);
    assert_eq!(shown.summary.name, hit.name);

    // Revealing shows everything, and leaves its own audit record.
    let revealed = aud_svc.show_revealed(&aud, account).await.expect("reveal");
    assert!(!revealed.masked);
    assert_eq!(revealed.summary.name, full.name);
    assert_eq!(revealed.summary.msisdn, full.msisdn);
    let log = sup_svc
        .audit_log(sup, Some(account), None, 20)
        .await
        .expect("audit log");
    let actions: Vec<(&str, &str)> = log
        .iter()
        .filter(|r| r.agent == "pm_auditor")
        .map(|r| (r.action.as_str(), r.account_no.as_deref().unwrap_or("")))
        .collect();
    assert!(actions.contains(&("account.view", account)), "{actions:?}");
    assert!(
        actions.contains(&("account.reveal", account)),
        "{actions:?}"
    );
    assert!(
        log.iter()
            .all(|r| !r.detail.contains(&full.name) && !r.detail.contains(&full.msisdn)),
        "no PII in the audit detail"
    );

    // Only a supervisor sets the policy; sessions opened afterwards follow it.
    let (agent_svc, agent) = as_("pm_agent", Role::Agent).await;
    assert!(!agent_svc.masks(&agent));
    let policy = caredesk::domain::MaskPolicy::from_text("agent").expect("policy");
    let e = agent_svc
        .set_mask_policy(&agent, &policy)
        .await
        .expect_err("agents cannot change the policy");
    assert_eq!(e.exit_code(), 3);
    sup_svc
        .set_mask_policy(sup, &policy)
        .await
        .expect("supervisor sets the policy");
    let (agent_svc2, agent2) = as_("pm_agent", Role::Agent).await;
    assert!(agent_svc2.masks(&agent2));
    let (aud_svc2, aud2) = as_("pm_auditor", Role::Auditor).await;
    let found = aud_svc2.search(&aud2, account, 5).await.expect("search");
    assert!(
        found.iter().any(|a| a.name == full.name),
        "auditors unmasked now"
    );

    for svc in [aud_svc, agent_svc, agent_svc2, aud_svc2] {
        svc.close().await;
    }
    w.finish().await;
}
