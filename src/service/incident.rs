//! Incidents as data: `incident create | list | show | edit` and the first incident of `init`.

use serde::{Deserialize, Serialize};

use super::Service;
use crate::domain::incident::{CreateDecision, IncidentEdit};
use crate::domain::{Actor, Incident, Permission};
use crate::error::Result;
use crate::with_store;

/// An incident as `incident show` and `incident list` present it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct IncidentView {
    #[serde(flatten)]
    pub incident: Incident,
    /// Not ended, or ending later than now.
    pub open: bool,
    /// Credits of every kind against it (its credit policy is frozen from the first).
    pub credits: i64,
}

/// What `incident create` or `incident edit` did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct IncidentChange {
    pub incident: Incident,
    /// False for a replay: the same definition, or an edit that changes nothing.
    pub changed: bool,
    /// The fields an edit changed.
    pub fields: Vec<String>,
}

impl Service {
    pub async fn incidents(&self) -> Result<Vec<Incident>> {
        with_store!(&self.store, s => s.incidents().await)
    }

    pub async fn incident_views(&self, actor: &Actor) -> Result<Vec<IncidentView>> {
        Self::require(actor, Permission::Read)?;
        let mut out = Vec::new();
        for incident in self.incidents().await? {
            out.push(self.view(incident).await?);
        }
        Ok(out)
    }

    pub async fn incident_show(&self, actor: &Actor, id: &str) -> Result<IncidentView> {
        Self::require(actor, Permission::Read)?;
        let incident = self.incident(Some(id)).await?;
        self.view(incident).await
    }

    async fn view(&self, incident: Incident) -> Result<IncidentView> {
        let credits = with_store!(&self.store, s => s.incident_credit_count(&incident.id).await)?;
        Ok(IncidentView {
            open: incident.is_open(self.now()),
            incident,
            credits,
        })
    }

    /// `incident create FILE` (the file read by the caller): the definition is checked again
    /// here, whoever sent it.
    pub async fn incident_create(
        &self,
        actor: &Actor,
        incident: &Incident,
    ) -> Result<IncidentChange> {
        Self::require(actor, Permission::ManageIncidents)?;
        let decision =
            with_store!(&self.store, s => s.create_incident(actor, incident, self.now()).await)?;
        Ok(IncidentChange {
            incident: incident.clone(),
            changed: decision == CreateDecision::Create,
            fields: Vec::new(),
        })
    }

    pub async fn incident_edit(
        &self,
        actor: &Actor,
        id: &str,
        edit: &IncidentEdit,
    ) -> Result<IncidentChange> {
        Self::require(actor, Permission::ManageIncidents)?;
        let (incident, fields) =
            with_store!(&self.store, s => s.edit_incident(actor, id, edit, self.now()).await)?;
        Ok(IncidentChange {
            incident,
            changed: !fields.is_empty(),
            fields: fields.into_iter().map(str::to_string).collect(),
        })
    }
}
