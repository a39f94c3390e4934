//! Live heap and RSS of an in-process router, printed every second, to see what an idle
//! session costs (connect sessions from another process, e.g.
//! `wamp-loadgen --url rs://… idle --sessions 10000`).
//!
//! ```text
//! cargo run --release -p wamp-router --example idle_heap
//! TRACE_LO=2048 TRACE_HI=4096 cargo run --release -p wamp-router --example idle_heap
//! ```
//! With `TRACE_LO` and `TRACE_HI`, the first 40 allocations of a size in (LO, HI] print a
//! backtrace on standard error: how the large per-session blocks were found.

// A global allocator is an unsafe trait; the only unsafe code in the workspace.
#![allow(unsafe_code)]

use std::alloc::{GlobalAlloc, Layout};
use std::sync::atomic::{AtomicIsize, Ordering};
use std::time::Duration;

use wamp_router::config::Config;
use wamp_router::{Router, RouterOptions};

/// mimalloc (as the router binary) counting the bytes and blocks currently allocated.
struct Counting;

static LIVE_BYTES: AtomicIsize = AtomicIsize::new(0);
static LIVE_BLOCKS: AtomicIsize = AtomicIsize::new(0);
/// Live blocks by size class: bucket `i` holds sizes in (2^(i-1), 2^i].
static BY_SIZE: [AtomicIsize; 32] = [const { AtomicIsize::new(0) }; 32];

fn bucket(size: usize) -> usize {
    (usize::BITS - size.saturating_sub(1).leading_zeros()).min(31) as usize
}

thread_local! { static INSIDE: std::cell::Cell<bool> = const { std::cell::Cell::new(false) }; }
static LO: AtomicIsize = AtomicIsize::new(isize::MAX);
static HI: AtomicIsize = AtomicIsize::new(0);
static TRACED: AtomicIsize = AtomicIsize::new(0);
/// Prints a backtrace for an allocation of `size` bytes if it is in the traced range.
fn trace(size: usize) {
    let lo = LO.load(Ordering::Relaxed) as usize;
    let hi = HI.load(Ordering::Relaxed) as usize;
    if size > lo
        && size <= hi
        && !INSIDE.with(|i| i.get())
        && TRACED.fetch_add(1, Ordering::Relaxed) < 40
    {
        INSIDE.with(|i| i.set(true));
        eprintln!(
            "ALLOC {size}: {}",
            std::backtrace::Backtrace::force_capture()
        );
        INSIDE.with(|i| i.set(false));
    }
}

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        trace(layout.size());
        LIVE_BYTES.fetch_add(layout.size() as isize, Ordering::Relaxed);
        LIVE_BLOCKS.fetch_add(1, Ordering::Relaxed);
        BY_SIZE[bucket(layout.size())].fetch_add(1, Ordering::Relaxed);
        // SAFETY: forwarded unchanged.
        unsafe { mimalloc::MiMalloc.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        LIVE_BYTES.fetch_sub(layout.size() as isize, Ordering::Relaxed);
        LIVE_BLOCKS.fetch_sub(1, Ordering::Relaxed);
        BY_SIZE[bucket(layout.size())].fetch_sub(1, Ordering::Relaxed);
        // SAFETY: forwarded unchanged.
        unsafe { mimalloc::MiMalloc.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        trace(new_size);
        LIVE_BYTES.fetch_add(
            new_size as isize - layout.size() as isize,
            Ordering::Relaxed,
        );
        BY_SIZE[bucket(layout.size())].fetch_sub(1, Ordering::Relaxed);
        BY_SIZE[bucket(new_size)].fetch_add(1, Ordering::Relaxed);
        // SAFETY: forwarded unchanged.
        unsafe { mimalloc::MiMalloc.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

fn rss_kib() -> i64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmRSS:"))
                .and_then(|l| l.split_whitespace().nth(1).and_then(|v| v.parse().ok()))
        })
        .unwrap_or(0)
}

fn main() -> anyhow::Result<()> {
    if let (Ok(lo), Ok(hi)) = (std::env::var("TRACE_LO"), std::env::var("TRACE_HI")) {
        LO.store(lo.parse()?, Ordering::Relaxed);
        HI.store(hi.parse()?, Ordering::Relaxed);
    }
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    rt.block_on(async {
        let config = Config::embedded_default().config.on_free_loopback_ports();
        let router = Router::start(config, RouterOptions::default()).await?;
        println!(
            "router at {} and {}",
            router.rawsocket_url().unwrap_or_default(),
            router.websocket_url().unwrap_or_default()
        );
        loop {
            tokio::time::sleep(Duration::from_secs(1)).await;
            println!(
                "heap {} KiB in {} blocks, RSS {} KiB",
                LIVE_BYTES.load(Ordering::Relaxed) / 1024,
                LIVE_BLOCKS.load(Ordering::Relaxed),
                rss_kib()
            );
            let classes: Vec<String> = BY_SIZE
                .iter()
                .enumerate()
                .filter(|(_, n)| n.load(Ordering::Relaxed) > 100)
                .map(|(i, n)| format!("≤{}: {}", 1usize << i, n.load(Ordering::Relaxed)))
                .collect();
            println!("  live blocks by size: {}", classes.join(", "));
        }
    })
}
