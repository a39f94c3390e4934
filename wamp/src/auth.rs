//! WAMP authentication as the spec and Crossbar.io do it, for both sides: what a client offers
//! in HELLO and how it answers a CHALLENGE ([`Credentials`]), and the WAMP-CRA computations the
//! router checks the answer with ([`wampcra_signature`], [`wampcra_derive_key`]).

use std::fmt;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use hmac::{Hmac, Mac};
use sha2::Sha256;
use subtle::ConstantTimeEq;

use crate::value::{Dict, Value};

/// How a client authenticates; the secret never shows in `Debug`.
#[derive(Clone, Default, PartialEq, Eq)]
pub enum Credentials {
    /// `anonymous`: no secret.
    #[default]
    Anonymous,
    /// `ticket`: the ticket is sent as it is.
    Ticket(String),
    /// `wampcra`: the secret signs the router's challenge (derived with PBKDF2 first when the
    /// router sends a salt).
    WampCra(String),
}

impl fmt::Debug for Credentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Credentials::Anonymous => f.write_str("Anonymous"),
            Credentials::Ticket(_) => f.write_str("Ticket(…)"),
            Credentials::WampCra(_) => f.write_str("WampCra(…)"),
        }
    }
}

/// Who a client logs in as: an authid (if it asks for one) and its credentials.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Login {
    /// The authid asked for in HELLO.
    pub authid: Option<String>,
    /// How it proves it.
    pub credentials: Credentials,
}

impl Login {
    /// A login from a command line: `method` (`anonymous`, `ticket`, `wampcra`), its secret
    /// read from `secret_file` (its first line) when given, else from the environment variable
    /// `WAMP_TICKET` (ticket) or `WAMP_SECRET` (wampcra) — never from the command line itself.
    pub fn from_command_line(
        method: &str,
        authid: Option<String>,
        secret_file: Option<&std::path::Path>,
    ) -> Result<Login, String> {
        let secret = |variable: &str| -> Result<String, String> {
            let text = match secret_file {
                Some(path) => std::fs::read_to_string(path)
                    .map_err(|e| format!("cannot read the secret from {}: {e}", path.display()))?,
                None => std::env::var(variable).map_err(|_| {
                    format!(
                        "{method} needs a secret: set {variable} or give a file with the secret"
                    )
                })?,
            };
            let first = text.lines().next().unwrap_or_default().trim().to_owned();
            if first.is_empty() {
                return Err(format!("the {method} secret is empty"));
            }
            Ok(first)
        };
        let credentials = match method {
            "anonymous" => Credentials::Anonymous,
            "ticket" => Credentials::Ticket(secret("WAMP_TICKET")?),
            "wampcra" => Credentials::WampCra(secret("WAMP_SECRET")?),
            other => {
                return Err(format!(
                    "unknown authmethod {other:?}: use anonymous, ticket or wampcra"
                ));
            }
        };
        if credentials != Credentials::Anonymous && authid.is_none() {
            return Err(format!("{method} needs an --authid"));
        }
        Ok(Login {
            authid,
            credentials,
        })
    }
}

/// Why a CHALLENGE could not be answered.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ChallengeError {
    /// The router asked for a method this client did not offer.
    #[error("the router asked for {asked:?} authentication, this session offered {offered:?}")]
    Unexpected {
        /// The method in CHALLENGE.
        asked: String,
        /// The method this client offered.
        offered: &'static str,
    },
    /// The CHALLENGE lacks what the method needs.
    #[error("the {method} CHALLENGE is malformed: {problem}")]
    Malformed {
        /// The method.
        method: &'static str,
        /// What is missing or wrong.
        problem: String,
    },
}

impl Credentials {
    /// The method's name in HELLO `authmethods`.
    pub fn method(&self) -> &'static str {
        match self {
            Credentials::Anonymous => "anonymous",
            Credentials::Ticket(_) => "ticket",
            Credentials::WampCra(_) => "wampcra",
        }
    }

    /// The AUTHENTICATE signature answering a CHALLENGE for `authmethod` with `extra`.
    pub fn answer(&self, authmethod: &str, extra: &Dict) -> Result<String, ChallengeError> {
        let unexpected = || ChallengeError::Unexpected {
            asked: authmethod.to_owned(),
            offered: self.method(),
        };
        if authmethod != self.method() {
            return Err(unexpected());
        }
        match self {
            Credentials::Anonymous => Err(unexpected()),
            Credentials::Ticket(ticket) => Ok(ticket.clone()),
            Credentials::WampCra(secret) => {
                let malformed = |problem: &str| ChallengeError::Malformed {
                    method: "wampcra",
                    problem: problem.to_owned(),
                };
                let challenge = extra
                    .get("challenge")
                    .and_then(Value::as_str)
                    .ok_or_else(|| malformed("no challenge string"))?;
                let key = match extra.get("salt") {
                    None | Some(Value::Null) => secret.clone(),
                    Some(salt) => {
                        let salt = salt
                            .as_str()
                            .ok_or_else(|| malformed("salt is not a string"))?;
                        let number = |k: &str, default: u64| match extra.get(k) {
                            None | Some(Value::Null) => Ok(default),
                            Some(v) => v
                                .as_u64()
                                .filter(|n| (1..=u64::from(u32::MAX)).contains(n))
                                .ok_or_else(|| {
                                    malformed(&format!("{k} is not a positive integer"))
                                }),
                        };
                        let iterations = u32::try_from(number("iterations", 1000)?)
                            .map_err(|_| malformed("iterations too large"))?;
                        let keylen = usize::try_from(number("keylen", 32)?)
                            .ok()
                            .filter(|&n| n <= 1024)
                            .ok_or_else(|| malformed("keylen above 1024"))?;
                        wampcra_derive_key(secret, salt, iterations, keylen)
                    }
                };
                Ok(wampcra_signature(key.as_bytes(), challenge))
            }
        }
    }
}

/// The WAMP-CRA signature of `challenge` with `key`: Base64 of HMAC-SHA256.
pub fn wampcra_signature(key: &[u8], challenge: &str) -> String {
    // HMAC takes keys of any length; `new_from_slice` cannot fail for it.
    let mut mac = match Hmac::<Sha256>::new_from_slice(key) {
        Ok(m) => m,
        Err(_) => return String::new(),
    };
    mac.update(challenge.as_bytes());
    BASE64.encode(mac.finalize().into_bytes())
}

/// The WAMP-CRA key derived from a salted secret: Base64 of PBKDF2-HMAC-SHA256 (what a router
/// stores as the user's `secret` when it gives the client a `salt`).
pub fn wampcra_derive_key(secret: &str, salt: &str, iterations: u32, keylen: usize) -> String {
    let mut key = vec![0u8; keylen];
    pbkdf2::pbkdf2_hmac::<Sha256>(secret.as_bytes(), salt.as_bytes(), iterations, &mut key);
    BASE64.encode(key)
}

/// Compares two secrets or signatures in constant time (for their common length).
pub fn same_secret(a: &str, b: &str) -> bool {
    a.as_bytes().ct_eq(b.as_bytes()).into()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dict;

    /// Vectors computed with autobahn-python 25.x (`autobahn.wamp.auth`).
    #[test]
    fn wampcra_matches_autobahn() {
        assert_eq!(
            wampcra_derive_key("secret123", "salt123", 1000, 32),
            "Eu7CQLfR+/Ffb+275A4s9/6H/RGKYxM4s6IMrsNKzC8="
        );
        assert_eq!(
            wampcra_signature(b"secret123", "{\"nonce\": \"abc\"}"),
            "WQR53+XYwPMARXx0+/Rdo3ndPfrtxZcD8oRtfMCEhVI="
        );
        let salted = Credentials::WampCra("secret123".into());
        let extra = dict! {"challenge" => "{\"nonce\": \"abc\"}", "salt" => "salt123", "iterations" => 1000, "keylen" => 32};
        assert_eq!(
            salted.answer("wampcra", &extra).unwrap(),
            wampcra_signature(
                wampcra_derive_key("secret123", "salt123", 1000, 32).as_bytes(),
                "{\"nonce\": \"abc\"}"
            )
        );
    }

    #[test]
    fn answers_only_what_was_offered_and_never_shows_the_secret() {
        let t = Credentials::Ticket("hunter2".into());
        assert_eq!(t.answer("ticket", &Dict::new()).unwrap(), "hunter2");
        assert!(matches!(
            t.answer("wampcra", &Dict::new()),
            Err(ChallengeError::Unexpected { .. })
        ));
        assert!(!format!("{t:?}").contains("hunter2"));
        let cra = Credentials::WampCra("s".into());
        assert!(matches!(
            cra.answer("wampcra", &Dict::new()),
            Err(ChallengeError::Malformed { .. })
        ));
        assert!(same_secret("abc", "abc"));
        assert!(!same_secret("abc", "abd"));
        assert!(!same_secret("abc", "abcd"));
    }
}
