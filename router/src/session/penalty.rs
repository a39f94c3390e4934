//! Repeated authentication failures from one address are slowed down: the first is answered at
//! once, each further one within a minute waits twice as long as the one before (from 250 ms,
//! at most 2 s) before its ABORT. A success forgets the address. (Unix-socket clients, who have
//! no address, count as one.)

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use wamp::sync::lock;

/// Failures are forgotten after this long without another.
const MEMORY: Duration = Duration::from_secs(60);
/// The delay of the second failure; each later one doubles it.
const FIRST_DELAY: Duration = Duration::from_millis(250);
/// The longest delay.
const MAX_DELAY: Duration = Duration::from_secs(2);
/// Addresses remembered at most (memory stays bounded whatever clients do).
const MAX_PEERS: usize = 10_000;

/// Recent authentication failures by address, for one listener.
#[derive(Debug, Default)]
pub struct Penalties {
    by_peer: Mutex<HashMap<Option<IpAddr>, (u32, Instant)>>,
}

impl Penalties {
    /// Records a failure from `ip`; returns how long to wait before answering it.
    pub fn failed(&self, ip: Option<IpAddr>) -> Duration {
        let now = Instant::now();
        let mut peers = lock(&self.by_peer);
        if peers.len() >= MAX_PEERS {
            peers.retain(|_, (_, last)| now.duration_since(*last) < MEMORY);
            if peers.len() >= MAX_PEERS {
                peers.clear();
            }
        }
        let entry = peers.entry(ip).or_insert((0, now));
        if now.duration_since(entry.1) >= MEMORY {
            entry.0 = 0;
        }
        entry.0 = entry.0.saturating_add(1);
        entry.1 = now;
        match entry.0 {
            1 => Duration::ZERO,
            n => FIRST_DELAY
                .saturating_mul(1 << (n - 2).min(8))
                .min(MAX_DELAY),
        }
    }

    /// `ip` authenticated: its failures are forgotten.
    pub fn succeeded(&self, ip: Option<IpAddr>) {
        lock(&self.by_peer).remove(&ip);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn delays_double_per_failure_up_to_the_cap_and_a_success_resets() {
        let p = Penalties::default();
        let a = Some(IpAddr::from([10, 0, 0, 1]));
        let b = Some(IpAddr::from([10, 0, 0, 2]));
        let ms = |d: Duration| d.as_millis();
        let delays: Vec<u128> = (0..6).map(|_| ms(p.failed(a))).collect();
        assert_eq!(delays, [0, 250, 500, 1000, 2000, 2000]);
        assert_eq!(ms(p.failed(b)), 0, "per address");
        assert_eq!(ms(p.failed(None)), 0, "Unix-socket clients apart");
        p.succeeded(a);
        assert_eq!(ms(p.failed(a)), 0);
    }
}
