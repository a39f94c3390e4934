//! The raw ceiling: the 1 → N fan-out of the benchmark pushed through a relay that does no
//! WAMP at all — it reads length-prefixed frames (TCP) or binary messages (WebSocket, with
//! tokio-tungstenite) from one publisher and writes each to every subscriber. What the router
//! delivers, compared with this, is what routing, serialization and statistics cost.
//!
//! ```text
//! cargo run --release -p wamp-loadgen --example raw_fanout -- --transport tcp
//! ```
//! The relay runs on one thread, the clients on `--client-threads` (as the benchmark runs the
//! router and the load generator). The publisher stays at most `--window` frames per
//! subscriber ahead of what subscribers received, so no queue grows without bound.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use anyhow::Context as _;
use bytes::Bytes;
use clap::{Parser, ValueEnum};
use futures_util::{SinkExt, StreamExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{Notify, mpsc};
use tokio_tungstenite::tungstenite::Message;
use tokio_util::codec::{Framed, LengthDelimitedCodec};

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Transport {
    Tcp,
    Ws,
}

/// Frames/s delivered through a relay without routing.
#[derive(Debug, Parser)]
struct Args {
    #[arg(long, value_enum, default_value = "tcp")]
    transport: Transport,
    /// Subscribers.
    #[arg(long, default_value_t = 10)]
    subscribers: usize,
    /// Bytes per frame.
    #[arg(long, default_value_t = 110)]
    frame: usize,
    /// Seconds measured per run (after a 1 s warm-up).
    #[arg(long, default_value_t = 5.0)]
    seconds: f64,
    /// Runs; the median is reported.
    #[arg(long, default_value_t = 3)]
    runs: usize,
    /// Frames in flight per subscriber.
    #[arg(long, default_value_t = 2000)]
    window: u64,
    /// Worker threads of the clients.
    #[arg(long, default_value_t = 2)]
    client_threads: usize,
}

/// Outbound queue per subscriber in the relay (as the router's).
const QUEUE: usize = 8192;

fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let listener = std::net::TcpListener::bind("127.0.0.1:0")?;
    listener.set_nonblocking(true)?;
    let addr = listener.local_addr()?;
    let transport = args.transport;
    std::thread::Builder::new()
        .name("relay".into())
        .spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("the relay's runtime");
            rt.block_on(async move {
                let listener = TcpListener::from_std(listener).expect("a tokio listener");
                relay(listener, transport).await;
            });
        })?;
    let clients = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(args.client_threads.max(1))
        .enable_all()
        .build()?;
    let mut rates = clients.block_on(async {
        let mut rates = Vec::new();
        for run in 1..=args.runs {
            let (r, cpu) = measure(&args, &addr.to_string()).await?;
            println!("run {run}: {r:.0} frames/s delivered, relay thread {cpu:.0}% of a core");
            rates.push(r);
        }
        anyhow::Ok(rates)
    })?;
    rates.sort_by(f64::total_cmp);
    println!(
        "raw fanout 1->{} {:?} frame {} B: median {:.0} frames/s delivered ({} runs of {} s)",
        args.subscribers,
        args.transport,
        args.frame,
        rates[rates.len() / 2],
        args.runs,
        args.seconds
    );
    Ok(())
}

/// The relay: each connection says whether it publishes (`P`) or subscribes (`S`); every frame
/// a publisher sends goes to every subscriber connected at that time.
async fn relay(listener: TcpListener, transport: Transport) {
    let subscribers: Arc<std::sync::Mutex<Vec<mpsc::Sender<Bytes>>>> = Arc::default();
    while let Ok((stream, _)) = listener.accept().await {
        let _ = stream.set_nodelay(true);
        let subscribers = Arc::clone(&subscribers);
        tokio::spawn(async move {
            let result = match transport {
                Transport::Tcp => relay_tcp(stream, subscribers).await,
                Transport::Ws => relay_ws(stream, subscribers).await,
            };
            // Connections end abruptly when a run is over; nothing to report.
            drop(result);
        });
    }
}

type Subscribers = Arc<std::sync::Mutex<Vec<mpsc::Sender<Bytes>>>>;

/// The subscribers connected now (the publisher connects after them).
fn targets(subscribers: &Subscribers) -> Vec<mpsc::Sender<Bytes>> {
    subscribers
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .clone()
}

async fn forward(frame: Bytes, targets: &[mpsc::Sender<Bytes>]) {
    for s in targets {
        let _ = s.send(frame.clone()).await;
    }
}

fn subscribe(subscribers: &Subscribers) -> mpsc::Receiver<Bytes> {
    let (tx, rx) = mpsc::channel(QUEUE);
    subscribers
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .push(tx);
    rx
}

/// Waits for a frame, yields once (so that frames about to be queued join this write, as the
/// router's writer does), then takes what is queued, up to 512 frames. `false` at the end.
async fn next_batch(rx: &mut mpsc::Receiver<Bytes>, batch: &mut Vec<Bytes>) -> bool {
    let Some(first) = rx.recv().await else {
        return false;
    };
    batch.push(first);
    tokio::task::yield_now().await;
    while batch.len() < 512 {
        match rx.try_recv() {
            Ok(f) => batch.push(f),
            Err(_) => break,
        }
    }
    true
}

async fn relay_tcp(stream: TcpStream, subscribers: Subscribers) -> anyhow::Result<()> {
    let mut framed = Framed::new(stream, LengthDelimitedCodec::new());
    let role = framed.next().await.context("no role")??;
    if role.as_ref() == b"P" {
        let targets = targets(&subscribers);
        while let Some(frame) = framed.next().await {
            forward(frame?.freeze(), &targets).await;
        }
    } else {
        let mut rx = subscribe(&subscribers);
        let mut batch = Vec::new();
        while next_batch(&mut rx, &mut batch).await {
            for f in batch.drain(..) {
                framed.feed(f).await?;
            }
            SinkExt::<Bytes>::flush(&mut framed).await?;
        }
    }
    Ok(())
}

async fn relay_ws(stream: TcpStream, subscribers: Subscribers) -> anyhow::Result<()> {
    let mut ws = tokio_tungstenite::accept_async(stream).await?;
    let role = ws.next().await.context("no role")??;
    if role.into_data().as_ref() == b"P" {
        let targets = targets(&subscribers);
        while let Some(m) = ws.next().await {
            if let Message::Binary(b) = m? {
                forward(b, &targets).await;
            }
        }
    } else {
        let mut rx = subscribe(&subscribers);
        let mut batch = Vec::new();
        while next_batch(&mut rx, &mut batch).await {
            for f in batch.drain(..) {
                ws.feed(Message::Binary(f)).await?;
            }
            ws.flush().await?;
        }
    }
    Ok(())
}

/// A client connection: sends frames, receives frames.
enum Client {
    Tcp(Framed<TcpStream, LengthDelimitedCodec>),
    Ws(Box<tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<TcpStream>>>),
}

impl Client {
    async fn connect(
        addr: &str,
        transport: Transport,
        role: &'static [u8],
    ) -> anyhow::Result<Self> {
        let mut c = match transport {
            Transport::Tcp => {
                let s = TcpStream::connect(addr).await?;
                s.set_nodelay(true)?;
                Client::Tcp(Framed::new(s, LengthDelimitedCodec::new()))
            }
            Transport::Ws => {
                let (ws, _) = tokio_tungstenite::connect_async(format!("ws://{addr}/")).await?;
                Client::Ws(Box::new(ws))
            }
        };
        c.send(Bytes::from_static(role)).await?;
        Ok(c)
    }

    async fn send(&mut self, frame: Bytes) -> anyhow::Result<()> {
        match self {
            Client::Tcp(f) => f.send(frame).await?,
            Client::Ws(w) => w.send(Message::Binary(frame)).await?,
        }
        Ok(())
    }

    async fn feed(&mut self, frame: Bytes) -> anyhow::Result<()> {
        match self {
            Client::Tcp(f) => f.feed(frame).await?,
            Client::Ws(w) => w.feed(Message::Binary(frame)).await?,
        }
        Ok(())
    }

    async fn flush(&mut self) -> anyhow::Result<()> {
        match self {
            Client::Tcp(f) => SinkExt::<Bytes>::flush(f).await?,
            Client::Ws(w) => w.flush().await?,
        }
        Ok(())
    }

    /// Receives until the connection ends, counting frames.
    async fn count(self, received: Arc<AtomicU64>, progress: Arc<Notify>) {
        let mut n = 0u64;
        let tick = |n: &mut u64| {
            *n += 1;
            if n.is_multiple_of(64) {
                received.fetch_add(64, Ordering::Relaxed);
                progress.notify_one();
            }
        };
        match self {
            Client::Tcp(mut f) => {
                while let Some(Ok(_)) = f.next().await {
                    tick(&mut n);
                }
            }
            Client::Ws(mut w) => {
                while let Some(Ok(_)) = w.next().await {
                    tick(&mut n);
                }
            }
        }
    }
}

/// CPU time of this process's thread named `name`, in clock ticks (Linux; 0 elsewhere).
fn thread_ticks(name: &str) -> u64 {
    let Ok(tasks) = std::fs::read_dir("/proc/self/task") else {
        return 0;
    };
    tasks
        .flatten()
        .filter(|t| std::fs::read_to_string(t.path().join("comm")).is_ok_and(|c| c.trim() == name))
        .filter_map(|t| std::fs::read_to_string(t.path().join("stat")).ok())
        .filter_map(|stat| {
            let fields: Vec<u64> = stat
                .rsplit_once(')')?
                .1
                .split_whitespace()
                .filter_map(|f| f.parse().ok())
                .collect();
            // utime and stime are fields 14 and 15 of stat: 11 and 12 after the name.
            Some(fields.get(10)? + fields.get(11)?)
        })
        .sum()
}

/// Clock ticks per second of /proc's CPU times (100 on Linux).
const TICKS_PER_SECOND: f64 = 100.0;

/// Delivered frames per second and the relay thread's CPU share in percent.
async fn measure(args: &Args, addr: &str) -> anyhow::Result<(f64, f64)> {
    let received = Arc::new(AtomicU64::new(0));
    let progress = Arc::new(Notify::new());
    let mut readers = Vec::new();
    for _ in 0..args.subscribers {
        let c = Client::connect(addr, args.transport, b"S").await?;
        readers.push(tokio::spawn(
            c.count(Arc::clone(&received), Arc::clone(&progress)),
        ));
    }
    // Let the relay register every subscriber before publishing.
    tokio::time::sleep(Duration::from_millis(100)).await;
    let mut publisher = Client::connect(addr, args.transport, b"P").await?;
    let frame = Bytes::from(vec![0x5a; args.frame]);
    let subs = args.subscribers as u64;
    let start = Instant::now();
    let mut mark: Option<(Instant, u64, u64)> = None;
    let mut published = 0u64;
    loop {
        let now = Instant::now();
        if mark.is_none() && now - start >= Duration::from_secs(1) {
            mark = Some((now, received.load(Ordering::Relaxed), thread_ticks("relay")));
        }
        if let Some((t0, r0, c0)) = mark
            && now - t0 >= Duration::from_secs_f64(args.seconds)
        {
            let delivered = received.load(Ordering::Relaxed) - r0;
            let secs = (now - t0).as_secs_f64();
            let cpu = (thread_ticks("relay") - c0) as f64 / TICKS_PER_SECOND / secs * 100.0;
            for r in readers {
                r.abort();
            }
            return Ok((delivered as f64 / secs, cpu));
        }
        while published * subs - received.load(Ordering::Relaxed) > args.window * subs {
            let _ = tokio::time::timeout(Duration::from_millis(50), progress.notified()).await;
        }
        for _ in 0..64 {
            publisher.feed(frame.clone()).await?;
        }
        publisher.flush().await?;
        published += 64;
    }
}
