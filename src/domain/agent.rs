//! Who works the incident: the agents of a database and the one acting now.

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
}

/// The agent a command or screen acts as, resolved and checked before anything runs.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Actor {
    pub login: String,
    pub role: Role,
}
