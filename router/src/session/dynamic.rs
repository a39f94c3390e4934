//! Dynamic authenticators (`"type": "dynamic"`), as Crossbar.io 26.x runs them
//! (`crossbar/router/auth/{pending,ticket,wampcra,cryptosign}.py`): the router calls the
//! authenticator procedure, which a session registered in `authenticator-realm` (or in the
//! realm HELLO asked for), with `(realm, authid, details)`, and the principal it returns — a
//! role, or a dict with `role`, `authid`, `realm`, `extra` and the method's own keys — decides
//! who the client becomes.
//!
//! - ticket: CHALLENGE first; the AUTHENTICATE's ticket goes to the authenticator in
//!   `details.ticket`, and its principal is the outcome.
//! - wampcra: the authenticator is asked first and returns `secret` (with `salt`, `iterations`
//!   and `keylen`, all three, the secret is the password and the router derives the key, as
//!   26.x does); the CHALLENGE is signed with it.
//! - cryptosign: the authenticator is asked first (`details.authextra.pubkey` is the client's
//!   key) and returns `pubkey`, the key the signature must be made with.
//!
//! An ERROR from the authenticator refuses the client with that error's URI and first argument,
//! as Crossbar does (so no callee is `wamp.error.no_such_procedure`); an answer that is not a
//! principal is `wamp.error.authentication_failed`. The handshake's deadline bounds the call,
//! and a call given up is removed from the dealer. Nothing here logs or returns a secret.

use tokio::time::Instant;
use wamp::auth::{wampcra_derive_key, wampcra_signature};
use wamp::transport::TransportInfo;
use wamp::{Dict, Id, Message, Payload, Value, dict};

use super::authenticate::{Expected, Outcome, Pending, cryptosign_challenge, wampcra_challenge};
use super::handshake::{Abort, Link, NotJoined};
use crate::config::{Authenticator, Identity};
use crate::context::RouterContext;
use crate::meta_details::transport_details;
use crate::session_handle::Authenticated;

/// The most PBKDF2 iterations and bytes of key an authenticator may ask for: the key is derived
/// for every login.
const MAX_ITERATIONS: u64 = 1_000_000;
const MAX_KEYLEN: u64 = 1024;

/// What the handshake knows when a dynamic method was chosen.
pub(super) struct Request<'a> {
    /// The router (its realms).
    pub router: &'a RouterContext,
    /// The method's authenticator.
    pub authenticator: &'a Authenticator,
    /// `ticket`, `wampcra` or `cryptosign`.
    pub method: &'static str,
    /// The realm HELLO asked for.
    pub realm: &'a str,
    /// HELLO's details.
    pub hello: &'a Dict,
    /// The id the session will have.
    pub session: Id,
    /// The connection's transport.
    pub info: &'a TransportInfo,
    /// When the handshake must be over.
    pub deadline: Instant,
}

/// A principal as the authenticator returned it, with Crossbar's defaults applied.
struct Principal {
    authid: String,
    role: String,
    realm: String,
    extra: Dict,
    /// The whole answer (a role alone becomes `{"role": …}`), for the method's own keys.
    fields: Dict,
}

impl Principal {
    /// A string field of the answer.
    fn text(&self, key: &str) -> Option<&str> {
        self.fields.get(key).and_then(Value::as_str)
    }

    /// The pending check of the client's answer that `expected` describes.
    fn pending(self, method: &'static str, expected: Expected) -> Pending {
        let identity = Identity {
            role: self.role,
            realm: Some(self.realm),
        };
        Pending::dynamic(method, self.authid, expected, identity, self.extra)
    }
}

/// Runs the dynamic method of `r` over `link` to its outcome.
pub(super) async fn authenticate(
    link: &mut Link<'_>,
    r: &Request<'_>,
) -> Result<Outcome, NotJoined> {
    let hello_authid = r.hello.get("authid").and_then(Value::as_str);
    match r.method {
        "ticket" => {
            let challenge = Message::Challenge {
                authmethod: "ticket".into(),
                extra: Dict::new(),
            };
            let ticket = link.challenge(challenge).await?;
            let mut details = details(r, false);
            details.insert("ticket".into(), ticket.into());
            let p = ask(r, details)
                .await
                .map_err(|a| refused(r, hello_authid, a))?;
            Ok(Outcome {
                who: Authenticated {
                    authid: p.authid,
                    authrole: p.role,
                    authmethod: "ticket",
                    authprovider: "dynamic",
                    authextra: p.extra,
                },
                realm: Some(p.realm),
            })
        }
        "wampcra" => {
            let p = ask(r, details(r, true))
                .await
                .map_err(|a| refused(r, hello_authid, a))?;
            let (extra, pending) = wampcra(r, p)
                .await
                .map_err(|a| refused(r, hello_authid, a))?;
            let challenge = Message::Challenge {
                authmethod: "wampcra".into(),
                extra,
            };
            let signature = link.challenge(challenge).await?;
            link.verify(pending, &signature)
        }
        _ => {
            let p = ask(r, details(r, true))
                .await
                .map_err(|a| refused(r, hello_authid, a))?;
            let Some(key) = p.text("pubkey").and_then(public_key) else {
                let a = Abort::new(
                    "wamp.error.authentication_failed",
                    "the dynamic authenticator returned no valid pubkey (an Ed25519 public key, \
                     64 hex digits)",
                );
                return Err(refused(r, hello_authid, a));
            };
            let (extra, challenge) = cryptosign_challenge();
            let pending = p.pending("cryptosign", Expected::SignedBy(key, challenge));
            let challenge = Message::Challenge {
                authmethod: "cryptosign".into(),
                extra,
            };
            let signature = link.challenge(challenge).await?;
            link.verify(pending, &signature)
        }
    }
}

/// Logs a refusal (never a secret) and passes it on.
fn refused(r: &Request<'_>, authid: Option<&str>, a: Abort) -> NotJoined {
    tracing::info!(
        peer = %r.info.peer,
        authid = authid.unwrap_or_default(),
        authmethod = r.method,
        reason = %a.reason,
        "authentication failed (dynamic authenticator {}): {}",
        r.authenticator.procedure,
        a.message
    );
    Some(a)
}

/// The `details` Crossbar gives the authenticator (its pending authentication's
/// `_session_details`); wampcra and cryptosign add HELLO's `authid` and `authrole`.
fn details(r: &Request<'_>, with_identity: bool) -> Dict {
    let hello = |key: &str| r.hello.get(key).cloned().unwrap_or(Value::Null);
    let mut d = dict! {
        "transport" => transport_details(r.info),
        "session" => r.session,
        "authmethod" => r.method,
        "authextra" => hello("authextra"),
    };
    if with_identity {
        d.insert("authid".into(), hello("authid"));
        d.insert("authrole".into(), hello("authrole"));
    }
    d
}

/// Calls the authenticator with `(realm, authid, details)` and reads its principal.
async fn ask(r: &Request<'_>, details: Dict) -> Result<Principal, Abort> {
    let a = r.authenticator;
    let realm_name = a.realm.as_deref().unwrap_or(r.realm);
    let Some(realm) = r.router.realms.get(realm_name) else {
        return Err(Abort::new(
            "wamp.error.no_such_realm",
            format!("no realm {realm_name:?} for the dynamic authenticator"),
        ));
    };
    let authid = r.hello.get("authid").cloned().unwrap_or(Value::Null);
    let args = Payload::from_args(vec![r.realm.into(), authid, Value::Dict(details)]);
    let call = realm.dealer.call_internal(&a.procedure, args);
    let answer = match tokio::time::timeout_at(r.deadline, call).await {
        Err(_) => {
            return Err(Abort::new(
                "wamp.error.authentication_failed",
                "the dynamic authenticator did not answer in time",
            ));
        }
        Ok(Err(failed)) => {
            let message = failed
                .message
                .unwrap_or_else(|| "refused by the dynamic authenticator".into());
            return Err(Abort::new(failed.error, message));
        }
        Ok(Ok(payload)) => payload,
    };
    let first = answer.args().ok().and_then(|a| a.into_iter().next());
    assign(r, first)
}

/// Crossbar's `_assign_principal`: a role or a dict; `realm` and `authid` override HELLO's,
/// `role` (or the configured `default-role`) and `extra` are taken; realm, authid and role must
/// then be set, and the role must exist in the realm.
fn assign(r: &Request<'_>, answer: Option<Value>) -> Result<Principal, Abort> {
    let fields = match answer {
        Some(Value::Str(role)) => dict! {"role" => role},
        Some(Value::Dict(d)) => d,
        other => {
            let got = other.as_ref().map_or("nothing", kind);
            return Err(Abort::new(
                "wamp.error.authentication_failed",
                format!("got invalid return type {got} from dynamic authenticator"),
            ));
        }
    };
    let text = |key: &str| -> Result<Option<String>, Abort> {
        match fields.get(key) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::Str(s)) => Ok(Some(s.clone())),
            Some(other) => Err(Abort::new(
                "wamp.error.authentication_failed",
                format!(
                    "the dynamic authenticator returned a {} as {key:?}, expected a string",
                    kind(other)
                ),
            )),
        }
    };
    let hello_authid = r.hello.get("authid").and_then(Value::as_str);
    let realm = text("realm")?.unwrap_or_else(|| r.realm.to_owned());
    let authid = text("authid")?.or_else(|| hello_authid.map(str::to_owned));
    let role = text("role")?.or_else(|| r.authenticator.default_role.clone());
    let extra = match fields.get("extra") {
        None | Some(Value::Null) => Dict::new(),
        Some(Value::Dict(d)) => d.clone(),
        Some(other) => {
            return Err(Abort::new(
                "wamp.error.authentication_failed",
                format!(
                    "the dynamic authenticator returned a {} as \"extra\", expected a dict",
                    kind(other)
                ),
            ));
        }
    };
    if realm.is_empty() {
        return Err(Abort::new("wamp.error.no_such_realm", "no realm assigned"));
    }
    let Some(authid) = authid.filter(|a| !a.is_empty()) else {
        return Err(Abort::new(
            "wamp.error.no_such_principal",
            "no authid assigned",
        ));
    };
    let Some(role) = role.filter(|r| !r.is_empty()) else {
        return Err(Abort::new(
            "wamp.error.no_such_role",
            "no authrole assigned",
        ));
    };
    let Some(joined) = r.router.realms.get(&realm) else {
        return Err(Abort::new(
            "wamp.error.no_such_realm",
            format!("no realm {realm:?} exists on this router"),
        ));
    };
    if joined.role(&role).is_none() {
        return Err(Abort::new(
            "wamp.error.no_such_role",
            format!("realm {realm:?} has no role {role:?}"),
        ));
    }
    Ok(Principal {
        authid,
        role,
        realm,
        extra,
        fields,
    })
}

/// The WAMP-CRA challenge for the principal `p` and the check of its answer.
async fn wampcra(r: &Request<'_>, p: Principal) -> Result<(Dict, Pending), Abort> {
    let Some(secret) = p.text("secret").map(str::to_owned) else {
        return Err(Abort::new(
            "wamp.error.authentication_failed",
            "the dynamic authenticator returned no \"secret\" for WAMP-CRA",
        ));
    };
    let challenge = wampcra_challenge(&p.authid, &p.role, "dynamic", r.session);
    let mut extra = dict! {"challenge" => challenge.as_str()};
    let salted = ["salt", "iterations", "keylen"].map(|k| p.fields.get(k));
    let key = match salted {
        [Some(salt), Some(iterations), Some(keylen)] => {
            let (Some(salt), Some(iterations), Some(keylen)) = (
                salt.as_str(),
                iterations
                    .as_u64()
                    .filter(|n| (1..=MAX_ITERATIONS).contains(n)),
                keylen.as_u64().filter(|n| (1..=MAX_KEYLEN).contains(n)),
            ) else {
                return Err(Abort::new(
                    "wamp.error.authentication_failed",
                    format!(
                        "the dynamic authenticator returned invalid PBKDF2 parameters (salt: a \
                         string, iterations: 1 to {MAX_ITERATIONS}, keylen: 1 to {MAX_KEYLEN})"
                    ),
                ));
            };
            extra.insert("salt".into(), salt.into());
            extra.insert("iterations".into(), iterations.into());
            extra.insert("keylen".into(), keylen.into());
            let salt = salt.to_owned();
            // Bounded, but a CPU's worth of work: not on the connection's task.
            let derive =
                move || wampcra_derive_key(&secret, &salt, iterations as u32, keylen as usize);
            tokio::task::spawn_blocking(derive).await.map_err(|_| {
                Abort::new(
                    "wamp.error.authentication_failed",
                    "deriving the key failed",
                )
            })?
        }
        _ => secret,
    };
    let expected = Expected::Equals(wampcra_signature(key.as_bytes(), &challenge));
    Ok((extra, p.pending("wampcra", expected)))
}

/// An Ed25519 public key from 64 hex digits.
fn public_key(hex: &str) -> Option<[u8; 32]> {
    hex::decode(hex).ok()?.try_into().ok()
}

/// What kind of value `v` is, for messages.
fn kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "bool",
        Value::Str(_) => "string",
        Value::List(_) => "list",
        Value::Dict(_) => "dict",
        Value::Bytes(_) => "bytes",
        _ => "number",
    }
}
