//! Batch credit runs (docs/commands.md): a plan unless applied; applied in chunks, each one
//! transaction with its credits, audit records and the run's progress; resumed by running the
//! same command again; safe with several workers on one run or on shards of it.

use std::collections::BTreeSet;
use std::io::Write;
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};

use serde::Serialize;
use sha2::{Digest, Sha256};

use super::Service;
use crate::domain::phone::mask_phone_text;
use crate::domain::text::neutralise_cell;
use crate::domain::{AccountOutcome, Actor, Incident, Outcome, Tally};
use crate::domain::{Permission, format_cents};
use crate::error::{Error, Result};
use crate::import::{BatchRef, parse_batch_accounts};
use crate::store::ChunkSpec;
use crate::with_store;

pub const DEFAULT_CHUNK: usize = 5_000;

/// The accounts a run covers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Selection {
    /// Every account of the shard.
    All,
    /// The accounts a file names: their ids, sorted, and the file's bad rows.
    Listed {
        ids: Vec<i64>,
        digest: String,
        bad: Vec<(u64, String)>,
    },
}

#[derive(Debug, Clone)]
pub struct RunRequest {
    pub incident: Option<String>,
    /// (name for messages, content) of an accounts file.
    pub accounts: Option<(String, Vec<u8>)>,
    pub apply: bool,
    pub chunk: usize,
    /// 0-based shard and number of shards.
    pub shard: (i64, i64),
    pub max_total_cents: Option<i64>,
    pub skip_invalid: bool,
}

#[derive(Debug, Clone, Serialize, serde::Deserialize)]
pub struct RunSummary {
    pub run_id: Option<i64>,
    pub incident: String,
    pub applied: bool,
    pub resumed: bool,
    #[serde(flatten)]
    pub tally: Tally,
    /// The ledger's own sum for the run (applied runs): equals total_cents.
    pub ledger_total_cents: Option<i64>,
}

/// Parses `--shard K/N` (K from 1 to N) into a 0-based pair.
pub fn parse_shard(s: &str) -> Result<(i64, i64)> {
    let bad = || Error::invalid(format!("--shard \"{s}\" is not K/N with 1 <= K <= N"));
    let (k, n) = s.split_once('/').ok_or_else(bad)?;
    let k: i64 = k.trim().parse().map_err(|_| bad())?;
    let n: i64 = n.trim().parse().map_err(|_| bad())?;
    if n < 1 || k < 1 || k > n || n > 10_000 {
        return Err(bad());
    }
    Ok((k - 1, n))
}

impl Service {
    async fn selection(&self, req: &RunRequest) -> Result<Selection> {
        let Some((name, data)) = &req.accounts else {
            return Ok(Selection::All);
        };
        let crate::import::BatchFile { refs, mut bad } = parse_batch_accounts(name, data)?;
        let nos: Vec<String> = refs
            .iter()
            .filter_map(|(_, r)| match r {
                BatchRef::AccountNo(n) => Some(n.clone()),
                BatchRef::Msisdn(_) => None,
            })
            .collect();
        let phones: Vec<String> = refs
            .iter()
            .filter_map(|(_, r)| match r {
                BatchRef::Msisdn(m) => Some(m.clone()),
                BatchRef::AccountNo(_) => None,
            })
            .collect();
        let by_no: std::collections::HashMap<String, i64> =
            with_store!(&self.store, s => s.ids_of_accounts(&nos).await)?
                .into_iter()
                .collect();
        let mut by_phone: std::collections::HashMap<String, Vec<i64>> =
            std::collections::HashMap::new();
        for (m, id) in with_store!(&self.store, s => s.ids_of_msisdns(&phones).await)? {
            by_phone.entry(m).or_default().push(id);
        }
        let mut ids = BTreeSet::new();
        for (line, r) in &refs {
            match r {
                BatchRef::AccountNo(n) => match by_no.get(n) {
                    Some(id) => {
                        ids.insert(*id);
                    }
                    None => bad.push((*line, format!("there is no account {n}"))),
                },
                BatchRef::Msisdn(m) => match by_phone.get(m).map(Vec::as_slice) {
                    Some([id]) => {
                        ids.insert(*id);
                    }
                    Some(many) => bad.push((
                        *line,
                        format!(
                            "the phone {} belongs to {} accounts",
                            mask_phone_text(m),
                            many.len()
                        ),
                    )),
                    None => bad.push((
                        *line,
                        format!("no account has the phone {}", mask_phone_text(m)),
                    )),
                },
            }
        }
        bad.sort();
        let ids: Vec<i64> = ids
            .into_iter()
            .filter(|id| id % req.shard.1 == req.shard.0)
            .collect();
        let digest = hex::encode(
            &Sha256::digest(serde_json::to_string(&ids).unwrap_or_default().as_bytes())[..12],
        );
        Ok(Selection::Listed { ids, digest, bad })
    }

    /// The next chunk of account ids after `cursor`.
    async fn next_ids(
        &self,
        sel: &Selection,
        shard: (i64, i64),
        cursor: i64,
        chunk: usize,
    ) -> Result<Vec<i64>> {
        match sel {
            Selection::All => {
                let limit = i64::try_from(chunk).unwrap_or(i64::MAX);
                with_store!(&self.store, s => s.shard_ids_after(cursor, shard.0, shard.1, limit).await)
            }
            Selection::Listed { ids, .. } => {
                let start = ids.partition_point(|id| *id <= cursor);
                Ok(ids[start..].iter().take(chunk).copied().collect())
            }
        }
    }

    /// The next chunk to apply after `cursor`, if any.
    async fn next_chunk(
        &self,
        sel: &Selection,
        shard: (i64, i64),
        cursor: i64,
        chunk: usize,
    ) -> Result<Option<ChunkSpec>> {
        match sel {
            Selection::All => {
                let limit = i64::try_from(chunk).unwrap_or(i64::MAX);
                let end = with_store!(&self.store, s => s.chunk_end(cursor, shard.0, shard.1, limit).await)?;
                Ok(end.map(|to| ChunkSpec {
                    from: cursor,
                    to,
                    k: shard.0,
                    n: shard.1,
                    ids: None,
                }))
            }
            Selection::Listed { ids, .. } => {
                let start = ids.partition_point(|id| *id <= cursor);
                let part = &ids[start..ids.len().min(start + chunk)];
                let Some(&to) = part.last() else {
                    return Ok(None);
                };
                let json = serde_json::to_string(part).map_err(|e| Error::System(e.to_string()))?;
                // The file's ids were already filtered by shard.
                Ok(Some(ChunkSpec {
                    from: cursor,
                    to,
                    k: 0,
                    n: 1,
                    ids: Some(json),
                }))
            }
        }
    }

    async fn selection_size(&self, sel: &Selection, shard: (i64, i64)) -> Result<u64> {
        Ok(match sel {
            Selection::All => {
                with_store!(&self.store, s => s.count_shard(shard.0, shard.1).await)?.max(0) as u64
            }
            Selection::Listed { ids, .. } => ids.len() as u64,
        })
    }

    /// Walks the whole selection read-only, handing each chunk's outcomes to `each`.
    async fn walk(
        &self,
        sel: &Selection,
        req: &RunRequest,
        inc: &Incident,
        mut each: impl FnMut(&[AccountOutcome]) -> Result<()>,
    ) -> Result<()> {
        let mut cursor = 0;
        loop {
            let ids = self.next_ids(sel, req.shard, cursor, req.chunk).await?;
            let Some(&last) = ids.last() else {
                return Ok(());
            };
            let outcomes = with_store!(&self.store, s => s.classify(&ids, inc).await)?;
            each(&outcomes)?;
            cursor = last;
        }
    }

    /// The batch runs going now, with how far each is (anyone may ask).
    pub async fn running_runs(&self, actor: &Actor) -> Result<Vec<crate::domain::BatchRun>> {
        Self::require(actor, Permission::Read)?;
        with_store!(&self.store, s => s.running_runs().await)
    }

    /// A batch credit run: see the module comment. `progress` is told how many accounts of
    /// how many are done; `cancel` stops the run between chunks.
    pub async fn credit_run(
        &self,
        actor: &Actor,
        req: &RunRequest,
        progress: &(dyn Fn(u64, u64) + Sync),
        cancel: &AtomicBool,
        report: Option<&Path>,
    ) -> Result<RunSummary> {
        Self::require(
            actor,
            if req.apply {
                Permission::ApplyBatch
            } else {
                Permission::Read
            },
        )?;
        if req.chunk == 0 || req.chunk > 100_000 {
            return Err(Error::invalid("--chunk must be between 1 and 100000"));
        }
        let inc = self.incident(req.incident.as_deref()).await?;
        let sel = self.selection(req).await?;
        let bad: &[(u64, String)] = match &sel {
            Selection::Listed { bad, .. } => bad,
            Selection::All => &[],
        };
        if !bad.is_empty() && !req.skip_invalid {
            let name = req
                .accounts
                .as_ref()
                .map(|(n, _)| n.as_str())
                .unwrap_or("the accounts file");
            let lines: Vec<String> = bad
                .iter()
                .take(20)
                .map(|(l, m)| format!("{name} line {l}: {m}"))
                .collect();
            let more = if bad.len() > 20 {
                format!("\n… and {} more", bad.len() - 20)
            } else {
                String::new()
            };
            return Err(Error::invalid(format!(
                "{name} has {} bad row(s); nothing was applied (fix them, or pass --skip-invalid to count them as invalid):\n{}{more}",
                bad.len(),
                lines.join("\n")
            )));
        }
        let invalid = bad.len() as i64;
        let selection_name = match &sel {
            Selection::All => "all".to_string(),
            Selection::Listed { digest, .. } => format!("file:{digest}"),
        };
        let params_hash = hex::encode(Sha256::digest(
            format!(
                "{}|{selection_name}|{}/{}|{:?}",
                inc.id, req.shard.0, req.shard.1, req.max_total_cents
            )
            .as_bytes(),
        ));
        let size = self.selection_size(&sel, req.shard).await?;

        // The plan: what applying would do, read-only. Needed for a dry run, and to refuse a
        // run whose total would pass --max-total-cents before anything is written.
        if !req.apply || req.max_total_cents.is_some() {
            let mut plan = Tally {
                invalid,
                selected: invalid,
                ..Tally::default()
            };
            let mut done = 0;
            self.walk(&sel, req, &inc, |outcomes| {
                for o in outcomes {
                    plan.add(o);
                }
                done += outcomes.len() as u64;
                progress(done, size);
                Ok(())
            })
            .await?;
            if let Some(max) = req.max_total_cents {
                // A resumed run's own credits count towards its total.
                let planned = plan.total_cents + self.run_credits_total(&params_hash).await?;
                if planned > max {
                    return Err(Error::refused(format!(
                        "the run would credit {} in all, over --max-total-cents {max} ({}); nothing was applied",
                        format_cents(planned, &inc.currency),
                        format_cents(max, &inc.currency)
                    )));
                }
            }
            if !req.apply {
                if let Some(path) = report {
                    self.write_report(path, &sel, req, &inc, None).await?;
                }
                return Ok(RunSummary {
                    run_id: None,
                    incident: inc.id,
                    applied: false,
                    resumed: false,
                    tally: plan,
                    ledger_total_cents: None,
                });
            }
        }

        let (run, resumed) = with_store!(&self.store, s => s.batch_open(
            actor, &inc, &params_hash, &selection_name, req.shard, req.max_total_cents, invalid, self.now()).await)?;
        // A failure of the database or the disk from here on leaves the run with its whole
        // chunks committed: say so, and how to go on.
        let advice = format!(
            "run {} kept every chunk it finished: running the same command again resumes it",
            run.id
        );
        async {
            let mut cursor = run.cursor;
            let mut done = run.tally.selected.saturating_sub(run.tally.invalid).max(0) as u64;
            progress(done, size);
            loop {
                if cancel.load(Ordering::SeqCst) {
                    return Err(Error::System(format!(
                        "interrupted; run {} stopped after a whole chunk: run the same command again to resume it",
                        run.id
                    )));
                }
                let Some(spec) = self.next_chunk(&sel, req.shard, cursor, req.chunk).await? else {
                    break;
                };
                match with_store!(&self.store, s => s.batch_chunk(actor, run.id, &spec, &inc, self.now()).await)?
                {
                    Some(t) => {
                        cursor = spec.to;
                        done += t.selected as u64;
                    }
                    None => {
                        // Another worker on the same run took this chunk: continue after its cursor.
                        let now = with_store!(&self.store, s => s.batch_run(run.id).await)?;
                        if now.state != crate::domain::RunState::Running {
                            break;
                        }
                        cursor = now.cursor;
                        done = now.tally.selected.saturating_sub(now.tally.invalid).max(0) as u64;
                    }
                }
                progress(done.min(size), size);
            }
            let finished =
                with_store!(&self.store, s => s.batch_finish(actor, run.id, self.now()).await)?;
            let (_, ledger_total) = with_store!(&self.store, s => s.ledger_for_run(run.id).await)?;
            if let Some(path) = report {
                self.write_report(path, &sel, req, &inc, Some(run.id))
                    .await?;
            }
            Ok(RunSummary {
                run_id: Some(run.id),
                incident: inc.id,
                applied: true,
                resumed,
                tally: finished.tally,
                ledger_total_cents: Some(ledger_total),
            })
        }
        .await
        .map_err(|e: Error| e.on_database(&self.url().display()).with_advice(&advice))
    }

    /// What an unfinished run with these parameters has credited so far.
    async fn run_credits_total(&self, params_hash: &str) -> Result<i64> {
        let run = with_store!(&self.store, s => s.running_run(params_hash).await)?;
        Ok(run.map(|r| r.tally.total_cents).unwrap_or(0))
    }

    /// One CSV row per selected account with its outcome, written to a temporary file and
    /// renamed into place, so a report is never half-written. For an applied run, accounts
    /// credited by the run are `credited`; the credited amounts add up to the ledger's sum.
    async fn write_report(
        &self,
        path: &Path,
        sel: &Selection,
        req: &RunRequest,
        inc: &Incident,
        run: Option<i64>,
    ) -> Result<()> {
        let tmp = path.with_extension("partial");
        let file = std::fs::File::create(&tmp).map_err(|e| {
            Error::io(
                format!(
                    "cannot write the report {} (its temporary file {})",
                    path.display(),
                    tmp.display()
                ),
                e,
            )
        })?;
        // A UTF-8 byte order mark first: spreadsheets then read the file as UTF-8 (without it,
        // LibreOffice and Excel read "…" as "â€¦").
        let mut out = std::io::BufWriter::new(file);
        out.write_all("\u{feff}".as_bytes())
            .map_err(|e| Error::io(format!("cannot write the report {}", path.display()), e))?;
        let mut w = csv::Writer::from_writer(out);
        let io = |e: csv::Error| {
            Error::System(format!("cannot write the report {}: {e}", path.display()))
        };
        w.write_record([
            "account_no",
            "outcome",
            "amount_cents",
            "currency",
            "credit_id",
            "detail",
        ])
        .map_err(io)?;
        if let Selection::Listed { bad, .. } = sel {
            for (line, msg) in bad {
                w.write_record([
                    "",
                    "invalid",
                    "0",
                    &neutralise_cell(&inc.currency),
                    "",
                    &neutralise_cell(&format!("line {line}: {msg}")),
                ])
                .map_err(io)?;
            }
        }
        self.walk(sel, req, inc, |outcomes| {
            for o in outcomes {
                let (outcome, detail) = match (&o.outcome, run) {
                    (Outcome::Credited, None) => ("would-credit", String::new()),
                    (Outcome::Credited, Some(_)) => {
                        ("failed", "not credited by the run".to_string())
                    }
                    (Outcome::AlreadyCredited, Some(r)) if o.credit_run == Some(r) => {
                        ("credited", String::new())
                    }
                    (Outcome::AlreadyCredited, _) => (
                        "already-credited",
                        o.credit_run.map(|r| format!("run {r}")).unwrap_or_default(),
                    ),
                    (Outcome::Ineligible(why), _) => ("ineligible", why.as_str().to_string()),
                    (Outcome::Failed(why), _) => ("failed", why.clone()),
                };
                let amount = if matches!(outcome, "credited" | "would-credit" | "already-credited")
                {
                    o.amount_cents
                } else {
                    0
                };
                w.write_record([
                    &neutralise_cell(&o.account_no),
                    outcome,
                    &amount.to_string(),
                    &neutralise_cell(&o.currency),
                    &o.credit_id.map(|c| c.to_string()).unwrap_or_default(),
                    &neutralise_cell(&detail),
                ])
                .map_err(io)?;
            }
            Ok(())
        })
        .await?;
        let mut inner = w.into_inner().map_err(|e| {
            Error::System(format!("cannot write the report {}: {e}", path.display()))
        })?;
        inner
            .flush()
            .map_err(|e| Error::io(format!("cannot write the report {}", path.display()), e))?;
        drop(inner);
        std::fs::rename(&tmp, path)
            .map_err(|e| Error::io(format!("cannot write the report {}", path.display()), e))?;
        Ok(())
    }
}
