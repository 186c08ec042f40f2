//! PostgreSQL roles and privileges (`caredesk db grant`).
//!
//! Agents and auditors work through `caredesk serve`, which acts for them on its own database
//! login; they have no rights on the database at all, so no rule of caredesk can be bypassed
//! with `psql`. Two group roles per database, named after it (so two caredesk databases on one
//! server never share privileges), hold every privilege there is:
//!
//! - `<database>_server`: the login(s) a `caredesk serve` process connects with
//!   (`db grant --server LOGIN`);
//! - `<database>_operator`: every active supervisor who has a database login, for migrations,
//!   imports and batch runs made directly with `--db postgres://…`.
//!
//! Both read every table and write every table but the ledger (`credits`) and the audit log
//! (`audit`), which they may only append to, the audit chain's head (`audit_head`), which they
//! may only update (and a trigger lets it move only forward, onto a record of the log), and the
//! migrations' bookkeeping, which they only read. Every other grantee on the schema's tables
//! and sequences (PUBLIC, agents' logins, the groups of another database a copy or a restore
//! brought along, the three groups of caredesk's earlier model) loses its privileges; the table
//! owner keeps its own.
//!
//! The statements are static; the role names derived from the database, the server logins and
//! the agents' logins are quoted inside the server (`format('%I')`), never spliced into SQL by
//! caredesk. The server logins reach the server as a bound parameter (a transaction-local
//! setting the statements read).

use chrono::{DateTime, Utc};
use serde::Serialize;

use super::SqlStore;
use super::sql::append_audit;
use crate::domain::Actor;
use crate::error::{Error, Result};
use crate::store::AuditEntry;

/// The suffixes of the two groups, as `<database>_<suffix>`.
const GROUPS: [&str; 2] = ["server", "operator"];
/// The longest suffix with its underscore: a role name is at most 63 bytes.
const LONGEST_SUFFIX: i32 = 9;

/// Creates this database's two group roles when they do not exist yet.
const CREATE_GROUPS: &str = r#"
DO $$
DECLARE g text;
BEGIN
    FOREACH g IN ARRAY ARRAY['server', 'operator'] LOOP
        IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = current_database() || '_' || g) THEN
            BEGIN
                EXECUTE format('CREATE ROLE %I NOLOGIN', current_database() || '_' || g);
            EXCEPTION WHEN duplicate_object OR unique_violation THEN NULL;
            END;
        END IF;
    END LOOP;
END $$"#;

/// Hands the server logins to the statements that follow, for this transaction only.
const SET_SERVER_LOGINS: &str =
    "SELECT set_config('caredesk.server_logins', CAST($1 AS jsonb)::text, true)";

/// Which of the server logins do not exist yet.
const MISSING_SERVER_LOGINS: &str = r#"
SELECT l FROM jsonb_array_elements_text(CAST($1 AS jsonb)) AS t(l)
WHERE NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = l) ORDER BY l"#;

/// Creates each server login when missing (LOGIN, no password: how it signs in is up to
/// pg_hba.conf) and makes it a member of `<database>_server`.
const SERVER_LOGINS: &str = r#"
DO $$
DECLARE l text;
BEGIN
    FOR l IN SELECT jsonb_array_elements_text(CAST(current_setting('caredesk.server_logins') AS jsonb)) LOOP
        IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = l) THEN
            EXECUTE format('CREATE ROLE %I LOGIN', l);
        END IF;
        EXECUTE format('GRANT %I TO %I', current_database() || '_server', l);
    END LOOP;
END $$"#;

/// Every grantee on the schema's tables, sequences (and their columns) but their owner and the
/// two groups: PUBLIC, logins, groups of another database, caredesk's earlier groups.
const FOREIGN_GRANTEES: &str = r#"
WITH acl AS (
    SELECT c.relowner AS owner, x.grantee
    FROM pg_class c
    JOIN pg_namespace n ON n.oid = c.relnamespace
    CROSS JOIN LATERAL aclexplode(c.relacl) x
    WHERE n.nspname = current_schema() AND c.relkind IN ('r', 'p', 'v', 'm', 'f', 'S')
    UNION
    SELECT c.relowner, x.grantee
    FROM pg_attribute a
    JOIN pg_class c ON c.oid = a.attrelid
    JOIN pg_namespace n ON n.oid = c.relnamespace
    CROSS JOIN LATERAL aclexplode(a.attacl) x
    WHERE n.nspname = current_schema() AND c.relkind IN ('r', 'p', 'v', 'm', 'f')
)
SELECT DISTINCT CASE WHEN grantee = 0 THEN 'PUBLIC' ELSE pg_get_userbyid(grantee)::text END AS who
FROM acl
WHERE grantee <> owner
  AND grantee NOT IN (SELECT oid FROM pg_roles
                      WHERE rolname IN (current_database() || '_server', current_database() || '_operator'))
ORDER BY who"#;

/// Every grantee on the schema itself but its owner, the two groups and PUBLIC's USAGE.
const FOREIGN_SCHEMA_GRANTEES: &str = r#"
SELECT DISTINCT CASE WHEN x.grantee = 0 THEN 'PUBLIC' ELSE pg_get_userbyid(x.grantee)::text END AS who
FROM pg_namespace n
CROSS JOIN LATERAL aclexplode(n.nspacl) x
WHERE n.nspname = current_schema()
  AND x.grantee <> n.nspowner
  AND NOT (x.grantee = 0 AND x.privilege_type = 'USAGE')
  AND x.grantee NOT IN (SELECT oid FROM pg_roles
                        WHERE rolname IN (current_database() || '_server', current_database() || '_operator'))
ORDER BY who"#;

/// Revokes every privilege of every foreign grantee (see `FOREIGN_GRANTEES`) on the tables and
/// sequences, and on the schema (PUBLIC keeps USAGE on it, which grants nothing on its own).
const REVOKE_FOREIGN: &str = r#"
DO $$
DECLARE
    r record;
    srv oid := (SELECT oid FROM pg_roles WHERE rolname = current_database() || '_server');
    op  oid := (SELECT oid FROM pg_roles WHERE rolname = current_database() || '_operator');
BEGIN
    FOR r IN
        SELECT DISTINCT c.oid::regclass::text AS rel, c.relkind = 'S' AS seq, x.grantee
        FROM pg_class c
        JOIN pg_namespace n ON n.oid = c.relnamespace
        CROSS JOIN LATERAL aclexplode(c.relacl) x
        WHERE n.nspname = current_schema() AND c.relkind IN ('r', 'p', 'v', 'm', 'f', 'S')
          AND x.grantee NOT IN (c.relowner, srv, op)
        UNION
        SELECT DISTINCT c.oid::regclass::text, false, x.grantee
        FROM pg_attribute a
        JOIN pg_class c ON c.oid = a.attrelid
        JOIN pg_namespace n ON n.oid = c.relnamespace
        CROSS JOIN LATERAL aclexplode(a.attacl) x
        WHERE n.nspname = current_schema() AND c.relkind IN ('r', 'p', 'v', 'm', 'f')
          AND x.grantee NOT IN (c.relowner, srv, op)
    LOOP
        -- Revoking on a table revokes on each of its columns too.
        EXECUTE format('REVOKE ALL ON %s %s FROM %s CASCADE',
                       CASE WHEN r.seq THEN 'SEQUENCE' ELSE 'TABLE' END, r.rel,
                       CASE WHEN r.grantee = 0 THEN 'PUBLIC' ELSE quote_ident(pg_get_userbyid(r.grantee)) END);
    END LOOP;
    FOR r IN
        SELECT DISTINCT x.grantee
        FROM pg_namespace n
        CROSS JOIN LATERAL aclexplode(n.nspacl) x
        WHERE n.nspname = current_schema() AND x.grantee NOT IN (n.nspowner, srv, op)
    LOOP
        IF r.grantee = 0 THEN
            EXECUTE format('REVOKE CREATE ON SCHEMA %I FROM PUBLIC', current_schema());
        ELSE
            EXECUTE format('REVOKE ALL ON SCHEMA %I FROM %I CASCADE', current_schema(),
                           pg_get_userbyid(r.grantee));
        END IF;
    END LOOP;
END $$"#;

/// This database's groups of caredesk's earlier model (`<database>_agent`, `_supervisor`,
/// `_auditor`) that still exist.
const OLD_GROUPS: &str = r#"
SELECT r.rolname::text FROM pg_roles r
JOIN unnest(ARRAY['agent', 'supervisor', 'auditor']) WITH ORDINALITY AS t(g, n)
  ON r.rolname = current_database() || '_' || t.g
WHERE NOT r.rolcanlogin
ORDER BY t.n"#;

/// Empties those groups (their privileges went with the foreign grantees) and drops each one
/// that nothing else depends on (one that still holds privileges in another database, or owns
/// something, is kept, empty).
const RETIRE_OLD_GROUPS: &str = r#"
DO $$
DECLARE
    g text;
    m text;
BEGIN
    FOR g IN SELECT r.rolname FROM pg_roles r
             WHERE r.rolname IN (current_database() || '_agent', current_database() || '_supervisor',
                                 current_database() || '_auditor')
               AND NOT r.rolcanlogin
    LOOP
        FOR m IN SELECT mr.rolname FROM pg_auth_members am
                 JOIN pg_roles gr ON gr.oid = am.roleid
                 JOIN pg_roles mr ON mr.oid = am.member
                 WHERE gr.rolname = g
        LOOP
            EXECUTE format('REVOKE %I FROM %I', g, m);
        END LOOP;
        BEGIN
            EXECUTE format('DROP ROLE %I', g);
        EXCEPTION WHEN dependent_objects_still_exist OR insufficient_privilege OR object_in_use THEN
            NULL;
        END;
    END LOOP;
END $$"#;

/// Sets the groups' privileges from scratch on every table and sequence of the schema (run
/// again after a migration adds tables).
const GRANT_TABLES: &str = r#"
DO $$
DECLARE
    s      text := quote_ident(current_schema());
    grp    text := quote_ident(current_database() || '_server') || ', '
              || quote_ident(current_database() || '_operator');
BEGIN
    EXECUTE 'REVOKE ALL ON ALL TABLES IN SCHEMA ' || s || ' FROM ' || grp;
    EXECUTE 'REVOKE ALL ON ALL SEQUENCES IN SCHEMA ' || s || ' FROM ' || grp;
    EXECUTE 'GRANT USAGE ON SCHEMA ' || s || ' TO ' || grp;
    EXECUTE 'GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA ' || s || ' TO ' || grp;
    -- The ledger and the audit log are append-only; the chain's head only moves (forward, as
    -- its trigger checks); the migrations' bookkeeping is the owner's.
    EXECUTE 'REVOKE UPDATE, DELETE ON credits, audit FROM ' || grp;
    EXECUTE 'REVOKE INSERT, DELETE ON audit_head FROM ' || grp;
    EXECUTE 'REVOKE INSERT, UPDATE, DELETE ON _sqlx_migrations FROM ' || grp;
    EXECUTE 'GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA ' || s || ' TO ' || grp;
END $$"#;

/// Every active supervisor with a login joins `<database>_operator`; every other agent's login
/// (agents, auditors, disabled agents of any role) leaves both groups. Any privilege granted to
/// such a login directly went with the other grantees' (`REVOKE_FOREIGN`).
const SYNC_AGENTS: &str = r#"
DO $$
DECLARE
    a record;
    g text;
BEGIN
    FOR a IN SELECT ag.login, ag.role, ag.active, r.oid
             FROM agents ag JOIN pg_roles r ON r.rolname = ag.login
             ORDER BY ag.login
    LOOP
        IF a.role = 'supervisor' AND a.active THEN
            EXECUTE format('GRANT %I TO %I', current_database() || '_operator', a.login);
        ELSE
            FOREACH g IN ARRAY ARRAY[current_database() || '_server', current_database() || '_operator'] LOOP
                IF EXISTS (SELECT 1 FROM pg_auth_members am JOIN pg_roles gr ON gr.oid = am.roleid
                           WHERE gr.rolname = g AND am.member = a.oid) THEN
                    EXECUTE format('REVOKE %I FROM %I', g, a.login);
                END IF;
            END LOOP;
        END IF;
    END LOOP;
END $$"#;

/// The direct members of group `$1` (`server` or `operator`).
const MEMBERS: &str = r#"
SELECT mr.rolname::text FROM pg_auth_members am
JOIN pg_roles gr ON gr.oid = am.roleid
JOIN pg_roles mr ON mr.oid = am.member
WHERE gr.rolname = current_database() || '_' || $1
ORDER BY 1"#;

/// Agents who get no rights: agents and auditors, and disabled agents of any role.
const WITHOUT_RIGHTS: &str =
    "SELECT login FROM agents WHERE role <> 'supervisor' OR NOT active ORDER BY login";

/// Those of them whose login still reaches caredesk's tables (a superuser, the tables' owner,
/// or a member of another role that holds privileges).
const STILL_PRIVILEGED: &str = r#"
SELECT ag.login FROM agents ag JOIN pg_roles r ON r.rolname = ag.login
WHERE (ag.role <> 'supervisor' OR NOT ag.active)
  AND (has_table_privilege(r.oid, 'accounts', 'SELECT')
       OR has_table_privilege(r.oid, 'credits', 'INSERT')
       OR has_table_privilege(r.oid, 'audit', 'INSERT')
       OR has_table_privilege(r.oid, 'audit_head', 'UPDATE'))
ORDER BY ag.login"#;

/// What `db grant` did.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct GrantReport {
    /// The two group roles: `<database>_server`, `<database>_operator`.
    pub groups: Vec<String>,
    /// The members of `<database>_server`: the logins `caredesk serve` may connect with.
    pub server_logins: Vec<String>,
    /// Server logins created now (LOGIN, without a password).
    pub server_logins_created: Vec<String>,
    /// The members of `<database>_operator`: active supervisors with a database login.
    pub operators: Vec<String>,
    /// Active supervisors without a database login (they act through the server only).
    pub supervisors_without_login: Vec<String>,
    /// Agents, auditors and disabled agents: no rights on the database at all.
    pub without_rights: Vec<String>,
    /// Grantees whose privileges on the schema, its tables or sequences were revoked (PUBLIC,
    /// logins, groups of another database, the earlier groups).
    pub revoked: Vec<String>,
    /// This database's groups of the earlier model (`_agent`, `_supervisor`, `_auditor`)
    /// dropped now.
    pub old_groups_dropped: Vec<String>,
    /// The same, emptied but kept (something else, such as privileges in another database,
    /// still depends on them).
    pub old_groups_kept: Vec<String>,
    /// Superusers among the agents: privileges do not bind them.
    pub superusers: Vec<String>,
    /// Agents without rights whose login still reaches caredesk's tables anyway (a superuser,
    /// the tables' owner, or through another role's membership): fix these by hand.
    pub still_privileged: Vec<String>,
}

impl SqlStore {
    /// `db grant` without server logins (see `grant_rights`).
    pub async fn grant_roles(&self, actor: &Actor, now: DateTime<Utc>) -> Result<GrantReport> {
        self.grant_rights(actor, &[], now).await
    }

    /// Creates the two group roles, makes `servers` (created when missing) members of the
    /// server group, sets the groups' privileges, revokes every other grantee's, and syncs the
    /// agents' logins, in one transaction with its audit record. Needs a login that owns the
    /// tables and may create roles (CREATEROLE or a superuser).
    pub async fn grant_rights(
        &self,
        actor: &Actor,
        servers: &[String],
        now: DateTime<Utc>,
    ) -> Result<GrantReport> {
        let mut tx = self.begin_write().await?;
        let db_len: i32 = sqlx::query_scalar("SELECT octet_length(current_database())")
            .fetch_one(&mut *tx)
            .await?;
        if db_len + LONGEST_SUFFIX > 63 {
            return Err(Error::invalid(
                "the database's name is too long for its roles' names (at most 54 bytes)",
            ));
        }
        let servers_json = serde_json::to_string(servers)
            .map_err(|e| Error::System(format!("cannot encode the server logins: {e}")))?;
        let server_logins_created: Vec<String> = sqlx::query_scalar(MISSING_SERVER_LOGINS)
            .bind(&servers_json)
            .fetch_all(&mut *tx)
            .await?;
        sqlx::query(SET_SERVER_LOGINS)
            .bind(&servers_json)
            .execute(&mut *tx)
            .await?;
        let old_groups: Vec<String> = sqlx::query_scalar(OLD_GROUPS).fetch_all(&mut *tx).await?;
        sqlx::query(CREATE_GROUPS).execute(&mut *tx).await?;
        let mut revoked: Vec<String> = sqlx::query_scalar(FOREIGN_GRANTEES)
            .fetch_all(&mut *tx)
            .await?;
        let on_schema: Vec<String> = sqlx::query_scalar(FOREIGN_SCHEMA_GRANTEES)
            .fetch_all(&mut *tx)
            .await?;
        revoked.extend(on_schema);
        revoked.sort();
        revoked.dedup();
        for sql in [
            SERVER_LOGINS,
            REVOKE_FOREIGN,
            RETIRE_OLD_GROUPS,
            GRANT_TABLES,
            SYNC_AGENTS,
        ] {
            sqlx::query(sql).execute(&mut *tx).await?;
        }
        // Nothing but the owner and the two groups may be left on the tables and sequences.
        let left: Vec<String> = sqlx::query_scalar(FOREIGN_GRANTEES)
            .fetch_all(&mut *tx)
            .await?;
        if !left.is_empty() {
            return Err(Error::System(format!(
                "db grant could not revoke the privileges of {} (granted by someone other than the tables' owner?); nothing was changed",
                left.join(", ")
            )));
        }
        let old_left: Vec<String> = sqlx::query_scalar(OLD_GROUPS).fetch_all(&mut *tx).await?;
        let (old_groups_kept, old_groups_dropped): (Vec<String>, Vec<String>) =
            old_groups.into_iter().partition(|g| old_left.contains(g));
        let mut groups = Vec::with_capacity(GROUPS.len());
        let mut members = Vec::with_capacity(GROUPS.len());
        for g in GROUPS {
            let name: String = sqlx::query_scalar("SELECT current_database() || '_' || $1")
                .bind(g)
                .fetch_one(&mut *tx)
                .await?;
            groups.push(name);
            let m: Vec<String> = sqlx::query_scalar(MEMBERS)
                .bind(g)
                .fetch_all(&mut *tx)
                .await?;
            members.push(m);
        }
        let operators = members.pop().unwrap_or_default();
        let server_logins = members.pop().unwrap_or_default();
        let supervisors_without_login: Vec<String> = sqlx::query_scalar(
            "SELECT a.login FROM agents a WHERE a.role = 'supervisor' AND a.active \
             AND NOT EXISTS (SELECT 1 FROM pg_roles r WHERE r.rolname = a.login) ORDER BY a.login",
        )
        .fetch_all(&mut *tx)
        .await?;
        let without_rights: Vec<String> = sqlx::query_scalar(WITHOUT_RIGHTS)
            .fetch_all(&mut *tx)
            .await?;
        let superusers: Vec<String> = sqlx::query_scalar(
            "SELECT a.login FROM agents a JOIN pg_roles r ON r.rolname = a.login WHERE r.rolsuper ORDER BY a.login",
        )
        .fetch_all(&mut *tx)
        .await?;
        let still_privileged: Vec<String> = sqlx::query_scalar(STILL_PRIVILEGED)
            .fetch_all(&mut *tx)
            .await?;
        let report = GrantReport {
            groups,
            server_logins,
            server_logins_created,
            operators,
            supervisors_without_login,
            without_rights,
            revoked,
            old_groups_dropped,
            old_groups_kept,
            superusers,
            still_privileged,
        };
        append_audit(
            &mut tx,
            actor,
            now,
            &[AuditEntry::new(
                "db.grant",
                "ok",
                format!(
                    "{} server login(s), {} operator(s), {} agent(s) without rights; revoked {} other grantee(s)",
                    report.server_logins.len(),
                    report.operators.len(),
                    report.without_rights.len(),
                    report.revoked.len()
                ),
            )],
        )
        .await?;
        tx.commit().await?;
        Ok(report)
    }
}
