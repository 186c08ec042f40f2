//! The pure domain layer: the incident's vocabulary, rules and value types, with no I/O.
//!
//! Everything here is deterministic and side-effect free (the clock is a trait so callers can
//! inject time), which lets storage, the CLI and the TUI share one definition of every rule.

pub mod account;
pub mod agent;
pub mod backup;
pub mod batch;
pub mod category;
pub mod clock;
pub mod contact;
pub mod credit;
pub mod detail;
pub mod incident;
pub mod items;
pub mod live;
pub mod loss;
pub mod money;
pub mod parse;
pub mod password;
pub mod phone;
pub mod privacy;
pub mod restore;
pub mod role;
pub mod status;
pub mod text;
pub mod timeline;
pub mod when;

pub use account::{AccountStatus, AccountSummary, Plan, is_account_no};
pub use agent::{Actor, Agent, AgentChange, AgentRefusal, AgentState, decide_change, recheck};
pub use backup::{Backup, BackupCategory, NoRestoreSource, Verification, restore_source};
pub use batch::{AccountOutcome, BatchRun, Outcome, RunState, Tally};
pub use category::Category;
pub use clock::{Clock, FixedClock, SystemClock, truncate_micros};
pub use contact::{
    Advice, AdviceDecision, Callback, CallbackState, Channel, ContactRefusal, Delivery,
    DeliveryOutcome, OutreachContact, OutreachExport, OutreachSkip, Worklist, WorklistEntry,
    WorklistReason, advice_for, advice_words, callback_words, local_words,
};
pub use credit::{
    Credit, CreditKind, CreditOutcome, CreditRefusal, CreditRequest, IncidentCreditDecision,
    Ineligible, PlanPeriod, RejectOutcome, RequestOutcome, RequestStatus, RequestView,
    decide_incident_credit, incident_credit,
};
pub use detail::{AccountDetail, CategoryState, Note, TimelineEvent};
pub use incident::{CreateDecision, Incident, IncidentEdit, IncidentRefusal};
pub use live::{Change, Feed, Presence, PresenceReply};
pub use loss::{BackupHolding, LossDecision, LossFacts, LossRefusal};
pub use money::{Cents, MoneyError, MoneyErrorKind, format_cents};
pub use parse::UnknownValue;
pub use phone::{
    Msisdn, PhoneError, PhoneErrorKind, digits_only, looks_like_phone, normalize_msisdn,
};
pub use privacy::MaskPolicy;
pub use restore::{
    RestoreCategory, RestoreOutcome, RestoreRecord, RestoreRefusal, RestoreReport, ResyncReport,
    UndoCategory, UndoReport,
};
pub use role::{NotPermitted, Permission, Role};
pub use status::{
    CategoryFacts, CategoryStatus, DeviceState, account_status, derive_category_status,
};
pub use text::{
    MAX_QUERY_CHARS, QueryTooLong, check_query, needs_sanitizing, normalize_email, normalize_name,
    sanitize, search_fold,
};
