//! `incident create|list|show|edit`: incidents as data.

use std::path::Path;

use serde_json::json;

use super::print::{clean, print, to_json};
use super::{Format, IncidentCommand, parse_time_option};
use crate::desk::Desk;
use crate::domain::{Incident, IncidentEdit, format_cents};
use crate::error::{Error, Result};
use crate::service::incident::IncidentView;

/// Reads and checks an incident file (`init --incident`, `incident create`).
pub fn read_file(path: &Path) -> Result<Incident> {
    let bytes = crate::import::read_input(path)?;
    let source = path.display().to_string();
    let text = String::from_utf8(bytes)
        .map_err(|_| Error::invalid(format!("{source} is not UTF-8 text")))?;
    crate::import::parse_incident(&source, &text)
}

pub async fn run(desk: &Desk, format: Format, command: IncidentCommand) -> Result<()> {
    match command {
        IncidentCommand::Create { file } => {
            let incident = read_file(&file)?;
            let change = desk.incident_create(incident).await?;
            let id = &change.incident.id;
            let text = if change.changed {
                format!("created incident {id}\n")
            } else {
                format!("incident {id} already exists as this file describes it; nothing changed\n")
            };
            print(format, text, to_json(&change)?)
        }
        IncidentCommand::List => {
            let list = desk.incident_list().await?;
            let mut text = String::new();
            if list.is_empty() {
                text.push_str("no incident yet; create one with `caredesk incident create FILE`\n");
            }
            for v in &list {
                let i = &v.incident;
                text.push_str(&format!(
                    "{}\t{}\t{} to {}\t{}\t{} credit(s)\n",
                    i.id,
                    clean(&i.title),
                    when(i.started_at),
                    i.ended_at.map_or("(open)".to_string(), when),
                    if v.open { "open" } else { "ended" },
                    v.credits
                ));
            }
            print(format, text, json!({ "results": to_json(&list)? }))
        }
        IncidentCommand::Show { id } => {
            let v = desk.incident_show(id).await?;
            print(format, show_text(&v), to_json(&v)?)
        }
        IncidentCommand::Edit {
            id,
            title,
            advisory,
            end,
            credit_months,
            appreciation_cents,
        } => {
            let edit = IncidentEdit {
                title,
                advisory,
                ended_at: parse_time_option("--end", end)?,
                credit_months,
                appreciation_cents,
            };
            let change = desk.incident_edit(id, edit).await?;
            let id = &change.incident.id;
            let text = if change.changed {
                format!("incident {id}: changed {}\n", change.fields.join(", "))
            } else {
                format!("incident {id} already says so; nothing changed\n")
            };
            print(format, text, to_json(&change)?)
        }
    }
}

fn when(t: chrono::DateTime<chrono::Utc>) -> String {
    t.format("%Y-%m-%d %H:%M UTC").to_string()
}

fn show_text(v: &IncidentView) -> String {
    let i = &v.incident;
    let cats: Vec<&str> = i.categories.iter().map(|c| c.as_str()).collect();
    let money = |cents: i64| format_cents(cents, &i.currency);
    format!(
        "{}: {}\n  started   {}\n  ended     {}\n  snapshot  {}\n  categories {}\n  credit    {} month(s) of the data plan at the start; appreciation {}\n  credits   {}{}\n  advisory  \"{}\"\n",
        i.id,
        clean(&i.title),
        when(i.started_at),
        i.ended_at.map_or("not yet (open)".to_string(), when),
        when(i.snapshot_as_of),
        cats.join(", "),
        i.credit_months,
        money(i.appreciation_cents),
        v.credits,
        if v.credits > 0 {
            " (the credit policy is frozen)"
        } else {
            ""
        },
        clean(&i.advisory),
    )
}
