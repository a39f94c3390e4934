//! The authentication a transport offers (its `auth` block), in Crossbar.io's shape: anonymous,
//! static ticket, WAMP-CRA and cryptosign principals, and dynamic authenticators (procedures the
//! router calls). Secrets never show in `Debug` output.

use std::collections::BTreeMap;
use std::fmt;

/// A secret from the configuration (a ticket, a WAMP-CRA secret); `Debug` hides it.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    /// Wraps a secret.
    pub fn new(s: impl Into<String>) -> Self {
        Secret(s.into())
    }

    /// The secret itself, for checking a client's answer.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(…)")
    }
}

/// How clients of one transport may authenticate.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct AuthConfig {
    /// The role of anonymous sessions (`auth.anonymous.role`, default `anonymous`). Without an
    /// `auth` block everybody joins anonymously with role `anonymous`, like Crossbar; `None` when
    /// an `auth` block exists but allows no anonymous (static) login.
    pub anonymous: Option<String>,
    /// The realm anonymous sessions join whatever HELLO asked (`auth.anonymous.realm`), if set.
    pub anonymous_realm: Option<String>,
    /// `auth.ticket` of type `static`: principals by authid.
    pub ticket: Option<BTreeMap<String, Principal>>,
    /// `auth.wampcra` of type `static`: users by authid.
    pub wampcra: Option<BTreeMap<String, CraUser>>,
    /// `auth.cryptosign` of type `static`: principals by authid.
    pub cryptosign: Option<BTreeMap<String, KeyPrincipal>>,
    /// The methods of type `dynamic`: decided by an authenticator procedure.
    pub dynamic: DynamicAuth,
}

/// The dynamic authenticators of a transport, one per method at most (a method is either
/// static or dynamic).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct DynamicAuth {
    /// `auth.ticket` of type `dynamic`.
    pub ticket: Option<Authenticator>,
    /// `auth.wampcra` of type `dynamic`.
    pub wampcra: Option<Authenticator>,
    /// `auth.cryptosign` of type `dynamic`.
    pub cryptosign: Option<Authenticator>,
}

impl DynamicAuth {
    /// The authenticator of `method` (`ticket`, `wampcra`, `cryptosign`), if it is dynamic.
    pub fn get(&self, method: &str) -> Option<&Authenticator> {
        match method {
            "ticket" => self.ticket.as_ref(),
            "wampcra" => self.wampcra.as_ref(),
            "cryptosign" => self.cryptosign.as_ref(),
            _ => None,
        }
    }
}

/// A dynamic authenticator (Crossbar's `"type": "dynamic"`): the procedure the router calls
/// with `(realm, authid, details)` during the handshake, and where.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Authenticator {
    /// The procedure's URI (`authenticator`).
    pub procedure: String,
    /// The realm it is registered in (`authenticator-realm`); without it, the realm HELLO
    /// asked for, as in Crossbar.
    pub realm: Option<String>,
    /// The role of a principal the authenticator returns without one (`default-role`).
    pub default_role: Option<String>,
}

/// A static cryptosign principal (`auth.cryptosign.principals.<authid>`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyPrincipal {
    /// The Ed25519 public keys it may log in with (`authorized_keys`, hex).
    pub authorized_keys: Vec<[u8; 32]>,
    /// Its role and realm.
    pub identity: Identity,
}

/// Who a principal becomes once authenticated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Identity {
    /// The role (`role`).
    pub role: String,
    /// The realm it joins, whatever HELLO asked for (`realm`), if set.
    pub realm: Option<String>,
}

/// A static ticket principal (`auth.ticket.principals.<authid>`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Principal {
    /// Its ticket (`ticket`; `${NAME}` reads it from the environment).
    pub ticket: Secret,
    /// Its role and realm.
    pub identity: Identity,
}

/// A static WAMP-CRA user (`auth.wampcra.users.<authid>`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CraUser {
    /// The key its challenges are signed with: `secret`, or, with a `salt`, the key derived
    /// from `secret` (the user's password), as Crossbar.io 26 does.
    pub secret: Secret,
    /// Its role and realm.
    pub identity: Identity,
    /// The PBKDF2 parameters the client derives its key with, when salted.
    pub salt: Option<Salt>,
}

/// PBKDF2 parameters of a salted WAMP-CRA secret.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Salt {
    /// The salt (`salt`).
    pub salt: String,
    /// Iterations (`iterations`, default 1000).
    pub iterations: u32,
    /// The derived key's length in bytes (`keylen`, default 32).
    pub keylen: u32,
}

impl AuthConfig {
    /// What clients may join with when there is no `auth` block: anonymous, role `anonymous`.
    pub fn anonymous_only(role: &str) -> Self {
        AuthConfig {
            anonymous: Some(role.to_owned()),
            ..AuthConfig::default()
        }
    }

    /// The methods offered, in the order the router prefers when a client offers several.
    pub fn methods(&self) -> Vec<&'static str> {
        let mut m = Vec::new();
        let d = &self.dynamic;
        if self.cryptosign.is_some() || d.cryptosign.is_some() {
            m.push("cryptosign");
        }
        if self.wampcra.is_some() || d.wampcra.is_some() {
            m.push("wampcra");
        }
        if self.ticket.is_some() || d.ticket.is_some() {
            m.push("ticket");
        }
        if self.anonymous.is_some() {
            m.push("anonymous");
        }
        m
    }
}
