//! What tells the open screens that something changed (SPEC §5, change notifications): on
//! PostgreSQL one `LISTEN` connection per process hears every commit's notification, whoever
//! made it (another server, an operator's batch run); on SQLite the file's change counter
//! (`PRAGMA data_version`, one cheap read on a connection of its own) is watched, and when it
//! moves the audit records appended since are read for the accounts they name.

use std::time::Duration;

use sqlx::Connection;
use tokio::sync::broadcast;

use super::{Store, postgres, sqlite};
use crate::domain::{Change, Feed};

/// The channel PostgreSQL notifications of changes go out on.
pub const CHANGES_CHANNEL: &str = "caredesk_changes";

/// How often a SQLite file's change counter is read.
const SQLITE_POLL: Duration = Duration::from_millis(250);
/// Audit records read per look at the tail; more than this means "everything changed".
const TAIL_LIMIT: i64 = 200;
/// How long to wait before trying a lost database again.
const RETRY: Duration = Duration::from_secs(1);

/// Sends what changes into `feed` for as long as its sender lives (the service's hub) and the
/// store is open.
pub async fn watch(store: Store, feed: broadcast::WeakSender<Feed>) {
    match store {
        Store::Sqlite(s) => watch_sqlite(s, feed).await,
        Store::Postgres(s) => watch_postgres(s, feed).await,
    }
}

/// Sends `event` to whoever listens now (nobody may); false once the feed itself is gone.
fn tell(feed: &broadcast::WeakSender<Feed>, event: Feed) -> bool {
    match feed.upgrade() {
        Some(tx) => {
            let _ = tx.send(event);
            true
        }
        None => false,
    }
}

async fn watch_sqlite(store: sqlite::SqlStore, feed: broadcast::WeakSender<Feed>) {
    let options = (*store.pool().connect_options()).clone();
    let mut conn: Option<sqlx::SqliteConnection> = None;
    let mut version: Option<i64> = None;
    let mut seen: Option<i64> = None;
    let mut down = false;
    let mut tick = tokio::time::interval(SQLITE_POLL);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        if feed.strong_count() == 0 || store.pool().is_closed() {
            return;
        }
        if conn.is_none() {
            conn = sqlx::SqliteConnection::connect_with(&options).await.ok();
        }
        let read = match conn.as_mut() {
            Some(c) => sqlx::query_scalar::<_, i64>("PRAGMA data_version")
                .fetch_one(&mut *c)
                .await
                .map_err(|e| e.to_string()),
            None => Err("cannot open the database file".to_string()),
        };
        let now = match read {
            Ok(v) => v,
            Err(reason) => {
                conn = None;
                if !down {
                    down = true;
                    if !tell(&feed, Feed::Down { reason }) {
                        return;
                    }
                }
                tokio::time::sleep(RETRY).await;
                continue;
            }
        };
        if down {
            down = false;
            version = None;
            if !tell(&feed, Feed::Up) {
                return;
            }
        }
        if version == Some(now) {
            continue;
        }
        let first = version.is_none();
        version = Some(now);
        let Some(after) = seen else {
            seen = store.audit_head_seq().await.ok();
            if !first && !tell(&feed, Feed::Change(Change::everything())) {
                return;
            }
            continue;
        };
        match store.audit_tail(after, TAIL_LIMIT + 1).await {
            Ok(rows) => {
                let change = if rows.len() as i64 > TAIL_LIMIT {
                    seen = store.audit_head_seq().await.ok();
                    Some(Change::everything())
                } else {
                    if let Some((seq, _, _)) = rows.last() {
                        seen = Some(*seq);
                    }
                    Change::of_records(rows.iter().map(|(_, a, n)| (a.as_str(), n.as_deref())))
                };
                if let Some(change) = change
                    && !tell(&feed, Feed::Change(change))
                {
                    return;
                }
            }
            Err(_) => {
                // Read again next time round.
                version = None;
            }
        }
    }
}

async fn watch_postgres(store: postgres::SqlStore, feed: broadcast::WeakSender<Feed>) {
    use sqlx::postgres::{PgListener, PgPoolOptions};
    let options = (*store.pool().connect_options()).clone();
    let mut down = false;
    loop {
        // A pool of one of its own: the listening connection never takes one the service
        // needs.
        let listener = async {
            let pool = PgPoolOptions::new()
                .max_connections(1)
                .connect_with(options.clone())
                .await?;
            let mut listener = PgListener::connect_with(&pool).await?;
            listener.listen(CHANGES_CHANNEL).await?;
            Ok::<_, sqlx::Error>(listener)
        }
        .await;
        let mut listener = match listener {
            Ok(l) => l,
            Err(e) => {
                if !down {
                    down = true;
                    if !tell(
                        &feed,
                        Feed::Down {
                            reason: e.to_string(),
                        },
                    ) {
                        return;
                    }
                }
                if feed.strong_count() == 0 || store.pool().is_closed() {
                    return;
                }
                tokio::time::sleep(RETRY).await;
                continue;
            }
        };
        if std::mem::take(&mut down) && !tell(&feed, Feed::Up) {
            return;
        }
        loop {
            match listener.try_recv().await {
                Ok(Some(first)) => {
                    // One event for every notification already here.
                    let mut change = Change::from_payload(first.payload());
                    while let Some(n) = listener.next_buffered() {
                        change.merge(&Change::from_payload(n.payload()));
                    }
                    if !tell(&feed, Feed::Change(change)) {
                        return;
                    }
                }
                // The connection was lost and made again: what happened meanwhile is unknown.
                Ok(None) => {
                    if !tell(&feed, Feed::Change(Change::everything())) {
                        return;
                    }
                }
                Err(e) => {
                    down = true;
                    if !tell(
                        &feed,
                        Feed::Down {
                            reason: e.to_string(),
                        },
                    ) {
                        return;
                    }
                    tokio::time::sleep(RETRY).await;
                    break;
                }
            }
        }
    }
}
