//! Who may do what: agent roles, the permissions actions need, and the table joining them.
//!
//! Keeping the whole table in one function means the CLI, the TUI and the storage layer all
//! refuse the same things, and a reviewer can check it against the spec in one place.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use super::parse::{UnknownValue, parse_keyword};

/// What an agent is employed to do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// Front-line support: looks up, views, notes, applies the standard credit, requests
    /// appreciation credits and runs non-destructive restores.
    Agent,
    /// Everything an agent does, plus approvals, destructive restores, undo, goodwill,
    /// reversals, batch runs, loss declarations and agent management.
    Supervisor,
    /// Reads only.
    Auditor,
}

impl Role {
    pub const ALL: [Role; 3] = [Role::Agent, Role::Supervisor, Role::Auditor];

    /// The name used on the command line and in the database.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Agent => "agent",
            Role::Supervisor => "supervisor",
            Role::Auditor => "auditor",
        }
    }

    /// Whether this role may do what `p` guards.
    pub fn allows(self, p: Permission) -> bool {
        use Permission::{
            AddNote, ApplyIncidentCredit, Contact, Read, RecordResync, RequestAppreciation,
            RestoreMerge, ViewAccount, ViewRequests,
        };
        match self {
            Role::Supervisor => true,
            Role::Agent => matches!(
                p,
                Read | ViewAccount
                    | AddNote
                    | ApplyIncidentCredit
                    | RequestAppreciation
                    | RestoreMerge
                    | RecordResync
                    | Contact
            ),
            Role::Auditor => matches!(p, Read | ViewAccount | ViewRequests),
        }
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.pad(self.as_str())
    }
}

impl FromStr for Role {
    type Err = UnknownValue;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        parse_keyword(s, "a role", &Role::ALL, Role::as_str)
    }
}

/// Something an action needs to be allowed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Permission {
    /// Search, worklists, dashboards, exports and audit logs.
    Read,
    /// Open one account's details (audited as a view).
    ViewAccount,
    AddNote,
    ApplyIncidentCredit,
    RequestAppreciation,
    /// Restores in `merge` or `keep-both` mode, which never delete or overwrite live data.
    RestoreMerge,
    ApproveCredit,
    /// Restores in `replace` mode, which can remove live items.
    RestoreReplace,
    UndoRestore,
    Goodwill,
    Reverse,
    ApplyBatch,
    ManageAgents,
    DeclareLoss,
    /// Record the item counts a device re-sync brought back.
    RecordResync,
    /// Load accounts, impact rows and backups from files.
    Import,
    /// Create incidents and edit their advisory, end and credit policy.
    ManageIncidents,
    /// Set the most a goodwill credit may be.
    SetGoodwillCap,
    /// Choose which roles see customers' names, e-mails and phone numbers masked.
    SetMaskPolicy,
    /// Give an agent a new one-time password (and end their sessions).
    ResetPassword,
    /// Set who holds which rights on a PostgreSQL database (`db grant`).
    GrantRights,
    /// List the appreciation requests of every account (the approvals queue): the work of
    /// those who decide them and of those who check the decisions.
    ViewRequests,
    /// Record that a customer was given the advisory, and schedule or close callbacks.
    Contact,
    /// Export outreach lists for a gateway and read its delivery reports back.
    Outreach,
}

impl Permission {
    pub const ALL: [Permission; 24] = [
        Permission::Read,
        Permission::ViewAccount,
        Permission::AddNote,
        Permission::ApplyIncidentCredit,
        Permission::RequestAppreciation,
        Permission::RestoreMerge,
        Permission::ApproveCredit,
        Permission::RestoreReplace,
        Permission::UndoRestore,
        Permission::Goodwill,
        Permission::Reverse,
        Permission::ApplyBatch,
        Permission::ManageAgents,
        Permission::DeclareLoss,
        Permission::RecordResync,
        Permission::Import,
        Permission::ManageIncidents,
        Permission::SetGoodwillCap,
        Permission::SetMaskPolicy,
        Permission::ResetPassword,
        Permission::GrantRights,
        Permission::ViewRequests,
        Permission::Contact,
        Permission::Outreach,
    ];

    /// What the permission lets someone do, worded to finish "… may not ", so a refusal
    /// reads as one sentence: "agent jdoe may not apply a batch credit run".
    pub fn describe(self) -> &'static str {
        match self {
            Permission::Read => "read data",
            Permission::ViewAccount => "view an account's details",
            Permission::AddNote => "add a note",
            Permission::ApplyIncidentCredit => "apply the incident credit",
            Permission::RequestAppreciation => "request an appreciation credit",
            Permission::RestoreMerge => "run a merge or keep-both restore",
            Permission::ApproveCredit => "approve a credit request",
            Permission::RestoreReplace => "run a replace restore",
            Permission::UndoRestore => "undo a restore",
            Permission::Goodwill => "grant a goodwill credit",
            Permission::Reverse => "reverse a credit",
            Permission::ApplyBatch => "apply a batch credit run",
            Permission::ManageAgents => "manage agents",
            Permission::DeclareLoss => "declare a permanent loss",
            Permission::RecordResync => "record a device re-sync",
            Permission::Import => "import data files",
            Permission::ManageIncidents => "create or edit an incident",
            Permission::SetGoodwillCap => "set the goodwill cap",
            Permission::SetMaskPolicy => "change which roles see customers masked",
            Permission::ResetPassword => "reset an agent's password",
            Permission::GrantRights => "grant rights on the database",
            Permission::ViewRequests => "list the appreciation requests of every account",
            Permission::Contact => "record advice or callbacks",
            Permission::Outreach => "export outreach lists or read delivery reports",
        }
    }
}

impl fmt::Display for Permission {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.pad(self.describe())
    }
}

/// An action refused because the acting agent's role does not allow it. The one sentence
/// every face says: "bob (agent) may not set the goodwill cap".
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{login} ({role}) may not {permission}")]
pub struct NotPermitted {
    pub login: String,
    pub role: Role,
    pub permission: Permission,
}

impl Role {
    /// `Ok` when this role may do what `p` guards, else the refusal naming `login`.
    pub fn permit(self, login: &str, p: Permission) -> Result<(), NotPermitted> {
        if self.allows(p) {
            Ok(())
        } else {
            Err(NotPermitted {
                login: login.to_string(),
                role: self,
                permission: p,
            })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn allowed(role: Role) -> Vec<Permission> {
        Permission::ALL
            .into_iter()
            .filter(|&p| role.allows(p))
            .collect()
    }

    #[test]
    fn an_auditor_only_reads() {
        assert_eq!(
            allowed(Role::Auditor),
            [
                Permission::Read,
                Permission::ViewAccount,
                Permission::ViewRequests
            ]
        );
    }

    #[test]
    fn an_agent_works_a_call_but_cannot_approve_destroy_or_batch() {
        use Permission::*;
        assert_eq!(
            allowed(Role::Agent),
            [
                Read,
                ViewAccount,
                AddNote,
                ApplyIncidentCredit,
                RequestAppreciation,
                RestoreMerge,
                RecordResync,
                Contact
            ]
        );
    }

    #[test]
    fn a_supervisor_may_do_everything() {
        assert_eq!(allowed(Role::Supervisor), Permission::ALL);
    }

    #[test]
    fn roles_parse_back_from_their_names() {
        for r in Role::ALL {
            assert_eq!(r.as_str().parse::<Role>(), Ok(r));
            assert_eq!(r.to_string(), r.as_str());
            assert_eq!(
                serde_json::to_string(&r).ok(),
                Some(format!("\"{}\"", r.as_str()))
            );
        }
        assert_eq!(" Supervisor".parse::<Role>(), Ok(Role::Supervisor));
    }

    #[test]
    fn an_unknown_role_is_named_in_the_error() {
        let err = "admin".parse::<Role>().expect_err("not a role");
        assert_eq!(
            err.to_string(),
            "\"admin\" is not a role; expected one of: agent, supervisor, auditor"
        );
    }

    #[test]
    fn every_permission_has_its_own_description() {
        let mut seen: Vec<_> = Permission::ALL.iter().map(|p| p.describe()).collect();
        seen.sort_unstable();
        seen.dedup();
        assert_eq!(seen.len(), Permission::ALL.len());
        assert_eq!(
            Permission::ApplyBatch.describe(),
            "apply a batch credit run"
        );
    }

    #[test]
    fn a_refusal_names_the_agent_their_role_and_the_action() {
        let e = Role::Agent
            .permit("bob", Permission::SetGoodwillCap)
            .expect_err("agents do not set the cap");
        assert_eq!(e.to_string(), "bob (agent) may not set the goodwill cap");
        assert_eq!(
            Role::Auditor
                .permit("audrey", Permission::SetMaskPolicy)
                .expect_err("auditors read")
                .to_string(),
            "audrey (auditor) may not change which roles see customers masked"
        );
        assert_eq!(
            Role::Supervisor.permit("sofia", Permission::GrantRights),
            Ok(())
        );
    }
}
