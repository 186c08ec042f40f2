//! `agent add|list|disable|enable|role`: who may use caredesk, in which role.

use serde_json::json;

use super::print::{agents_json, agents_text, print};
use super::{AgentCommand, Format};
use crate::desk::Desk;
use crate::domain::Role;
use crate::error::{Error, Result};

pub async fn run(desk: &Desk, format: Format, command: AgentCommand) -> Result<()> {
    match command {
        AgentCommand::Add { login, role, name } => {
            let role: Role = role.parse().map_err(Error::invalid)?;
            desk.add_agent(login.clone(), name, role).await?;
            print(
                format,
                format!("added {login} as {role}\n"),
                json!({"login": login, "role": role.as_str(), "active": true}),
            )
        }
        AgentCommand::List => {
            let list = desk.agents().await?;
            print(format, agents_text(&list), agents_json(&list))
        }
        AgentCommand::Disable { login } => {
            let changed = desk.disable_agent(login.clone()).await?;
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
            let changed = desk.enable_agent(login.clone()).await?;
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
            let changed = desk.set_agent_role(login.clone(), role).await?;
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
        AgentCommand::Password { login } => {
            let otp = desk.reset_password(login.clone()).await?;
            print(
                format,
                format!(
                    "one-time password for {login}: {otp}\n(give it to {login} privately; it must be changed at the first login, and {login}'s sessions were ended)\n"
                ),
                json!({"login": login, "one_time_password": otp}),
            )
        }
    }
}
