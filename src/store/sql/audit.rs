//! The audit chain read back: verification (whole, or at checkpoints) and the log.

use chrono::{DateTime, Utc};
use sqlx::Row;

use super::*;
use crate::audit::Canonical;
use crate::error::Result;
use crate::store::*;

impl SqlStore {
    // ----- audit --------------------------------------------------------------------------

    /// Recomputes the whole chain in sequence order and names the first record that does not
    /// match: a changed field, a broken link, a gap, or a head that disagrees with the tail.
    pub async fn audit_verify(&self) -> Result<AuditVerification> {
        self.audit_verify_at(&[]).await
    }

    /// `audit_verify`, also reporting the stored hash of each record in `anchors` (the
    /// sequence numbers of exported checkpoints) found on the way. The records and the head
    /// are read in one snapshot, so a write committing meanwhile cannot look like a gap.
    pub async fn audit_verify_at(&self, anchors: &[i64]) -> Result<AuditVerification> {
        use futures_util::TryStreamExt;
        let wanted: std::collections::HashSet<i64> = anchors.iter().copied().collect();
        let mut tx = match BACKEND {
            Backend::Sqlite => self.pool.begin().await?,
            Backend::Postgres => {
                self.pool
                    .begin_with("BEGIN ISOLATION LEVEL REPEATABLE READ, READ ONLY")
                    .await?
            }
        };
        let mut rows = sqlx::query("SELECT * FROM audit ORDER BY seq").fetch(&mut *tx);
        let mut prev = crate::audit::GENESIS.to_string();
        let mut expected_seq = 1_i64;
        let mut records = 0_i64;
        let mut first_bad = None;
        let mut first_hash = None;
        let mut found = std::collections::BTreeMap::new();
        while let Some(row) = rows.try_next().await? {
            let r = audit_record(&row)?;
            records += 1;
            if r.seq == 1 {
                first_hash = Some(r.hash.clone());
            }
            if wanted.contains(&r.seq) {
                found.insert(r.seq, r.hash.clone());
            }
            if first_bad.is_none() {
                let computed = Canonical {
                    seq: r.seq,
                    at: r.at,
                    agent: &r.agent,
                    role: &r.role,
                    action: &r.action,
                    account_no: r.account_no.as_deref(),
                    object_id: r.object_id.as_deref(),
                    outcome: &r.outcome,
                    detail: &r.detail,
                    prev_hash: &r.prev_hash,
                }
                .hash();
                if r.seq != expected_seq {
                    first_bad = Some((
                        r.seq,
                        format!(
                            "record {} follows record {} (records are missing)",
                            r.seq,
                            expected_seq - 1
                        ),
                    ));
                } else if r.prev_hash != prev {
                    first_bad = Some((
                        r.seq,
                        format!("record {} does not link to record {}", r.seq, r.seq - 1),
                    ));
                } else if computed != r.hash {
                    first_bad = Some((
                        r.seq,
                        format!(
                            "record {} was altered: its content does not match its hash",
                            r.seq
                        ),
                    ));
                }
            }
            prev = r.hash;
            expected_seq = r.seq + 1;
        }
        drop(rows);
        let head = sqlx::query("SELECT seq, hash FROM audit_head WHERE id = 1")
            .fetch_one(&mut *tx)
            .await?;
        tx.rollback().await?;
        let head_seq: i64 = head.try_get("seq")?;
        let head_hash: String = head.try_get("hash")?;
        let last_seq = expected_seq - 1;
        if first_bad.is_none() && (head_seq != last_seq || head_hash != prev) {
            first_bad = Some((
                head_seq,
                format!(
                    "the chain's head (record {head_seq}) does not match its last record ({last_seq}): records were removed or rewritten"
                ),
            ));
        }
        Ok(AuditVerification {
            records,
            head_seq,
            head_hash,
            last_seq,
            first_hash,
            anchors: found,
            first_bad,
        })
    }

    pub async fn audit_log(
        &self,
        account_no: Option<&str>,
        since: Option<DateTime<Utc>>,
        limit: i64,
    ) -> Result<Vec<AuditRecord>> {
        let rows = sqlx::query(
            "SELECT * FROM (SELECT * FROM audit WHERE ($1 IS NULL OR account_no = $1) AND ($2 IS NULL OR at >= $2) \
             ORDER BY seq DESC LIMIT $3) AS recent ORDER BY seq",
        )
        .bind(account_no)
        .bind(since)
        .bind(limit)
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(audit_record).collect()
    }
}
