//! Privileges in the database itself (`caredesk db grant`). On PostgreSQL (CAREDESK_TEST_PG):
//! each role's login can do through caredesk what its role allows, and the server refuses the
//! rest whatever client the login uses — above all, nobody but the tables' owner can update or
//! delete a credit or an audit record. On SQLite, where there are no logins, `db grant` is
//! refused as bad usage.

mod common;

use caredesk::domain::CreditOutcome;
use caredesk::domain::Role;
use caredesk::error::Error;
use caredesk::service::Service;
use caredesk::service::credit::IncidentCredit;
use caredesk::store::Store;
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

#[tokio::test]
async fn each_login_gets_its_roles_privileges_and_nobody_rewrites_the_ledger_or_the_audit_log() {
    let w = World::demo(60, 7).await;
    let (sup_svc, sup) = (&w.svc, &w.sup);

    if !w.db.is_postgres() {
        let e = sup_svc
            .grant_roles(sup)
            .await
            .expect_err("SQLite has no logins");
        assert!(matches!(e, Error::Invalid(_)), "{e:?}");
        assert_eq!(e.exit_code(), 2);
        assert!(e.to_string().contains("PostgreSQL only"), "{e}");
        w.finish().await;
        return;
    }

    let login = |role: &str| format!("rl_{role}");
    let as_ = |l: String, r: Role| {
        let w = &w;
        async move { w.as_agent(&l, r).await }
    };
    let (agent_svc, agent) = as_(login("agent"), Role::Agent).await;
    let (sv_svc, sv) = as_(login("supervisor"), Role::Supervisor).await;
    let (aud_svc, aud) = as_(login("auditor"), Role::Auditor).await;

    // Through caredesk, each login does its work under exactly these privileges.
    let account = w.eligible_account("720000001", "+12065550201").await;
    agent_svc
        .add_note(&agent, &account, "called about contacts")
        .await
        .expect("an agent adds a note");
    let credited = agent_svc
        .credit_apply(&agent, &account, None, false)
        .await
        .expect("an agent applies the incident credit");
    assert!(
        matches!(
            credited,
            IncidentCredit::Applied(CreditOutcome::Credited(_))
        ),
        "{credited:?}"
    );
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

    // Whatever client they use, the server refuses the rest.
    for (svc, who) in [
        (&agent_svc, "an agent"),
        (&sv_svc, "a supervisor"),
        (&aud_svc, "an auditor"),
    ] {
        assert_denied(svc, who, "DELETE FROM credits").await;
        assert_denied(svc, who, "UPDATE credits SET amount_cents = 0").await;
        assert_denied(svc, who, "TRUNCATE credits").await;
        assert_denied(svc, who, "DELETE FROM audit").await;
        assert_denied(svc, who, "UPDATE audit SET detail = 'rewritten'").await;
        assert_denied(svc, who, "TRUNCATE audit").await;
        assert_denied(svc, who, "DROP TABLE credits").await;
    }
    assert_denied(
        &agent_svc,
        "an agent",
        "INSERT INTO agents SELECT * FROM agents WHERE FALSE",
    )
    .await;
    assert_denied(
        &agent_svc,
        "an agent",
        "UPDATE agents SET role = 'supervisor'",
    )
    .await;
    assert_denied(&agent_svc, "an agent", "DELETE FROM live_items").await;
    assert_denied(
        &agent_svc,
        "an agent",
        "UPDATE batch_runs SET total_cents = 0",
    )
    .await;
    assert_denied(
        &aud_svc,
        "an auditor",
        "INSERT INTO notes SELECT * FROM notes WHERE FALSE",
    )
    .await;
    assert_denied(&aud_svc, "an auditor", "UPDATE accounts SET loss_rank = 0").await;
    assert_denied(
        &aud_svc,
        "an auditor",
        "INSERT INTO credits SELECT * FROM credits WHERE FALSE",
    )
    .await;
    // What the roles may do still works outside caredesk too (the grants are not all-or-none).
    raw(&agent_svc, "SELECT COUNT(*) FROM accounts")
        .await
        .expect("an agent reads");
    raw(&aud_svc, "SELECT COUNT(*) FROM credits")
        .await
        .expect("an auditor reads the ledger");

    // The identity is the login: an agent cannot name someone else.
    let e = agent_svc
        .actor(Some("rl_supervisor"))
        .await
        .expect_err("--agent cannot override the login");
    assert_eq!(e.exit_code(), 3, "{e}");

    // A disabled agent's login belongs to no group once the grants are synced again.
    sv_svc
        .disable_agent(&sv, "rl_auditor")
        .await
        .expect("disable");
    let report = sup_svc.grant_roles(sup).await.expect("grant again");
    assert_eq!(report.disabled, 1);
    // The agent added since the first grant got a login in the agent group (the login may
    // be left from an earlier run: logins belong to the server, not to one database).
    let Store::Postgres(s) = sup_svc.store() else {
        unreachable!("PostgreSQL only")
    };
    let in_group: bool = sqlx::query_scalar(
        "SELECT pg_has_role('rl_temp', current_database() || '_agent', 'MEMBER')",
    )
    .fetch_one(s.pool())
    .await
    .expect("membership");
    assert!(in_group, "{report:?}");
    assert_denied(
        &aud_svc,
        "a disabled auditor",
        "SELECT COUNT(*) FROM accounts",
    )
    .await;
    // Every grant left its audit record, and the chain holds.
    assert!(
        sup_svc
            .audit_verify(sup)
            .await
            .expect("verify")
            .first_bad
            .is_none()
    );

    for svc in [agent_svc, sv_svc, aud_svc] {
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
    for a in aud_svc.worklist(&aud, None, 50).await.expect("worklist") {
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
