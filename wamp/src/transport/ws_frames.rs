//! Where the incoming bytes of a WebSocket connection are in its frames, so that a frame that
//! stops arriving half-way can be timed ([`super::TransportError::Stalled`]), as RawSocket's
//! are: tungstenite reads frames inside its own stream and tells nothing of a partial one.
//!
//! A [`Watcher`] sees every byte the server reads, from the first of the HTTP upgrade request:
//! it skips the request (up to its blank line), then follows each frame's header (2 to 14
//! bytes: lengths of 7, 16 or 64 bits and the client's mask) and payload. What it finds is
//! [`Progress`], shared with the reader.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

/// What the reader sees of a connection's frames.
#[derive(Debug, Default)]
pub struct Progress {
    /// Bytes read since the connection began.
    bytes: AtomicU64,
    /// Whether the bytes read end inside a frame.
    mid_frame: AtomicBool,
    /// The bytes of the current frame read so far (when `mid_frame`).
    frame_bytes: AtomicU64,
}

impl Progress {
    /// Bytes read since the connection began.
    pub fn bytes(&self) -> u64 {
        self.bytes.load(Ordering::Relaxed)
    }

    /// The bytes of a frame begun and not finished, if the bytes read end inside one.
    pub fn partial_frame(&self) -> Option<u64> {
        self.mid_frame
            .load(Ordering::Relaxed)
            .then(|| self.frame_bytes.load(Ordering::Relaxed))
    }
}

/// Where the bytes are.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    /// In the HTTP request; the last four bytes seen, to find its end (`\r\n\r\n`).
    Http { last4: u32 },
    /// In a frame header: `have` of its bytes so far.
    Header { head: [u8; 14], have: usize },
    /// In a payload: `left` bytes of it to come (`done` read).
    Payload { left: u64, done: u64 },
}

/// Follows the bytes of one connection (owned by its stream's reading side).
#[derive(Debug)]
pub struct Watcher {
    state: State,
    progress: Arc<Progress>,
}

impl Watcher {
    /// A watcher at the start of a connection, and the progress it reports.
    pub fn new() -> (Watcher, Arc<Progress>) {
        let progress = Arc::new(Progress::default());
        let w = Watcher {
            state: State::Http { last4: 0 },
            progress: progress.clone(),
        };
        (w, progress)
    }

    /// Takes in the next bytes read.
    pub fn feed(&mut self, mut bytes: &[u8]) {
        self.progress
            .bytes
            .fetch_add(bytes.len() as u64, Ordering::Relaxed);
        while !bytes.is_empty() {
            bytes = self.step(bytes);
        }
        let (mid, so_far) = match self.state {
            State::Http { .. } | State::Header { have: 0, .. } => (false, 0),
            State::Header { have, .. } => (true, have as u64),
            State::Payload { done, .. } => (true, done),
        };
        self.progress.mid_frame.store(mid, Ordering::Relaxed);
        self.progress.frame_bytes.store(so_far, Ordering::Relaxed);
    }

    /// Consumes what the current state takes of `bytes`; returns the rest.
    fn step<'a>(&mut self, bytes: &'a [u8]) -> &'a [u8] {
        match &mut self.state {
            State::Http { last4 } => {
                for (i, &b) in bytes.iter().enumerate() {
                    *last4 = (*last4 << 8) | u32::from(b);
                    if *last4 == u32::from_be_bytes(*b"\r\n\r\n") {
                        self.state = State::Header {
                            head: [0; 14],
                            have: 0,
                        };
                        return &bytes[i + 1..];
                    }
                }
                &[]
            }
            State::Header { head, have } => {
                let mut rest = bytes;
                while let Some((&b, tail)) = rest.split_first() {
                    head[*have] = b;
                    *have += 1;
                    rest = tail;
                    if let Some(len) = payload_length(&head[..*have]) {
                        self.state = if len == 0 {
                            State::Header {
                                head: [0; 14],
                                have: 0,
                            }
                        } else {
                            State::Payload { left: len, done: 0 }
                        };
                        return rest;
                    }
                }
                rest
            }
            State::Payload { left, done } => {
                let n = (*left).min(bytes.len() as u64);
                *left -= n;
                *done += n;
                if *left == 0 {
                    self.state = State::Header {
                        head: [0; 14],
                        have: 0,
                    };
                }
                &bytes[n as usize..]
            }
        }
    }
}

/// The payload length a complete frame header `head` gives; `None` while it is incomplete.
fn payload_length(head: &[u8]) -> Option<u64> {
    let second = *head.get(1)?;
    let masked = second & 0x80 != 0;
    let (extended, len7) = match second & 0x7F {
        126 => (2, None),
        127 => (8, None),
        n => (0, Some(u64::from(n))),
    };
    let need = 2 + extended + if masked { 4 } else { 0 };
    if head.len() < need {
        return None;
    }
    Some(len7.unwrap_or_else(|| {
        head[2..2 + extended]
            .iter()
            .fold(0u64, |acc, &b| (acc << 8) | u64::from(b))
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    const REQUEST: &[u8] = b"GET /ws HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\n\r\n";

    /// A masked client frame of `payload`.
    fn frame(payload: &[u8]) -> Vec<u8> {
        let mut f = vec![0x82];
        match payload.len() {
            n if n < 126 => f.push(0x80 | n as u8),
            n if n <= 0xFFFF => {
                f.push(0x80 | 126);
                f.extend_from_slice(&(n as u16).to_be_bytes());
            }
            n => {
                f.push(0x80 | 127);
                f.extend_from_slice(&(n as u64).to_be_bytes());
            }
        }
        f.extend_from_slice(&[1, 2, 3, 4]);
        f.extend_from_slice(payload);
        f
    }

    /// Feeds `bytes` in chunks of `chunk`, returning the partial frame after each.
    fn partial_after(bytes: &[u8], chunk: usize) -> Option<u64> {
        let (mut w, p) = Watcher::new();
        for c in bytes.chunks(chunk) {
            w.feed(c);
        }
        assert_eq!(p.bytes(), bytes.len() as u64);
        p.partial_frame()
    }

    #[test]
    fn whole_frames_leave_nothing_partial_in_any_chunking() {
        let mut bytes = REQUEST.to_vec();
        for payload in [&b""[..], b"[1]", &[7u8; 200], &[9u8; 70_000]] {
            bytes.extend(frame(payload));
        }
        for chunk in [1, 2, 3, 7, 13, 100, 4096, bytes.len()] {
            assert_eq!(partial_after(&bytes, chunk), None, "chunks of {chunk}");
        }
    }

    #[test]
    fn a_frame_cut_anywhere_is_partial_with_its_bytes_so_far() {
        let whole = frame(&[5u8; 300]);
        for cut in 1..whole.len() {
            let mut bytes = REQUEST.to_vec();
            bytes.extend(frame(b"[1]"));
            bytes.extend(&whole[..cut]);
            let header = 2 + 2 + 4;
            let expected = if cut < header { cut } else { cut - header } as u64;
            for chunk in [1, 5, bytes.len()] {
                assert_eq!(
                    partial_after(&bytes, chunk),
                    Some(expected),
                    "cut at {cut}, chunks of {chunk}"
                );
            }
        }
    }

    proptest::proptest! {
        /// Any bytes, in any chunks: no panic, and the same progress however they were cut.
        #[test]
        fn progress_does_not_depend_on_chunking(
            bytes in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..400),
            chunk in 1usize..50,
        ) {
            let mut all = REQUEST.to_vec();
            all.extend(bytes);
            let whole = partial_after(&all, all.len());
            proptest::prop_assert_eq!(partial_after(&all, chunk), whole);
        }
    }

    #[test]
    fn the_request_itself_is_never_a_partial_frame() {
        for cut in 0..REQUEST.len() {
            assert_eq!(partial_after(&REQUEST[..cut], 3), None);
        }
    }
}
