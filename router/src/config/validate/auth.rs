//! Authentication: a transport's `auth` block (anonymous, static ticket, WAMP-CRA and
//! cryptosign, secrets from the environment, dynamic authenticators), and whether the roles and
//! realms it names exist.

use std::collections::{BTreeMap, HashSet};

use serde_json::{Map, Value};

use super::transports::Pending;
use super::{Cx, Result};
use crate::config::json_path::JsonPath;
use crate::config::raw::{
    Int, RawAnonymousStatic, RawCraStatic, RawCryptosignStatic, RawDynamic, RawTicketStatic,
};
use crate::config::wording::{describe, quoted_list};
use crate::config::{
    AuthConfig, Authenticator, CraUser, Identity, KeyPrincipal, Principal, RealmConfig, Salt,
    Secret,
};

/// Authentication methods Crossbar knows that wampstat does not implement; ignored with a
/// warning.
/// The most PBKDF2 iterations a salted WAMP-CRA secret may ask (each login of a client costs
/// it as many; a million is seconds of CPU).
const MAX_PBKDF2_ITERATIONS: u32 = 1_000_000;
/// The longest PBKDF2 key a salted WAMP-CRA secret may ask, in bytes.
const MAX_PBKDF2_KEYLEN: u32 = 1024;

/// The key WAMP-CRA challenges are signed with: the configured secret, or, with a salt, the key
/// derived from it as Crossbar.io 26 does (`auth.derive_key(secret, salt, iterations, keylen)`),
/// so the `secret` of a salted user is the password, and the client derives the same key from
/// it and the salt the challenge carries. Derived once, here, not at every login.
fn salted_key(secret: Secret, salt: Option<&Salt>) -> Secret {
    match salt {
        None => secret,
        Some(s) => Secret::new(wamp::auth::wampcra_derive_key(
            secret.expose(),
            &s.salt,
            s.iterations,
            s.keylen as usize,
        )),
    }
}

const OTHER_CROSSBAR_AUTHMETHODS: &[&str] = &[
    "tls",
    "cookie",
    "scram",
    "cryptosign-proxy",
    "anonymous-proxy",
];

/// A transport's authentication as validated, with where its roles were named.
pub(super) struct TransportAuth {
    /// What the router uses.
    pub(super) config: AuthConfig,
    /// Where the anonymous role came from.
    pub(super) anonymous: Anonymous,
    /// The roles of ticket and WAMP-CRA principals, each with its path.
    pub(super) roles: Vec<(String, JsonPath)>,
    /// The realms dynamic authenticators are registered in (`authenticator-realm`), each with
    /// its path.
    pub(super) authenticator_realms: Vec<(String, JsonPath)>,
}

/// Where a transport's anonymous role came from.
pub(super) enum Anonymous {
    /// No `auth` block: role `anonymous`, like Crossbar.
    Implicit,
    /// `auth.anonymous.role` (or its default), at this path.
    Explicit(String, JsonPath),
    /// An `auth` block without static anonymous authentication.
    Disabled,
}

impl Cx<'_> {
    /// The authentication of a transport with the `auth` block `raw` (at `ap`).
    pub(super) fn auth(
        &mut self,
        raw: Option<Map<String, Value>>,
        ap: &JsonPath,
    ) -> Result<TransportAuth> {
        let Some(methods) = raw.filter(|m| !m.is_empty()) else {
            // Crossbar: "if authentication is _not_ configured, allow anyone to join as anonymous"
            return Ok(TransportAuth {
                config: AuthConfig::anonymous_only("anonymous"),
                anonymous: Anonymous::Implicit,
                roles: Vec::new(),
                authenticator_realms: Vec::new(),
            });
        };
        let mut anonymous = Anonymous::Disabled;
        let mut config = AuthConfig::default();
        let mut authenticator_realms = Vec::new();
        let first_role = self.principal_roles.len();
        for (method, raw_method) in &methods {
            let mp = ap.key(method);
            match method.as_str() {
                "anonymous" => {
                    match self.type_of(raw_method, &mp)? {
                        "static" => {
                            let raw: RawAnonymousStatic = self.typed(raw_method, &mp)?;
                            let (role, at) = match raw.role {
                                Some(role) => (role, mp.key("role")),
                                None => ("anonymous".to_owned(), mp.clone()),
                            };
                            if role.is_empty() {
                                return Err(self.err(&at, "must not be empty"));
                            }
                            config.anonymous = Some(role.clone());
                            config.anonymous_realm = raw.realm;
                            anonymous = Anonymous::Explicit(role, at);
                        }
                        t @ ("dynamic" | "function") => self.unsupported_type(method, t, &mp),
                        t => {
                            return Err(self.err(
                            &mp.key("type"),
                            format!("must be \"static\" (the only type wampstat supports), got {t:?}"),
                        ));
                        }
                    }
                }
                "ticket" | "wampcra" | "cryptosign" => match self.type_of(raw_method, &mp)? {
                    "static" if method == "cryptosign" => {
                        let raw: RawCryptosignStatic = self.typed(raw_method, &mp)?;
                        let at = mp.key("principals");
                        let principals = self.principals(raw.principals, &at, |cx, p, pp| {
                            Ok(KeyPrincipal {
                                authorized_keys: cx.public_keys(&p.authorized_keys, pp)?,
                                identity: cx.identity(p.role, p.realm, pp)?,
                            })
                        })?;
                        config.cryptosign = Some(principals);
                    }
                    "static" if method == "ticket" => {
                        let raw: RawTicketStatic = self.typed(raw_method, &mp)?;
                        let at = mp.key("principals");
                        let principals = self.principals(raw.principals, &at, |cx, p, pp| {
                            Ok(Principal {
                                ticket: cx.secret(p.ticket, &pp.key("ticket"))?,
                                identity: cx.identity(p.role, p.realm, pp)?,
                            })
                        })?;
                        config.ticket = Some(principals);
                    }
                    "static" => {
                        let raw: RawCraStatic = self.typed(raw_method, &mp)?;
                        let users = self.principals(raw.users, &mp.key("users"), |cx, u, up| {
                            let secret = cx.secret(u.secret, &up.key("secret"))?;
                            let salt = match u.salt {
                                None => None,
                                Some(salt) => Some(Salt {
                                    salt,
                                    iterations: cx.bounded(
                                        u.iterations,
                                        &up.key("iterations"),
                                        (1000, MAX_PBKDF2_ITERATIONS),
                                    )?,
                                    keylen: cx.bounded(
                                        u.keylen,
                                        &up.key("keylen"),
                                        (32, MAX_PBKDF2_KEYLEN),
                                    )?,
                                }),
                            };
                            Ok(CraUser {
                                secret: salted_key(secret, salt.as_ref()),
                                salt,
                                identity: cx.identity(u.role, u.realm, up)?,
                            })
                        })?;
                        config.wampcra = Some(users);
                    }
                    "dynamic" => {
                        let a = self.authenticator(raw_method, &mp)?;
                        if let Some(realm) = &a.realm {
                            authenticator_realms
                                .push((realm.clone(), mp.key("authenticator-realm")));
                        }
                        let d = &mut config.dynamic;
                        match method.as_str() {
                            "ticket" => d.ticket = Some(a),
                            "wampcra" => d.wampcra = Some(a),
                            _ => d.cryptosign = Some(a),
                        }
                    }
                    t @ "function" => self.unsupported_type(method, t, &mp),
                    t => {
                        return Err(self.err(
                            &mp.key("type"),
                            format!("must be \"static\" or \"dynamic\", got {t:?}"),
                        ));
                    }
                },
                m if OTHER_CROSSBAR_AUTHMETHODS.contains(&m) => {
                    let message = format!(
                        "authentication method {m:?} is not supported by wampstat (only \
                         anonymous, ticket, wampcra and cryptosign), ignored"
                    );
                    self.warn(&mp, message);
                }
                m => {
                    return Err(self.err(
                        &mp,
                        format!(
                            "unknown authentication method {m:?}; wampstat supports \"anonymous\", \
                             \"ticket\", \"wampcra\" and \"cryptosign\" (and ignores Crossbar's {})",
                            quoted_list(OTHER_CROSSBAR_AUTHMETHODS)
                        ),
                    ));
                }
            }
        }
        if config.methods().is_empty() {
            self.warn(
                ap,
                "no supported authentication method (wampstat supports static anonymous, and \
                 static or dynamic ticket, wampcra and cryptosign), so no client can join \
                 through this transport",
            );
        }
        Ok(TransportAuth {
            config,
            anonymous,
            roles: self.principal_roles.split_off(first_role),
            authenticator_realms,
        })
    }

    /// A dynamic authenticator (`"type": "dynamic"`, at `mp`): `authenticator` must be a URI;
    /// `default-role` is checked like a principal's role.
    fn authenticator(&mut self, raw: &Value, mp: &JsonPath) -> Result<Authenticator> {
        let raw: RawDynamic = self.typed(raw, mp)?;
        let at = mp.key("authenticator");
        let procedure = match raw.authenticator {
            Value::String(s)
                if wamp::uri::is_valid(&s, wamp::uri::UriCheck::Loose) && !s.is_empty() =>
            {
                s
            }
            Value::String(s) => {
                return Err(self.err(&at, format!("must be a procedure URI, got {s:?}")));
            }
            other => {
                return Err(self.err(
                    &at,
                    format!(
                        "invalid type: {}, expected a procedure URI (a string)",
                        describe(&other)
                    ),
                ));
            }
        };
        if raw.authenticator_role.is_some() {
            self.warn(
                &mp.key("authenticator-role"),
                "ignored: wampstat calls the authenticator as the router itself, which no \
                 role's permissions restrict",
            );
        }
        if let Some(role) = &raw.default_role {
            if role.is_empty() {
                return Err(self.err(&mp.key("default-role"), "must not be empty"));
            }
            self.principal_roles
                .push((role.clone(), mp.key("default-role")));
        }
        if raw.authenticator_realm.as_deref() == Some("") {
            return Err(self.err(&mp.key("authenticator-realm"), "must not be empty"));
        }
        Ok(Authenticator {
            procedure,
            realm: raw.authenticator_realm,
            default_role: raw.default_role,
        })
    }

    /// Warns that `method`'s authentication of type `t` (at `mp`) is ignored.
    fn unsupported_type(&mut self, method: &str, t: &str, mp: &JsonPath) {
        let message = format!(
            "{method} authentication of type {t:?} is not supported by wampstat yet (only \
             \"static\"), ignored"
        );
        self.warn(&mp.key("type"), message);
    }

    /// A principal's role and realm (at `pp`); the role is remembered for the check that it
    /// exists.
    fn identity(&mut self, role: String, realm: Option<String>, pp: &JsonPath) -> Result<Identity> {
        if role.is_empty() {
            return Err(self.err(&pp.key("role"), "must not be empty"));
        }
        self.principal_roles.push((role.clone(), pp.key("role")));
        Ok(Identity { role, realm })
    }

    /// The principals of a method, by authid (at `at`), each made by `make` from its raw form
    /// and its path.
    fn principals<R, T>(
        &mut self,
        raw: BTreeMap<String, R>,
        at: &JsonPath,
        mut make: impl FnMut(&mut Self, R, &JsonPath) -> Result<T>,
    ) -> Result<BTreeMap<String, T>> {
        let mut out = BTreeMap::new();
        for (authid, r) in raw {
            let value = make(self, r, &at.key(&authid))?;
            out.insert(authid, value);
        }
        Ok(out)
    }

    /// A positive integer option (at `at`) of at most `max`, `default` when absent.
    fn bounded(&self, v: Option<Int>, at: &JsonPath, (default, max): (u32, u32)) -> Result<u32> {
        match v {
            None => Ok(default),
            Some(Int(n)) => u32::try_from(n)
                .ok()
                .filter(|&n| n > 0 && n <= max)
                .ok_or_else(|| {
                    self.err(at, format!("must be an integer from 1 to {max}, got {n}"))
                }),
        }
    }

    /// A cryptosign principal's `authorized_keys` (at `pp`): Ed25519 public keys in hex.
    fn public_keys(&self, keys: &[String], pp: &JsonPath) -> Result<Vec<[u8; 32]>> {
        keys.iter()
            .enumerate()
            .map(|(i, key)| {
                hex::decode(key)
                    .ok()
                    .and_then(|b| b.try_into().ok())
                    .ok_or_else(|| {
                        let at = pp.key("authorized_keys").index(i);
                        self.err(&at, "must be an Ed25519 public key: 64 hex digits")
                    })
            })
            .collect()
    }

    /// A secret (at `at`): `${NAME}` is read from the environment variable NAME, as Crossbar
    /// does; an unset one is an error naming the variable (never the secret).
    pub(super) fn secret(&self, value: String, at: &JsonPath) -> Result<Secret> {
        let Some(name) = value.strip_prefix("${").and_then(|v| v.strip_suffix('}')) else {
            if value.is_empty() {
                return Err(self.err(at, "must not be empty"));
            }
            return Ok(Secret::new(value));
        };
        match (self.env)(name) {
            Some(v) if !v.is_empty() => Ok(Secret::new(v)),
            Some(_) => Err(self.err(at, format!("the environment variable {name} is empty"))),
            None => Err(self.err(
                at,
                format!(
                    "the environment variable {name} is not set (the value is \"${{{name}}}\")"
                ),
            )),
        }
    }

    /// A transport's anonymous role must exist in some realm: an explicitly configured one is an
    /// error (nobody could ever use that transport), the implicit `anonymous` a warning.
    pub(super) fn check_anonymous_roles(
        &mut self,
        realms: &[(JsonPath, RealmConfig)],
        pending: &[Pending],
    ) -> Result<()> {
        let defined: HashSet<&str> = realms
            .iter()
            .flat_map(|(_, r)| r.roles.iter().map(|role| role.name.as_str()))
            .collect();
        for p in pending {
            if let Some((realm, at)) = p
                .authenticator_realms
                .iter()
                .find(|(r, _)| !realms.iter().any(|(_, c)| &c.name == r))
            {
                return Err(self.err(at, format!("realm {realm:?} is not defined")));
            }
            if let Some((role, at)) = p.roles.iter().find(|(r, _)| !defined.contains(r.as_str())) {
                let mut names: Vec<&str> = defined.iter().copied().collect();
                names.sort_unstable();
                return Err(self.err(at, format!("role {role:?} is not defined in any realm")));
            }
            match &p.anonymous {
                Anonymous::Explicit(role, at) if !defined.contains(role.as_str()) => {
                    let mut names: Vec<&str> = defined.iter().copied().collect();
                    names.sort_unstable();
                    return Err(self.err(
                        at,
                        format!(
                            "anonymous role {role:?} is not defined in any realm (defined roles: {})",
                            if names.is_empty() {
                                "none".to_owned()
                            } else {
                                quoted_list(&names)
                            }
                        ),
                    ));
                }
                Anonymous::Implicit if !defined.contains("anonymous") => {
                    self.warn(
                        &p.path,
                        "no \"auth\" block, so clients join as role \"anonymous\" (like Crossbar), \
                         but no realm defines that role",
                    );
                }
                _ => {}
            }
        }
        Ok(())
    }
}
