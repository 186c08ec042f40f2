//! The agents' terminal screen: state and update (`app`), the worker that runs effects off the
//! render path (`worker`), pure views (`view`), keys (`keymap`). The loop waits on terminal
//! input, worker answers, what other agents change (the desk's feed), a tick each second
//! (heartbeats, the slow re-check) and, only while something is in flight, a spinner tick.

pub mod app;
pub mod keymap;
pub mod view;
pub mod worker;
pub mod zone;

use std::time::Duration;

use crossterm::event::{DisableMouseCapture, EnableMouseCapture, Event, EventStream, KeyEventKind};
use crossterm::execute;
use futures_util::StreamExt;
use tokio::sync::mpsc;

use crate::desk::Desk;
use crate::domain::{Actor, Feed};
use crate::error::{Error, Result};
use app::{App, Msg};
use view::Theme;

pub struct Options {
    pub no_color: bool,
}

/// Opens the screen on `desk` as `actor` until the agent quits. The terminal is given back on
/// exit, on error and on panic (ratatui's init installs the panic hook).
pub async fn run(desk: Desk, actor: Actor, opts: Options) -> Result<()> {
    let (keymap, mouse) = keymap::load(keymap::config_path().as_deref())?;
    let theme = Theme::from_env(opts.no_color);
    let mut app = App::new(actor.clone(), desk.display(), keymap);
    let (tx, mut rx) = mpsc::unbounded_channel::<Msg>();
    let worker = worker::Worker::spawn(desk.clone(), tx);
    // What other agents change, as it happens.
    let (feed_tx, mut feed) = mpsc::unbounded_channel::<Feed>();
    desk.listen(feed_tx);

    use std::io::IsTerminal;
    if !std::io::stdout().is_terminal() || !std::io::stdin().is_terminal() {
        return Err(Error::invalid(
            "the agents' screen needs a terminal; for scripts use the commands (see `caredesk --help`)",
        ));
    }
    let mut terminal =
        ratatui::try_init().map_err(|e| Error::io("cannot set up the terminal", e))?;
    if mouse {
        let _ = execute!(std::io::stdout(), EnableMouseCapture);
    }
    let result = async {
        let mut events = EventStream::new();
        let mut tick = tokio::time::interval(Duration::from_millis(120));
        let mut second = tokio::time::interval(Duration::from_secs(1));
        second.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            terminal
                .draw(|f| view::render(f, &app, theme))
                .map_err(|e| Error::io("cannot draw the screen", e))?;
            if app.quit {
                return Ok(());
            }
            let msg = tokio::select! {
                ev = events.next() => match ev {
                    Some(Ok(Event::Key(k))) if k.kind != KeyEventKind::Release => Msg::Key(k),
                    Some(Ok(Event::Mouse(m))) => Msg::Mouse(m),
                    Some(Ok(Event::Resize(_, _))) => Msg::Resize,
                    Some(Ok(_)) => continue,
                    Some(Err(e)) => return Err(Error::io("cannot read the terminal", e)),
                    None => return Ok(()),
                },
                Some(m) = rx.recv() => m,
                Some(f) = feed.recv() => Msg::Live(f),
                _ = second.tick() => Msg::Second(chrono::Utc::now()),
                _ = tick.tick(), if app.busy() => Msg::Tick,
            };
            for effect in app.update(msg) {
                worker.send(effect);
            }
        }
    }
    .await;
    if mouse {
        let _ = execute!(std::io::stdout(), DisableMouseCapture);
    }
    ratatui::restore();
    // Others stop seeing this screen on its account now rather than at the lapse.
    let _ = tokio::time::timeout(
        Duration::from_secs(1),
        desk.presence(app.live.screen_id.clone(), None),
    )
    .await;
    result
}
