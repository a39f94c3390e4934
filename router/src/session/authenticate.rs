//! Authentication during the handshake, as the WAMP spec and Crossbar.io do it: the method is
//! the first of the client's HELLO `authmethods` that the transport offers; anonymous is
//! accepted at once, ticket, WAMP-CRA and cryptosign get a CHALLENGE whose AUTHENTICATE is then
//! checked. A method of type `dynamic` asks its authenticator instead ([`super::dynamic`]),
//! which builds the same kind of [`Pending`] from the principal the authenticator returned.
//!
//! **[ours]** An unknown authid (or key) gets a challenge like a known one (WAMP-CRA: with a
//! made-up salt when the transport's users have salts) and, in the end, the same refusal as a
//! wrong secret, after the same work (a WAMP-CRA signature is computed for it too, a
//! cryptosign signature verified with the key it announced), so that the time of the refusal
//! does not tell which authids exist (`examples/auth_refusals.rs` measures it); secrets are
//! compared in constant time. Nothing here logs or returns a secret.

use wamp::auth::{cryptosign_verify, same_secret, wampcra_signature};
use wamp::{Dict, Id, Message, Value, dict};

use super::ListenerSettings;
use super::handshake::Abort;
use crate::config::{AuthConfig, Authenticator, Identity};
use crate::session_handle::Authenticated;

/// Who the client will be, and the realm it joins when its principal names one.
#[derive(Debug)]
pub(super) struct Outcome {
    /// The identity.
    pub who: Authenticated,
    /// The principal's realm, which overrides the one HELLO asked for.
    pub realm: Option<String>,
}

/// The first step, after HELLO.
pub(super) enum Begin {
    /// Accepted without a challenge (anonymous).
    Accept(Outcome),
    /// The CHALLENGE to send; the AUTHENTICATE that answers it goes to [`Pending::verify`].
    Challenge(Box<Message>, Pending),
    /// The method (`ticket`, `wampcra`, `cryptosign`) is decided by this authenticator.
    Dynamic(&'static str, Authenticator),
}

/// A challenge sent, waiting for its AUTHENTICATE.
pub(super) struct Pending {
    method: &'static str,
    /// `static`, or `dynamic` when an authenticator gave the principal.
    provider: &'static str,
    /// The authenticator's `extra`, for WELCOME.
    extra: Dict,
    authid: String,
    /// What the answer is checked against, for an unknown authid too.
    expected: Expected,
    /// Who the client then is; `None` for an unknown authid (which no answer satisfies).
    identity: Option<Identity>,
}

/// What makes an answer right.
pub(super) enum Expected {
    /// It equals this (a ticket, a WAMP-CRA signature), compared in constant time.
    Equals(String),
    /// It is this key's Ed25519 signature of this challenge (cryptosign).
    SignedBy([u8; 32], [u8; 32]),
    /// Nothing to compare with (an unknown ticket authid): compared in constant time with a
    /// value of the answer's length that never equals it.
    Decoy,
}

/// Chooses the method for a HELLO with `details` and starts it; `session` is the id the session
/// will have (WAMP-CRA puts it in its challenge).
pub(super) fn begin(
    listener: &ListenerSettings,
    details: &Dict,
    session: Id,
) -> Result<Begin, Abort> {
    let auth = &listener.auth;
    let offered: Vec<&str> = match details.get("authmethods") {
        None | Some(Value::Null) => vec!["anonymous"],
        Some(Value::List(l)) => l.iter().filter_map(Value::as_str).collect(),
        Some(other) => {
            return Err(Abort {
                reason: "wamp.error.protocol_violation".into(),
                message: format!("HELLO.Details.authmethods must be a list, got {other:?}"),
            });
        }
    };
    let available = auth.methods();
    let Some(method) = offered
        .iter()
        .find_map(|m| available.iter().copied().find(|a| a == m))
    else {
        return Err(Abort {
            reason: "wamp.error.no_auth_method".into(),
            message: format!(
                "cannot authenticate using any of the offered authmethods {offered:?}; this \
                 transport offers {available:?}"
            ),
        });
    };
    if let Some(authenticator) = auth.dynamic.get(method) {
        return Ok(Begin::Dynamic(method, authenticator.clone()));
    }
    let authid = details.get("authid").and_then(Value::as_str);
    match method {
        "ticket" => Ok(Begin::Challenge(
            Box::new(Message::Challenge {
                authmethod: "ticket".into(),
                extra: Dict::new(),
            }),
            {
                let principal = authid.and_then(|a| auth.ticket.as_ref()?.get(a));
                Pending {
                    method: "ticket",
                    provider: "static",
                    extra: Dict::new(),
                    authid: authid.unwrap_or_default().to_owned(),
                    expected: principal.map_or(Expected::Decoy, |p| {
                        Expected::Equals(p.ticket.expose().to_owned())
                    }),
                    identity: principal.map(|p| p.identity.clone()),
                }
            },
        )),
        "wampcra" => Ok(wampcra(auth, listener, authid, session)),
        "cryptosign" => cryptosign(auth, details, authid),
        _ => Ok(Begin::Accept(Outcome {
            who: Authenticated {
                // As before: anonymous sessions get a fresh authid, whatever HELLO asked.
                authid: random_authid(),
                authrole: auth.anonymous.clone().unwrap_or_default(),
                authmethod: "anonymous",
                authprovider: "static",
                authextra: Dict::new(),
            },
            realm: auth.anonymous_realm.clone(),
        })),
    }
}

/// The WAMP-CRA challenge: a JSON string naming the session, signed with the user's secret.
fn wampcra(
    auth: &AuthConfig,
    listener: &ListenerSettings,
    authid: Option<&str>,
    session: Id,
) -> Begin {
    let users = auth.wampcra.as_ref();
    let user = authid.and_then(|a| users?.get(a));
    let authid = authid.unwrap_or_default().to_owned();
    // An unknown user gets a role of the known ones (the same every time for the same authid):
    // an empty one would tell that the authid does not exist.
    let authrole = match user {
        Some(u) => u.identity.role.as_str(),
        None => users.map_or("", |all| {
            let pick = wampcra_signature(&listener.decoy_key, &authid);
            let index = usize::from(pick.as_bytes()[0]) % all.len().max(1);
            all.values()
                .nth(index)
                .map_or("", |u| u.identity.role.as_str())
        }),
    };
    let challenge = wampcra_challenge(&authid, authrole, "static", session);
    let mut extra = dict! {"challenge" => challenge.as_str()};
    // An unknown user looks like the known ones: salted (with a made-up salt that is the same
    // every time for the same authid) when any of them is.
    let salt = match user {
        Some(u) => u.salt.clone(),
        None => users
            .and_then(|u| u.values().find_map(|u| u.salt.clone()))
            .map(|mut s| {
                s.salt = wampcra_signature(&listener.decoy_key, &authid)[..16].to_owned();
                s
            }),
    };
    if let Some(s) = salt {
        extra.insert("salt".into(), s.salt.into());
        extra.insert("iterations".into(), Value::from(u64::from(s.iterations)));
        extra.insert("keylen".into(), Value::from(u64::from(s.keylen)));
    }
    Begin::Challenge(
        Box::new(Message::Challenge {
            authmethod: "wampcra".into(),
            extra,
        }),
        Pending {
            method: "wampcra",
            provider: "static",
            extra: Dict::new(),
            authid,
            // An unknown user's challenge is signed too, with the listener's decoy key.
            expected: Expected::Equals(wampcra_signature(
                user.map_or(&listener.decoy_key[..], |u| u.secret.expose().as_bytes()),
                &challenge,
            )),
            identity: user.map(|u| u.identity.clone()),
        },
    )
}

/// The WAMP-CRA challenge string, as Crossbar makes it: JSON naming the principal and the
/// session, with a nonce and the time.
pub(super) fn wampcra_challenge(
    authid: &str,
    authrole: &str,
    authprovider: &str,
    session: Id,
) -> String {
    serde_json::json!({
        "authid": authid,
        "authrole": authrole,
        "authmethod": "wampcra",
        "authprovider": authprovider,
        "session": session,
        "nonce": nonce(),
        "timestamp": humantime::format_rfc3339_millis(std::time::SystemTime::now()).to_string(),
    })
    .to_string()
}

/// The cryptosign challenge extra for 32 random bytes (no channel binding), and the bytes.
pub(super) fn cryptosign_challenge() -> (Dict, [u8; 32]) {
    let challenge: [u8; 32] = rand::random();
    let extra = dict! {"challenge" => hex::encode(challenge), "channel_binding" => Value::Null};
    (extra, challenge)
}

/// The cryptosign challenge: 32 random bytes the client signs with the key it announced in
/// HELLO `authextra.pubkey`; the principal is the one given by `authid` (the key must be one of
/// its authorized keys) or, without an authid, the one whose authorized keys hold it.
fn cryptosign(auth: &AuthConfig, details: &Dict, authid: Option<&str>) -> Result<Begin, Abort> {
    let pubkey = details
        .get("authextra")
        .and_then(|e| e.get("pubkey"))
        .and_then(Value::as_str)
        .and_then(|h| hex::decode(h).ok())
        .and_then(|b| <[u8; 32]>::try_from(b).ok())
        .ok_or_else(|| Abort {
            reason: "wamp.error.invalid_argument".into(),
            message: "cryptosign needs HELLO.Details.authextra.pubkey: an Ed25519 public key, \
                      64 hex digits"
                .into(),
        })?;
    let principals = auth.cryptosign.as_ref();
    let found = principals.and_then(|all| match authid {
        Some(a) => all
            .get_key_value(a)
            .filter(|(_, p)| p.authorized_keys.contains(&pubkey)),
        None => all
            .iter()
            .find(|(_, p)| p.authorized_keys.contains(&pubkey)),
    });
    let (extra, challenge) = cryptosign_challenge();
    Ok(Begin::Challenge(
        Box::new(Message::Challenge {
            authmethod: "cryptosign".into(),
            extra,
        }),
        Pending {
            method: "cryptosign",
            provider: "static",
            extra: Dict::new(),
            authid: found.map_or_else(|| authid.unwrap_or_default().to_owned(), |(a, _)| a.clone()),
            // Verified with the announced key even when nobody authorized it.
            expected: Expected::SignedBy(pubkey, challenge),
            identity: found.map(|(_, p)| p.identity.clone()),
        },
    ))
}

impl Pending {
    /// A challenge for the principal a dynamic authenticator returned: `authid` becomes role
    /// and realm of `identity`, with `extra`, when the answer is what `expected` says.
    pub fn dynamic(
        method: &'static str,
        authid: String,
        expected: Expected,
        identity: Identity,
        extra: Dict,
    ) -> Self {
        Pending {
            method,
            provider: "dynamic",
            extra,
            authid,
            expected,
            identity: Some(identity),
        }
    }

    /// The authid the client asked for (for the log).
    pub fn authid(&self) -> &str {
        &self.authid
    }

    /// The method being run.
    pub fn method(&self) -> &'static str {
        self.method
    }

    /// Checks the AUTHENTICATE signature.
    pub fn verify(self, signature: &str) -> Result<Outcome, Abort> {
        // Checked for an unknown authid too, so that both take the same time; only a known
        // one can pass.
        let matches = match &self.expected {
            Expected::Equals(e) => same_secret(e, signature),
            Expected::SignedBy(key, challenge) => cryptosign_verify(key, challenge, signature),
            Expected::Decoy => same_secret(&decoy_of(signature), signature),
        };
        match self.identity {
            Some(identity) if matches => Ok(Outcome {
                who: Authenticated {
                    authid: self.authid,
                    authrole: identity.role,
                    authmethod: self.method,
                    authprovider: self.provider,
                    authextra: self.extra,
                },
                realm: identity.realm,
            }),
            _ => Err(Abort {
                reason: "wamp.error.not_authorized".into(),
                message: match self.method {
                    "ticket" => "ticket in static WAMP-Ticket authentication is invalid",
                    "cryptosign" => "WAMP-Cryptosign signature is invalid",
                    _ => "WAMP-CRA signature is invalid",
                }
                .into(),
            }),
        }
    }
}

/// A value of the answer's length that is never equal to it.
fn decoy_of(signature: &str) -> String {
    signature
        .bytes()
        .map(|b| if b == b'x' { 'y' } else { 'x' })
        .collect()
}

/// 64 random characters, as Crossbar's WAMP-CRA nonce.
fn nonce() -> String {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
    (0..64)
        .map(|_| char::from(ALPHABET[rand::random_range(0..ALPHABET.len())]))
        .collect()
}

/// An authid like Crossbar's anonymous ones: six groups of four, e.g. `5UR5-7FTV-3X4K-779F-V59L-NSAE`.
pub(super) fn random_authid() -> String {
    const ALPHABET: &[u8] = b"345679ACEFGHJKLMNPQRSTUVWXY";
    let mut s = String::with_capacity(29);
    for i in 0..24 {
        if i > 0 && i % 4 == 0 {
            s.push('-');
        }
        s.push(char::from(ALPHABET[rand::random_range(0..ALPHABET.len())]));
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{CraUser, Principal, Salt, Secret};
    use std::collections::BTreeMap;

    fn listener() -> ListenerSettings {
        let identity = Identity {
            role: "user".into(),
            realm: None,
        };
        let mut principals = BTreeMap::new();
        principals.insert(
            "alice".to_owned(),
            Principal {
                ticket: Secret::new("open sesame"),
                identity: identity.clone(),
            },
        );
        let mut users = BTreeMap::new();
        users.insert(
            "bob".to_owned(),
            CraUser {
                secret: Secret::new("derived-key"),
                identity,
                salt: Some(Salt {
                    salt: "pepper".into(),
                    iterations: 100,
                    keylen: 16,
                }),
            },
        );
        ListenerSettings {
            auth: AuthConfig {
                anonymous: None,
                anonymous_realm: None,
                ticket: Some(principals),
                wampcra: Some(users),
                cryptosign: None,
                dynamic: Default::default(),
            },
            decoy_key: [7; 32],
            keepalive: None,
            penalties: Default::default(),
        }
    }

    fn hello(method: &str, authid: &str) -> Dict {
        dict! {"authmethods" => Value::List(vec![method.into()]), "authid" => authid}
    }

    fn challenge(l: &ListenerSettings, method: &str, authid: &str) -> (Dict, Pending) {
        match begin(l, &hello(method, authid), 42) {
            Ok(Begin::Challenge(c, p)) => match *c {
                Message::Challenge { extra, .. } => (extra, p),
                _ => panic!("expected CHALLENGE"),
            },
            _ => panic!("expected a challenge"),
        }
    }

    #[test]
    fn tickets_are_checked_and_unknown_authids_refused_like_wrong_tickets() {
        let l = listener();
        let (_, p) = challenge(&l, "ticket", "alice");
        let ok = p.verify("open sesame").unwrap();
        assert_eq!(
            (
                ok.who.authid.as_str(),
                ok.who.authrole.as_str(),
                ok.who.authmethod
            ),
            ("alice", "user", "ticket")
        );
        let (_, p) = challenge(&l, "ticket", "alice");
        let wrong = p.verify("open sesame!").unwrap_err();
        let (_, p) = challenge(&l, "ticket", "mallory");
        let unknown = p.verify("open sesame").unwrap_err();
        assert_eq!(wrong.reason, "wamp.error.not_authorized");
        assert_eq!(
            (wrong.reason, wrong.message.as_str()),
            (unknown.reason, unknown.message.as_str())
        );
        assert!(!wrong.message.contains("sesame"));
    }

    #[test]
    fn wampcra_challenges_look_alike_for_known_and_unknown_users() {
        let l = listener();
        let (known, p) = challenge(&l, "wampcra", "bob");
        let text = known.get("challenge").and_then(Value::as_str).unwrap();
        let c: serde_json::Value = serde_json::from_str(text).unwrap();
        assert_eq!(c["authid"], "bob");
        assert_eq!(c["session"], 42);
        assert_eq!(known.get("salt").and_then(Value::as_str), Some("pepper"));
        let good = wampcra_signature(b"derived-key", text);
        assert_eq!(p.verify(&good).unwrap().who.authmethod, "wampcra");
        let (unknown, p) = challenge(&l, "wampcra", "eve");
        let keys = |d: &Dict| d.keys().cloned().collect::<Vec<_>>();
        assert_eq!(keys(&known), keys(&unknown));
        let fields = |d: &Dict| {
            let text = d.get("challenge").and_then(Value::as_str).unwrap();
            let c: serde_json::Value = serde_json::from_str(text).unwrap();
            (
                c["authrole"].clone(),
                c["authmethod"].clone(),
                c["authprovider"].clone(),
            )
        };
        assert_eq!(
            fields(&known),
            fields(&unknown),
            "an unknown user's role looks real"
        );
        let (again, _) = challenge(&l, "wampcra", "eve");
        assert_eq!(
            unknown.get("salt"),
            again.get("salt"),
            "the same decoy salt"
        );
        let refused = p.verify(&good).unwrap_err();
        assert_eq!(refused.message, "WAMP-CRA signature is invalid");
    }

    #[test]
    fn cryptosign_refuses_an_unknown_key_even_with_its_valid_signature() {
        use crate::config::KeyPrincipal;
        use wamp::auth::Credentials;
        let mut l = listener();
        let key = |seed| {
            let extra = Credentials::Cryptosign(seed).authextra().unwrap();
            let hex = extra.get("pubkey").and_then(Value::as_str).unwrap();
            <[u8; 32]>::try_from(hex::decode(hex).unwrap()).unwrap()
        };
        let principal = KeyPrincipal {
            authorized_keys: vec![key([1; 32])],
            identity: Identity {
                role: "user".into(),
                realm: None,
            },
        };
        l.auth.cryptosign = Some([("carol".to_owned(), principal)].into());
        // The client announces `announced` and signs with `signer`.
        let attempt = |announced: [u8; 32], signer: [u8; 32]| {
            let hello = dict! {
                "authmethods" => Value::List(vec!["cryptosign".into()]),
                "authid" => "carol",
                "authextra" => Value::Dict(Credentials::Cryptosign(announced).authextra().unwrap()),
            };
            let Ok(Begin::Challenge(c, p)) = begin(&l, &hello, 1) else {
                panic!("expected a challenge");
            };
            let Message::Challenge { extra, .. } = *c else {
                panic!("expected CHALLENGE");
            };
            let answer = Credentials::Cryptosign(signer)
                .answer("cryptosign", &extra)
                .unwrap();
            p.verify(&answer)
        };
        assert_eq!(attempt([1; 32], [1; 32]).unwrap().who.authid, "carol");
        let wrong = attempt([1; 32], [2; 32]).unwrap_err();
        let unknown = attempt([3; 32], [3; 32]).unwrap_err();
        assert_eq!(wrong.message, "WAMP-Cryptosign signature is invalid");
        assert_eq!(
            (wrong.reason, wrong.message.as_str()),
            (unknown.reason, unknown.message.as_str())
        );
    }

    #[test]
    fn the_first_offered_method_the_transport_has_is_used() {
        let l = listener();
        let both = dict! {"authmethods" => Value::List(vec!["anonymous".into(), "ticket".into()]), "authid" => "alice"};
        assert!(matches!(begin(&l, &both, 1), Ok(Begin::Challenge(..))));
        let none = begin(&l, &hello("cryptosign", "x"), 1).err().unwrap();
        assert_eq!(none.reason, "wamp.error.no_auth_method");
        let default = begin(&l, &Dict::new(), 1).err().unwrap();
        assert_eq!(
            default.reason, "wamp.error.no_auth_method",
            "anonymous when none"
        );
    }

    #[test]
    fn authids_look_like_crossbars() {
        let a = random_authid();
        assert_eq!(a.len(), 29);
        assert_eq!(a.split('-').count(), 6);
        assert!(a.split('-').all(|g| g.len() == 4));
        assert_ne!(a, random_authid());
    }
}
