//! PostgreSQL roles and privileges (`caredesk db grant`).
//!
//! On PostgreSQL the acting agent is the connection's login, so the database itself must
//! refuse what the role may not do, whatever client the login connects with. Three group roles
//! per database, named after it (`<database>_agent`, `<database>_supervisor`,
//! `<database>_auditor`, so two caredesk databases on one server never share privileges), hold
//! the table privileges; each registered agent gets a login role that is a member of the group
//! of its role, and of nothing else of this database's. The ledger (`credits`) and the audit log
//! (`audit`) are granted INSERT and SELECT only: no login but the tables' owner can update or
//! delete a credit or an audit record. An auditor reads everything and can append only the
//! audit records of its own account views.
//!
//! The statements are static; the role names derived from the database and the agents' logins
//! are quoted inside the server (`format('%I')`), never spliced into SQL by caredesk.

use chrono::{DateTime, Utc};
use serde::Serialize;

use super::SqlStore;
use super::sql::append_audit;
use crate::domain::Actor;
use crate::error::Result;
use crate::store::AuditEntry;

/// Creates this database's three group roles when they do not exist yet.
const CREATE_GROUPS: &str = r#"
DO $$
DECLARE g text;
BEGIN
    FOREACH g IN ARRAY ARRAY['agent', 'supervisor', 'auditor'] LOOP
        IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = current_database() || '_' || g) THEN
            BEGIN
                EXECUTE format('CREATE ROLE %I NOLOGIN', current_database() || '_' || g);
            EXCEPTION WHEN duplicate_object OR unique_violation THEN NULL;
            END;
        END IF;
    END LOOP;
END $$"#;

/// Sets the groups' privileges from scratch on every table of the schema (run again after a
/// migration adds tables).
const GRANT_TABLES: &str = r#"
DO $$
DECLARE
    s   text := quote_ident(current_schema());
    ag  text := quote_ident(current_database() || '_agent');
    su  text := quote_ident(current_database() || '_supervisor');
    au  text := quote_ident(current_database() || '_auditor');
    all3 text := ag || ', ' || su || ', ' || au;
BEGIN
    EXECUTE 'REVOKE ALL ON ALL TABLES IN SCHEMA ' || s || ' FROM ' || all3;
    EXECUTE 'REVOKE ALL ON ALL SEQUENCES IN SCHEMA ' || s || ' FROM ' || all3;
    EXECUTE 'GRANT USAGE ON SCHEMA ' || s || ' TO ' || all3;
    EXECUTE 'GRANT SELECT ON ALL TABLES IN SCHEMA ' || s || ' TO ' || all3;
    EXECUTE 'GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA ' || s || ' TO ' || all3;
    -- Every role appends audit records (an auditor's account views are audited too); the
    -- chain head is the one row they all move forward.
    EXECUTE 'GRANT INSERT ON audit TO ' || all3;
    EXECUTE 'GRANT UPDATE ON audit_head TO ' || all3;
    -- Agents: notes, the incident credit, appreciation requests, merge and keep-both restores
    -- (which never delete), device re-syncs, and the statuses these move.
    EXECUTE 'GRANT INSERT ON credits, credit_requests, notes, restores, restore_archive, '
         || 'live_items TO ' || ag;
    EXECUTE 'GRANT UPDATE ON accounts, impact, live_items, restores TO ' || ag;
    -- Supervisors: everything an agent does and the rest (imports, agents, batch runs,
    -- approvals, replace and undo), but the ledger and the audit log stay append-only.
    EXECUTE 'GRANT INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA ' || s || ' TO ' || su;
    EXECUTE 'REVOKE UPDATE, DELETE ON credits, audit FROM ' || su;
    EXECUTE 'REVOKE INSERT, DELETE ON audit_head FROM ' || su;
    EXECUTE 'REVOKE INSERT, UPDATE, DELETE ON _sqlx_migrations FROM ' || su;
END $$"#;

/// Gives every registered agent a login role (created when missing) that belongs to the group
/// of its role only; a disabled agent belongs to none. Superusers are left alone: no grant
/// limits them.
const SYNC_LOGINS: &str = r#"
DO $$
DECLARE
    a record;
    g text;
BEGIN
    FOR a IN SELECT login, role, active FROM agents ORDER BY login LOOP
        IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = a.login) THEN
            BEGIN
                EXECUTE format('CREATE ROLE %I LOGIN', a.login);
            EXCEPTION WHEN duplicate_object OR unique_violation THEN NULL;
            END;
        END IF;
        CONTINUE WHEN EXISTS (SELECT 1 FROM pg_roles WHERE rolname = a.login AND rolsuper);
        FOREACH g IN ARRAY ARRAY['agent', 'supervisor', 'auditor'] LOOP
            IF g = a.role AND a.active THEN
                EXECUTE format('GRANT %I TO %I', current_database() || '_' || g, a.login);
            ELSIF pg_has_role(a.login, current_database() || '_' || g, 'MEMBER') THEN
                EXECUTE format('REVOKE %I FROM %I', current_database() || '_' || g, a.login);
            END IF;
        END LOOP;
    END LOOP;
END $$"#;

/// What `db grant` did.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct GrantReport {
    /// The group roles, in the order agent, supervisor, auditor.
    pub groups: Vec<String>,
    /// Agents whose login role was created now.
    pub logins_created: Vec<String>,
    /// Active agents, each now a member of its role's group.
    pub active: i64,
    /// Disabled agents, now members of none.
    pub disabled: i64,
    /// Superusers among the agents: privileges do not bind them.
    pub superusers: Vec<String>,
}

impl SqlStore {
    /// Creates the group roles, sets their privileges and syncs the agents' logins, in one
    /// transaction with its audit record. Needs a login that owns the tables and may create
    /// roles (CREATEROLE or a superuser).
    pub async fn grant_roles(&self, actor: &Actor, now: DateTime<Utc>) -> Result<GrantReport> {
        let mut tx = self.begin_write().await?;
        let missing: Vec<String> = sqlx::query_scalar(
            "SELECT a.login FROM agents a WHERE NOT EXISTS (SELECT 1 FROM pg_roles r WHERE r.rolname = a.login) ORDER BY a.login",
        )
        .fetch_all(&mut *tx)
        .await?;
        for sql in [CREATE_GROUPS, GRANT_TABLES, SYNC_LOGINS] {
            sqlx::query(sql).execute(&mut *tx).await?;
        }
        let groups: Vec<String> = sqlx::query_scalar(
            "SELECT current_database() || '_' || g FROM unnest(ARRAY['agent', 'supervisor', 'auditor']) WITH ORDINALITY AS t(g, n) ORDER BY n",
        )
        .fetch_all(&mut *tx)
        .await?;
        let (active, disabled): (i64, i64) = sqlx::query_as(
            "SELECT COUNT(*) FILTER (WHERE active), COUNT(*) FILTER (WHERE NOT active) FROM agents",
        )
        .fetch_one(&mut *tx)
        .await?;
        let superusers: Vec<String> = sqlx::query_scalar(
            "SELECT a.login FROM agents a JOIN pg_roles r ON r.rolname = a.login WHERE r.rolsuper ORDER BY a.login",
        )
        .fetch_all(&mut *tx)
        .await?;
        let report = GrantReport {
            groups,
            logins_created: missing,
            active,
            disabled,
            superusers,
        };
        append_audit(
            &mut tx,
            actor,
            now,
            &[AuditEntry::new(
                "db.grant",
                "ok",
                format!(
                    "{} active and {} disabled agents synced; {} login(s) created",
                    report.active,
                    report.disabled,
                    report.logins_created.len()
                ),
            )],
        )
        .await?;
        tx.commit().await?;
        Ok(report)
    }
}
