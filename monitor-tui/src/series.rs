//! Per-second wall-clock time series of one session's traffic (or of a sum of sessions), so the
//! dashboard can chart messages/s, bytes/s (received and sent apart) and stats cycles/s over
//! the last 1, 5 or 15 minutes.
//!
//! # Tiers
//!
//! A [`Series`] keeps three ring buffers of buckets, one per [`Window`]: 1-s buckets for the
//! 1-minute view, 5-s buckets for the 5-minute view and 15-s buckets for the 15-minute view, so
//! every view is [`POINTS`] (60) buckets. Each ring keeps [`KEPT`] (64) buckets, a few more than
//! a view needs, so a full window is always complete. A bucket is addressed by its absolute
//! index `floor(t / resolution)`; a ring knows the index of its newest bucket. Recording in a
//! later bucket pushes zero buckets for the seconds between (a gap of a ring's length or more
//! resets the ring instead of pushing thousands of zeros); recording in a bucket older than the
//! ring keeps is dropped.
//!
//! # Spreading
//!
//! A stats cycle reports the traffic of the time since the previous one, so its amounts are
//! spread uniformly over `[start, end]` and split at bucket boundaries, in each tier
//! separately: a 1-s cycle ending at 10.5 puts half into bucket 9 and half into bucket 10. The
//! part of a cycle older than what a ring keeps is dropped, not piled into the oldest bucket. The
//! cycle itself (its count, for cycles/s) goes to the bucket of `end`. Charts thus show traffic
//! against wall-clock time, whatever the cycles' lengths, instead of one bar per cycle.
//!
//! # Memory
//!
//! The dashboard holds one series per session for up to 10,000 sessions, so a bucket is five
//! `f32` (20 bytes: messages and bytes in total and received, and cycles; sent is total minus
//! received) and a full series is under 4 KB ([`Series::memory`]). An aggregate fed every
//! session's cycles sums in `f64` instead ([`Series::precise`], 40 bytes a bucket), as adding
//! millions of small parts to an `f32` would round them away. Rings grow only as time is
//! recorded, so a short-lived session holds a few buckets, not 15 minutes of zeros. Recording a
//! cycle shorter than a bucket touches one or two buckets per tier and allocates nothing once
//! the rings are full.
//!
//! Times are seconds on a monotonic clock that the caller supplies, so tests are deterministic.
//! Inputs come from outside (the router's meta events), so NaN, negative and inverted values are
//! clamped, never trusted.

use std::collections::VecDeque;

/// Buckets in every window's view.
pub const POINTS: usize = 60;
/// Buckets each tier keeps: a few more than [`POINTS`], so a full view is always complete.
pub const KEPT: usize = 64;

/// Times are clamped to ± this many seconds, so bucket indices stay far from overflow.
const MAX_TIME: f64 = 1e12;

/// What a chart shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Channel {
    /// Messages received by the router.
    MsgsRx,
    /// Messages sent by the router.
    MsgsTx,
    /// Bytes received by the router.
    BytesRx,
    /// Bytes sent by the router.
    BytesTx,
    /// Messages both ways.
    Msgs,
    /// Bytes both ways.
    Bytes,
    /// Stats cycles.
    Cycles,
}

/// How far back a chart looks; each window is [`POINTS`] buckets of its [`resolution`].
///
/// [`resolution`]: Window::resolution
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Window {
    /// The last minute, in 1-s buckets.
    #[default]
    OneMinute,
    /// The last 5 minutes, in 5-s buckets.
    FiveMinutes,
    /// The last 15 minutes, in 15-s buckets.
    FifteenMinutes,
}

impl Window {
    /// All windows, narrowest first.
    pub const ALL: [Window; 3] = [
        Window::OneMinute,
        Window::FiveMinutes,
        Window::FifteenMinutes,
    ];

    /// Its length in seconds.
    pub fn span(self) -> f64 {
        self.resolution() * POINTS as f64
    }
    /// The length of one of its buckets, in seconds.
    pub fn resolution(self) -> f64 {
        match self {
            Window::OneMinute => 1.0,
            Window::FiveMinutes => 5.0,
            Window::FifteenMinutes => 15.0,
        }
    }
    /// A short label: "1m", "5m", "15m".
    pub fn label(self) -> &'static str {
        match self {
            Window::OneMinute => "1m",
            Window::FiveMinutes => "5m",
            Window::FifteenMinutes => "15m",
        }
    }
    /// The next wider window (the widest stays).
    pub fn wider(self) -> Window {
        match self {
            Window::OneMinute => Window::FiveMinutes,
            Window::FiveMinutes | Window::FifteenMinutes => Window::FifteenMinutes,
        }
    }
    /// The next narrower window (the narrowest stays).
    pub fn narrower(self) -> Window {
        match self {
            Window::OneMinute | Window::FiveMinutes => Window::OneMinute,
            Window::FifteenMinutes => Window::FiveMinutes,
        }
    }
    fn index(self) -> usize {
        self as usize
    }
}

/// One stats cycle's traffic.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Amounts {
    /// Messages both ways.
    pub msgs: f64,
    /// Bytes both ways.
    pub bytes: f64,
    /// Messages received by the router, `None` from routers without the split (Crossbar.io).
    pub msgs_rx: Option<f64>,
    /// Bytes received by the router, `None` from routers without the split (Crossbar.io).
    pub bytes_rx: Option<f64>,
}

impl Amounts {
    /// Totals only, from a router without the received/sent split.
    pub fn total(msgs: f64, bytes: f64) -> Self {
        Amounts {
            msgs,
            bytes,
            msgs_rx: None,
            bytes_rx: None,
        }
    }
    /// Received and sent apart.
    pub fn split(msgs_rx: f64, msgs_tx: f64, bytes_rx: f64, bytes_tx: f64) -> Self {
        Amounts {
            msgs: msgs_rx + msgs_tx,
            bytes: bytes_rx + bytes_tx,
            msgs_rx: Some(msgs_rx),
            bytes_rx: Some(bytes_rx),
        }
    }
}

/// A window's current rate and its range.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Summary {
    /// The newest complete bucket's rate, per second.
    pub current: f64,
    /// The lowest rate of the window's buckets, per second.
    pub min: f64,
    /// The highest rate of the window's buckets, per second.
    pub max: f64,
    /// The amount over the whole window (messages, bytes or cycles).
    pub total: f64,
}

/// The number a bucket sums in: `f32` (the default, 20 bytes a bucket) for sessions, `f64`
/// (40 bytes) for an aggregate fed every session's cycles, where millions of small additions
/// to one `f32` bucket would be rounded away.
pub trait Sum: Copy + Default + PartialEq + std::fmt::Debug {
    /// Adds `x` to the sum.
    fn add(&mut self, x: f64);
    /// The sum.
    fn get(self) -> f64;
}

impl Sum for f32 {
    fn add(&mut self, x: f64) {
        *self += x as f32;
    }
    fn get(self) -> f64 {
        f64::from(self)
    }
}

impl Sum for f64 {
    fn add(&mut self, x: f64) {
        *self += x;
    }
    fn get(self) -> f64 {
        self
    }
}

/// One bucket's sums.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
struct Bucket<S> {
    msgs: S,
    bytes: S,
    msgs_rx: S,
    bytes_rx: S,
    cycles: S,
}

impl<S: Sum> Bucket<S> {
    fn get(&self, channel: Channel) -> f64 {
        let tx = |total: S, rx: S| (total.get() - rx.get()).max(0.0);
        match channel {
            Channel::MsgsRx => self.msgs_rx.get(),
            Channel::MsgsTx => tx(self.msgs, self.msgs_rx),
            Channel::BytesRx => self.bytes_rx.get(),
            Channel::BytesTx => tx(self.bytes, self.bytes_rx),
            Channel::Msgs => self.msgs.get(),
            Channel::Bytes => self.bytes.get(),
            Channel::Cycles => self.cycles.get(),
        }
    }
    fn add(&mut self, a: &Clean, fraction: f64) {
        self.msgs.add(a.msgs * fraction);
        self.bytes.add(a.bytes * fraction);
        self.msgs_rx.add(a.msgs_rx * fraction);
        self.bytes_rx.add(a.bytes_rx * fraction);
    }
}

/// Amounts made safe: finite, non-negative, received ≤ total.
struct Clean {
    msgs: f64,
    bytes: f64,
    msgs_rx: f64,
    bytes_rx: f64,
}

impl Clean {
    fn new(a: &Amounts) -> Self {
        let clean = |x: f64| {
            if x.is_finite() {
                x.clamp(0.0, f64::from(f32::MAX))
            } else {
                0.0
            }
        };
        let (msgs, bytes) = (clean(a.msgs), clean(a.bytes));
        Clean {
            msgs,
            bytes,
            msgs_rx: a.msgs_rx.map_or(0.0, clean).min(msgs),
            bytes_rx: a.bytes_rx.map_or(0.0, clean).min(bytes),
        }
    }
}

/// The buckets of one resolution: a ring of at most [`KEPT`] buckets ending at `newest`.
#[derive(Debug, Clone, Default)]
struct Tier<S> {
    buckets: VecDeque<Bucket<S>>,
    /// The absolute index of the last bucket of `buckets` (meaningless while empty).
    newest: i64,
}

impl<S: Sum> Tier<S> {
    /// The absolute index of the oldest bucket held.
    fn oldest(&self) -> i64 {
        self.newest - self.buckets.len() as i64 + 1
    }

    /// Grows by exact steps up to [`KEPT`], so a full ring's capacity is [`KEPT`].
    fn make_room(&mut self) {
        let len = self.buckets.len();
        if len == self.buckets.capacity() && len < KEPT {
            self.buckets.reserve_exact(len.max(4).min(KEPT - len));
        }
    }

    fn push_back(&mut self) {
        if self.buckets.len() >= KEPT {
            self.buckets.pop_front();
        }
        self.make_room();
        self.buckets.push_back(Bucket::default());
        self.newest += 1;
    }

    /// Makes the ring hold the buckets `lo..=hi` as far as it keeps them, and returns the
    /// first of those it holds (greater than `hi` when none is kept).
    fn cover(&mut self, lo: i64, hi: i64) -> i64 {
        if self.buckets.is_empty() || hi - self.newest >= KEPT as i64 {
            self.buckets.clear();
            self.newest = hi - 1;
            self.push_back();
        }
        while self.newest < hi {
            self.push_back();
        }
        let first = lo.max(self.newest - KEPT as i64 + 1);
        if first <= hi {
            while self.oldest() > first {
                self.make_room();
                self.buckets.push_front(Bucket::default());
            }
        }
        first
    }

    fn bucket_mut(&mut self, index: i64) -> Option<&mut Bucket<S>> {
        let slot = usize::try_from(index - self.oldest()).ok()?;
        self.buckets.get_mut(slot)
    }

    fn bucket(&self, index: i64) -> Option<&Bucket<S>> {
        let slot = usize::try_from(index - self.oldest()).ok()?;
        self.buckets.get(slot)
    }

    fn record(&mut self, res: f64, start: f64, end: f64, a: &Clean) {
        let hi = (end / res).floor() as i64;
        let lo = (start / res).floor() as i64;
        let first = self.cover(lo, hi);
        if first > hi {
            return;
        }
        let duration = end - start;
        if duration > 0.0 {
            for index in first..=hi {
                let from = start.max(index as f64 * res);
                let to = end.min((index + 1) as f64 * res);
                if to > from
                    && let Some(b) = self.bucket_mut(index)
                {
                    b.add(a, (to - from) / duration);
                }
            }
        } else if let Some(b) = self.bucket_mut(hi) {
            b.add(a, 1.0);
        }
        if let Some(b) = self.bucket_mut(hi) {
            b.cycles.add(1.0);
        }
    }

    /// Adds the rates of the `acc.len()` buckets ending with `last` into `acc`, oldest first.
    fn add_rates_into(&self, res: f64, channel: Channel, last: i64, acc: &mut [f64]) {
        let n = acc.len() as i64;
        for (i, slot) in acc.iter_mut().enumerate() {
            if let Some(b) = self.bucket(last - n + 1 + i as i64) {
                *slot += b.get(channel) / res;
            }
        }
    }
}

/// A session's traffic per bucket of wall-clock time, in three tiers (see the
/// [module documentation](self)), summed in `f32` (or `f64`, see [`Sum`]).
#[derive(Debug, Clone, Default)]
pub struct Series<S = f32> {
    tiers: [Tier<S>; 3],
    split_msgs: bool,
    split_bytes: bool,
}

impl Series {
    /// An empty series summing in `f32`, for a session; it allocates only as time is recorded.
    pub fn new() -> Self {
        Series::default()
    }
}

impl Series<f64> {
    /// An empty series summing in `f64` (about 8 KB when full), for an aggregate of many
    /// sessions.
    pub fn precise() -> Self {
        Series::default()
    }
}

impl<S: Sum> Series<S> {
    /// Records one stats cycle whose traffic `amounts` covered `[start, end]` (its duration
    /// ending at its receive time). NaN, negative or inverted times are clamped; a cycle with
    /// no finite `end` is dropped.
    pub fn record(&mut self, start: f64, end: f64, amounts: Amounts) {
        if !end.is_finite() {
            return;
        }
        let end = end.clamp(-MAX_TIME, MAX_TIME);
        let start = if start.is_finite() && start < end {
            start.max(-MAX_TIME)
        } else {
            end
        };
        self.split_msgs |= amounts.msgs_rx.is_some();
        self.split_bytes |= amounts.bytes_rx.is_some();
        let clean = Clean::new(&amounts);
        for w in Window::ALL {
            self.tiers[w.index()].record(w.resolution(), start, end, &clean);
        }
    }

    /// Whether any cycle came with the received/sent split; without it the UI hides the rx and
    /// tx charts, which read 0.
    pub fn has_split(&self) -> bool {
        self.split_msgs || self.split_bytes
    }

    /// Whether `channel` has data: rx and tx channels need the split (of messages or of
    /// bytes); totals and cycles always have it.
    pub fn has_channel(&self, channel: Channel) -> bool {
        match channel {
            Channel::MsgsRx | Channel::MsgsTx => self.split_msgs,
            Channel::BytesRx | Channel::BytesTx => self.split_bytes,
            Channel::Msgs | Channel::Bytes | Channel::Cycles => true,
        }
    }

    /// Adds the per-second rates of `channel` into `acc`, oldest first, its last element being
    /// the last complete bucket of `window` before `now` (the bucket holding `now` is still
    /// filling); buckets never recorded read 0. With `acc` of [`POINTS`] elements this is the
    /// window; sum several series into one buffer for a group or the aggregate.
    pub fn add_rates_into(&self, window: Window, channel: Channel, now: f64, acc: &mut [f64]) {
        if !now.is_finite() || !self.has_channel(channel) {
            return;
        }
        let res = window.resolution();
        let last = (now.clamp(-MAX_TIME, MAX_TIME) / res).floor() as i64 - 1;
        self.tiers[window.index()].add_rates_into(res, channel, last, acc);
    }

    /// Writes the window's [`POINTS`] per-second rates of `channel` into `out` (cleared
    /// first), oldest first, as [`add_rates_into`](Series::add_rates_into).
    pub fn rates_into(&self, window: Window, channel: Channel, now: f64, out: &mut Vec<f64>) {
        out.clear();
        out.resize(POINTS, 0.0);
        self.add_rates_into(window, channel, now, out);
    }

    /// The window's [`POINTS`] per-second rates of `channel`, oldest first, as
    /// [`add_rates_into`](Series::add_rates_into).
    pub fn rates(&self, window: Window, channel: Channel, now: f64) -> Vec<f64> {
        let mut out = Vec::with_capacity(POINTS);
        self.rates_into(window, channel, now, &mut out);
        out
    }

    /// The window's current rate, range and total of `channel`.
    pub fn summary(&self, window: Window, channel: Channel, now: f64) -> Summary {
        let mut rates = [0.0; POINTS];
        self.add_rates_into(window, channel, now, &mut rates);
        summarize(&rates, window)
    }

    /// The bytes this series holds, itself and its buckets: under 4 KB when full in `f32`.
    pub fn memory(&self) -> usize {
        let heap: usize = self
            .tiers
            .iter()
            .map(|t| t.buckets.capacity() * std::mem::size_of::<Bucket<S>>())
            .sum();
        std::mem::size_of::<Self>() + heap
    }
}

/// The [`Summary`] of a window's rates (as from [`Series::rates`] or summed with
/// [`Series::add_rates_into`]), oldest first; all zero when `rates` is empty.
pub fn summarize(rates: &[f64], window: Window) -> Summary {
    let Some(&current) = rates.last() else {
        return Summary::default();
    };
    let (min, max, sum) = rates.iter().fold(
        (f64::INFINITY, f64::NEG_INFINITY, 0.0),
        |(lo, hi, s), &r| (lo.min(r), hi.max(r), s + r),
    );
    Summary {
        current,
        min,
        max,
        total: sum * window.resolution(),
    }
}

/// Fits `values` to `width` chart columns: each column averages the values it covers when
/// narrower, repeats the nearest value when wider.
pub fn resample(values: &[f64], width: usize) -> Vec<f64> {
    let n = values.len();
    if n == 0 {
        return vec![0.0; width];
    }
    (0..width)
        .map(|c| {
            if width >= n {
                values[c * n / width]
            } else {
                let part = &values[c * n / width..(c + 1) * n / width];
                part.iter().sum::<f64>() / part.len() as f64
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    const M: Channel = Channel::Msgs;

    /// Steady traffic: one 1-s cycle a second of `msgs` messages, ending at 1, 2, …, `secs`.
    fn steady(secs: u32, msgs: f64) -> Series {
        let mut s = Series::new();
        for i in 1..=secs {
            let t = f64::from(i);
            s.record(
                t - 1.0,
                t,
                Amounts::split(msgs / 4.0, msgs * 0.75, 10.0, 30.0),
            );
        }
        s
    }

    fn nonzero(v: &[f64]) -> Vec<(usize, f64)> {
        v.iter()
            .copied()
            .enumerate()
            .filter(|&(_, r)| r != 0.0)
            .collect()
    }

    #[test]
    fn a_cycle_is_split_at_bucket_boundaries() {
        let mut s = Series::new();
        s.record(9.5, 10.5, Amounts::total(100.0, 1000.0));
        // At now = 11 the last complete bucket is 10 (index 59), bucket 9 is index 58.
        let r = s.rates(Window::OneMinute, M, 11.2);
        assert_eq!(r.len(), POINTS);
        assert_eq!(nonzero(&r), vec![(58, 50.0), (59, 50.0)]);
        let b = s.rates(Window::OneMinute, Channel::Bytes, 11.2);
        assert_eq!(nonzero(&b), vec![(58, 500.0), (59, 500.0)]);
        // The cycle counts in the bucket of its end only.
        let c = s.rates(Window::OneMinute, Channel::Cycles, 11.2);
        assert_eq!(nonzero(&c), vec![(59, 1.0)]);
        // Both halves fall in the 5-s bucket 5..10 and 10..15.
        let r5 = s.rates(Window::FiveMinutes, M, 15.0);
        assert_eq!(nonzero(&r5), vec![(58, 50.0 / 5.0), (59, 50.0 / 5.0)]);
    }

    #[test]
    fn a_short_cycle_lands_in_one_bucket() {
        let mut s = Series::new();
        s.record(10.3, 10.5, Amounts::total(100.0, 0.0));
        assert_eq!(
            nonzero(&s.rates(Window::OneMinute, M, 11.0)),
            vec![(59, 100.0)]
        );
        // Zero-length: all into the bucket of `end`.
        let mut z = Series::new();
        z.record(7.0, 7.0, Amounts::total(30.0, 0.0));
        assert_eq!(
            nonzero(&z.rates(Window::OneMinute, M, 8.0)),
            vec![(59, 30.0)]
        );
    }

    #[test]
    fn the_filling_bucket_is_left_out() {
        let mut s = Series::new();
        s.record(10.0, 10.5, Amounts::total(100.0, 0.0));
        assert!(nonzero(&s.rates(Window::OneMinute, M, 10.9)).is_empty());
        assert_eq!(
            nonzero(&s.rates(Window::OneMinute, M, 11.0)),
            vec![(59, 100.0)]
        );
        assert_eq!(
            nonzero(&s.rates(Window::OneMinute, M, 12.0)),
            vec![(58, 100.0)]
        );
    }

    #[test]
    fn steady_traffic_reads_the_same_rate_in_every_window() {
        let s = steady(600, 20.0);
        let now = 600.5;
        for w in [Window::OneMinute, Window::FiveMinutes] {
            let r = s.rates(w, M, now);
            assert_eq!(r, vec![20.0; POINTS], "{}", w.label());
            let c = s.rates(w, Channel::Cycles, now);
            assert_eq!(c, vec![1.0; POINTS], "{}", w.label());
        }
        // Ten minutes fill 40 of the 15-minute view's buckets, each the steady rate; its first
        // bucket, 0..15, misses the cycle that would have ended at 0.
        let r = s.rates(Window::FifteenMinutes, M, now);
        assert_eq!(r[..20], [0.0; 20]);
        assert_eq!(r[20..], [20.0; 40]);
        let c = s.rates(Window::FifteenMinutes, Channel::Cycles, now);
        assert_eq!(c[20], f64::from(14.0f32) / 15.0);
        assert_eq!(c[21..], [1.0; 39]);
        let sum = s.summary(Window::FiveMinutes, M, now);
        assert_eq!(sum.total, 20.0 * 300.0);
    }

    #[test]
    fn rx_and_tx_are_derived() {
        let s = steady(100, 20.0);
        let now = 100.0;
        assert!(s.has_split());
        assert_eq!(
            s.rates(Window::OneMinute, Channel::MsgsRx, now),
            vec![5.0; POINTS]
        );
        assert_eq!(
            s.rates(Window::OneMinute, Channel::MsgsTx, now),
            vec![15.0; POINTS]
        );
        assert_eq!(
            s.rates(Window::OneMinute, Channel::BytesRx, now),
            vec![10.0; POINTS]
        );
        assert_eq!(
            s.rates(Window::OneMinute, Channel::BytesTx, now),
            vec![30.0; POINTS]
        );
        assert_eq!(
            s.rates(Window::OneMinute, Channel::Bytes, now),
            vec![40.0; POINTS]
        );

        let mut t = Series::new();
        t.record(0.0, 1.0, Amounts::total(10.0, 100.0));
        assert!(!t.has_split());
        assert!(!t.has_channel(Channel::BytesTx));
        assert_eq!(
            t.rates(Window::OneMinute, Channel::MsgsTx, 2.0),
            vec![0.0; POINTS]
        );
        assert_eq!(t.rates(Window::OneMinute, Channel::Msgs, 1.0)[59], 10.0);
    }

    #[test]
    fn summary_has_current_min_max_and_total() {
        let mut s = Series::new();
        for (t, m) in [(1.0, 4.0), (2.0, 9.0), (3.0, 6.0)] {
            s.record(t - 1.0, t, Amounts::total(m, 0.0));
        }
        let sum = s.summary(Window::OneMinute, M, 3.5);
        assert_eq!(
            sum,
            Summary {
                current: 6.0,
                min: 0.0,
                max: 9.0,
                total: 19.0
            }
        );
        assert_eq!(summarize(&[], Window::OneMinute), Summary::default());
    }

    #[test]
    fn a_long_gap_resets_the_rings() {
        let mut s = steady(100, 20.0);
        s.record(7299.0, 7300.0, Amounts::total(5.0, 0.0));
        for t in &s.tiers {
            assert!(t.buckets.capacity() <= KEPT);
            // Only the new cycle's buckets are held: its own and the one of its end.
            assert!(t.buckets.len() <= 2, "{}", t.buckets.len());
        }
        let r = s.rates(Window::OneMinute, M, 7301.0);
        assert_eq!(nonzero(&r), vec![(58, 5.0)]);
        assert_eq!(
            s.rates(Window::OneMinute, M, 7301.0 - 60.0),
            vec![0.0; POINTS]
        );
    }

    #[test]
    fn a_cycle_longer_than_a_tier_fills_only_what_it_keeps() {
        let mut s = Series::new();
        // 20 minutes, 1200 s, at 3 messages a second.
        s.record(0.0, 1200.0, Amounts::total(3600.0, 0.0));
        for (w, t) in Window::ALL.iter().zip(&s.tiers) {
            assert_eq!(t.buckets.len(), KEPT, "{}", w.label());
            // The newest bucket holds nothing: the cycle ends on its boundary.
            let kept: f64 = t.buckets.iter().map(|b| f64::from(b.msgs)).sum();
            assert_eq!(
                kept,
                3.0 * (KEPT - 1) as f64 * w.resolution(),
                "{}",
                w.label()
            );
            let r = s.rates(*w, M, 1200.0);
            assert_eq!(r, vec![3.0; POINTS], "{}", w.label());
        }
    }

    #[test]
    fn out_of_order_cycles_fill_older_buckets_or_are_dropped() {
        let mut s = steady(100, 0.0);
        s.record(49.0, 50.0, Amounts::total(7.0, 0.0));
        assert_eq!(s.rates(Window::OneMinute, M, 51.0)[58], 7.0);
        // Older than the 1-s ring keeps: dropped there, kept by the 15-s ring.
        s.record(9.0, 10.0, Amounts::total(30.0, 0.0));
        assert_eq!(s.rates(Window::OneMinute, M, 11.0), vec![0.0; POINTS]);
        assert_eq!(s.rates(Window::FifteenMinutes, M, 15.0)[59], 2.0);
    }

    #[test]
    fn add_rates_into_sums_series() {
        let a = steady(100, 20.0);
        let b = steady(90, 4.0);
        let mut acc = vec![0.0; POINTS];
        a.add_rates_into(Window::OneMinute, M, 100.0, &mut acc);
        b.add_rates_into(Window::OneMinute, M, 100.0, &mut acc);
        let mut want = vec![24.0; POINTS];
        want[50..].fill(20.0);
        assert_eq!(acc, want);
        let mut out = vec![1.0; 3];
        a.rates_into(Window::OneMinute, M, 100.0, &mut out);
        assert_eq!(out, vec![20.0; POINTS]);
    }

    #[test]
    fn resample_narrower_and_wider() {
        let v: Vec<f64> = (0..6).map(f64::from).collect();
        assert_eq!(resample(&v, 3), vec![0.5, 2.5, 4.5]);
        assert_eq!(
            resample(&v, 12),
            vec![0., 0., 1., 1., 2., 2., 3., 3., 4., 4., 5., 5.]
        );
        assert_eq!(resample(&v, 6), v);
        assert_eq!(resample(&v, 0), Vec::<f64>::new());
        assert_eq!(resample(&[], 2), vec![0.0, 0.0]);
        assert_eq!(resample(&v, 4), vec![0.0, 1.5, 3.0, 4.5]);
    }

    #[test]
    fn bad_inputs_do_not_panic() {
        let mut s = Series::new();
        let bad = [
            f64::NAN,
            f64::INFINITY,
            f64::NEG_INFINITY,
            -5.0,
            1e300,
            -1e300,
        ];
        for &x in &bad {
            for &y in &bad {
                s.record(x, y, Amounts::split(x, y, x, y));
                s.record(x, 10.0, Amounts::total(x, y));
                let _ = s.rates(Window::FiveMinutes, Channel::BytesTx, x);
                let _ = s.summary(Window::FifteenMinutes, Channel::MsgsTx, y);
            }
        }
        // Inverted: treated as zero-length at `end`.
        let mut t = Series::new();
        t.record(20.0, 10.2, Amounts::total(8.0, -3.0));
        assert_eq!(
            nonzero(&t.rates(Window::OneMinute, M, 11.0)),
            vec![(59, 8.0)]
        );
        assert!(nonzero(&t.rates(Window::OneMinute, Channel::Bytes, 11.0)).is_empty());
        // rx above the total is clamped to it.
        t.record(
            11.0,
            11.5,
            Amounts {
                msgs: 2.0,
                bytes: 0.0,
                msgs_rx: Some(9.0),
                bytes_rx: None,
            },
        );
        assert_eq!(t.rates(Window::OneMinute, Channel::MsgsRx, 12.0)[59], 2.0);
        assert_eq!(t.rates(Window::OneMinute, Channel::MsgsTx, 12.0)[59], 0.0);
    }

    #[test]
    fn memory_is_bounded_and_lazy() {
        let short = steady(10, 1.0);
        assert!(short.tiers[0].buckets.capacity() <= 16);
        assert!(short.tiers[2].buckets.capacity() <= 4);
        assert_eq!(Series::new().memory(), std::mem::size_of::<Series>());

        let mut s = steady(1800, 20.0);
        // Keep recording, with uneven cycles, to check the rings do not grow past full.
        for i in 0..1000 {
            let t = 1800.0 + f64::from(i) * 0.7;
            s.record(t - 0.7, t, Amounts::total(1.0, 1.0));
        }
        for t in &s.tiers {
            assert_eq!(t.buckets.len(), KEPT);
            assert_eq!(t.buckets.capacity(), KEPT);
        }
        assert_eq!(std::mem::size_of::<Bucket<f32>>(), 20);
        assert!(s.memory() <= 4096, "{} bytes", s.memory());
    }

    #[test]
    fn a_precise_series_keeps_small_additions() {
        let mut s = Series::new();
        let mut p = Series::precise();
        let big = f64::from(1u32 << 24);
        s.record(5.0, 5.0, Amounts::total(big, 0.0));
        p.record(5.0, 5.0, Amounts::total(big, 0.0));
        for _ in 0..1000 {
            s.record(5.5, 5.5, Amounts::total(1.0, 0.0));
            p.record(5.5, 5.5, Amounts::total(1.0, 0.0));
        }
        // The f32 bucket cannot count past 2^24 in ones; the f64 one can.
        assert_eq!(s.rates(Window::OneMinute, M, 6.0)[59], big);
        assert_eq!(p.rates(Window::OneMinute, M, 6.0)[59], big + 1000.0);
        assert_eq!(p.rates(Window::OneMinute, Channel::Cycles, 6.0)[59], 1001.0);
    }

    #[test]
    fn windows() {
        assert_eq!(Window::default(), Window::OneMinute);
        assert_eq!(Window::OneMinute.wider(), Window::FiveMinutes);
        assert_eq!(Window::FifteenMinutes.wider(), Window::FifteenMinutes);
        assert_eq!(Window::OneMinute.narrower(), Window::OneMinute);
        assert_eq!(Window::FifteenMinutes.narrower(), Window::FiveMinutes);
        let spans: Vec<f64> = Window::ALL.iter().map(|w| w.span()).collect();
        assert_eq!(spans, vec![60.0, 300.0, 900.0]);
        let labels: Vec<&str> = Window::ALL.iter().map(|w| w.label()).collect();
        assert_eq!(labels, vec!["1m", "5m", "15m"]);
    }
}
