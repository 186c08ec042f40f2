//! Who works the incident: the agents of a database and the one acting now, the re-check every
//! write makes of the acting agent, and the changes a supervisor makes to an agent.

use std::fmt;

use chrono::{DateTime, Utc};
use serde::Serialize;

use super::role::Role;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, serde::Deserialize)]
pub struct Agent {
    pub login: String,
    pub display_name: String,
    pub role: Role,
    pub active: bool,
    pub created_at: DateTime<Utc>,
    /// Who last disabled, enabled or changed the role of this agent, and when (`None` until
    /// someone did).
    pub changed_by: Option<String>,
    pub changed_at: Option<DateTime<Utc>>,
}

impl Agent {
    /// The facts the re-check of this agent reads.
    pub fn state(&self) -> AgentState {
        AgentState {
            login: self.login.clone(),
            role: self.role,
            active: self.active,
            changed_by: self.changed_by.clone(),
            changed_at: self.changed_at,
        }
    }
}

/// The agent a command or screen acts as, resolved and checked before anything runs.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Actor {
    pub login: String,
    pub role: Role,
}

/// An agent's row as the database holds it now: what every write re-reads of its acting agent
/// inside its own transaction, and what a supervisor's change starts from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AgentState {
    pub login: String,
    pub role: Role,
    pub active: bool,
    /// Who last disabled, enabled or changed the role of the agent, and when.
    pub changed_by: Option<String>,
    pub changed_at: Option<DateTime<Utc>>,
}

/// What a supervisor does to another agent (`agent disable|enable|role`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AgentChange {
    Disable,
    Enable,
    Role(Role),
}

impl AgentChange {
    /// The audit action the change is recorded as.
    pub fn action(self) -> &'static str {
        match self {
            Self::Disable => "agent.disable",
            Self::Enable => "agent.enable",
            Self::Role(_) => "agent.role",
        }
    }

    /// What the change does, worded to finish "you cannot ".
    fn own_login(self) -> &'static str {
        match self {
            Self::Disable => "disable yourself",
            Self::Enable => "enable yourself",
            Self::Role(_) => "change your own role",
        }
    }
}

/// Why an agent may not act, or a supervisor's change of an agent is refused. Each message is
/// one sentence naming who and, where the database knows it, who changed what and when.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AgentRefusal {
    /// The acting login has no agent row.
    Unknown { login: String },
    /// The acting agent was disabled (by `by` at `at`, when the database knows).
    Disabled {
        login: String,
        by: Option<String>,
        at: Option<DateTime<Utc>>,
    },
    /// The acting agent's role is no longer the one the action was decided under.
    RoleChanged {
        login: String,
        from: Role,
        to: Role,
        by: Option<String>,
        at: Option<DateTime<Utc>>,
    },
    /// A supervisor's change of their own login (another supervisor makes it).
    OwnLogin(AgentChange),
    /// The agent to change does not exist.
    NoSuchAgent { login: String },
}

impl AgentRefusal {
    /// Naming an agent that does not exist is a mistake in the request.
    pub fn is_bad_input(&self) -> bool {
        matches!(self, Self::NoSuchAgent { .. })
    }
}

/// " by sofia at 2009-10-14 16:32 UTC", or as much of it as is known.
fn by_at(by: &Option<String>, at: &Option<DateTime<Utc>>) -> String {
    let mut s = String::new();
    if let Some(by) = by {
        s.push_str(" by ");
        s.push_str(by);
    }
    if let Some(at) = at {
        s.push_str(&at.format(" at %Y-%m-%d %H:%M UTC").to_string());
    }
    s
}

impl fmt::Display for AgentRefusal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Unknown { login } => write!(
                f,
                "\"{login}\" is not an agent of this database; nothing was done"
            ),
            Self::Disabled { login, by, at } if by.is_none() && at.is_none() => {
                write!(f, "your login \"{login}\" is disabled; nothing was done")
            }
            Self::Disabled { login, by, at } => write!(
                f,
                "your login \"{login}\" was disabled{}; nothing was done",
                by_at(by, at)
            ),
            Self::RoleChanged {
                login: _,
                from,
                to,
                by,
                at,
            } => write!(
                f,
                "your role was changed from {from} to {to}{}; nothing was done",
                by_at(by, at)
            ),
            Self::OwnLogin(change) => write!(
                f,
                "you cannot {}; ask another supervisor",
                change.own_login()
            ),
            Self::NoSuchAgent { login } => write!(f, "there is no agent \"{login}\""),
        }
    }
}

impl std::error::Error for AgentRefusal {}

/// Whether `actor` may still act as the action was decided: its agent row (`current`, read in
/// the transaction that is about to write) must exist, be active, and hold the role the action
/// was decided under. An agent disabled or demoted while their screen is open can do nothing
/// more from the next action on.
pub fn recheck(actor: &Actor, current: Option<&AgentState>) -> Result<(), AgentRefusal> {
    let Some(current) = current else {
        return Err(AgentRefusal::Unknown {
            login: actor.login.clone(),
        });
    };
    if !current.active {
        return Err(AgentRefusal::Disabled {
            login: current.login.clone(),
            by: current.changed_by.clone(),
            at: current.changed_at,
        });
    }
    if current.role != actor.role {
        return Err(AgentRefusal::RoleChanged {
            login: current.login.clone(),
            from: actor.role,
            to: current.role,
            by: current.changed_by.clone(),
            at: current.changed_at,
        });
    }
    Ok(())
}

/// What `actor`'s `change` of `target` writes: the agent's new state, or `None` when the agent
/// is in that state already (a replay, which changes nothing). Nobody changes their own login.
pub fn decide_change(
    actor: &Actor,
    target: &AgentState,
    change: AgentChange,
    now: DateTime<Utc>,
) -> Result<Option<AgentState>, AgentRefusal> {
    if target.login == actor.login {
        return Err(AgentRefusal::OwnLogin(change));
    }
    let (active, role) = match change {
        AgentChange::Disable => (false, target.role),
        AgentChange::Enable => (true, target.role),
        AgentChange::Role(role) => (target.active, role),
    };
    if active == target.active && role == target.role {
        return Ok(None);
    }
    Ok(Some(AgentState {
        login: target.login.clone(),
        role,
        active,
        changed_by: Some(actor.login.clone()),
        changed_at: Some(now),
    }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn at() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2009, 10, 14, 16, 32, 5)
            .single()
            .expect("time")
    }

    fn actor(login: &str, role: Role) -> Actor {
        Actor {
            login: login.to_string(),
            role,
        }
    }

    fn state(login: &str, role: Role, active: bool) -> AgentState {
        AgentState {
            login: login.to_string(),
            role,
            active,
            changed_by: None,
            changed_at: None,
        }
    }

    fn changed(mut s: AgentState) -> AgentState {
        s.changed_by = Some("sofia".to_string());
        s.changed_at = Some(at());
        s
    }

    #[test]
    fn an_active_agent_in_the_role_the_action_was_decided_under_may_act() {
        for role in Role::ALL {
            assert_eq!(
                recheck(&actor("alice", role), Some(&state("alice", role, true))),
                Ok(())
            );
        }
        // Re-enabled since: the change is recorded, the agent acts again.
        assert_eq!(
            recheck(
                &actor("alice", Role::Agent),
                Some(&changed(state("alice", Role::Agent, true)))
            ),
            Ok(())
        );
    }

    #[test]
    fn a_disabled_agent_is_told_who_disabled_them_and_when() {
        let e = recheck(
            &actor("alice", Role::Agent),
            Some(&changed(state("alice", Role::Agent, false))),
        )
        .expect_err("disabled");
        assert_eq!(
            e.to_string(),
            "your login \"alice\" was disabled by sofia at 2009-10-14 16:32 UTC; nothing was done"
        );
        assert!(!e.is_bad_input());
        // Disabled before the database recorded who did it.
        let e = recheck(
            &actor("alice", Role::Agent),
            Some(&state("alice", Role::Agent, false)),
        )
        .expect_err("disabled");
        assert_eq!(
            e.to_string(),
            "your login \"alice\" is disabled; nothing was done"
        );
    }

    #[test]
    fn a_demoted_supervisor_is_told_the_role_change_and_disabling_wins_over_it() {
        let e = recheck(
            &actor("omar", Role::Supervisor),
            Some(&changed(state("omar", Role::Agent, true))),
        )
        .expect_err("demoted");
        assert_eq!(
            e.to_string(),
            "your role was changed from supervisor to agent by sofia at 2009-10-14 16:32 UTC; nothing was done"
        );
        // Promoted counts too: the action was decided under the old role.
        assert!(matches!(
            recheck(
                &actor("alice", Role::Agent),
                Some(&changed(state("alice", Role::Supervisor, true)))
            ),
            Err(AgentRefusal::RoleChanged {
                from: Role::Agent,
                to: Role::Supervisor,
                ..
            })
        ));
        assert!(matches!(
            recheck(
                &actor("omar", Role::Supervisor),
                Some(&changed(state("omar", Role::Agent, false)))
            ),
            Err(AgentRefusal::Disabled { .. })
        ));
    }

    #[test]
    fn an_agent_the_database_does_not_know_is_refused() {
        let e = recheck(&actor("mallory", Role::Supervisor), None).expect_err("unknown");
        assert_eq!(
            e.to_string(),
            "\"mallory\" is not an agent of this database; nothing was done"
        );
    }

    #[test]
    fn a_change_records_who_made_it_and_when() {
        let sofia = actor("sofia", Role::Supervisor);
        let alice = state("alice", Role::Agent, true);
        let off = decide_change(&sofia, &alice, AgentChange::Disable, at())
            .expect("allowed")
            .expect("changes");
        assert_eq!(off, changed(state("alice", Role::Agent, false)));
        let on = decide_change(&sofia, &off, AgentChange::Enable, at())
            .expect("allowed")
            .expect("changes");
        assert_eq!(on, changed(state("alice", Role::Agent, true)));
        let up = decide_change(&sofia, &alice, AgentChange::Role(Role::Supervisor), at())
            .expect("allowed")
            .expect("changes");
        assert_eq!(up, changed(state("alice", Role::Supervisor, true)));
        // A disabled agent's role can change; it stays disabled.
        let off_up = decide_change(&sofia, &off, AgentChange::Role(Role::Auditor), at())
            .expect("allowed")
            .expect("changes");
        assert_eq!(off_up, changed(state("alice", Role::Auditor, false)));
    }

    #[test]
    fn a_change_to_the_state_the_agent_is_in_is_a_replay() {
        let sofia = actor("sofia", Role::Supervisor);
        let alice = state("alice", Role::Agent, true);
        let off = state("alice", Role::Agent, false);
        assert_eq!(
            decide_change(&sofia, &alice, AgentChange::Enable, at()),
            Ok(None)
        );
        assert_eq!(
            decide_change(&sofia, &off, AgentChange::Disable, at()),
            Ok(None)
        );
        assert_eq!(
            decide_change(&sofia, &alice, AgentChange::Role(Role::Agent), at()),
            Ok(None)
        );
    }

    #[test]
    fn nobody_changes_their_own_login() {
        let sofia = actor("sofia", Role::Supervisor);
        let own = state("sofia", Role::Supervisor, true);
        for (change, text) in [
            (
                AgentChange::Disable,
                "you cannot disable yourself; ask another supervisor",
            ),
            (
                AgentChange::Enable,
                "you cannot enable yourself; ask another supervisor",
            ),
            (
                AgentChange::Role(Role::Agent),
                "you cannot change your own role; ask another supervisor",
            ),
            // Even to the role they hold: never on their own login.
            (
                AgentChange::Role(Role::Supervisor),
                "you cannot change your own role; ask another supervisor",
            ),
        ] {
            let e = decide_change(&sofia, &own, change, at()).expect_err("own login");
            assert_eq!(e.to_string(), text);
            assert!(!e.is_bad_input());
        }
        assert_eq!(AgentChange::Disable.action(), "agent.disable");
        assert_eq!(AgentChange::Enable.action(), "agent.enable");
        assert_eq!(AgentChange::Role(Role::Agent).action(), "agent.role");
        assert!(
            AgentRefusal::NoSuchAgent {
                login: "zed".to_string()
            }
            .is_bad_input()
        );
    }
}
