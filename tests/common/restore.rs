//! What restore tests read straight from the database (the live items as stored, statuses,
//! counts) on either backend.

use caredesk::store::Store;
use sha2::{Digest, Sha256};

/// Runs the same body against whichever backend's pool the store holds.
#[macro_export]
macro_rules! on_pool {
    ($store:expr, $pool:ident => $body:expr) => {
        match $store {
            caredesk::store::Store::Sqlite(s) => {
                let $pool = s.pool();
                $body
            }
            caredesk::store::Store::Postgres(s) => {
                let $pool = s.pool();
                $body
            }
        }
    };
}

/// One live item as stored, every column but the row id.
pub type LiveRow = (
    String,
    String,
    String,
    String,
    String,
    String,
    bool,
    String,
    String,
);

const LIVE_ROWS: &str = "SELECT category, uid, natural_key, payload, content_hash, origin, review, \
     CAST(created_at AS TEXT) AS created, CAST(updated_at AS TEXT) AS updated FROM live_items \
     WHERE account_id = (SELECT id FROM accounts WHERE account_no = $1) ORDER BY category, uid";

pub async fn live_rows(store: &Store, account_no: &str) -> Vec<LiveRow> {
    crate::on_pool!(store, pool => sqlx::query_as(LIVE_ROWS)
        .bind(account_no)
        .fetch_all(pool)
        .await
        .expect("live items"))
}

/// A hash of the account's live items, field by field (timestamps included).
pub async fn live_hash(store: &Store, account_no: &str) -> String {
    hex::encode(Sha256::digest(
        format!("{:?}", live_rows(store, account_no).await).as_bytes(),
    ))
}

/// A hash of the account's live items without their timestamps: what two runs of the same
/// restore at different times both leave.
pub async fn content_hash_of_live(store: &Store, account_no: &str) -> String {
    let rows: Vec<_> = live_rows(store, account_no)
        .await
        .into_iter()
        .map(|r| (r.0, r.1, r.2, r.3, r.4, r.5, r.6))
        .collect();
    hex::encode(Sha256::digest(format!("{rows:?}").as_bytes()))
}

/// category → status of the account's impact rows.
pub async fn statuses(store: &Store, account_no: &str) -> Vec<(String, String)> {
    crate::on_pool!(store, pool => sqlx::query_as(
        "SELECT category, status FROM impact WHERE account_id = (SELECT id FROM accounts WHERE account_no = $1) ORDER BY category",
    )
    .bind(account_no)
    .fetch_all(pool)
    .await
    .expect("statuses"))
}

pub async fn count(store: &Store, sql: &'static str) -> i64 {
    crate::on_pool!(store, pool => sqlx::query_scalar(sql).fetch_one(pool).await.expect("count"))
}

pub async fn count_for(store: &Store, sql: &'static str, arg: &str) -> i64 {
    crate::on_pool!(store, pool => sqlx::query_scalar(sql).bind(arg).fetch_one(pool).await.expect("count"))
}

/// Runs a statement with one text argument (for what customers do outside caredesk: typing
/// in or editing an item on their phone).
pub async fn execute(store: &Store, sql: &'static str, args: &[&str]) {
    crate::on_pool!(store, pool => {
        let mut q = sqlx::query(sql);
        for a in args {
            q = q.bind(*a);
        }
        q.execute(pool).await.expect("statement");
    })
}
