//! Contact with the customer: advice, callbacks, the agent's worklist and outreach lists.

use chrono::{DateTime, TimeDelta, Utc};

use super::Service;
use crate::domain::contact::{check_callback, order_worklist};
use crate::domain::{
    Actor, Callback, CallbackState, CategoryStatus, Channel, DeliveryOutcome, OutreachExport,
    Permission, Worklist,
};
use crate::error::Result;
use crate::store::{AdviceOutcome, IncidentTotals};
use crate::with_store;

/// Most callbacks one list shows.
pub const MAX_CALLBACKS_LISTED: usize = 10_000;

impl Service {
    /// Records that the account's customer was read the advisory (`incident`, or the one
    /// incident the account is at risk in); a second time is a replay.
    pub async fn advise(
        &self,
        actor: &Actor,
        account: &str,
        incident: Option<&str>,
        channel: Channel,
    ) -> Result<AdviceOutcome> {
        Self::require(actor, Permission::Contact)?;
        if let Some(id) = incident {
            // An unknown id is named as such, not as "not at risk in it".
            self.incident(Some(id)).await?;
        }
        let a = self.resolve_account(account).await?;
        with_store!(&self.store, s => s.record_advice(actor, a.id, incident, channel, self.now()).await)
    }

    /// Schedules a call back to the account's customer by `actor`, at `due_at` (from now to
    /// `MAX_CALLBACK_DAYS` ahead).
    pub async fn callback_add(
        &self,
        actor: &Actor,
        account: &str,
        due_at: DateTime<Utc>,
        note: &str,
    ) -> Result<Callback> {
        Self::require(actor, Permission::Contact)?;
        let now = self.now();
        let note = check_callback(due_at, note, now)?;
        let a = self.resolve_account(account).await?;
        with_store!(&self.store, s => s.add_callback(actor, a.id, crate::domain::truncate_micros(due_at), &note, now).await)
    }

    /// Marks a callback done or cancelled (anyone who may record contact: a colleague may
    /// make the call); the same again is a replay.
    pub async fn callback_close(
        &self,
        actor: &Actor,
        id: i64,
        to: CallbackState,
    ) -> Result<(Callback, bool)> {
        Self::require(actor, Permission::Contact)?;
        with_store!(&self.store, s => s.close_callback(actor, id, to, self.now()).await)
    }

    /// Pending callbacks, earliest first: `mine` only `actor`'s, `due` only those due now.
    pub async fn callbacks(
        &self,
        actor: &Actor,
        mine: bool,
        due: bool,
        limit: usize,
    ) -> Result<Vec<Callback>> {
        Self::require(actor, Permission::Read)?;
        let agent = mine.then_some(actor.login.as_str());
        let due_by = due.then(|| self.now());
        let limit = i64::try_from(limit.min(MAX_CALLBACKS_LISTED)).unwrap_or(0);
        with_store!(&self.store, s => s.callbacks(agent, due_by, limit).await)
    }

    /// `actor`'s worklist (SPEC §4): their due callbacks, then at-risk accounts nobody has
    /// advised, then the rest by status (or one status), with its true size.
    pub async fn worklist(
        &self,
        actor: &Actor,
        status: Option<CategoryStatus>,
        limit: usize,
    ) -> Result<Worklist> {
        Self::require(actor, Permission::Read)?;
        let (lo, hi) = match status {
            Some(s) => (s.rank(), s.rank()),
            None => (
                CategoryStatus::AtRisk.rank(),
                CategoryStatus::RestoredPartial.rank(),
            ),
        };
        let n = i64::try_from(limit).unwrap_or(i64::MAX);
        let now = self.now();
        let facts =
            with_store!(&self.store, s => s.worklist_facts(&actor.login, lo, hi, now, n).await)?;
        // The rest may repeat the first groups' accounts: enough rows to fill the list anyway.
        let extra = i64::try_from(facts.due.len() + facts.not_advised.len()).unwrap_or(0);
        let rest = if facts.due.len() + facts.not_advised.len() < limit {
            with_store!(&self.store, s => s.worklist_range(lo, hi, n.saturating_add(extra)).await)?
        } else {
            Vec::new()
        };
        let mut entries = order_worklist(facts.due, facts.not_advised, rest, limit);
        if self.masks(actor) {
            entries.iter_mut().for_each(|e| e.account.mask());
        }
        Ok(Worklist {
            total: facts.total,
            entries,
        })
    }

    /// The dashboard's figures; callbacks count as due today when due by `day_end` (the end
    /// of the asker's day; left out, the end of this process's local day).
    pub async fn totals(
        &self,
        actor: &Actor,
        day_end: Option<DateTime<Utc>>,
    ) -> Result<IncidentTotals> {
        Self::require(actor, Permission::Read)?;
        let day_end = day_end.unwrap_or_else(|| end_of_local_day(self.now()));
        let mut t = with_store!(&self.store, s => s.totals().await)?;
        t.contact = with_store!(&self.store, s => s.contact_totals(day_end).await)?;
        Ok(t)
    }

    /// The at-risk accounts of an incident nobody has advised, as a contact list for an SMS
    /// or e-mail gateway (audited as one record with its count).
    pub async fn outreach_export(
        &self,
        actor: &Actor,
        incident: Option<&str>,
        channel: Channel,
        limit: Option<usize>,
    ) -> Result<OutreachExport> {
        Self::require(actor, Permission::Outreach)?;
        crate::domain::contact::check_outreach_channel(channel)?;
        let incident = self.incident(incident).await?;
        with_store!(&self.store, s => s.outreach_export(actor, &incident, channel, limit, self.now()).await)
    }

    /// A gateway's delivery report (`source` names it): delivered rows mark their accounts
    /// advised by the channel they were sent by; all or nothing.
    pub async fn outreach_delivered(
        &self,
        actor: &Actor,
        source: &str,
        data: &[u8],
    ) -> Result<DeliveryOutcome> {
        Self::require(actor, Permission::Outreach)?;
        let now = self.now();
        let rows = crate::import::parse_delivery(source, data, now)?;
        with_store!(&self.store, s => s.outreach_delivered(actor, source, &rows, now).await)
    }
}

/// The last instant of `now`'s day in this process's time zone.
pub fn end_of_local_day(now: DateTime<Utc>) -> DateTime<Utc> {
    use chrono::TimeZone;
    let local = now.with_timezone(&chrono::Local);
    let next = local.date_naive() + TimeDelta::days(1);
    next.and_hms_opt(0, 0, 0)
        .and_then(|t| chrono::Local.from_local_datetime(&t).earliest())
        .map(|t| t.with_timezone(&Utc) - TimeDelta::microseconds(1))
        .unwrap_or(now + TimeDelta::days(1))
}
