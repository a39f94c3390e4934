//! How long a refusal takes, side by side: for each authentication method, the time from HELLO
//! to ABORT for (a) an unknown authid (cryptosign: a key nobody authorized) and (b) a known
//! authid with a wrong secret (cryptosign: the principal's key with a wrong signature). The two
//! should not differ measurably: a client must not learn from the clock which authids exist.
//!
//! ```text
//! cargo run --release -p wamp-router --example auth_refusals -- --attempts 2000
//! ```
//!
//! The router (in-process, RawSocket, JSON) slows down repeated failures from one address
//! (`session/penalty.rs`, keyed on the peer's IP address). Every attempt here therefore comes
//! from a loopback source address of its own (127.x.y.z, all routed to `lo` on Linux), so each
//! one is that address's first failure, answered without delay, exactly as for a client that
//! fails once; the penalty itself is unchanged. Attempts (a) and (b) alternate (in both
//! orders), method by method, round after round, after an unrecorded warm-up.
//!
//! Each attempt reports the total (HELLO sent → ABORT read) and the router's part of it: the
//! total less the client's own work between CHALLENGE and AUTHENTICATE (a salted WAMP-CRA
//! client runs PBKDF2 there, 1,000 iterations, for the real user and for the made-up salt of an
//! unknown one alike).

use std::net::{Ipv4Addr, SocketAddr};
use std::time::{Duration, Instant};

use anyhow::{Context as _, bail};
use clap::Parser;
use tokio::net::TcpSocket;
use wamp::auth::{Credentials, wampcra_derive_key};
use wamp::transport::{Inbound, Outbound, rawsocket};
use wamp::{Dict, Message, Serializer, Value, dict};
use wamp_router::config::{
    AuthConfig, Config, CraUser, Identity, KeyPrincipal, Principal, Salt, Secret,
};
use wamp_router::{Router, RouterOptions};

/// Measures HELLO → ABORT for unknown authids against wrong secrets.
#[derive(Debug, Parser)]
struct Args {
    /// Recorded attempts per method and case.
    #[arg(long, default_value_t = 2000)]
    attempts: usize,
    /// Unrecorded rounds first.
    #[arg(long, default_value_t = 100)]
    warmup: usize,
}

/// The cryptosign principal's key, another key that signs wrongly for it, and a key nobody
/// authorized.
const SEED: [u8; 32] = [3; 32];
const OTHER_SEED: [u8; 32] = [4; 32];
const UNKNOWN_SEED: [u8; 32] = [5; 32];

/// One refused login: who HELLO claims to be, and how the client answers the challenge.
#[derive(Debug, Clone)]
struct Attempt {
    method: &'static str,
    authid: &'static str,
    /// The seed whose public key HELLO announces (cryptosign).
    pubkey_seed: Option<[u8; 32]>,
    /// The credentials the client answers the challenge with (cryptosign: the signing key).
    answer: Credentials,
}

impl Attempt {
    fn hello(&self) -> Message {
        let mut details = dict! {
            "roles" => Value::Dict(dict! {"caller" => Value::Dict(Dict::new())}),
            "authmethods" => Value::List(vec![self.method.into()]),
            "authid" => self.authid,
        };
        if let Some(extra) = self
            .pubkey_seed
            .and_then(|s| Credentials::Cryptosign(s).authextra())
        {
            details.insert("authextra".into(), Value::Dict(extra));
        }
        Message::Hello {
            realm: "realm1".into(),
            details,
        }
    }

    fn signature(&self, authmethod: &str, extra: &Dict) -> anyhow::Result<String> {
        Ok(self.answer.answer(authmethod, extra)?)
    }
}

/// The (a) and (b) attempts of one method, and the router that serves it.
struct Case {
    name: &'static str,
    unknown: Attempt,
    wrong: Attempt,
    router: usize,
}

fn cases() -> Vec<Case> {
    let attempt = |method, authid, answer| Attempt {
        method,
        authid,
        pubkey_seed: None,
        answer,
    };
    let ticket = || Credentials::Ticket("not-the-ticket".into());
    let cra = || Credentials::WampCra("not-the-secret".into());
    vec![
        Case {
            name: "ticket",
            unknown: attempt("ticket", "nobody", ticket()),
            wrong: attempt("ticket", "t", ticket()),
            router: 0,
        },
        Case {
            name: "wampcra",
            unknown: attempt("wampcra", "nobody", cra()),
            wrong: attempt("wampcra", "c", cra()),
            router: 0,
        },
        Case {
            name: "wampcra salted",
            unknown: attempt("wampcra", "nobody", cra()),
            wrong: attempt("wampcra", "s", cra()),
            router: 1,
        },
        Case {
            name: "cryptosign",
            // A key nobody authorized, signing correctly with itself.
            unknown: Attempt {
                pubkey_seed: Some(UNKNOWN_SEED),
                ..attempt("cryptosign", "k", Credentials::Cryptosign(UNKNOWN_SEED))
            },
            // The principal's key, and a signature made with another one.
            wrong: Attempt {
                pubkey_seed: Some(SEED),
                ..attempt("cryptosign", "k", Credentials::Cryptosign(OTHER_SEED))
            },
            router: 0,
        },
    ]
}

/// Two configs: ticket, plain WAMP-CRA and cryptosign on one router; salted WAMP-CRA alone on
/// another (an unknown authid gets a made-up salt only where some user has a salt).
fn configs() -> anyhow::Result<[Config; 2]> {
    let identity = Identity {
        role: "anonymous".into(),
        realm: None,
    };
    let public = Credentials::Cryptosign(SEED)
        .authextra()
        .and_then(|e| e.get("pubkey").and_then(Value::as_str).map(str::to_owned))
        .context("no public key")?;
    let key: [u8; 32] = hex::decode(public)?
        .try_into()
        .map_err(|_| anyhow::anyhow!("not 32 bytes"))?;
    let cra = |secret: String, salt| CraUser {
        secret: Secret::new(secret),
        identity: identity.clone(),
        salt,
    };
    let none = AuthConfig {
        anonymous: None,
        anonymous_realm: None,
        ticket: None,
        wampcra: None,
        cryptosign: None,
        dynamic: Default::default(),
    };
    let plain = AuthConfig {
        ticket: Some(
            [(
                "t".to_owned(),
                Principal {
                    ticket: Secret::new("the-ticket"),
                    identity: identity.clone(),
                },
            )]
            .into(),
        ),
        wampcra: Some([("c".to_owned(), cra("the-secret".into(), None))].into()),
        cryptosign: Some(
            [(
                "k".to_owned(),
                KeyPrincipal {
                    authorized_keys: vec![key],
                    identity: identity.clone(),
                },
            )]
            .into(),
        ),
        ..none.clone()
    };
    let salt = Salt {
        salt: "salt".into(),
        iterations: 1000,
        keylen: 32,
    };
    let salted = AuthConfig {
        wampcra: Some(
            [(
                "s".to_owned(),
                cra(
                    wampcra_derive_key("the-secret", "salt", 1000, 32),
                    Some(salt),
                ),
            )]
            .into(),
        ),
        ..none
    };
    Ok([plain, salted].map(|auth| {
        let mut config = Config::embedded_default().config.on_free_loopback_ports();
        for t in &mut config.transports {
            t.auth = auth.clone();
        }
        config
    }))
}

/// Loopback source addresses, a new one for every attempt (127.1.1.1, 127.1.1.2, …).
struct Sources(u32);

impl Sources {
    fn next(&mut self) -> Ipv4Addr {
        let i = self.0;
        self.0 += 1;
        // 250 values per octet, from 1, so none is 0 or 255.
        let octet = |n: u32| (n % 250 + 1) as u8;
        Ipv4Addr::new(127, octet(i / 62_500), octet(i / 250), octet(i))
    }
}

/// One attempt's times.
#[derive(Debug, Clone, Copy)]
struct Timing {
    /// HELLO sent → ABORT read.
    total: Duration,
    /// `total` less the client's work between CHALLENGE and AUTHENTICATE.
    router: Duration,
}

/// Reads the next WAMP message.
async fn next_message(reader: &mut wamp::transport::FrameReader) -> anyhow::Result<Message> {
    loop {
        match reader.next().await {
            Some(Ok(Inbound::Message(b))) => return Ok(wamp::decode(Serializer::Json, &b)?),
            Some(Ok(Inbound::Ping(_) | Inbound::Pong)) => continue,
            Some(Err(e)) => return Err(e.into()),
            None => bail!("the router closed the connection"),
        }
    }
}

/// Runs `attempt` from `source` against `router`; it must end in ABORT not_authorized.
async fn run(router: SocketAddr, source: Ipv4Addr, attempt: &Attempt) -> anyhow::Result<Timing> {
    let socket = TcpSocket::new_v4()?;
    socket
        .bind(SocketAddr::new(source.into(), 0))
        .with_context(|| format!("cannot bind {source}"))?;
    let stream = socket.connect(router).await?;
    stream.set_nodelay(true)?;
    let stream = wamp::transport::Stream::Tcp(stream);
    let mut conn = rawsocket::connect(stream, Serializer::Json, 1 << 16, 4096).await?;
    let send = |m: &Message| -> anyhow::Result<[Outbound; 1]> {
        Ok([Outbound::Message(wamp::encode(Serializer::Json, m)?)])
    };
    let hello = send(&attempt.hello())?;
    let start = Instant::now();
    conn.writer.write_batch(&hello).await?;
    let Message::Challenge { authmethod, extra } = next_message(&mut conn.reader).await? else {
        bail!("{}/{}: expected CHALLENGE", attempt.method, attempt.authid);
    };
    let challenged = Instant::now();
    let answer = send(&Message::Authenticate {
        signature: attempt.signature(&authmethod, &extra)?,
        extra: Dict::new(),
    })?;
    let answered = Instant::now();
    conn.writer.write_batch(&answer).await?;
    match next_message(&mut conn.reader).await? {
        Message::Abort { reason, .. } if reason == "wamp.error.not_authorized" => {}
        other => bail!(
            "{}/{}: expected ABORT not_authorized, got {other:?}",
            attempt.method,
            attempt.authid
        ),
    }
    let total = start.elapsed();
    Ok(Timing {
        total,
        router: total - (answered - challenged),
    })
}

/// The `q` quantile (0..=1) of `xs` in µs.
fn quantile(xs: &mut [Duration], q: f64) -> f64 {
    xs.sort();
    let i = ((xs.len() - 1) as f64 * q).round() as usize;
    xs[i].as_secs_f64() * 1e6
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let mut routers = Vec::new();
    let mut addrs = Vec::new();
    for config in configs()? {
        let router = Router::start(config, RouterOptions::default()).await?;
        let url = router.rawsocket_url().context("no RawSocket transport")?;
        addrs.push(url.trim_start_matches("rs://").parse::<SocketAddr>()?);
        routers.push(router);
    }
    let cases = cases();
    let mut sources = Sources(0);
    // [case][0 = unknown, 1 = wrong secret]
    let mut timings = vec![[Vec::new(), Vec::new()]; cases.len()];
    for round in 0..args.warmup + args.attempts {
        for (c, case) in cases.iter().enumerate() {
            let order = if round % 2 == 0 { [0, 1] } else { [1, 0] };
            for arm in order {
                let attempt = if arm == 0 { &case.unknown } else { &case.wrong };
                let t = run(addrs[case.router], sources.next(), attempt).await?;
                if round >= args.warmup {
                    timings[c][arm].push(t);
                }
            }
        }
    }
    println!("| method | case | attempts | p50 µs | p90 µs | router's part p50 µs | p90 µs |");
    println!("|---|---|---:|---:|---:|---:|---:|");
    let mut ratios = Vec::new();
    for (case, arms) in cases.iter().zip(&timings) {
        let mut p50 = [0.0; 2];
        let mut r50 = [0.0; 2];
        for (arm, label) in ["unknown authid", "wrong secret"].iter().enumerate() {
            let mut total: Vec<Duration> = arms[arm].iter().map(|t| t.total).collect();
            let mut router: Vec<Duration> = arms[arm].iter().map(|t| t.router).collect();
            p50[arm] = quantile(&mut total, 0.5);
            r50[arm] = quantile(&mut router, 0.5);
            let label = match (case.name, arm) {
                ("cryptosign", 0) => "unknown key",
                ("cryptosign", _) => "wrong signature",
                _ => label,
            };
            println!(
                "| {} | {label} | {} | {:.1} | {:.1} | {:.1} | {:.1} |",
                case.name,
                total.len(),
                p50[arm],
                quantile(&mut total, 0.9),
                r50[arm],
                quantile(&mut router, 0.9),
            );
        }
        ratios.push((case.name, p50[1] / p50[0], r50[1] / r50[0]));
    }
    println!();
    println!("| method | p50 wrong / unknown | router's part, p50 wrong / unknown |");
    println!("|---|---:|---:|");
    for (name, total, router) in ratios {
        println!("| {name} | {total:.3} | {router:.3} |");
    }
    for router in routers {
        router.shutdown().await;
    }
    Ok(())
}
