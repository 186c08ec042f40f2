//! Database rights on PostgreSQL (CAREDESK_TEST_PG; skipped without it, as there are no
//! logins on SQLite). After `caredesk db grant` an agent's or an auditor's own database login
//! can forge nothing with psql: every attempt below is refused by the database for want of
//! privilege. An operator (a supervisor's login, in `<db>_operator`) can write, but not move
//! the audit head back, rewrite the ledger or delete audit records. A copy of a database made
//! from a template carries the original's grants until `db grant` on the copy removes them.
//! The binary run with an agent's login says, in one sentence, to use the server.

mod common;

use std::sync::Arc;

use caredesk::domain::{Clock, Role};
use caredesk::service::{OpenMode, Service};
use caredesk::store::{ConnectOptions, DbUrl, Store};
use common::{TestDb, World, clock, json_of, outcome, pg_base};
use sqlx::Connection;

/// The test's own logins (logins belong to the server, not to one database, so they carry
/// this suite's prefix and are dropped at the end).
const CREATE_LOGINS: &str = r#"
DO $$
DECLARE l text;
BEGIN
    FOREACH l IN ARRAY ARRAY['dr_alice', 'dr_audrey', 'dr_omar'] LOOP
        IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = l) THEN
            BEGIN
                EXECUTE format('CREATE ROLE %I LOGIN', l);
            EXCEPTION WHEN duplicate_object OR unique_violation THEN NULL;
            END;
        END IF;
    END LOOP;
END $$"#;

const DROP_LOGINS: &str = "DROP ROLE IF EXISTS dr_alice, dr_audrey, dr_omar, dr_server";

/// What an agent's or an auditor's login might try with psql, each with $1 the id of an
/// account nobody has credited yet (None: the statement takes no parameter), and whether the
/// tables' owner could run it (proof that the refusal is for want of privilege, not a typo).
const FORGERIES: &[(&str, bool)] = &[
    // A goodwill credit far past the cap, as sofia, approved by omar.
    (
        "INSERT INTO credits (account_id, incident_id, kind, amount_cents, currency, agent, approver, reason, request_key, created_at) \
         VALUES ($1, 'danger-2009-10', 'goodwill', 99999999, 'USD', 'sofia', 'omar', 'forged', 'forged-goodwill', now())",
        true,
    ),
    (
        "INSERT INTO credits (account_id, incident_id, kind, amount_cents, currency, agent, reason, created_at) \
         VALUES ($1, 'danger-2009-10', 'incident', 1999, 'USD', 'sofia', 'forged', now())",
        true,
    ),
    (
        "INSERT INTO audit (seq, at, agent, role, action, account_no, object_id, outcome, detail, prev_hash, hash) \
         VALUES (999999, now(), 'sofia', 'supervisor', 'credit.goodwill', CAST($1 AS TEXT), NULL, 'ok', 'forged', '00', '00')",
        true,
    ),
    (
        "UPDATE impact SET permanent_loss = true WHERE account_id = $1",
        true,
    ),
    (
        "UPDATE accounts SET name = 'x', status = 'closed' WHERE id = $1",
        true,
    ),
    (
        "UPDATE live_items SET payload = '{\"name\": \"forged\"}' WHERE account_id = $1",
        true,
    ),
    (
        "INSERT INTO notes (account_id, agent, body, created_at) VALUES ($1, 'sofia', 'forged', now())",
        true,
    ),
    (
        "INSERT INTO credit_requests (account_id, incident_id, kind, amount_cents, reason, requested_by, requested_at) \
         VALUES ($1, 'danger-2009-10', 'appreciation', 10000, 'forged', 'omar', now())",
        true,
    ),
    ("SELECT COUNT(*) FROM accounts WHERE id = $1", true),
    ("SELECT COUNT(*) FROM credits WHERE account_id = $1", true),
    // Moving the chain's head back (the owner is refused too: by the head's trigger).
    (
        "UPDATE audit_head SET seq = 0, hash = '00' WHERE id = 1 AND $1 > 0",
        false,
    ),
];

/// Runs `sql` with the account id on `conn`; the error's SQLSTATE and text.
async fn attempt(
    conn: &mut sqlx::PgConnection,
    sql: &'static str,
    account_id: i64,
) -> Result<(), (String, String)> {
    sqlx::query(sql)
        .bind(account_id)
        .execute(&mut *conn)
        .await
        .map(|_| ())
        .map_err(|e| {
            let code = e
                .as_database_error()
                .and_then(|d| d.code().map(|c| c.into_owned()))
                .unwrap_or_default();
            (code, e.to_string())
        })
}

async fn connect_as(db: &TestDb, login: &str) -> sqlx::PgConnection {
    sqlx::PgConnection::connect(&db.url_as(login))
        .await
        .unwrap_or_else(|e| panic!("{login} connects: {e}"))
}

/// Grantees on the schema's tables and sequences, by name (PUBLIC as "PUBLIC").
const GRANTEES: &str = r#"
SELECT DISTINCT CASE WHEN x.grantee = 0 THEN 'PUBLIC' ELSE pg_get_userbyid(x.grantee)::text END AS who
FROM pg_class c
JOIN pg_namespace n ON n.oid = c.relnamespace
CROSS JOIN LATERAL aclexplode(c.relacl) x
WHERE n.nspname = current_schema() AND c.relkind IN ('r', 'p', 'v', 'm', 'f', 'S')
ORDER BY who"#;

async fn grantees(store: &Store) -> Vec<String> {
    let Store::Postgres(s) = store else {
        unreachable!("PostgreSQL only")
    };
    sqlx::query_scalar(GRANTEES)
        .fetch_all(s.pool())
        .await
        .expect("grantees")
}

async fn owner(store: &Store) -> String {
    let Store::Postgres(s) = store else {
        unreachable!("PostgreSQL only")
    };
    sqlx::query_scalar("SELECT pg_get_userbyid(relowner)::text FROM pg_class WHERE oid = CAST('credits' AS regclass)")
        .fetch_one(s.pool())
        .await
        .expect("owner")
}

fn sorted(mut v: Vec<String>) -> Vec<String> {
    v.sort();
    v
}

#[tokio::test]
async fn an_agents_or_auditors_own_login_can_forge_nothing_and_an_operator_cannot_rewrite_history()
{
    let Some(base) = pg_base() else {
        eprintln!("skipped: CAREDESK_TEST_PG is not set (database rights are PostgreSQL's)");
        return;
    };
    let w = World::demo(40, 11).await;
    let (sup_svc, sup) = (&w.svc, &w.sup);
    let Store::Postgres(s) = sup_svc.store() else {
        unreachable!("PostgreSQL only")
    };
    for (login, role) in [
        ("dr_alice", Role::Agent),
        ("dr_audrey", Role::Auditor),
        ("dr_omar", Role::Supervisor),
    ] {
        sup_svc
            .add_agent(sup, login, None, role)
            .await
            .expect("add agent");
    }
    sqlx::query(CREATE_LOGINS)
        .execute(s.pool())
        .await
        .expect("logins");
    let db = w.db.pg_name().to_string();

    // `db grant`, then again through the binary with the server's login.
    let report = sup_svc.grant_roles(sup).await.expect("db grant");
    assert!(report.server_logins.is_empty(), "{report:?}");
    let v = json_of(w.cli().args(["db", "grant", "--server-login", "dr_server"]));
    assert_eq!(
        v["groups"],
        serde_json::json!([format!("{db}_server"), format!("{db}_operator")])
    );
    assert_eq!(v["server_logins"], serde_json::json!(["dr_server"]));
    assert!(
        v["operators"]
            .as_array()
            .expect("operators")
            .contains(&serde_json::json!("dr_omar")),
        "{v}"
    );
    for l in ["dr_alice", "dr_audrey", "alice", "audrey", "bob"] {
        assert!(
            v["without_rights"]
                .as_array()
                .expect("without_rights")
                .contains(&serde_json::json!(l)),
            "{l}: {v}"
        );
    }
    assert_eq!(v["still_privileged"], serde_json::json!([]), "{v}");
    let (can_login, member): (bool, bool) = sqlx::query_as(
        "SELECT r.rolcanlogin, pg_has_role('dr_server', current_database() || '_server', 'MEMBER') \
         FROM pg_roles r WHERE r.rolname = 'dr_server'",
    )
    .fetch_one(s.pool())
    .await
    .expect("server login");
    assert!(can_login && member);
    // An agent's login is not a server's.
    let e = sup_svc
        .grant_rights(sup, &["dr_alice".to_string()])
        .await
        .expect_err("an agent's login as the server's");
    assert_eq!(e.exit_code(), 2, "{e}");
    // Only the owner and the two groups hold anything on the tables and sequences.
    let own = owner(sup_svc.store()).await;
    assert_eq!(
        grantees(sup_svc.store()).await,
        sorted(vec![
            own.clone(),
            format!("{db}_operator"),
            format!("{db}_server")
        ])
    );

    // An account nobody has credited: each forgery would go through with the owner's rights.
    let account = w.eligible_account("730000001", "+12065550301").await;
    let account_id: i64 = sqlx::query_scalar("SELECT id FROM accounts WHERE account_no = $1")
        .bind(&account)
        .fetch_one(s.pool())
        .await
        .expect("account id");
    for &(sql, owner_may) in FORGERIES {
        let mut tx = s.pool().begin().await.expect("tx");
        let r = sqlx::query(sql).bind(account_id).execute(&mut *tx).await;
        assert_eq!(r.is_ok(), owner_may, "as the owner: {sql}: {r:?}");
        tx.rollback().await.expect("rollback");
    }

    // The agent's and the auditor's own logins: refused, every one, for want of privilege.
    for login in ["dr_alice", "dr_audrey"] {
        let mut conn = connect_as(&w.db, login).await;
        for &(sql, _) in FORGERIES {
            let (code, e) = attempt(&mut conn, sql, account_id)
                .await
                .expect_err(&format!("{login} must not be able to run: {sql}"));
            assert_eq!(code, "42501", "{login}: {sql}: {e}");
            assert!(e.contains("permission denied"), "{login}: {sql}: {e}");
        }
        conn.close().await.ok();
    }

    // An operator writes (through caredesk, with its own login in the URL) but cannot move the
    // head back, rewrite the ledger or delete the audit log.
    let mut op = connect_as(&w.db, "dr_omar").await;
    let (code, e) = attempt(
        &mut op,
        "UPDATE audit_head SET seq = 0, hash = '00' WHERE id = 1 AND $1 > 0",
        account_id,
    )
    .await
    .expect_err("the head does not move back");
    assert!(
        e.contains("the audit head moves only forward"),
        "{code}: {e}"
    );
    for sql in [
        "UPDATE credits SET amount_cents = 1 WHERE account_id = $1",
        "DELETE FROM credits WHERE account_id = $1",
        "DELETE FROM audit WHERE seq > $1",
        "UPDATE audit SET detail = 'rewritten' WHERE seq = $1",
    ] {
        let (code, e) = attempt(&mut op, sql, account_id)
            .await
            .expect_err(&format!("an operator must not be able to run: {sql}"));
        assert_eq!(code, "42501", "{sql}: {e}");
    }
    op.close().await.ok();
    let (code, _, err) = outcome(w.cli_as("dr_omar").args(["note", &account, "called back"]));
    assert_eq!(code, 0, "an operator adds a note: {err}");
    // A batch run (exit 4 when the demo's deliberately broken accounts fail).
    let (code, out, err) = outcome(
        w.cli_as("dr_omar")
            .args(["--format", "json", "credit", "run", "--apply"]),
    );
    assert!(code == 0 || code == 4, "an operator runs a batch: {err}");
    let v: serde_json::Value = serde_json::from_str(&out).expect("json");
    assert!(v["credited"].as_i64().expect("credited") > 0, "{v}");

    // The server's login works for the agents it vouches for.
    let server = Service::open(
        &DbUrl::parse(&w.db.url_as("dr_server")).expect("url"),
        &ConnectOptions::default(),
        w.clock.clone() as Arc<dyn Clock>,
        OpenMode::Normal,
    )
    .await
    .expect("the server opens the database");
    let alice = server.actor_for("dr_alice").await.expect("alice resolves");
    server
        .add_note(&alice, &account, "through the server")
        .await
        .expect("an agent writes through the server");
    server.close().await;

    // The binary as the agent's or the auditor's login: one sentence, exit 3.
    for (login, args) in [
        ("dr_alice", vec!["show", "310000001"]),
        ("dr_audrey", vec!["audit", "verify"]),
    ] {
        let (code, out, err) = outcome(w.cli_as(login).args(&args));
        assert_eq!(code, 3, "{login}: {out}{err}");
        assert!(out.is_empty(), "{out}");
        assert_eq!(
            err.trim(),
            format!(
                "caredesk: the database login \"{login}\" has no rights on caredesk's tables; agents and auditors work through the server: caredesk login {login} --server URL"
            )
        );
    }

    // Every grant left its audit record, and the chain holds.
    assert!(
        sup_svc
            .audit_verify(sup)
            .await
            .expect("verify")
            .first_bad
            .is_none()
    );
    w.finish().await;
    let mut admin = sqlx::PgConnection::connect(&base).await.expect("admin");
    sqlx::query(DROP_LOGINS)
        .execute(&mut admin)
        .await
        .expect("drop the test's logins");
    admin.close().await.ok();
}

/// The earlier model's group of this database, with its grants, and a grant to PUBLIC: what a
/// database granted by an earlier release (or by hand) carries.
const EARLIER_GRANTS: &str = r#"
DO $$
BEGIN
    EXECUTE format('CREATE ROLE %I NOLOGIN', current_database() || '_agent');
    EXECUTE format('GRANT SELECT, INSERT ON credits, audit TO %I', current_database() || '_agent');
    EXECUTE format('GRANT UPDATE ON audit_head TO %I', current_database() || '_agent');
    GRANT SELECT ON accounts TO PUBLIC;
END $$"#;

#[tokio::test]
async fn a_copy_made_from_a_template_keeps_the_originals_grants_until_db_grant_runs_on_it() {
    let Some(base) = pg_base() else {
        eprintln!("skipped: CAREDESK_TEST_PG is not set (database rights are PostgreSQL's)");
        return;
    };
    let original = TestDb::postgres(&base).await;
    let name = original.pg_name().to_string();
    let (svc, sup) = original
        .demo_supervisor(clock() as Arc<dyn Clock>, 20, 12)
        .await;
    let Store::Postgres(s) = svc.store() else {
        unreachable!("PostgreSQL only")
    };
    sqlx::query(EARLIER_GRANTS)
        .execute(s.pool())
        .await
        .expect("earlier grants");
    let report = svc.grant_roles(&sup).await.expect("db grant");
    assert_eq!(
        report.revoked,
        sorted(vec!["PUBLIC".to_string(), format!("{name}_agent")])
    );
    assert_eq!(report.old_groups_dropped, vec![format!("{name}_agent")]);
    let own = owner(svc.store()).await;
    let only_ours = |db: &str| {
        sorted(vec![
            own.clone(),
            format!("{db}_operator"),
            format!("{db}_server"),
        ])
    };
    assert_eq!(grantees(svc.store()).await, only_ours(&name));
    svc.close().await;

    // The copy: the original's groups still hold their privileges on it.
    let copy = original.copy_by_template().await;
    let copy_name = copy.pg_name().to_string();
    let (csvc, csup) = copy.supervisor(clock() as Arc<dyn Clock>).await;
    assert_eq!(grantees(csvc.store()).await, only_ours(&name));
    let report = csvc.grant_roles(&csup).await.expect("db grant on the copy");
    assert_eq!(
        report.revoked,
        sorted(vec![format!("{name}_operator"), format!("{name}_server")])
    );
    assert_eq!(grantees(csvc.store()).await, only_ours(&copy_name));
    assert!(
        csvc.audit_verify(&csup)
            .await
            .expect("verify")
            .first_bad
            .is_none()
    );
    csvc.close().await;
    copy.cleanup().await;
    original.cleanup().await;
}
