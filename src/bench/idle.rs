//! A screen left idle with an account open: what the live machinery costs while nothing
//! happens (the change watcher, the presence heartbeat, a redraw each second), as CPU used by
//! this process over the time, in percent of one core (SPEC §6: under 1% while idle).

use std::time::{Duration, Instant};

use chrono::Utc;
use ratatui::Terminal;
use ratatui::backend::TestBackend;

use crate::desk::{Desk, Local};
use crate::domain::{Actor, Feed};
use crate::error::{Error, Result};
use crate::service::Service;
use crate::tui::app::{App, Effect, Msg};
use crate::tui::keymap::Keymap;
use crate::tui::view::{Theme, render};

/// How long the screen is left idle.
pub const IDLE: Duration = Duration::from_secs(10);

/// CPU time this process has used so far (user and system), all threads.
fn cpu_used() -> Duration {
    use nix::sys::resource::{UsageWho, getrusage};
    getrusage(UsageWho::RUSAGE_SELF)
        .map(|u| {
            let t = |tv: nix::sys::time::TimeVal| {
                Duration::from_secs(u64::try_from(tv.tv_sec()).unwrap_or(0))
                    + Duration::from_micros(u64::try_from(tv.tv_usec()).unwrap_or(0))
            };
            t(u.user_time()) + t(u.system_time())
        })
        .unwrap_or_default()
}

/// Opens `account_id` on a screen as `actor`, then leaves it idle for `IDLE` with the live
/// machinery running as the real loop runs it; answers the CPU used as percent of one core.
pub async fn idle_cpu_percent(svc: &Service, actor: &Actor, account_id: i64) -> Result<f64> {
    let desk = Desk::Local(Local::new(svc.clone(), actor.login.clone()));
    let mut app = App::new(actor.clone(), svc.url().display(), Keymap::default());
    let theme = Theme { color: true };
    let mut terminal =
        Terminal::new(TestBackend::new(80, 24)).map_err(|e| Error::System(e.to_string()))?;
    let (tx, mut feed) = tokio::sync::mpsc::unbounded_channel::<Feed>();
    desk.listen(tx);
    let detail = desk.detail(account_id, false).await?;
    let mut effects = app.update(Msg::AccountAnswer {
        id: account_id,
        result: Ok(Box::new(detail)),
    });
    let started = Instant::now();
    let cpu0 = cpu_used();
    let mut second = tokio::time::interval(Duration::from_secs(1));
    second.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    while started.elapsed() < IDLE {
        for e in effects.drain(..) {
            // The heartbeat and any re-read, run as the screen's worker runs them.
            if matches!(e, Effect::Beat { .. } | Effect::RefreshAccount { .. }) {
                let msg = crate::tui::worker::run(&desk, e).await;
                app.update(msg);
            }
        }
        terminal
            .draw(|f| render(f, &app, theme))
            .map_err(|e| Error::System(e.to_string()))?;
        let msg = tokio::select! {
            Some(f) = feed.recv() => Msg::Live(f),
            _ = second.tick() => Msg::Second(Utc::now()),
        };
        effects = app.update(msg);
    }
    let cpu = cpu_used().saturating_sub(cpu0);
    let _ = desk.presence(app.live.screen_id.clone(), None).await;
    Ok(cpu.as_secs_f64() / started.elapsed().as_secs_f64() * 100.0)
}
