//! The one error type of the library, and the exit code each kind of failure maps to
//! (docs/commands.md: 1 system, 2 bad input, 3 refused by a rule, 4 batch with failed rows).

use std::fmt;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Bad usage or invalid input: nothing was written.
    #[error("{0}")]
    Invalid(String),
    /// Refused by a rule (permission, eligibility, cap, corrupt backup): nothing was written.
    #[error("{0}")]
    Refused(String),
    /// A batch that finished with some rows failed.
    #[error("{0}")]
    Partial(String),
    /// The database could not be reached or failed.
    #[error("database error: {}", redact_db_error(.0))]
    Db(#[from] sqlx::Error),
    #[error("database migration failed: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    #[error("{context}: {source}")]
    Io {
        context: String,
        #[source]
        source: std::io::Error,
    },
    #[error("{0}")]
    System(String),
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    pub fn invalid(msg: impl fmt::Display) -> Self {
        Self::Invalid(msg.to_string())
    }
    pub fn refused(msg: impl fmt::Display) -> Self {
        Self::Refused(msg.to_string())
    }
    pub fn io(context: impl fmt::Display, source: std::io::Error) -> Self {
        Self::Io {
            context: context.to_string(),
            source,
        }
    }

    /// The process exit code of docs/commands.md.
    pub fn exit_code(&self) -> u8 {
        match self {
            Self::Invalid(_) => 2,
            Self::Refused(_) => 3,
            Self::Partial(_) => 4,
            Self::Db(_) | Self::Migrate(_) | Self::Io { .. } | Self::System(_) => 1,
        }
    }

    /// The kind of failure, as `--format json` names it on stderr.
    pub fn kind(&self) -> &'static str {
        match self.exit_code() {
            2 => "usage",
            3 => "refused",
            4 => "partial",
            _ => "system",
        }
    }

    /// Whether this error is a unique-constraint violation (used to turn a lost race into a
    /// replay rather than a failure).
    pub fn is_unique_violation(&self) -> bool {
        matches!(self, Self::Db(sqlx::Error::Database(e)) if e.is_unique_violation())
    }
}

/// Database errors can carry connection strings; never show a password.
fn redact_db_error(e: &sqlx::Error) -> String {
    crate::domain::privacy::redact_url(&e.to_string())
}

impl From<crate::domain::CreditRefusal> for Error {
    fn from(r: crate::domain::CreditRefusal) -> Self {
        if r.is_bad_input() {
            Self::Invalid(r.to_string())
        } else {
            Self::Refused(r.to_string())
        }
    }
}

impl From<crate::domain::password::PasswordRefusal> for Error {
    fn from(r: crate::domain::password::PasswordRefusal) -> Self {
        match r {
            crate::domain::password::PasswordRefusal::Wrong => Self::Refused(r.to_string()),
            _ => Self::Invalid(r.to_string()),
        }
    }
}

impl From<crate::domain::RestoreRefusal> for Error {
    fn from(r: crate::domain::RestoreRefusal) -> Self {
        Self::Refused(r.to_string())
    }
}

impl From<crate::domain::LossRefusal> for Error {
    fn from(r: crate::domain::LossRefusal) -> Self {
        if r.is_bad_input() {
            Self::Invalid(r.to_string())
        } else {
            Self::Refused(r.to_string())
        }
    }
}

impl From<crate::domain::IncidentRefusal> for Error {
    fn from(r: crate::domain::IncidentRefusal) -> Self {
        if r.is_bad_input() {
            Self::Invalid(r.to_string())
        } else {
            Self::Refused(r.to_string())
        }
    }
}

impl From<crate::domain::AgentRefusal> for Error {
    fn from(r: crate::domain::AgentRefusal) -> Self {
        if r.is_bad_input() {
            Self::Invalid(r.to_string())
        } else {
            Self::Refused(r.to_string())
        }
    }
}
