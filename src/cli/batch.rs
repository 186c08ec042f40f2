//! `credit run`: a batch credit run (a plan unless `--apply`), with its progress bar, its
//! Ctrl-C and its one-line summary.

use std::io::IsTerminal;
use std::sync::Arc;

use super::print::{print, to_json};
use super::{Format, RunArgs};
use crate::desk::Desk;
use crate::error::{Error, Result};
use crate::service::batch::{RunRequest, parse_shard};

pub async fn run(desk: &Desk, format: Format, args: RunArgs) -> Result<()> {
    let shard = args
        .shard
        .as_deref()
        .map(parse_shard)
        .transpose()?
        .unwrap_or((0, 1));
    if let Some(path) = &args.report {
        crate::paths::check_writable("--report", path)?;
    }
    let accounts = match &args.accounts {
        Some(path) => Some((
            crate::import::source_name(path),
            crate::import::read_input(path)?,
        )),
        None => None,
    };
    let req = RunRequest {
        incident: args.incident.clone(),
        accounts,
        apply: args.apply,
        chunk: args.chunk,
        shard,
        max_total_cents: args.max_total_cents,
        skip_invalid: args.skip_invalid,
    };
    let cancel = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let flag = cancel.clone();
    let watcher = tokio::spawn(async move {
        if tokio::signal::ctrl_c().await.is_ok() {
            flag.store(true, std::sync::atomic::Ordering::SeqCst);
        }
    });
    let bar = std::io::stderr().is_terminal().then(|| {
        let bar = indicatif::ProgressBar::new(0);
        bar.set_style(
            indicatif::ProgressStyle::with_template(if args.apply {
                "crediting {bar:40} {pos}/{len} accounts ({eta})"
            } else {
                "planning {bar:40} {pos}/{len} accounts ({eta})"
            })
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
        );
        bar
    });
    let progress = |done: u64, total: u64| {
        if let Some(b) = &bar {
            b.set_length(total);
            b.set_position(done);
        }
    };
    let result = desk
        .credit_run(&req, &progress, &cancel, args.report.as_deref())
        .await;
    watcher.abort();
    if let Some(b) = &bar {
        b.finish_and_clear();
    }
    let s = result?;
    let t = &s.tally;
    let money = |c: i64| crate::domain::format_cents(c, "USD");
    let text = format!(
        "{} {}{}: selected {}, {} {}, already credited {}, ineligible {}, invalid {}, failed {}, total {}\n",
        if s.applied { "run" } else { "plan for" },
        s.run_id.map(|r| format!("#{r} ")).unwrap_or_default(),
        s.incident,
        t.selected,
        if s.applied {
            "credited"
        } else {
            "would credit"
        },
        t.credited,
        t.already_credited,
        t.ineligible,
        t.invalid,
        t.failed,
        money(t.total_cents),
    ) + if s.applied {
        ""
    } else {
        "(a plan: nothing was written; add --apply to credit)\n"
    };
    print(format, text, to_json(&s)?)?;
    if t.failed > 0 {
        return Err(Error::Partial(format!(
            "{} account(s) could not be credited; see --report for which and why",
            t.failed
        )));
    }
    Ok(())
}
