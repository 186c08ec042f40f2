//! `agent add|list|disable|enable|role`: who may use caredesk, in which role.

use serde_json::json;

use super::print::{agents_json, agents_text, print};
use super::{AgentCommand, Format};
use crate::domain::Actor;
use crate::domain::Role;
use crate::error::{Error, Result};
use crate::service::Service;

pub async fn run(
    svc: &Service,
    actor: &Actor,
    format: Format,
    command: AgentCommand,
) -> Result<()> {
    match command {
        AgentCommand::Add { login, role, name } => {
            let role: Role = role.parse().map_err(Error::invalid)?;
            svc.add_agent(actor, &login, name.as_deref(), role).await?;
            print(
                format,
                format!("added {login} as {role}\n"),
                json!({"login": login, "role": role.as_str(), "active": true}),
            )
        }
        AgentCommand::List => {
            let list = svc.agents(actor).await?;
            print(format, agents_text(&list), agents_json(&list))
        }
        AgentCommand::Disable { login } => {
            let changed = svc.disable_agent(actor, &login).await?;
            let text = if changed {
                format!("disabled {login}\n")
            } else {
                format!("{login} was already disabled\n")
            };
            print(
                format,
                text,
                json!({"login": login, "active": false, "changed": changed}),
            )
        }
        AgentCommand::Enable { login } => {
            let changed = svc.enable_agent(actor, &login).await?;
            let text = if changed {
                format!("enabled {login}\n")
            } else {
                format!("{login} was already enabled\n")
            };
            print(
                format,
                text,
                json!({"login": login, "active": true, "changed": changed}),
            )
        }
        AgentCommand::Role { login, role } => {
            let role: Role = role.parse().map_err(Error::invalid)?;
            let changed = svc.set_agent_role(actor, &login, role).await?;
            let text = if changed {
                format!("{login} is now {role}\n")
            } else {
                format!("{login} was already {role}\n")
            };
            print(
                format,
                text,
                json!({"login": login, "role": role.as_str(), "changed": changed}),
            )
        }
    }
}
