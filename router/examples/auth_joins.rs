//! Joins per second for each authentication method, side by side: one session after another
//! joins and leaves an in-process router (embedded default config, RawSocket and JSON, every
//! method on its transports), the methods taking turns run after run.
//!
//! ```text
//! cargo run --release -p wamp-router --example auth_joins -- --runs 5 --seconds 1
//! ```
//! A salted WAMP-CRA login includes the client's PBKDF2 (1,000 iterations, as Crossbar's
//! default); the router only computes an HMAC.

use std::time::{Duration, Instant};

use clap::Parser;
use wamp::auth::{Credentials, Login, wampcra_derive_key};
use wamp::{Serializer, Session, SessionOptions};
use wamp_router::config::{
    AuthConfig, Config, CraUser, Identity, KeyPrincipal, Principal, Salt, Secret,
};
use wamp_router::{Router, RouterOptions};

/// Measures joins per second per authentication method.
#[derive(Debug, Parser)]
struct Args {
    /// Runs per method; the median is reported.
    #[arg(long, default_value_t = 5)]
    runs: usize,
    /// Seconds per run.
    #[arg(long, default_value_t = 1.0)]
    seconds: f64,
}

/// An Ed25519 seed for the cryptosign principal.
const SEED: [u8; 32] = [3; 32];

/// The methods, each with the login that uses it.
fn methods() -> Vec<(&'static str, Login)> {
    let login = |authid: &str, credentials| Login {
        authid: Some(authid.into()),
        credentials,
    };
    vec![
        ("anonymous", Login::default()),
        ("ticket", login("t", Credentials::Ticket("ticket".into()))),
        ("wampcra", login("c", Credentials::WampCra("secret".into()))),
        (
            "wampcra salted",
            login("s", Credentials::WampCra("password".into())),
        ),
        ("cryptosign", login("k", Credentials::Cryptosign(SEED))),
    ]
}

/// Every method on the transports of the embedded default, on free loopback ports.
fn config() -> anyhow::Result<Config> {
    let mut config = Config::embedded_default().config.on_free_loopback_ports();
    let identity = Identity {
        role: "anonymous".into(),
        realm: None,
    };
    let public = Credentials::Cryptosign(SEED)
        .authextra()
        .and_then(|e| {
            e.get("pubkey")
                .and_then(wamp::Value::as_str)
                .map(str::to_owned)
        })
        .ok_or_else(|| anyhow::anyhow!("no public key"))?;
    let key: [u8; 32] = hex::decode(public)?
        .try_into()
        .map_err(|_| anyhow::anyhow!("not 32 bytes"))?;
    let cra = |secret: String, salt| CraUser {
        secret: Secret::new(secret),
        identity: identity.clone(),
        salt,
    };
    let salt = Salt {
        salt: "salt".into(),
        iterations: 1000,
        keylen: 32,
    };
    let auth = AuthConfig {
        anonymous: Some("anonymous".into()),
        anonymous_realm: None,
        ticket: Some(
            [(
                "t".to_owned(),
                Principal {
                    ticket: Secret::new("ticket"),
                    identity: identity.clone(),
                },
            )]
            .into(),
        ),
        wampcra: Some(
            [
                ("c".to_owned(), cra("secret".into(), None)),
                (
                    "s".to_owned(),
                    cra(wampcra_derive_key("password", "salt", 1000, 32), Some(salt)),
                ),
            ]
            .into(),
        ),
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
        dynamic: Default::default(),
    };
    for t in &mut config.transports {
        t.auth = auth.clone();
    }
    Ok(config)
}

/// Joins and leaves as `login` for `seconds`; returns joins per second.
async fn measure(url: &str, login: &Login, seconds: f64) -> anyhow::Result<f64> {
    let options = SessionOptions {
        serializer: Serializer::Json,
        login: login.clone(),
        ..SessionOptions::default()
    };
    let started = Instant::now();
    let until = started + Duration::from_secs_f64(seconds);
    let mut joins = 0u64;
    while Instant::now() < until {
        let s = Session::join(url, "realm1", options.clone()).await?;
        s.leave("wamp.close.normal").await?;
        joins += 1;
    }
    Ok(joins as f64 / started.elapsed().as_secs_f64())
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let router = Router::start(config()?, RouterOptions::default()).await?;
    let url = router
        .rawsocket_url()
        .ok_or_else(|| anyhow::anyhow!("no RawSocket transport"))?;
    let methods = methods();
    let mut rates = vec![Vec::new(); methods.len()];
    for _ in 0..args.runs {
        for (i, (_, login)) in methods.iter().enumerate() {
            rates[i].push(measure(&url, login, args.seconds).await?);
        }
    }
    println!(
        "| method | joins/s (median of {} runs of {} s) |",
        args.runs, args.seconds
    );
    println!("|---|---:|");
    for ((name, _), mut r) in methods.iter().zip(rates) {
        r.sort_by(f64::total_cmp);
        println!("| {name} | {:.0} |", r[r.len() / 2]);
    }
    router.shutdown().await;
    Ok(())
}
