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
    /// `cryptosign`: an Ed25519 private key (its 32-byte seed) signs the router's challenge;
    /// HELLO announces the public key in `authextra.pubkey`.
    Cryptosign([u8; 32]),
}

impl fmt::Debug for Credentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Credentials::Anonymous => f.write_str("Anonymous"),
            Credentials::Ticket(_) => f.write_str("Ticket(…)"),
            Credentials::WampCra(_) => f.write_str("WampCra(…)"),
            Credentials::Cryptosign(_) => f.write_str("Cryptosign(…)"),
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

/// Who, by which method, for messages: `ops (wampcra)`, `wampcra` without an authid,
/// `anonymous`; never the secret.
impl fmt::Display for Login {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (&self.authid, &self.credentials) {
            (_, Credentials::Anonymous) => f.write_str("anonymous"),
            (Some(authid), c) => write!(f, "{authid} ({})", c.method()),
            (None, c) => f.write_str(c.method()),
        }
    }
}

impl Login {
    /// A login from a command line: `method` (`anonymous`, `ticket`, `wampcra`), its secret
    /// read from `secret_file` (its first line) when given, else from the environment variable
    /// `WAMP_TICKET` (ticket), `WAMP_SECRET` (wampcra) or `WAMP_PRIVATE_KEY` (cryptosign: 64
    /// hex digits, an Ed25519 seed) — never from the command line itself.
    pub fn from_command_line(
        method: &str,
        authid: Option<String>,
        secret_file: Option<&std::path::Path>,
    ) -> Result<Login, String> {
        Login::from_secret_source(method, authid, secret_file, None)
    }

    /// Like [`Login::from_command_line`], but the secret comes from the environment variable
    /// `secret_env` when given (and no file is), instead of the method's usual variable.
    pub fn from_secret_source(
        method: &str,
        authid: Option<String>,
        secret_file: Option<&std::path::Path>,
        secret_env: Option<&str>,
    ) -> Result<Login, String> {
        let secret = |variable: &str| -> Result<String, String> {
            let variable = secret_env.unwrap_or(variable);
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
            "cryptosign" => {
                let text = secret("WAMP_PRIVATE_KEY")?;
                let seed: [u8; 32] = hex::decode(&text)
                    .ok()
                    .and_then(|b| b.try_into().ok())
                    .ok_or_else(|| {
                        "the cryptosign private key must be 64 hex digits (an Ed25519 seed)"
                            .to_owned()
                    })?;
                Credentials::Cryptosign(seed)
            }
            other => {
                return Err(format!(
                    "unknown authmethod {other:?}: use anonymous, ticket, wampcra or cryptosign"
                ));
            }
        };
        if matches!(
            credentials,
            Credentials::Ticket(_) | Credentials::WampCra(_)
        ) && authid.is_none()
        {
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
            Credentials::Cryptosign(_) => "cryptosign",
        }
    }

    /// What HELLO's `authextra` carries for this method: the public key for cryptosign.
    pub fn authextra(&self) -> Option<Dict> {
        match self {
            Credentials::Cryptosign(seed) => {
                let public = ed25519_dalek::SigningKey::from_bytes(seed).verifying_key();
                Some(crate::dict! {"pubkey" => hex::encode(public.as_bytes())})
            }
            _ => None,
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
                let malformed = |problem: &str| malformed("wampcra", problem);
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
            Credentials::Cryptosign(seed) => {
                let malformed = |problem: &str| malformed("cryptosign", problem);
                let challenge = extra
                    .get("challenge")
                    .and_then(Value::as_str)
                    .and_then(|h| hex::decode(h).ok())
                    .filter(|c| c.len() == 32)
                    .ok_or_else(|| malformed("no challenge of 32 bytes in hex"))?;
                Ok(cryptosign_signature(seed, &challenge))
            }
        }
    }
}

/// A CHALLENGE of `method` that lacks what it needs.
fn malformed(method: &'static str, problem: &str) -> ChallengeError {
    ChallengeError::Malformed {
        method,
        problem: problem.to_owned(),
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

/// The WAMP-cryptosign answer to `challenge` (no channel binding): the Ed25519 signature of
/// the challenge and the challenge itself, in hex (192 characters), as autobahn sends it.
pub fn cryptosign_signature(seed: &[u8; 32], challenge: &[u8]) -> String {
    use ed25519_dalek::Signer;
    let signature = ed25519_dalek::SigningKey::from_bytes(seed).sign(challenge);
    format!(
        "{}{}",
        hex::encode(signature.to_bytes()),
        hex::encode(challenge)
    )
}

/// Checks a WAMP-cryptosign answer: `signature` (hex) must be the signature of `challenge` by
/// `public_key`, followed by the challenge.
pub fn cryptosign_verify(public_key: &[u8; 32], challenge: &[u8], signature: &str) -> bool {
    let Ok(raw) = hex::decode(signature) else {
        return false;
    };
    let Ok(key) = ed25519_dalek::VerifyingKey::from_bytes(public_key) else {
        return false;
    };
    if raw.len() != 64 + challenge.len() || &raw[64..] != challenge {
        return false;
    }
    let Ok(sig) = ed25519_dalek::Signature::from_slice(&raw[..64]) else {
        return false;
    };
    key.verify_strict(challenge, &sig).is_ok()
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
    fn cryptosign_answers_verify_with_the_public_key_only() {
        let seed = [7u8; 32];
        let c = Credentials::Cryptosign(seed);
        let pubkey = c.authextra().unwrap();
        let public: [u8; 32] = hex::decode(pubkey.get("pubkey").and_then(Value::as_str).unwrap())
            .unwrap()
            .try_into()
            .unwrap();
        let challenge = [1u8; 32];
        let extra = dict! {"challenge" => hex::encode(challenge), "channel_binding" => Value::Null};
        let answer = c.answer("cryptosign", &extra).unwrap();
        assert_eq!(answer.len(), 192);
        assert!(cryptosign_verify(&public, &challenge, &answer));
        assert!(
            !cryptosign_verify(&public, &[2u8; 32], &answer),
            "another challenge"
        );
        let other = Credentials::Cryptosign([8u8; 32])
            .answer("cryptosign", &extra)
            .unwrap();
        assert!(
            !cryptosign_verify(&public, &challenge, &other),
            "another key"
        );
        assert!(!cryptosign_verify(&public, &challenge, "not hex"));
        assert!(!format!("{c:?}").contains('7'));
    }

    #[test]
    fn command_line_logins_read_their_secret_from_a_file() {
        let dir = std::env::temp_dir().join(format!("wamp-auth-test-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let key = dir.join("key");
        std::fs::write(&key, format!("{}\n", hex::encode([5u8; 32]))).unwrap();
        let login = Login::from_command_line("cryptosign", None, Some(&key)).unwrap();
        assert_eq!(login.credentials, Credentials::Cryptosign([5u8; 32]));
        std::fs::write(&key, "not a key").unwrap();
        let e = Login::from_command_line("cryptosign", None, Some(&key)).unwrap_err();
        assert!(e.contains("64 hex digits"), "{e}");
        let e = Login::from_command_line("ticket", None, Some(&key)).unwrap_err();
        assert!(e.contains("--authid"), "{e}");
        std::fs::write(&key, "hunter2\n").unwrap();
        let login = Login::from_command_line("ticket", Some("ops".into()), Some(&key)).unwrap();
        assert_eq!(
            login.to_string(),
            "ops (ticket)",
            "named, without the secret"
        );
        assert_eq!(Login::default().to_string(), "anonymous");
        std::fs::remove_dir_all(&dir).ok();
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
