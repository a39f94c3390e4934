//! Per-session traffic statistics, counted in cycles (see `shared/spec/session-statistics.md`).
//!
//! The session's reader counts what it receives and its writer what it sent, both at the point
//! where the serialized length is known. The two share one [`SessionStats`] — a lock per
//! session, never shared with other sessions. A cycle ends, after a message was counted, when
//! its rated messages reach the trigger or its age reaches the duration trigger; the counters
//! are then reported as one `wamp.session.on_stats` event and reset.

use std::sync::Mutex;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use crate::config::StatsConfig;
use wamp::sync::lock;

/// Traffic of one direction pair, since the start of a cycle or of the session.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Counters {
    /// Bytes received by the router from the session (serialized messages, no framing).
    pub bytes_rx: u64,
    /// Bytes sent by the router to the session.
    pub bytes_tx: u64,
    /// Messages received.
    pub messages_rx: u64,
    /// Messages sent.
    pub messages_tx: u64,
    /// `ceil(len / rated_message_size)` summed over both directions.
    pub rated_messages: u64,
    /// **[ours]** EVENTs dropped for the session because its outbound queue was full (realm
    /// option `slow_consumer: "drop"`); not in the other counters, they were never sent.
    pub dropped: u64,
}

impl Counters {
    /// Bytes in both directions.
    pub fn bytes(&self) -> u64 {
        self.bytes_rx + self.bytes_tx
    }

    /// Messages in both directions.
    pub fn messages(&self) -> u64 {
        self.messages_rx + self.messages_tx
    }

    fn add(&mut self, other: &Counters) {
        self.bytes_rx += other.bytes_rx;
        self.bytes_tx += other.bytes_tx;
        self.messages_rx += other.messages_rx;
        self.messages_tx += other.messages_tx;
        self.rated_messages += other.rated_messages;
        self.dropped += other.dropped;
    }
}

/// One finished cycle: what a `wamp.session.on_stats` event reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cycle {
    /// 1, 2, … per session.
    pub cycle: u64,
    /// The session's first stats event.
    pub first: bool,
    /// The session's final stats event.
    pub last: bool,
    /// Wall-clock start of the cycle, ns since the Unix epoch.
    pub timestamp_ns: u64,
    /// From the start of the cycle to the event, ns.
    pub duration_ns: u64,
    /// The traffic of the cycle.
    pub counters: Counters,
}

/// Which way a message went.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Direction {
    /// Received by the router.
    Rx,
    /// Sent by the router.
    Tx,
}

#[derive(Debug)]
struct State {
    current: Counters,
    /// Totals of the cycles already reported.
    reported: Counters,
    /// Cycles reported so far.
    cycle: u64,
    started: Instant,
    started_wall: SystemTime,
    /// `trigger_on_join`: report after the first message the router sends (WELCOME).
    first_pending: bool,
    /// No more cycles once the final one was taken.
    finished: bool,
}

/// One session's statistics.
#[derive(Debug)]
pub struct SessionStats {
    config: StatsConfig,
    duration: Option<Duration>,
    joined_wall: SystemTime,
    state: Mutex<State>,
}

fn ns_since_epoch(t: SystemTime) -> u64 {
    t.duration_since(UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_nanos()).unwrap_or(u64::MAX))
}

impl SessionStats {
    /// Statistics whose first cycle started at `opened` (when the transport opened).
    pub fn new(config: StatsConfig, opened: Instant, opened_wall: SystemTime) -> Self {
        SessionStats {
            config,
            duration: (config.trigger_after_duration_ns > 0)
                .then(|| Duration::from_nanos(config.trigger_after_duration_ns)),
            joined_wall: SystemTime::now(),
            state: Mutex::new(State {
                current: Counters::default(),
                reported: Counters::default(),
                cycle: 0,
                started: opened,
                started_wall: opened_wall,
                first_pending: config.trigger_on_join,
                finished: false,
            }),
        }
    }

    /// When the session joined, ns since the Unix epoch.
    pub fn joined_ns(&self) -> u64 {
        ns_since_epoch(self.joined_wall)
    }

    /// Counts messages going `dir`, given as (length, may end a cycle), calling `emit` (with the
    /// lock held, so that cycles are reported in order) for each cycle that ends. A message that
    /// may not end a cycle is counted all the same.
    pub fn count(
        &self,
        dir: Direction,
        messages: impl IntoIterator<Item = (usize, bool)>,
        mut emit: impl FnMut(&Cycle),
    ) {
        let mut st = lock(&self.state);
        if st.finished {
            return;
        }
        let rated_size = u64::from(self.config.rated_message_size.max(1));
        for (len, may_trigger) in messages {
            let len = len as u64;
            let c = &mut st.current;
            match dir {
                Direction::Rx => {
                    c.bytes_rx += len;
                    c.messages_rx += 1;
                }
                Direction::Tx => {
                    c.bytes_tx += len;
                    c.messages_tx += 1;
                }
            }
            c.rated_messages += len.div_ceil(rated_size).max(1);
            let first_now = st.first_pending && dir == Direction::Tx;
            let by_count = self.config.trigger_after_rated_messages > 0
                && st.current.rated_messages >= self.config.trigger_after_rated_messages;
            let by_time = self.duration.is_some_and(|d| st.started.elapsed() >= d);
            if may_trigger && (first_now || by_count || by_time) {
                let cycle = take_cycle(&mut st, false);
                emit(&cycle);
            }
        }
    }

    /// Counts an EVENT dropped because the session's queue was full; it ends no cycle (the
    /// next message counted reports it).
    pub fn dropped(&self) {
        let mut st = lock(&self.state);
        if !st.finished {
            st.current.dropped += 1;
        }
    }

    /// Ends the statistics: the final cycle with whatever was counted since the last one
    /// (`None` when `trigger_on_leave` is off, or when called twice). Nothing is counted after.
    pub fn finish(&self) -> Option<Cycle> {
        let mut st = lock(&self.state);
        if st.finished {
            return None;
        }
        st.finished = true;
        self.config
            .trigger_on_leave
            .then(|| take_cycle(&mut st, true))
    }

    /// The totals of the cycles reported so far, and the last cycle's number: a monitor that
    /// adds every later `on_stats` to these stays exact.
    pub fn reported(&self) -> (Counters, u64) {
        let st = lock(&self.state);
        (st.reported, st.cycle)
    }
}

fn take_cycle(st: &mut State, last: bool) -> Cycle {
    let now = Instant::now();
    st.cycle += 1;
    let cycle = Cycle {
        cycle: st.cycle,
        first: st.cycle == 1,
        last,
        timestamp_ns: ns_since_epoch(st.started_wall),
        duration_ns: u64::try_from(now.duration_since(st.started).as_nanos()).unwrap_or(u64::MAX),
        counters: st.current,
    };
    st.reported.add(&st.current);
    st.current = Counters::default();
    st.started = now;
    st.started_wall = SystemTime::now();
    st.first_pending = false;
    cycle
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(rated: u64, on_join: bool) -> StatsConfig {
        StatsConfig {
            rated_message_size: 256,
            trigger_after_rated_messages: rated,
            trigger_after_duration_ns: 0,
            trigger_on_join: on_join,
            trigger_on_leave: true,
        }
    }

    fn run(stats: &SessionStats, dir: Direction, lens: &[usize]) -> Vec<Cycle> {
        let mut out = Vec::new();
        stats.count(dir, lens.iter().map(|&l| (l, true)), |c| out.push(*c));
        out
    }

    #[test]
    fn passive_messages_count_but_never_end_a_cycle() {
        let s = SessionStats::new(config(10, false), Instant::now(), SystemTime::now());
        let mut out = Vec::new();
        s.count(Direction::Tx, [(300, false); 20], |c| out.push(*c));
        assert!(out.is_empty());
        assert_eq!(s.reported().0.rated_messages, 0, "not reported yet");
        s.count(Direction::Rx, [(10, true)], |c| out.push(*c));
        assert_eq!(s.reported().0.rated_messages, 41);
        assert_eq!(out.len(), 1, "the next ordinary message ends the cycle");
        assert_eq!(out[0].counters.messages(), 21);
    }

    #[test]
    fn dropped_events_are_reported_by_the_next_cycle_and_in_no_other_counter() {
        let s = SessionStats::new(config(10, false), Instant::now(), SystemTime::now());
        s.dropped();
        s.dropped();
        assert_eq!(s.reported().0.dropped, 0, "a drop ends no cycle");
        let cycles = run(&s, Direction::Tx, &[54; 10]);
        assert_eq!(cycles.len(), 1);
        let c = cycles[0].counters;
        assert_eq!((c.dropped, c.messages()), (2, 10));
        s.dropped();
        let last = s.finish().unwrap();
        assert_eq!(last.counters.dropped, 1);
        assert_eq!(s.reported().0.dropped, 3);
        s.dropped();
        assert_eq!(s.reported().0.dropped, 3, "nothing counted after the end");
    }

    #[test]
    fn ten_small_messages_make_a_cycle_of_ten() {
        let s = SessionStats::new(config(10, false), Instant::now(), SystemTime::now());
        assert!(run(&s, Direction::Rx, &[54; 9]).is_empty());
        let cycles = run(&s, Direction::Rx, &[54]);
        assert_eq!(cycles.len(), 1);
        let c = cycles[0];
        assert_eq!((c.cycle, c.first, c.last), (1, true, false));
        assert_eq!(c.counters.rated_messages, 10);
        assert_eq!(c.counters.messages(), 10);
        assert_eq!(c.counters.bytes(), 540);
    }

    #[test]
    fn large_messages_overshoot_without_carry() {
        let s = SessionStats::new(config(10, false), Instant::now(), SystemTime::now());
        let cycles = run(&s, Direction::Tx, &[2000, 2000]);
        assert_eq!(cycles.len(), 1);
        assert_eq!(cycles[0].counters.rated_messages, 16);
        assert_eq!(cycles[0].counters.bytes_tx, 4000);
        assert_eq!(
            run(&s, Direction::Tx, &[1]).len(),
            0,
            "nothing carried over"
        );
    }

    #[test]
    fn on_join_reports_after_the_first_message_sent() {
        let s = SessionStats::new(config(10, true), Instant::now(), SystemTime::now());
        assert!(run(&s, Direction::Rx, &[870]).is_empty(), "HELLO alone");
        let c = run(&s, Direction::Tx, &[1040]);
        assert_eq!(c.len(), 1, "after WELCOME");
        assert_eq!(
            (c[0].counters.messages_rx, c[0].counters.messages_tx),
            (1, 1)
        );
        assert_eq!(c[0].counters.rated_messages, 4 + 5);
        assert!(c[0].first);
    }

    #[test]
    fn the_final_cycle_holds_the_rest_and_totals_add_up() {
        let s = SessionStats::new(config(10, false), Instant::now(), SystemTime::now());
        let mut all = run(&s, Direction::Rx, &[100; 25]);
        all.extend(run(&s, Direction::Tx, &[300; 3]));
        let last = s.finish().unwrap();
        assert!(last.last);
        all.push(last);
        let cycles: Vec<u64> = all.iter().map(|c| c.cycle).collect();
        assert_eq!(cycles, (1..=all.len() as u64).collect::<Vec<_>>());
        let bytes: u64 = all.iter().map(|c| c.counters.bytes()).sum();
        assert_eq!(bytes, 25 * 100 + 3 * 300);
        assert_eq!(s.reported().0.bytes(), bytes);
        assert!(s.finish().is_none());
        assert!(
            run(&s, Direction::Rx, &[1; 20]).is_empty(),
            "nothing after finish"
        );
    }

    #[test]
    fn duration_trigger_fires_as_messages_pass() {
        let mut cfg = config(0, false);
        cfg.trigger_after_duration_ns = 1;
        let start = Instant::now() - Duration::from_millis(5);
        let s = SessionStats::new(cfg, start, SystemTime::now());
        let c = run(&s, Direction::Rx, &[10]);
        assert_eq!(c.len(), 1);
        assert!(c[0].duration_ns >= 5_000_000);
    }
}
