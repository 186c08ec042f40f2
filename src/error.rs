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
    /// The database could not be reached or failed, before anything named the database: told
    /// in words as `Database` is, about "the database" (see `Error::on_database`).
    #[error("{}", db_sentence(.0, None))]
    Db(#[from] sqlx::Error),
    /// A failure of the database itself (locked, read-only, not a database, damaged, full, the
    /// connection lost), told as one sentence that names the database and says what to do.
    #[error("{message}")]
    Database {
        message: String,
        #[source]
        source: sqlx::Error,
    },
    #[error("{}", migrate_sentence(.0, None))]
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
            Self::Db(_)
            | Self::Database { .. }
            | Self::Migrate(_)
            | Self::Io { .. }
            | Self::System(_) => 1,
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
        matches!(
            self,
            Self::Db(sqlx::Error::Database(e)) | Self::Database { source: sqlx::Error::Database(e), .. }
                if e.is_unique_violation()
        )
    }

    /// The same failure, its sentence naming the database `db` (as `DbUrl::display` shows it,
    /// without a password). Driver errors become crate errors with `?` deep in the store, where
    /// nothing knows which database it was; whoever opened it calls this on the way out.
    /// Errors that are not the database's, or already name it, are returned as they are.
    pub fn on_database(self, db: &str) -> Self {
        match self {
            Self::Db(source) => Self::Database {
                message: db_sentence(&source, Some(db)),
                source,
            },
            Self::Migrate(sqlx::migrate::MigrateError::Execute(source))
            | Self::Migrate(sqlx::migrate::MigrateError::ExecuteMigration(source, _)) => {
                Self::Database {
                    message: format!(
                        "the migration was not applied: {}",
                        db_sentence(&source, Some(db))
                    ),
                    source,
                }
            }
            Self::Migrate(e) => Self::System(migrate_sentence(&e, Some(db))),
            e => e,
        }
    }

    /// A failure of the database or the disk, followed by `advice` (a batch run's "running the
    /// same command again resumes it"); other errors are returned as they are.
    pub fn with_advice(self, advice: &str) -> Self {
        match self {
            Self::Db(source) => Self::Database {
                message: format!("{}; {advice}", db_sentence(&source, None)),
                source,
            },
            Self::Database { message, source } => Self::Database {
                message: format!("{message}; {advice}"),
                source,
            },
            e @ (Self::Migrate(_) | Self::Io { .. }) => Self::System(format!("{e}; {advice}")),
            e => e,
        }
    }
}

/// One sentence for a driver error: what happened to the database `db` (or "the database"
/// when the caller does not know which) and what to do, instead of the driver's own text
/// ("(code: 5) database is locked", "expected to read 5 bytes, got 0 bytes at EOF", a
/// PostgreSQL message ending in the server's source line). Never shows a password.
pub(crate) fn db_sentence(e: &sqlx::Error, db: Option<&str>) -> String {
    // A SQLite database is its file; a PostgreSQL one its URL, without a password.
    let db = db.map(|d| crate::domain::privacy::redact_url(d.strip_prefix("sqlite:").unwrap_or(d)));
    let the_db = match &db {
        Some(d) => format!("the database {d}"),
        None => "the database".to_string(),
    };
    let text = match e {
        sqlx::Error::Database(d) => {
            if let Some(s) = d.try_downcast_ref::<sqlx::sqlite::SqliteError>() {
                sqlite_sentence(s, &the_db, db.as_deref())
            } else if let Some(p) = d.try_downcast_ref::<sqlx::postgres::PgDatabaseError>() {
                postgres_sentence(p, &the_db)
            } else {
                format!("{the_db} failed: {}", d.message())
            }
        }
        sqlx::Error::Io(io) => lost(&the_db, &io.to_string()),
        sqlx::Error::Protocol(p) => lost(&the_db, p),
        sqlx::Error::Tls(t) => format!(
            "the secure (TLS) connection to {the_db} failed ({t}); check the server's certificate and the URL's sslmode"
        ),
        sqlx::Error::PoolTimedOut => format!(
            "no connection to {the_db} became free in time (the server is slow, unreachable or out of connections); try again, or wait longer with CAREDESK_ACQUIRE_TIMEOUT=SECONDS"
        ),
        sqlx::Error::PoolClosed | sqlx::Error::WorkerCrashed => format!(
            "the connection to {the_db} was closed while a command still needed it; run the command again"
        ),
        other => format!("{the_db} answered something caredesk cannot read ({other})"),
    };
    crate::domain::privacy::redact_url(&text)
}

/// The driver's own text of `e`, without what only a developer reads: SQLite's "(code: N)"
/// and the PostgreSQL server's C source line ("at line 3655").
pub(crate) fn driver_text(e: &sqlx::Error) -> String {
    match e {
        sqlx::Error::Database(d) => d.message().to_string(),
        other => other.to_string(),
    }
}

/// The connection went away mid-command (the server restarted, an administrator ended the
/// session, the network dropped).
fn lost(the_db: &str, why: &str) -> String {
    format!(
        "the connection to {the_db} was lost ({why}); check that the server is up and run the command again"
    )
}

fn sqlite_sentence(e: &sqlx::sqlite::SqliteError, the_db: &str, db: Option<&str>) -> String {
    use sqlx::error::DatabaseError;
    let code: i32 = e.code().and_then(|c| c.parse().ok()).unwrap_or(0);
    let file = db.map_or_else(
        || "the database file".to_string(),
        |f| format!("the file {f}"),
    );
    // SQLite's primary result codes (the low byte of the extended code).
    match code & 0xff {
        // SQLITE_BUSY, SQLITE_LOCKED
        5 | 6 => format!(
            "{the_db} is locked by another process (a batch run, an import, a migration or a sqlite3 shell holds its write lock); run the command again once that has finished, or wait longer with CAREDESK_LOCK_TIMEOUT=SECONDS"
        ),
        // SQLITE_READONLY
        8 => format!(
            "{the_db} cannot be written: the file or its folder is read-only for this user (SQLite writes its -wal and -shm files beside the database); give this user write access to both, or work on a copy"
        ),
        // SQLITE_IOERR
        10 => format!(
            "reading or writing {the_db} failed (a disk or file system error: {}); check the disk, then run the command again",
            e.message()
        ),
        // SQLITE_CORRUPT
        11 => format!(
            "{the_db} is damaged (SQLite found a malformed page); stop writing to it, keep the file for inspection and restore the latest backup (docs/operations.md)"
        ),
        // SQLITE_FULL
        13 => {
            format!("the disk holding {the_db} is full; free some space and run the command again")
        }
        // SQLITE_CANTOPEN
        14 => format!(
            "cannot open {the_db}: check that its folder exists and that this user may read and write the file and the folder"
        ),
        // SQLITE_NOTADB
        26 => format!(
            "{file} is not a caredesk database (not a SQLite file, or an encrypted one); check that --db or CAREDESK_DB names the right file"
        ),
        // SQLITE_CONSTRAINT and the rest: the statement's own message (a trigger's refusal
        // reads as a sentence).
        _ => format!("{the_db} refused the change: {}", e.message()),
    }
}

fn postgres_sentence(e: &sqlx::postgres::PgDatabaseError, the_db: &str) -> String {
    // The message alone: PgDatabaseError's Display appends the server's C source line
    // ("at line 3655"), which reads like a line of the user's file.
    let message = e.message();
    let code = e.code();
    match code {
        // admin_shutdown, crash_shutdown, cannot_connect_now, and class 08 (connection
        // exception): the session is gone.
        "57P01" | "57P02" | "57P03" => lost(the_db, message),
        c if c.starts_with("08") => lost(the_db, message),
        // lock_not_available (lock_timeout), deadlock_detected, serialization_failure
        "55P03" => format!(
            "{the_db} is locked by another session (a batch run, an import, a migration or an operator's transaction); run the command again once that has finished, or wait longer with CAREDESK_LOCK_TIMEOUT=SECONDS"
        ),
        "40P01" | "40001" => format!(
            "{the_db} undid this command's transaction because another one changed the same rows at the same time; nothing of it was written: run the command again"
        ),
        // query_canceled (statement_timeout or an administrator's pg_cancel_backend)
        "57014" => format!("{the_db} cancelled the statement ({message}); run the command again"),
        // disk_full, out_of_memory, too_many_connections
        "53100" => format!(
            "the disk of the server holding {the_db} is full; free some space there and run the command again"
        ),
        "53200" => {
            format!("the server holding {the_db} ran out of memory; run the command again later")
        }
        "53300" => format!(
            "the server holding {the_db} accepts no more connections; run the command again later, or lower CAREDESK_POOL"
        ),
        // insufficient_privilege
        "42501" => format!(
            "{the_db} refused: {message}; this login has no rights there (a supervisor runs `caredesk db grant`; agents and auditors work through `caredesk serve`)"
        ),
        // data_corrupted, index_corrupted
        "XX001" | "XX002" => format!(
            "{the_db} is damaged ({message}); stop writing to it and restore the latest backup (docs/operations.md)"
        ),
        _ => match e.detail() {
            Some(detail) => format!("{the_db} refused the statement: {message} ({detail})"),
            None => format!("{the_db} refused the statement: {message}"),
        },
    }
}

/// A migration error in words (one that holds a driver error is told as that error).
fn migrate_sentence(e: &sqlx::migrate::MigrateError, db: Option<&str>) -> String {
    use sqlx::migrate::MigrateError as M;
    let the_db = db.map_or_else(
        || "the database".to_string(),
        |d| format!("the database {}", crate::domain::privacy::redact_url(d)),
    );
    match e {
        M::Execute(source) | M::ExecuteMigration(source, _) => {
            format!("the migration was not applied: {}", db_sentence(source, db))
        }
        M::VersionMissing(v) | M::VersionNotPresent(v) => format!(
            "{the_db} was migrated by a newer caredesk (migration {v} is unknown to this one); use that version or a newer one"
        ),
        M::VersionMismatch(v) => format!(
            "{the_db} has a migration {v} that differs from this caredesk's; it was made by another build: use the build that made it"
        ),
        M::Dirty(v) => format!(
            "{the_db} holds migration {v} half-applied (an earlier migration failed); restore the backup taken before it (docs/operations.md)"
        ),
        other => format!("migrating {the_db} failed: {other}"),
    }
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

impl From<crate::domain::ContactRefusal> for Error {
    fn from(r: crate::domain::ContactRefusal) -> Self {
        if r.is_bad_input() {
            Self::Invalid(r.to_string())
        } else {
            Self::Refused(r.to_string())
        }
    }
}

impl From<crate::domain::when::WhenError> for Error {
    fn from(r: crate::domain::when::WhenError) -> Self {
        Self::Invalid(r.to_string())
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

impl From<crate::domain::live::RefreshRefusal> for Error {
    fn from(r: crate::domain::live::RefreshRefusal) -> Self {
        Self::Refused(r.to_string())
    }
}
