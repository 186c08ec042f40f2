//! Contact with the customer: advice given, callbacks, the worklist's first groups, and the
//! outreach lists handed to a gateway and its delivery reports read back.

use super::*;
use crate::domain::contact::{
    AdviceDecision, DeliveryRow, decide_advice, decide_close, outreach_address, outreach_id,
};
use crate::domain::{
    Advice, Callback, CallbackState, CategoryStatus, Channel, Delivery, DeliveryOutcome,
    OutreachContact, OutreachExport, OutreachSkip,
};

/// The columns `callback_row` reads.
/// The callbacks with their account's number, and `$tail`'s filter and order.
macro_rules! callback_select {
    ($tail:literal) => {
        concat!(
            "SELECT c.id, c.account_id, a.account_no, c.agent, c.due_at, c.note, c.state, \
             c.created_at, c.closed_by, c.closed_at FROM callbacks c \
             JOIN accounts a ON a.id = c.account_id ",
            $tail
        )
    };
}

fn callback_row(r: &DbRow) -> Result<Callback> {
    Ok(Callback {
        id: r.try_get("id")?,
        account_id: r.try_get("account_id")?,
        account_no: r.try_get("account_no")?,
        agent: r.try_get("agent")?,
        due_at: r.try_get("due_at")?,
        note: r.try_get("note")?,
        state: col(r, "state")?,
        created_at: r.try_get("created_at")?,
        closed_by: r.try_get("closed_by")?,
        closed_at: r.try_get("closed_at")?,
    })
}

fn advice_row(r: &DbRow) -> Result<Advice> {
    let outreach: Option<i64> = r.try_get("outreach_id")?;
    Ok(Advice {
        incident: r.try_get("incident_id")?,
        agent: r.try_get("agent")?,
        channel: col(r, "channel")?,
        advised_at: r.try_get("advised_at")?,
        outreach_id: outreach.map(outreach_id),
    })
}

/// The account's advice, oldest first.
pub(super) async fn advice_of(
    tx: &mut Transaction<'_, Db>,
    account_id: i64,
) -> Result<Vec<Advice>> {
    sqlx::query("SELECT incident_id, agent, channel, advised_at, outreach_id FROM advice WHERE account_id = $1 ORDER BY advised_at, id")
        .bind(account_id)
        .fetch_all(&mut **tx)
        .await?
        .iter()
        .map(advice_row)
        .collect()
}

/// The account's pending callbacks, earliest first.
pub(super) async fn pending_callbacks_of(
    tx: &mut Transaction<'_, Db>,
    account_id: i64,
) -> Result<Vec<Callback>> {
    sqlx::query(callback_select!(
        "WHERE c.account_id = $1 AND c.state = 'pending' ORDER BY c.due_at, c.id"
    ))
    .bind(account_id)
    .fetch_all(&mut **tx)
    .await?
    .iter()
    .map(callback_row)
    .collect()
}

impl SqlStore {
    /// Records that the customer was read `incident`'s advisory (or the one incident the
    /// account is at risk in), as `domain::contact::decide_advice` decides on the account's
    /// facts read in this transaction.
    pub async fn record_advice(
        &self,
        actor: &Actor,
        account_id: i64,
        incident: Option<&str>,
        channel: Channel,
        now: DateTime<Utc>,
    ) -> Result<AdviceOutcome> {
        let mut tx = self.begin_write().await?;
        let account_no = super::restore_facts::lock_account(&mut tx, account_id).await?;
        let detail = super::accounts::read_detail(&mut tx, account_id).await?;
        match decide_advice(&detail, &detail.advice, incident)? {
            AdviceDecision::Already(advice) => {
                recheck_actor(&mut tx, actor).await?;
                Ok(AdviceOutcome {
                    account_no,
                    advice,
                    recorded: false,
                })
            }
            AdviceDecision::Record { incident } => {
                sqlx::query("INSERT INTO advice (account_id, incident_id, agent, channel, advised_at) VALUES ($1, $2, $3, $4, $5)")
                    .bind(account_id)
                    .bind(&incident)
                    .bind(&actor.login)
                    .bind(channel.as_str())
                    .bind(now)
                    .execute(&mut *tx)
                    .await?;
                append_audit(
                    &mut tx,
                    actor,
                    now,
                    &[AuditEntry::new("advice.record", "ok", channel.as_str())
                        .account(&account_no)
                        .object(&incident)],
                )
                .await?;
                tx.commit().await?;
                Ok(AdviceOutcome {
                    account_no,
                    advice: Advice {
                        incident,
                        agent: actor.login.clone(),
                        channel,
                        advised_at: now,
                        outreach_id: None,
                    },
                    recorded: true,
                })
            }
        }
    }

    /// Schedules a callback (checked by the caller) for `actor`.
    pub async fn add_callback(
        &self,
        actor: &Actor,
        account_id: i64,
        due_at: DateTime<Utc>,
        note: &str,
        now: DateTime<Utc>,
    ) -> Result<Callback> {
        let mut tx = self.begin_write().await?;
        let account_no = account_no_of(&mut tx, account_id).await?;
        let id: i64 = sqlx::query_scalar("INSERT INTO callbacks (account_id, agent, due_at, note, state, created_at) VALUES ($1, $2, $3, $4, 'pending', $5) RETURNING id")
            .bind(account_id)
            .bind(&actor.login)
            .bind(due_at)
            .bind(note)
            .bind(now)
            .fetch_one(&mut *tx)
            .await?;
        // The note may carry what the customer said; the audit keeps only its size.
        let detail = format!(
            "due {}; note of {} characters",
            due_at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
            note.chars().count()
        );
        append_audit(
            &mut tx,
            actor,
            now,
            &[AuditEntry::new("callback.add", "ok", detail)
                .account(&account_no)
                .object(id)],
        )
        .await?;
        let cb = callback_by_id(&mut tx, id).await?;
        tx.commit().await?;
        cb.ok_or_else(|| Error::System(format!("callback {id} went missing")))
    }

    /// Marks a callback done or cancelled; answers it and whether this call changed it.
    pub async fn close_callback(
        &self,
        actor: &Actor,
        id: i64,
        to: CallbackState,
        now: DateTime<Utc>,
    ) -> Result<(Callback, bool)> {
        let mut tx = self.begin_write().await?;
        let Some(cb) = callback_by_id(&mut tx, id).await? else {
            return Err(Error::invalid(format!("there is no callback {id}")));
        };
        if !decide_close(&cb, to)? {
            recheck_actor(&mut tx, actor).await?;
            return Ok((cb, false));
        }
        sqlx::query("UPDATE callbacks SET state = $1, closed_by = $2, closed_at = $3 WHERE id = $4 AND state = 'pending'")
            .bind(to.as_str())
            .bind(&actor.login)
            .bind(now)
            .bind(id)
            .execute(&mut *tx)
            .await?;
        append_audit(
            &mut tx,
            actor,
            now,
            &[
                AuditEntry::new(&format!("callback.{}", to.as_str()), "ok", "")
                    .account(&cb.account_no)
                    .object(id),
            ],
        )
        .await?;
        let cb = callback_by_id(&mut tx, id).await?;
        tx.commit().await?;
        Ok((
            cb.ok_or_else(|| Error::System(format!("callback {id} went missing")))?,
            true,
        ))
    }

    /// Pending callbacks, earliest first: of one agent or all, all or only those due by `due_by`.
    pub async fn callbacks(
        &self,
        agent: Option<&str>,
        due_by: Option<DateTime<Utc>>,
        limit: i64,
    ) -> Result<Vec<Callback>> {
        sqlx::query(callback_select!(
            "WHERE c.state = 'pending' AND ($1 IS NULL OR c.agent = $1) \
             AND ($2 IS NULL OR c.due_at <= $2) ORDER BY c.due_at, c.id LIMIT $3"
        ))
        .bind(agent)
        .bind(due_by)
        .bind(limit)
        .fetch_all(&self.pool)
        .await?
        .iter()
        .map(callback_row)
        .collect()
    }

    /// The worklist's first two groups for `agent` over the status ranks `lo..=hi`, and its
    /// true size.
    pub async fn worklist_facts(
        &self,
        agent: &str,
        lo: i64,
        hi: i64,
        now: DateTime<Utc>,
        limit: i64,
    ) -> Result<WorklistFacts> {
        let mut due = Vec::new();
        for r in sqlx::query(
            "SELECT a.id, a.account_no, a.msisdn, a.name, a.email, a.status, a.loss_rank, MIN(c.due_at) AS due_at \
             FROM callbacks c JOIN accounts a ON a.id = c.account_id \
             WHERE c.state = 'pending' AND c.agent = $1 AND c.due_at <= $2 \
             GROUP BY a.id, a.account_no, a.msisdn, a.name, a.email, a.status, a.loss_rank \
             ORDER BY MIN(c.due_at), a.id LIMIT $3",
        )
        .bind(agent)
        .bind(now)
        .bind(limit)
        .fetch_all(&self.pool)
        .await?
        {
            let a = summary(&r)?;
            // A filtered worklist keeps only its status; the whole one keeps every due call.
            if lo > 0 || hi < CategoryStatus::NotAffected.rank() {
                let rank = a.status.rank();
                if rank < lo || rank > hi {
                    continue;
                }
            }
            due.push((a, r.try_get("due_at")?));
        }
        let not_advised = if lo == CategoryStatus::AtRisk.rank() {
            sqlx::query(SQL_NOT_ADVISED)
                .bind(limit)
                .fetch_all(&self.pool)
                .await?
                .iter()
                .map(summary)
                .collect::<Result<Vec<_>>>()?
        } else {
            Vec::new()
        };
        let in_range: i64 =
            sqlx::query_scalar("SELECT COUNT(*) FROM accounts WHERE loss_rank BETWEEN $1 AND $2")
                .bind(lo)
                .bind(hi)
                .fetch_one(&self.pool)
                .await?;
        let whole =
            lo == CategoryStatus::AtRisk.rank() && hi >= CategoryStatus::RestoredPartial.rank();
        let outside: i64 = if whole {
            sqlx::query_scalar(
                "SELECT COUNT(DISTINCT c.account_id) FROM callbacks c JOIN accounts a ON a.id = c.account_id \
                 WHERE c.state = 'pending' AND c.agent = $1 AND c.due_at <= $2 AND a.loss_rank > $3",
            )
            .bind(agent)
            .bind(now)
            .bind(hi)
            .fetch_one(&self.pool)
            .await?
        } else {
            0
        };
        Ok(WorklistFacts {
            due,
            not_advised,
            total: in_range + outside,
        })
    }

    /// Accounts of the status ranks `lo..=hi`, most urgent first.
    pub async fn worklist_range(
        &self,
        lo: i64,
        hi: i64,
        limit: i64,
    ) -> Result<Vec<AccountSummary>> {
        sqlx::query(SQL_WORKLIST)
            .bind(lo)
            .bind(hi)
            .bind(limit)
            .fetch_all(&self.pool)
            .await?
            .iter()
            .map(summary)
            .collect()
    }

    // ----- outreach -----------------------------------------------------------------------

    /// The at-risk accounts of `incident` nobody has advised, as contacts for `channel`, each
    /// with its outreach id (kept from an earlier export, else new), and one audit record of
    /// the export with its counts, in one transaction.
    pub async fn outreach_export(
        &self,
        actor: &Actor,
        incident: &Incident,
        channel: Channel,
        limit: Option<usize>,
        now: DateTime<Utc>,
    ) -> Result<OutreachExport> {
        let mut tx = self.begin_write().await?;
        let rows = sqlx::query(
            "SELECT a.id, a.account_no, a.msisdn, a.email, a.status FROM accounts a \
             WHERE a.loss_rank = 0 \
               AND EXISTS (SELECT 1 FROM impact i WHERE i.account_id = a.id AND i.incident_id = $1 AND i.status = 'at-risk') \
               AND NOT EXISTS (SELECT 1 FROM advice v WHERE v.account_id = a.id AND v.incident_id = $1) \
             ORDER BY a.account_no",
        )
        .bind(&incident.id)
        .fetch_all(&mut *tx)
        .await?;
        let mut out = OutreachExport {
            incident: incident.id.clone(),
            channel,
            subject: incident.title.clone(),
            message: incident.advisory.clone(),
            contacts: Vec::new(),
            skipped_closed: 0,
            skipped_no_address: 0,
        };
        for r in &rows {
            if limit.is_some_and(|n| out.contacts.len() >= n) {
                break;
            }
            let msisdn: String = r.try_get("msisdn")?;
            let email: String = r.try_get("email")?;
            let to = match outreach_address(channel, col(r, "status")?, &msisdn, &email) {
                Ok(to) => to,
                Err(OutreachSkip::Closed) => {
                    out.skipped_closed += 1;
                    continue;
                }
                Err(OutreachSkip::NoAddress) => {
                    out.skipped_no_address += 1;
                    continue;
                }
            };
            let account_id: i64 = r.try_get("id")?;
            // The same account, incident and channel keep their id across exports.
            let id: i64 = sqlx::query_scalar(
                "INSERT INTO outreach (incident_id, account_id, channel, exported_at, exported_by) VALUES ($1, $2, $3, $4, $5) \
                 ON CONFLICT (incident_id, account_id, channel) DO UPDATE SET exported_at = excluded.exported_at, exported_by = excluded.exported_by \
                 RETURNING id",
            )
            .bind(&incident.id)
            .bind(account_id)
            .bind(channel.as_str())
            .bind(now)
            .bind(&actor.login)
            .fetch_one(&mut *tx)
            .await?;
            out.contacts.push(OutreachContact {
                outreach_id: outreach_id(id),
                channel,
                account_no: r.try_get("account_no")?,
                to,
            });
        }
        let detail = format!(
            "{} {} contact(s) for {}; skipped {} closed, {} without {}",
            out.contacts.len(),
            channel.as_str(),
            incident.id,
            out.skipped_closed,
            out.skipped_no_address,
            match channel {
                Channel::Email => "an e-mail address",
                _ => "a phone number",
            }
        );
        append_audit(
            &mut tx,
            actor,
            now,
            &[AuditEntry::new("outreach.export", "ok", detail).object(&incident.id)],
        )
        .await?;
        tx.commit().await?;
        Ok(out)
    }

    /// A gateway's delivery report: every delivered row marks its account advised by the
    /// row's channel (once per account and incident), in one transaction with an audit record
    /// per account advised and one for the report. An outreach id no export made is a bad row:
    /// all of them are named by line and nothing is written.
    pub async fn outreach_delivered(
        &self,
        actor: &Actor,
        source: &str,
        rows: &[DeliveryRow],
        now: DateTime<Utc>,
    ) -> Result<DeliveryOutcome> {
        let mut tx = self.begin_write().await?;
        let mut problems: Vec<String> = Vec::new();
        // Every id of the report in one query (a JSON array of ids), not one query per row.
        let ids: Vec<i64> = rows.iter().map(|r| r.outreach).collect();
        let json = serde_json::to_string(&ids).map_err(|e| Error::System(e.to_string()))?;
        let mut by_id: std::collections::HashMap<i64, (i64, String, String, Channel)> =
            std::collections::HashMap::with_capacity(ids.len());
        for r in sqlx::query(pick(
            "SELECT o.id, o.account_id, a.account_no, o.incident_id, o.channel FROM outreach o \
             JOIN accounts a ON a.id = o.account_id WHERE o.id IN (SELECT value FROM json_each($1))",
            "SELECT o.id, o.account_id, a.account_no, o.incident_id, o.channel FROM outreach o \
             JOIN accounts a ON a.id = o.account_id \
             WHERE o.id IN (SELECT CAST(value AS BIGINT) FROM jsonb_array_elements_text(CAST($1 AS jsonb)))",
        ))
        .bind(json)
        .fetch_all(&mut *tx)
        .await?
        {
            by_id.insert(
                r.try_get("id")?,
                (
                    r.try_get("account_id")?,
                    r.try_get("account_no")?,
                    r.try_get("incident_id")?,
                    col(&r, "channel")?,
                ),
            );
        }
        let mut known: Vec<Option<(i64, String, String, Channel)>> = Vec::with_capacity(rows.len());
        for row in rows {
            let found = by_id.get(&row.outreach).cloned();
            if found.is_none() {
                problems.push(format!(
                    "{source} line {}: no outreach export made the id {}",
                    row.line,
                    outreach_id(row.outreach)
                ));
            }
            known.push(found);
        }
        if !problems.is_empty() {
            return Err(crate::import::bad_rows(
                source,
                problems,
                "nothing was recorded",
            ));
        }
        let mut outcome = DeliveryOutcome::default();
        let mut entries = Vec::new();
        for (row, k) in rows.iter().zip(known) {
            let Some((account_id, account_no, incident, channel)) = k else {
                continue;
            };
            if row.status == Delivery::Failed {
                outcome.failed += 1;
                continue;
            }
            let at = row.at.unwrap_or(now);
            let done = sqlx::query(
                "INSERT INTO advice (account_id, incident_id, agent, channel, outreach_id, advised_at) VALUES ($1, $2, $3, $4, $5, $6) \
                 ON CONFLICT (account_id, incident_id) DO NOTHING",
            )
            .bind(account_id)
            .bind(&incident)
            .bind(&actor.login)
            .bind(channel.as_str())
            .bind(row.outreach)
            .bind(at)
            .execute(&mut *tx)
            .await?
            .rows_affected();
            if done == 0 {
                outcome.already_advised += 1;
                continue;
            }
            outcome.advised += 1;
            entries.push(
                AuditEntry::new(
                    "advice.record",
                    "ok",
                    format!("{}; {}", channel.as_str(), outreach_id(row.outreach)),
                )
                .account(&account_no)
                .object(&incident),
            );
        }
        entries.push(AuditEntry::new(
            "outreach.delivered",
            "ok",
            format!(
                "{}: {} advised, {} advised before, {} failed",
                crate::domain::sanitize(source),
                outcome.advised,
                outcome.already_advised,
                outcome.failed
            ),
        ));
        append_audit(&mut tx, actor, now, &entries).await?;
        tx.commit().await?;
        Ok(outcome)
    }

    /// At-risk accounts, how many are advised (by channel) and pending callbacks due by `until`.
    pub async fn contact_totals(&self, until: DateTime<Utc>) -> Result<ContactTotals> {
        let mut t = ContactTotals::default();
        for r in sqlx::query(
            "SELECT v.channel, COUNT(DISTINCT v.account_id) AS n FROM advice v \
             JOIN accounts a ON a.id = v.account_id WHERE a.loss_rank = 0 GROUP BY v.channel",
        )
        .fetch_all(&self.pool)
        .await?
        {
            let n: i64 = r.try_get("n")?;
            match col::<Channel>(&r, "channel")? {
                Channel::Call => t.advised_call = n,
                Channel::Sms => t.advised_sms = n,
                Channel::Email => t.advised_email = n,
            }
        }
        t.advised = sqlx::query_scalar(
            "SELECT COUNT(DISTINCT v.account_id) FROM advice v JOIN accounts a ON a.id = v.account_id WHERE a.loss_rank = 0",
        )
        .fetch_one(&self.pool)
        .await?;
        t.callbacks_due = sqlx::query_scalar(
            "SELECT COUNT(*) FROM callbacks WHERE state = 'pending' AND due_at <= $1",
        )
        .bind(until)
        .fetch_one(&self.pool)
        .await?;
        Ok(t)
    }
}

async fn callback_by_id(tx: &mut Transaction<'_, Db>, id: i64) -> Result<Option<Callback>> {
    sqlx::query(callback_select!("WHERE c.id = $1"))
        .bind(id)
        .fetch_optional(&mut **tx)
        .await?
        .as_ref()
        .map(callback_row)
        .transpose()
}
