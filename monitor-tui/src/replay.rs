//! `--replay FILE`: a recording played into a model at a speed, with pause and seeking — the
//! dashboard's source when it is not following live routers.
//!
//! A [`Playback`] wraps a [`Player`] and knows how to apply what it hands out to a [`Model`]:
//! an item received at recorded time `t` is applied at model time `t − start` (the model clock
//! starts with the recording), and [`Playback::wall_offset`] turns model times back into the
//! recorded time of day, as the live dashboard does with its own clock. Seeking back cannot
//! un-apply items, so it starts a fresh model from the recording's header and applies
//! everything up to the new position ([`Playback::seek`]).
//!
//! The model's clock ([`Model::tick`], which samples the header's aggregate rates and forgets
//! sessions that left long ago) is moved by the playback, not by the frames: every
//! [`SAMPLE_STEP`] recorded seconds, between the items. So the samples do not depend on the
//! frame rate or the speed, and a seek or a rebuild gives exactly the model a straight play
//! gives. Only the last [`KEPT_TICKS`] ticks before the position are taken when skipping (a tick
//! forgets sessions past their retention and measures the stats events since the one before;
//! the charts come from the events' own times, not from ticks), so a seek over hours is fast.
//!
//! Also here: [`record_time`], the receive time the live app writes for an item, so the app and
//! the tests record alike.

use std::path::Path;
use std::time::SystemTime;

use crate::feed::FeedItem;
use crate::model::{Model, Router};
use crate::record::{Player, RecordError, Recorded, Replay};

/// How many ticks before the position a seek or a rebuild replays (see the module doc).
pub const KEPT_TICKS: u64 = 4;

/// The slowest playback speed.
pub const MIN_SPEED: f64 = 0.25;
/// The fastest playback speed.
pub const MAX_SPEED: f64 = 64.0;
/// Recorded seconds between two ticks of the model (the live dashboard's default 4 ticks a
/// second at 1×).
pub const SAMPLE_STEP: f64 = 0.25;

/// What the header shows of a replay: file, position, speed and progress.
#[derive(Debug, Clone, PartialEq)]
pub struct ReplayStatus {
    /// The file's name (without its directory).
    pub name: String,
    /// The recorded time reached (Unix seconds).
    pub position: f64,
    /// Recorded seconds per wall-clock second.
    pub speed: f64,
    /// How far through the recording, 0 to 1.
    pub progress: f64,
    /// Whether playback is paused.
    pub paused: bool,
    /// Whether everything has been played.
    pub at_end: bool,
}

/// A recording being played into a model.
#[derive(Debug)]
pub struct Playback {
    /// The recording and where in it playback is.
    player: Player,
    /// The file's name, for the header.
    name: String,
    /// How long sessions that left stay in a fresh model.
    retention: f64,
    /// The model has been ticked up to `ticked × SAMPLE_STEP` (model time).
    ticked: u64,
}

impl Playback {
    /// Opens the recording `path` (and the files rotated away before it), playing from its start;
    /// sessions that left stay in the model for `retention` seconds.
    pub fn open(path: impl AsRef<Path>, retention: f64) -> Result<Playback, RecordError> {
        let path = path.as_ref();
        let replay = Replay::open_all(path)?;
        let name = path.file_name().map_or_else(
            || path.display().to_string(),
            |n| n.to_string_lossy().into(),
        );
        Ok(Playback::new(replay, name, retention))
    }

    /// Plays `replay`, shown as `name`.
    pub fn new(replay: Replay, name: String, retention: f64) -> Playback {
        Playback {
            player: Player::new(replay),
            name,
            retention,
            ticked: 0,
        }
    }

    /// The player, for its position, speed and items.
    pub fn player(&self) -> &Player {
        &self.player
    }

    /// A model with the recorded routers and nothing applied, at the start of the recording.
    pub fn fresh_model(&self) -> Model {
        let routers = self
            .player
            .replay()
            .routers()
            .iter()
            .map(|(url, realm)| Router::new(url, realm))
            .collect();
        Model::with_routers(0.0, self.retention, routers)
    }

    /// The model clock now: recorded seconds since the recording started.
    pub fn now(&self) -> f64 {
        self.model_time(self.player.position())
    }

    /// What to add to a model time to get the recorded wall-clock time (Unix seconds), for
    /// [`View::wall_offset`](crate::view::View::wall_offset).
    pub fn wall_offset(&self) -> f64 {
        self.player.replay().start()
    }

    /// Moves on by `wall_dt` wall-clock seconds at the playback speed, applying what was
    /// received meanwhile to `model` and ticking it on the way.
    pub fn advance(&mut self, model: &mut Model, wall_dt: f64) {
        let items = self.player.advance(wall_dt);
        self.apply(model, items);
    }

    /// Jumps `delta_secs` recorded seconds forward (applying what is skipped over) or back
    /// (replacing `model` by a fresh one rebuilt up to the new position).
    pub fn seek(&mut self, model: &mut Model, delta_secs: f64) {
        let skipped = self.player.seek(delta_secs);
        if self.player.needs_rebuild() {
            *model = self.fresh_model();
            self.ticked = 0;
            let items = self.player.rebuild();
            self.apply(model, items);
        } else {
            self.apply(model, skipped);
        }
    }

    /// Plays everything that is left into `model`, as fast as it goes.
    pub fn play_to_end(&mut self, model: &mut Model) {
        let left = self.player.replay().end() - self.player.position();
        self.seek(model, left.max(0.0));
    }

    /// Multiplies the speed by `factor`, within [`MIN_SPEED`] and [`MAX_SPEED`].
    pub fn scale_speed(&mut self, factor: f64) {
        let speed = (self.player.speed() * factor).clamp(MIN_SPEED, MAX_SPEED);
        self.player.set_speed(speed);
    }

    /// Sets the speed, within [`MIN_SPEED`] and [`MAX_SPEED`].
    pub fn set_speed(&mut self, speed: f64) {
        if speed.is_finite() {
            self.player.set_speed(speed.clamp(MIN_SPEED, MAX_SPEED));
        }
    }

    /// Pauses or resumes playback.
    pub fn toggle_pause(&mut self) {
        self.player.toggle_pause();
    }

    /// What the header shows.
    pub fn status(&self) -> ReplayStatus {
        ReplayStatus {
            name: self.name.clone(),
            position: self.player.position(),
            speed: self.player.speed(),
            progress: self.player.progress(),
            paused: self.player.paused(),
            at_end: self.player.at_end(),
        }
    }

    /// Applies `items` to `model`, each at its recorded time on the model clock, ticking the
    /// model every [`SAMPLE_STEP`] before them and up to the position.
    fn apply(&mut self, model: &mut Model, items: Vec<Recorded>) {
        let until = self.now();
        let steps = (until / SAMPLE_STEP).floor().max(0.0) as u64;
        let first_kept = steps.saturating_sub(KEPT_TICKS);
        for Recorded { at, router, item } in items {
            let t = self.model_time(at);
            self.tick_through(model, t, first_kept);
            if let Some(ev) = item.into_meta() {
                model.apply_from(router, ev, t);
            }
        }
        self.tick_through(model, until, first_kept);
    }

    /// Ticks `model` at every step up to model time `t`, skipping the steps before step
    /// `first_kept`.
    fn tick_through(&mut self, model: &mut Model, t: f64, first_kept: u64) {
        self.ticked = self.ticked.max(first_kept);
        while (self.ticked + 1) as f64 * SAMPLE_STEP <= t {
            self.ticked += 1;
            model.tick(self.ticked as f64 * SAMPLE_STEP);
        }
    }

    /// A recorded time (Unix seconds) on the model clock.
    fn model_time(&self, at: f64) -> f64 {
        at - self.player.replay().start()
    }
}

/// The time recorded for an item drained at `drained`: an event's own receive time, else
/// `drained`.
pub fn record_time(item: &FeedItem, drained: SystemTime) -> SystemTime {
    match item {
        FeedItem::Event { received, .. } | FeedItem::Stats { received, .. } => *received,
        _ => drained,
    }
}

/// `0.25×`, `1×`, `64×`: a speed as the header shows it.
pub fn speed_label(speed: f64) -> String {
    let text = format!("{speed:.2}");
    let text = text.trim_end_matches('0').trim_end_matches('.');
    format!("{text}×")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::record::temp::TempPath;
    use crate::record::{RecordCap, Recorder};
    use std::time::{Duration, UNIX_EPOCH};
    use wamp::{Dict, Value, dict};

    const T0: u64 = 1_764_680_400;

    fn at(secs: f64) -> SystemTime {
        UNIX_EPOCH + Duration::from_secs(T0) + Duration::from_secs_f64(secs)
    }

    fn event(topic: &str, args: Vec<Value>, secs: f64) -> FeedItem {
        FeedItem::Event {
            topic: topic.into(),
            args,
            kwargs: Dict::new(),
            received: at(secs),
        }
    }

    /// Sessions 1..=4 join one a second, session 2 leaves at 5 s, nothing after 8 s.
    fn recording(file: &TempPath) {
        let routers = [("ws://127.0.0.1:8080/ws".to_owned(), "realm1".to_owned())];
        let mut rec = Recorder::create(&file.0, &routers, RecordCap::default()).unwrap();
        let mut items = vec![(0.0, FeedItem::Connected(routers[0].0.clone()))];
        for id in 1..=4u64 {
            let details = dict! {"session" => id, "authid" => format!("user-{id}")};
            let join = event(
                "wamp.session.on_join",
                vec![Value::Dict(details)],
                id as f64,
            );
            items.push((id as f64, join));
        }
        let leave = event("wamp.session.on_leave", vec![Value::UInt(2)], 5.0);
        items.push((5.0, leave));
        items.push((8.0, FeedItem::Killed(9, Err("no such session".into()))));
        for (secs, item) in &items {
            rec.write(record_time(item, at(*secs)), 0, item).unwrap();
        }
        rec.flush().unwrap();
    }

    #[test]
    fn seeking_back_rebuilds_the_model_a_straight_play_gives() {
        let file = TempPath::new("rebuild");
        recording(&file);
        let mut straight = Playback::open(&file.0, 30.0).unwrap();
        let mut expected = straight.fresh_model();
        for _ in 0..22 {
            straight.advance(&mut expected, 0.25);
        }
        let mut seeking = Playback::open(&file.0, 30.0).unwrap();
        let mut model = seeking.fresh_model();
        seeking.seek(&mut model, 100.0);
        assert!(seeking.player().at_end());
        assert_eq!(model.sessions.len(), 4);
        seeking.seek(&mut model, -2.5);
        assert_eq!(seeking.now(), 5.5);
        assert_eq!(model.sessions.len(), 4, "session 2 left at 5 s and is kept");
        assert_eq!(format!("{model:?}"), format!("{expected:?}"));
    }

    #[test]
    fn the_status_says_where_playback_is() {
        let file = TempPath::new("status");
        recording(&file);
        let mut p = Playback::open(&file.0, 30.0).unwrap();
        let mut model = p.fresh_model();
        p.scale_speed(2.0);
        p.advance(&mut model, 1.0);
        let status = p.status();
        assert!(status.name.starts_with("wampstat-status-"));
        assert_eq!(status.position, T0 as f64 + 2.0);
        assert_eq!((status.speed, status.progress), (2.0, 0.25));
        assert!(!status.paused && !status.at_end);
        assert_eq!(p.wall_offset() + p.now(), status.position);
        for _ in 0..10 {
            p.scale_speed(2.0);
        }
        assert_eq!(p.player().speed(), MAX_SPEED);
        for _ in 0..20 {
            p.scale_speed(0.5);
        }
        assert_eq!(p.player().speed(), MIN_SPEED);
        assert_eq!(speed_label(0.25), "0.25×");
        assert_eq!(speed_label(0.5), "0.5×");
        assert_eq!(speed_label(64.0), "64×");
    }

    #[test]
    fn a_long_seek_samples_what_a_straight_play_samples() {
        let file = TempPath::new("long");
        let routers = [("ws://127.0.0.1:8080/ws".to_owned(), "realm1".to_owned())];
        let mut rec = Recorder::create(&file.0, &routers, RecordCap::default()).unwrap();
        let details = dict! {"session" => 1u64, "authid" => "busy"};
        let join = event("wamp.session.on_join", vec![Value::Dict(details)], 0.5);
        rec.write(at(0.5), 0, &join).unwrap();
        for cycle in 1..=100u64 {
            let info = dict! {"session" => 1u64};
            let stats = dict! {"cycle" => cycle, "duration" => 2_000_000_000u64, "messages" => 10 * cycle, "bytes" => 1000 * cycle, "rated_messages" => 10 * cycle};
            let secs = 2.0 * cycle as f64 + 0.1;
            let item = event(
                "wamp.session.on_stats",
                vec![Value::Dict(info), Value::Dict(stats)],
                secs,
            );
            rec.write(at(secs), 0, &item).unwrap();
        }
        rec.flush().unwrap();
        let mut straight = Playback::open(&file.0, 30.0).unwrap();
        let mut expected = straight.fresh_model();
        straight.set_speed(4.0);
        for _ in 0..150 {
            straight.advance(&mut expected, 0.25);
        }
        assert_eq!(straight.now(), 150.0);
        let mut seeking = Playback::open(&file.0, 30.0).unwrap();
        let mut model = seeking.fresh_model();
        seeking.seek(&mut model, 190.0);
        seeking.seek(&mut model, -40.0);
        assert_eq!(format!("{model:?}"), format!("{expected:?}"));
    }
}
