//! `wamp::transport::ws_frames::Watcher`, which follows the frames in the bytes a WebSocket
//! server reads so that a frame stalled half-way can be timed: fed arbitrary bytes in arbitrary
//! chunks, it never panics and says what `wampstat_fuzz::naive_partial_frame`, a parse of the
//! whole buffer at once, says: whether the bytes end inside a frame, and how far into it.
#![no_main]

use libfuzzer_sys::fuzz_target;
use wamp::transport::ws_frames::Watcher;
use wampstat_fuzz::naive_partial_frame;

fuzz_target!(|data: &[u8]| {
    // Input: one octet of chunk size (1 to 64), then the bytes (an HTTP request, then frames).
    let Some((&first, bytes)) = data.split_first() else {
        return;
    };
    let chunk = usize::from(first % 64) + 1;
    let (mut watcher, progress) = Watcher::new();
    for c in bytes.chunks(chunk) {
        watcher.feed(c);
    }
    assert_eq!(progress.bytes(), bytes.len() as u64);
    assert_eq!(
        progress.partial_frame(),
        naive_partial_frame(bytes),
        "chunks of {chunk}"
    );
});
