//! A team on one database: the change feed screens listen to, presence, and the re-read of
//! the account on a screen when it changed.

use std::sync::{Arc, Mutex, PoisonError};

use chrono::TimeDelta;
use tokio::sync::broadcast;

use super::Service;
use crate::domain::live::{self, PRESENCE_LAPSE};
use crate::domain::{AccountDetail, Actor, Feed, Permission, PresenceReply};
use crate::error::{Error, Result};
use crate::with_store;

/// Events a slow listener may fall behind by before it is told to re-read everything.
const FEED_BACKLOG: usize = 256;

/// The longest screen id a heartbeat may name.
const MAX_SCREEN_ID: usize = 64;

/// One watcher of the database per process, shared by every listener, started at the first
/// and running until the service is dropped or closed.
#[derive(Clone, Default)]
pub struct Hub {
    inner: Arc<Mutex<Option<Watcher>>>,
}

/// The running watcher: where it sends, and its task.
type Watcher = (broadcast::Sender<Feed>, tokio::task::JoinHandle<()>);

/// `CAREDESK_PRESENCE_LAPSE` (seconds, 2 to 600) or the default of `domain::live`.
pub fn presence_lapse_from_env() -> Result<TimeDelta> {
    let Some(v) = std::env::var("CAREDESK_PRESENCE_LAPSE")
        .ok()
        .filter(|v| !v.trim().is_empty())
    else {
        return Ok(PRESENCE_LAPSE);
    };
    match v.trim().parse::<i64>() {
        Ok(n) if (2..=600).contains(&n) => Ok(TimeDelta::seconds(n)),
        _ => Err(Error::invalid(format!(
            "CAREDESK_PRESENCE_LAPSE must be a whole number of seconds from 2 to 600, not \"{}\"",
            crate::domain::sanitize(v.trim())
        ))),
    }
}

impl Service {
    /// What changes in the database from now on, as events: each commit's accounts, or that
    /// the database cannot be reached. Events are hints; a listener that falls behind gets
    /// `Lagged` and should re-read everything.
    pub fn feed(&self) -> broadcast::Receiver<Feed> {
        let mut slot = self
            .live
            .inner
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        if let Some((tx, task)) = slot.as_ref()
            && !task.is_finished()
        {
            return tx.subscribe();
        }
        let (tx, rx) = broadcast::channel(FEED_BACKLOG);
        // The watcher holds the feed weakly: it stops when the service (its hub) is gone.
        let task = tokio::spawn(crate::store::watch::watch(
            self.store.clone(),
            tx.downgrade(),
        ));
        *slot = Some((tx, task));
        rx
    }

    /// A screen's heartbeat: `screen` (an id the screen chose) has `account_id` open, or no
    /// account. Answers who else has that account open and how often to beat. Not audited:
    /// the view that opened the account was.
    pub async fn presence_beat(
        &self,
        actor: &Actor,
        screen: &str,
        account_id: Option<i64>,
    ) -> Result<PresenceReply> {
        Self::require(actor, Permission::ViewAccount)?;
        let screen = screen.trim();
        if screen.is_empty()
            || screen.len() > MAX_SCREEN_ID
            || !screen
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        {
            return Err(Error::invalid(format!(
                "a screen id is 1 to {MAX_SCREEN_ID} letters, digits, '-' or '_'"
            )));
        }
        let lapse = self.presence_lapse;
        let others = with_store!(&self.store, s => s.presence_beat(screen, &actor.login, account_id, self.now(), lapse).await)?;
        Ok(PresenceReply {
            others,
            beat_secs: live::beat_secs(lapse),
        })
    }

    /// The account on the agent's screen, re-read after it changed, without a new view record:
    /// only an account open on one of the agent's screens (its opening was recorded).
    pub async fn refresh(&self, actor: &Actor, account_id: i64) -> Result<AccountDetail> {
        Self::require(actor, Permission::ViewAccount)?;
        let open = with_store!(&self.store, s => s.is_open_by(&actor.login, account_id, self.now(), self.presence_lapse).await)?;
        if !open {
            let no = with_store!(&self.store, s => s.account_no_by_id(account_id).await)?
                .ok_or_else(|| Error::invalid(format!("there is no account #{account_id}")))?;
            live::may_refresh(&no, false)?;
        }
        let mut d = with_store!(&self.store, s => s.account_detail_unaudited(account_id).await)?;
        if self.masks(actor) {
            d.summary.mask();
            d.masked = true;
        }
        Ok(d)
    }
}
