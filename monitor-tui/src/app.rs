//! The dashboard: an [`App`] owns the model, the view, the frozen copy drawn while paused, the
//! feed's channels and the rows of the last frame, and runs the fixed-rate loop — drain the
//! feed into the model, hand keys to the view, draw.
//!
//! Keys are read on their own thread and answered at once; data is applied only on a tick, so
//! the numbers on screen change at the tick rate however busy the router is.
//!
//! The data comes from the live feeds (optionally written to a [`Recorder`] on the way, before
//! it is applied) or, with `--replay`, from a [`Playback`] moved on by the wall time of each
//! tick.

use std::ops::ControlFlow;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use anyhow::Context as _;
use ratatui::crossterm::event::{
    self, DisableMouseCapture, EnableMouseCapture, Event, KeyEvent, MouseEvent,
};
use ratatui::crossterm::execute;
use ratatui::layout::Rect;
use ratatui::{DefaultTerminal, Frame};
use tokio::sync::mpsc;
use wamp::Id;

use crate::feed::{self, FeedConfig, Routed};
use crate::groups::Rows;
use crate::keys::Action;
use crate::model::{LogEntry, LogKind, Model, Router};
use crate::record::{RecordError, Recorder};
use crate::replay::{self, Playback};
use crate::ui;
use crate::view::View;

/// How many feed items may wait for the next tick before the feed waits.
const FEED_BACKLOG: usize = 65536;
/// How many kills may wait for the feed.
const KILL_BACKLOG: usize = 16;

/// The running dashboard.
pub struct App {
    /// What the feed delivered, applied on every tick.
    model: Model,
    /// The copy of the model drawn while paused (data keeps coming into `model`).
    frozen: Option<Model>,
    /// Selection, sort, filter, panes.
    view: View,
    /// The rows of the last frame (sessions or groups), in screen order: what the next key
    /// acts on.
    rows: Rows,
    /// The size of the last frame: where a mouse event lands.
    area: Rect,
    /// What the feeds deliver, each item with its router.
    feed: mpsc::Receiver<Routed>,
    /// Sessions for each router's feed to kill, by router.
    kills: Vec<mpsc::Sender<Id>>,
    /// The monitor clock (model times are seconds since this).
    clock: Instant,
    /// Where the live feeds are recorded, until recording fails.
    recorder: Option<Recorder>,
    /// The recording played instead of live feeds (`--replay`).
    playback: Option<Playback>,
    /// When the last tick moved the playback on.
    last_tick: Instant,
}

impl App {
    /// Starts following the routers of `targets` (each feed runs as a task of its own on the
    /// current Tokio runtime and reconnects on its own); sessions that left stay on screen for
    /// `retention` seconds.
    pub fn start(targets: Vec<FeedConfig>, retention: f64) -> App {
        let (tx, rx) = mpsc::channel(FEED_BACKLOG);
        let routers = targets
            .iter()
            .map(|c| Router::named(&c.url, &c.realm, &c.name))
            .collect();
        let mut kills = Vec::with_capacity(targets.len());
        for (i, config) in targets.into_iter().enumerate() {
            let (kill_tx, kill_rx) = mpsc::channel(KILL_BACKLOG);
            tokio::spawn(feed::run(i, config, tx.clone(), kill_rx));
            kills.push(kill_tx);
        }
        App::new(routers, rx, kills, retention)
    }

    /// An app of `routers` that reads `feed` and sends kills to `kills` (one per router).
    fn new(
        routers: Vec<Router>,
        feed: mpsc::Receiver<Routed>,
        kills: Vec<mpsc::Sender<Id>>,
        retention: f64,
    ) -> App {
        let clock = Instant::now();
        let now = || clock.elapsed().as_secs_f64();
        let model = Model::with_routers(now(), retention, routers);
        let mut view = View::from_env();
        view.wall_offset = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .ok()
            .map(|d| d.as_secs_f64() - now());
        App {
            model,
            frozen: None,
            view,
            rows: Rows::default(),
            area: Rect::default(),
            feed,
            kills,
            clock,
            recorder: None,
            playback: None,
            last_tick: clock,
        }
    }

    /// Also writes everything the feeds deliver to `recorder` (the header shows `● REC`).
    pub fn with_recorder(mut self, recorder: Recorder) -> App {
        self.recorder = Some(recorder);
        self.view.recording = true;
        self
    }

    /// An app that plays `playback` instead of following routers: no feeds, no kills.
    pub fn replay(playback: Playback) -> App {
        let (_, feed) = mpsc::channel(1);
        let mut app = App::new(Vec::new(), feed, Vec::new(), 0.0);
        app.model = playback.fresh_model();
        app.view.wall_offset = Some(playback.wall_offset());
        app.view.replay = Some(playback.status());
        app.playback = Some(playback);
        app
    }

    /// Runs the dashboard until the operator quits: takes over the terminal and the mouse,
    /// and gives both back however the loop ends (on a panic too), reads keys and the mouse on
    /// their own thread and draws `ticks_per_s` times a second (0.5 to 60).
    pub async fn run(mut self, ticks_per_s: f64) -> anyhow::Result<()> {
        let keys = read_keys();
        let mut terminal = ratatui::init();
        release_mouse_on_panic();
        // Without mouse reporting (an old terminal) the keys still do everything.
        let _ = execute!(std::io::stdout(), EnableMouseCapture);
        let result = self.run_on(&mut terminal, keys, ticks_per_s).await;
        let _ = execute!(std::io::stdout(), DisableMouseCapture);
        ratatui::restore();
        result
    }

    /// The loop: on a tick or a key, update, then draw (except after the key that quits).
    async fn run_on(
        &mut self,
        terminal: &mut DefaultTerminal,
        mut keys: mpsc::UnboundedReceiver<Event>,
        ticks_per_s: f64,
    ) -> anyhow::Result<()> {
        let period = Duration::from_secs_f64(1.0 / ticks_per_s.clamp(0.5, 60.0));
        let mut tick = tokio::time::interval(period);
        loop {
            tokio::select! {
                _ = tick.tick() => self.on_tick(),
                Some(ev) = keys.recv() => match ev {
                    Event::Key(key) if self.on_key(key).is_break() => return Ok(()),
                    Event::Mouse(mouse) => self.on_mouse(mouse),
                    _ => {}
                },
            }
            terminal.draw(|f| self.draw(f)).context("cannot draw")?;
        }
    }

    /// Seconds on the monitor clock (in a replay: recorded seconds since the recording
    /// started).
    fn now(&self) -> f64 {
        match &self.playback {
            Some(p) => p.now(),
            None => self.clock.elapsed().as_secs_f64(),
        }
    }

    /// Applies what the feed delivered since the last tick (or what the playback reached) and
    /// advances time.
    fn on_tick(&mut self) {
        let wall_dt = self.last_tick.elapsed().as_secs_f64();
        self.last_tick = Instant::now();
        match &mut self.playback {
            // The playback ticks the model itself, on the recorded clock.
            Some(p) => {
                p.advance(&mut self.model, wall_dt);
                self.view.replay = Some(p.status());
            }
            None => {
                self.drain_feed();
                let now = self.now();
                self.model.tick(now);
            }
        }
        self.view.tick();
    }

    /// Applies what the feed delivered, recording each item first; flushes the recording once.
    fn drain_feed(&mut self) {
        while let Ok((router, item)) = self.feed.try_recv() {
            self.record(router, &item);
            if let Some(ev) = item.into_meta() {
                let now = self.now();
                self.model.apply_from(router, ev, now);
            }
        }
        if let Some(Err(e)) = self.recorder.as_mut().map(Recorder::flush) {
            self.stop_recording(e);
        }
    }

    /// Writes `item` to the recording, if there is one.
    fn record(&mut self, router: usize, item: &crate::feed::FeedItem) {
        let Some(recorder) = &mut self.recorder else {
            return;
        };
        let at = replay::record_time(item, SystemTime::now());
        if let Err(e) = recorder.write(at, router, item) {
            self.stop_recording(e);
        }
    }

    /// Stops recording after `error` (the dashboard goes on), saying so in the event log.
    fn stop_recording(&mut self, error: RecordError) {
        self.recorder = None;
        self.view.recording = false;
        self.note(format!("recording stopped: {error}"));
    }

    /// Puts `text` into the event log as an error (the footer flashes it).
    fn note(&mut self, text: String) {
        let at = self.now();
        self.model.log.push(LogEntry {
            at,
            kind: LogKind::Error,
            text,
        });
    }

    /// Hands a key to the view, with the rows of the last frame; breaks when the operator quits.
    fn on_key(&mut self, key: KeyEvent) -> ControlFlow<()> {
        match self.view.on_key_rows(key, &self.rows) {
            Action::Quit => return ControlFlow::Break(()),
            Action::Kill(key) => {
                // Full or gone: the feed is reconnecting or ending; the kill is dropped.
                if let Some(kills) = self.kills.get(key.router) {
                    let _ = kills.try_send(key.id);
                }
            }
            Action::TogglePlayback => self.with_playback(Playback::toggle_pause),
            Action::Speed(factor) => self.with_playback(|p| p.scale_speed(factor)),
            Action::Seek(delta) => {
                if let Some(p) = &mut self.playback {
                    p.seek(&mut self.model, delta);
                }
                self.with_playback(|_| {});
            }
            Action::CannotKill => self.note("a replay cannot kill sessions".to_owned()),
            Action::None => {}
        }
        ControlFlow::Continue(())
    }

    /// Hands a mouse event to the view with what the last frame drew under it.
    fn on_mouse(&mut self, mouse: MouseEvent) {
        let now = self.now();
        let shown = self.frozen.as_ref().unwrap_or(&self.model);
        let target = ui::hit(self.area, shown, &self.view, now, mouse.column, mouse.row);
        // A mouse event never quits or kills.
        let _ = self.view.on_mouse(mouse, target, &self.rows);
    }

    /// Changes the playback (if replaying) and shows its new state.
    fn with_playback(&mut self, change: impl FnOnce(&mut Playback)) {
        if let Some(p) = &mut self.playback {
            change(p);
            self.view.replay = Some(p.status());
        }
    }

    /// Freezes a copy of the model when paused (and drops it on resume), then draws one frame
    /// of it and keeps its rows for the next key.
    fn draw(&mut self, frame: &mut Frame) {
        match (self.view.paused, &self.frozen) {
            (true, None) => self.frozen = Some(self.model.clone()),
            (false, Some(_)) => self.frozen = None,
            _ => {}
        }
        let now = self.now();
        let shown = self.frozen.as_ref().unwrap_or(&self.model);
        self.area = frame.area();
        self.rows = self.view.fit(frame.area(), shown, now);
        ui::draw_rows(frame, shown, &self.view, self.rows.sessions(), now);
    }
}

/// Turns mouse reporting off before ratatui's panic hook restores the terminal, so a panic
/// never leaves the shell receiving mouse escapes.
fn release_mouse_on_panic() {
    let previous = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        let _ = execute!(std::io::stdout(), DisableMouseCapture);
        previous(info);
    }));
}

/// Reads terminal events on a thread of their own (reading blocks) until the receiver is gone.
fn read_keys() -> mpsc::UnboundedReceiver<Event> {
    let (tx, rx) = mpsc::unbounded_channel();
    std::thread::spawn(move || {
        while let Ok(ev) = event::read() {
            if tx.send(ev).is_err() {
                break;
            }
        }
    });
    rx
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::feed::FeedItem;
    use crate::model::Key;
    use crate::record::temp::TempPath;
    use ratatui::Terminal;
    use ratatui::backend::TestBackend;
    use ratatui::crossterm::event::{KeyCode, KeyModifiers, MouseButton, MouseEventKind};
    use wamp::{Dict, Value, dict};

    /// An app on hand-made channels: what the test sends is what the feed delivered.
    fn app() -> (App, mpsc::Sender<Routed>, mpsc::Receiver<Id>) {
        let (tx, rx) = mpsc::channel(16);
        let (kill_tx, kill_rx) = mpsc::channel(16);
        let routers = vec![Router::new("ws://127.0.0.1:1/ws", "realm1")];
        (App::new(routers, rx, vec![kill_tx], 30.0), tx, kill_rx)
    }

    fn join(tx: &mpsc::Sender<Routed>, id: u64) {
        let details = dict! {"session" => id, "authid" => format!("user-{id}")};
        let item = FeedItem::Event {
            topic: "wamp.session.on_join".into(),
            args: vec![Value::Dict(details)],
            kwargs: Dict::new(),
            received: SystemTime::now(),
        };
        tx.try_send((0, item)).expect("room in the test channel");
    }

    fn frame(app: &mut App) {
        let mut terminal = Terminal::new(TestBackend::new(80, 24)).expect("a test terminal");
        terminal.draw(|f| app.draw(f)).expect("drawn");
    }

    fn press(app: &mut App, c: char) -> ControlFlow<()> {
        app.on_key(KeyEvent::new(KeyCode::Char(c), KeyModifiers::NONE))
    }

    #[test]
    fn a_tick_applies_the_feed_and_keys_act_on_the_rows_last_drawn() {
        let (mut app, tx, mut kills) = app();
        join(&tx, 7);
        frame(&mut app);
        assert!(app.rows.is_empty(), "nothing is applied before a tick");
        app.on_tick();
        assert_eq!(app.model.sessions.len(), 1);
        frame(&mut app);
        assert_eq!(app.rows.sessions(), [Key::new(0, 7)]);
        assert!(press(&mut app, 'x').is_continue());
        assert!(press(&mut app, 'y').is_continue());
        assert_eq!(
            kills.try_recv().ok(),
            Some(7),
            "the confirmed kill goes to the feed"
        );
        assert!(press(&mut app, 'q').is_break());
    }

    fn mouse(kind: MouseEventKind, column: u16, row: u16) -> MouseEvent {
        MouseEvent {
            kind,
            column,
            row,
            modifiers: KeyModifiers::NONE,
        }
    }

    #[test]
    fn a_click_selects_the_row_under_it_and_the_wheel_moves_on() {
        let (mut app, tx, _kills) = app();
        for id in [1, 2, 3] {
            join(&tx, id);
        }
        app.on_tick();
        frame(&mut app);
        assert_eq!(app.view.selected, Some(Key::new(0, 1)));
        // 80×24: two header lines, the table's top border and its title row; rows from y 4.
        app.on_mouse(mouse(MouseEventKind::Down(MouseButton::Left), 5, 6));
        assert_eq!(app.view.selected, Some(Key::new(0, 3)), "the third row");
        app.on_mouse(mouse(MouseEventKind::ScrollUp, 5, 6));
        assert_eq!(
            app.view.selected,
            Some(Key::new(0, 2)),
            "the wheel moves up a row"
        );
        app.on_mouse(mouse(MouseEventKind::Down(MouseButton::Left), 2, 3));
        assert_eq!(
            app.view.sort,
            crate::view::SortColumn::Session,
            "a click on SESSION sorts by it"
        );
        app.on_mouse(mouse(MouseEventKind::Down(MouseButton::Left), 2, 3));
        assert!(app.view.reversed, "a second click reverses it");
        app.on_mouse(mouse(MouseEventKind::Down(MouseButton::Left), 5, 20));
        assert_eq!(
            app.view.focus,
            crate::view::Focus::Log,
            "a click on the log focuses it"
        );
    }

    #[test]
    fn a_pause_draws_a_frozen_copy_while_data_keeps_coming() {
        let (mut app, tx, _kills) = app();
        join(&tx, 1);
        app.on_tick();
        frame(&mut app);
        assert!(press(&mut app, 'p').is_continue());
        frame(&mut app);
        assert!(app.frozen.is_some());
        join(&tx, 2);
        app.on_tick();
        frame(&mut app);
        assert_eq!(app.model.sessions.len(), 2, "the model keeps up");
        assert_eq!(
            app.rows.sessions(),
            [Key::new(0, 1)],
            "the screen shows the frozen copy"
        );
        assert!(press(&mut app, 'p').is_continue());
        frame(&mut app);
        assert!(app.frozen.is_none());
        assert_eq!(app.rows.len(), 2, "resumed: the live model again");
    }

    fn recorder(path: &std::path::Path) -> Recorder {
        let routers = [("ws://127.0.0.1:1/ws".to_owned(), "realm1".to_owned())];
        Recorder::create(path, &routers, crate::record::RecordCap::default()).expect("a recorder")
    }

    #[test]
    fn a_tick_records_what_it_applies_and_a_replay_shows_the_same() {
        let file = TempPath::new("record");
        let (app, tx, _kills) = app();
        let mut app = app.with_recorder(recorder(&file.0));
        assert!(app.view.recording);
        join(&tx, 7);
        join(&tx, 8);
        app.on_tick();
        assert_eq!(app.model.sessions.len(), 2);
        let replay = crate::record::Replay::open(&file.0).expect("the recording");
        assert_eq!(replay.len(), 2, "flushed at the end of the tick");
        let mut terminal = Terminal::new(TestBackend::new(80, 24)).expect("a test terminal");
        terminal.draw(|f| app.draw(f)).expect("drawn");
        let top: String = (0..80)
            .map(|x| terminal.backend().buffer()[(x, 0)].symbol().to_owned())
            .collect();
        assert!(top.trim_end().ends_with("● REC"), "{top}");
        let playback = Playback::new(replay, "r".into(), 30.0);
        let mut replayed = App::replay(playback);
        assert_eq!(replayed.view.replay.as_ref().map(|r| r.at_end), Some(false));
        assert!(press(&mut replayed, '>').is_continue());
        assert!(press(&mut replayed, 'p').is_continue());
        let status = replayed.view.replay.clone().expect("a replay");
        assert!(status.paused && status.speed == 2.0, "{status:?}");
        let right = replayed.on_key(KeyEvent::new(KeyCode::Right, KeyModifiers::NONE));
        assert!(right.is_continue());
        let ids: Vec<u64> = replayed.model.sessions.keys().map(|k| k.id).collect();
        assert_eq!(ids, [7, 8], "seeking forward applies what it skips");
        assert_eq!(replayed.view.replay.as_ref().map(|r| r.at_end), Some(true));
        frame(&mut replayed);
        assert_eq!(replayed.rows.len(), 2);
        let left = replayed.on_key(KeyEvent::new(KeyCode::Left, KeyModifiers::NONE));
        assert!(left.is_continue());
        assert!(
            replayed.model.sessions.is_empty(),
            "rebuilt from scratch up to the start, before the joins"
        );
        assert_eq!(replayed.rows.len(), 2, "the view is kept as it was");
        assert!(press(&mut replayed, 'x').is_continue());
        let last = replayed.model.log.last().map(|e| e.text.clone());
        assert_eq!(last.as_deref(), Some("a replay cannot kill sessions"));
    }

    #[test]
    fn a_full_disk_stops_the_recording_not_the_dashboard() {
        let full = std::path::Path::new("/dev/full");
        if !full.exists() {
            return;
        }
        let (app, tx, _kills) = app();
        let mut app = app.with_recorder(recorder(full));
        join(&tx, 7);
        app.on_tick();
        assert!(app.recorder.is_none() && !app.view.recording);
        assert_eq!(
            app.model.sessions.len(),
            1,
            "the event is applied all the same"
        );
        let errors: Vec<&str> = app
            .model
            .log
            .iter()
            .filter(|e| e.kind == LogKind::Error)
            .map(|e| e.text.as_str())
            .collect();
        assert_eq!(errors.len(), 1, "{errors:?}");
        assert!(
            errors[0].starts_with("recording stopped: /dev/full: "),
            "{errors:?}"
        );
        join(&tx, 8);
        app.on_tick();
        assert_eq!(app.model.sessions.len(), 2);
    }
}
