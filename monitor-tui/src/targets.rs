//! Which routers to follow: `--url` given once or more (`URL` or `URL@REALM`), and
//! `--targets FILE`, a JSON file that gives each router its own realm, serializer, credentials
//! and name. The command line's `--realm`, `--serializer`, `--authmethod`, `--authid`,
//! `--secret-file` and `--ca` are the defaults of every target.
//!
//! A targets file:
//!
//! ```json
//! {"targets": [
//!   {"url": "rs://10.0.0.1:8081", "name": "edge-a"},
//!   {"url": "wss://b.example.com/ws", "realm": "realm2", "serializer": "cbor",
//!    "authmethod": "ticket", "authid": "monitor", "secret_env": "B_TICKET",
//!    "ca": "ca.pem"}
//! ]}
//! ```
//!
//! Secrets never go into the file itself: `secret_file` names a file whose first line is the
//! secret, `secret_env` an environment variable (by default the method's usual one, such as
//! `WAMP_TICKET`). Relative paths are relative to the targets file.

use std::collections::HashSet;
use std::path::{Path, PathBuf};

use serde_json::Value as Json;
use wamp::Serializer;
use wamp::auth::Login;
use wamp::transport::tls::TrustRoots;

use crate::feed::FeedConfig;
use crate::model::host_port;

/// What a target takes from the command line unless it says otherwise.
#[derive(Debug, Clone)]
pub struct Defaults {
    /// `--realm`.
    pub realm: String,
    /// `--serializer`.
    pub serializer: Serializer,
    /// `--authmethod`.
    pub authmethod: String,
    /// `--authid`.
    pub authid: Option<String>,
    /// `--secret-file`.
    pub secret_file: Option<PathBuf>,
    /// `--ca`.
    pub ca: Option<PathBuf>,
}

/// A problem with the targets: which target (a URL, or the file and the JSON path) and what.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{place}: {problem}")]
pub struct TargetError {
    /// `--url rs://a:1@x y` or `targets.json: targets[1].serializer`.
    pub place: String,
    /// What is wrong.
    pub problem: String,
}

/// Splits `URL@REALM` into the URL and the realm (`None` without `@`). An `@` in the authority
/// (`ws://user:pass@host`) is refused: credentials never go on the command line.
pub fn split_url(spec: &str) -> Result<(String, Option<String>), String> {
    let Some((scheme, rest)) = spec.split_once("://") else {
        return Err("expected a URL such as ws://host:port/path or rs://host:port".into());
    };
    let Some((url, realm)) = rest.rsplit_once('@') else {
        return Ok((spec.to_owned(), None));
    };
    if realm.is_empty() || realm.contains(['/', ':']) {
        return Err(
            "credentials do not go into URLs (use --authmethod and a secret file or variable); \
             URL@REALM picks a realm"
                .into(),
        );
    }
    Ok((format!("{scheme}://{url}"), Some(realm.to_owned())))
}

/// The targets of the `--url` options, each with the defaults but its own realm if it names one.
pub fn from_urls(specs: &[String], defaults: &Defaults) -> Result<Vec<FeedConfig>, TargetError> {
    specs
        .iter()
        .map(|spec| {
            let place = || format!("--url {spec}");
            let (url, realm) = split_url(spec).map_err(|problem| TargetError {
                place: place(),
                problem,
            })?;
            let login = Login::from_command_line(
                &defaults.authmethod,
                defaults.authid.clone(),
                defaults.secret_file.as_deref(),
            )
            .map_err(|problem| TargetError {
                place: place(),
                problem,
            })?;
            Ok(FeedConfig {
                name: host_port(&url),
                realm: realm.unwrap_or_else(|| defaults.realm.clone()),
                url,
                serializer: defaults.serializer,
                login,
                trust: trust(defaults.ca.clone()),
                typed_stats: false,
            })
        })
        .collect()
}

/// The keys a target may have.
const KEYS: [&str; 9] = [
    "name",
    "url",
    "realm",
    "serializer",
    "authmethod",
    "authid",
    "secret_file",
    "secret_env",
    "ca",
];

/// Keys that would put a secret into the file.
const SECRETS: [&str; 5] = ["ticket", "secret", "password", "private_key", "key"];

/// Reads the targets of a targets file (see the module documentation).
pub fn from_file(path: &Path, defaults: &Defaults) -> Result<Vec<FeedConfig>, TargetError> {
    let file = path.display().to_string();
    let text = std::fs::read_to_string(path).map_err(|e| TargetError {
        place: file.clone(),
        problem: format!("cannot read it: {e}"),
    })?;
    let base = path.parent().unwrap_or(Path::new("."));
    parse(&text, &file, base, defaults)
}

/// Parses the text of a targets file called `file`, whose relative paths are relative to
/// `base`.
pub fn parse(
    text: &str,
    file: &str,
    base: &Path,
    defaults: &Defaults,
) -> Result<Vec<FeedConfig>, TargetError> {
    let err = |path: &str, problem: String| TargetError {
        place: if path.is_empty() {
            file.to_owned()
        } else {
            format!("{file}: {path}")
        },
        problem,
    };
    let json: Json = serde_json::from_str(text).map_err(|e| {
        err(
            "",
            format!("not JSON (line {}, column {}): {e}", e.line(), e.column()),
        )
    })?;
    let list = match &json {
        Json::Object(o) => match o.get("targets") {
            Some(Json::Array(a)) => a,
            Some(_) => return Err(err("targets", "must be a list of targets".into())),
            None => return Err(err("", "expected {\"targets\": [...]}".into())),
        },
        Json::Array(a) => a,
        _ => return Err(err("", "expected {\"targets\": [...]}".into())),
    };
    if list.is_empty() {
        return Err(err("targets", "lists no router".into()));
    }
    let mut out = Vec::with_capacity(list.len());
    for (i, t) in list.iter().enumerate() {
        let at = format!("targets[{i}]");
        let config = target(t, base, defaults).map_err(|(key, problem)| {
            let path = if key.is_empty() {
                at.clone()
            } else {
                format!("{at}.{key}")
            };
            err(&path, problem)
        })?;
        out.push(config);
    }
    Ok(out)
}

/// One target of a file; the error names the key at fault (empty: the whole target).
fn target(t: &Json, base: &Path, d: &Defaults) -> Result<FeedConfig, (String, String)> {
    let Json::Object(o) = t else {
        return Err((String::new(), "must be an object with a \"url\"".into()));
    };
    for key in o.keys() {
        if SECRETS.contains(&key.as_str()) {
            let problem = "secrets do not go into the targets file: use \"secret_file\" or \
                           \"secret_env\"";
            return Err((key.clone(), problem.into()));
        }
        if !KEYS.contains(&key.as_str()) {
            return Err((
                key.clone(),
                format!("unknown key (known: {})", KEYS.join(", ")),
            ));
        }
    }
    let text = |key: &str| -> Result<Option<String>, (String, String)> {
        match o.get(key) {
            None | Some(Json::Null) => Ok(None),
            Some(Json::String(s)) if !s.is_empty() => Ok(Some(s.clone())),
            Some(_) => Err((key.to_owned(), "must be a non-empty string".into())),
        }
    };
    let path = |key: &str| -> Result<Option<PathBuf>, (String, String)> {
        Ok(text(key)?.map(|p| base.join(p)))
    };
    let url = text("url")?.ok_or_else(|| ("url".to_owned(), "is missing".to_owned()))?;
    let (url, realm_in_url) = split_url(&url).map_err(|p| ("url".to_owned(), p))?;
    let serializer = match text("serializer")? {
        Some(s) => s.parse().map_err(|p| ("serializer".to_owned(), p))?,
        None => d.serializer,
    };
    let method = text("authmethod")?;
    // A target with its own method does not inherit the command line's authid or secret.
    let (authmethod, authid, secret_file) = match method {
        Some(m) => (m, text("authid")?, path("secret_file")?),
        None => (
            d.authmethod.clone(),
            text("authid")?.or_else(|| d.authid.clone()),
            path("secret_file")?.or_else(|| d.secret_file.clone()),
        ),
    };
    let secret_env = text("secret_env")?;
    let login = Login::from_secret_source(
        &authmethod,
        authid,
        secret_file.as_deref(),
        secret_env.as_deref(),
    )
    .map_err(|p| ("authmethod".to_owned(), p))?;
    Ok(FeedConfig {
        name: text("name")?.unwrap_or_else(|| host_port(&url)),
        realm: text("realm")?
            .or(realm_in_url)
            .unwrap_or_else(|| d.realm.clone()),
        url,
        serializer,
        login,
        trust: trust(path("ca")?.or_else(|| d.ca.clone())),
        typed_stats: false,
    })
}

fn trust(ca: Option<PathBuf>) -> TrustRoots {
    ca.map_or(TrustRoots::System, TrustRoots::File)
}

/// Makes the names of `targets` unique, so that the ROUTER column tells them apart: a name
/// given twice gets its realm added, and then its number.
pub fn unique_names(targets: &mut [FeedConfig]) {
    let count = |ts: &[FeedConfig], name: &str| ts.iter().filter(|t| t.name == name).count();
    let clashing: Vec<usize> = (0..targets.len())
        .filter(|&i| count(targets, &targets[i].name) > 1)
        .collect();
    for i in clashing {
        let t = &mut targets[i];
        t.name = format!("{}/{}", t.name, t.realm);
    }
    let mut seen = HashSet::new();
    for (i, t) in targets.iter_mut().enumerate() {
        if !seen.insert(t.name.clone()) {
            t.name = format!("{}#{}", t.name, i + 1);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn defaults() -> Defaults {
        Defaults {
            realm: "realm1".into(),
            serializer: Serializer::Json,
            authmethod: "anonymous".into(),
            authid: None,
            secret_file: None,
            ca: None,
        }
    }

    fn parse_text(text: &str) -> Result<Vec<FeedConfig>, String> {
        parse(text, "t.json", Path::new("/etc/wampstat"), &defaults()).map_err(|e| e.to_string())
    }

    #[test]
    fn a_url_may_name_its_realm_but_never_carry_credentials() {
        assert_eq!(
            split_url("wss://b/ws@realm2"),
            Ok(("wss://b/ws".into(), Some("realm2".into())))
        );
        assert_eq!(split_url("rs://a:8081"), Ok(("rs://a:8081".into(), None)));
        assert!(split_url("ws://user:pass@host:1/ws").is_err());
        assert!(split_url("localhost:8080").is_err());
        let urls = ["rs://a:8081".to_owned(), "wss://b/ws@realm2".to_owned()];
        let ts = from_urls(&urls, &defaults()).expect("two targets");
        let got: Vec<(&str, &str, &str)> = ts
            .iter()
            .map(|t| (t.name.as_str(), t.url.as_str(), t.realm.as_str()))
            .collect();
        assert_eq!(
            got,
            [
                ("a:8081", "rs://a:8081", "realm1"),
                ("b", "wss://b/ws", "realm2")
            ]
        );
    }

    #[test]
    fn a_file_gives_each_target_its_own_realm_serializer_login_and_ca() {
        let ts = parse_text(
            r#"{"targets": [
                {"url": "rs://10.0.0.1:8081", "name": "edge-a"},
                {"url": "wss://b/ws", "realm": "r2", "serializer": "cbor", "ca": "ca.pem",
                 "authmethod": "ticket", "authid": "mon", "secret_env": "WAMPSTAT_TEST_B_TICKET"}
            ]}"#,
        );
        // The variable is unset: the error names the target, the key and the variable.
        let e = ts.expect_err("no ticket in the environment");
        assert!(
            e.starts_with(
                "t.json: targets[1].authmethod: ticket needs a secret: set WAMPSTAT_TEST_B_TICKET"
            ),
            "{e}"
        );
        let ts = parse_text(
            r#"[{"url": "rs://10.0.0.1:8081", "name": "edge-a"},
                {"url": "wss://b/ws@r2", "serializer": "cbor", "ca": "ca.pem"}]"#,
        )
        .expect("valid");
        assert_eq!(ts[0].name, "edge-a");
        assert_eq!(ts[0].serializer, Serializer::Json, "the default");
        assert_eq!((ts[1].name.as_str(), ts[1].realm.as_str()), ("b", "r2"));
        assert_eq!(ts[1].serializer, Serializer::Cbor);
        assert_eq!(
            ts[1].trust,
            TrustRoots::File("/etc/wampstat/ca.pem".into()),
            "relative to the file"
        );
    }

    #[test]
    fn errors_name_the_file_the_path_and_the_problem() {
        for (text, want) in [
            ("{", "t.json: not JSON (line 1, column 1)"),
            ("{}", "t.json: expected {\"targets\": [...]}"),
            ("{\"targets\": []}", "t.json: targets: lists no router"),
            ("[{}]", "t.json: targets[0].url: is missing"),
            ("[5]", "t.json: targets[0]: must be an object"),
            (
                r#"[{"url": "rs://a:1", "serializer": "xml"}]"#,
                "t.json: targets[0].serializer: unknown serializer \"xml\"",
            ),
            (
                r#"[{"url": "rs://a:1", "realm": 3}]"#,
                "t.json: targets[0].realm: must be a non-empty string",
            ),
            (
                r#"[{"url": "rs://a:1", "ticket": "s3cret"}]"#,
                "t.json: targets[0].ticket: secrets do not go into the targets file",
            ),
            (
                r#"[{"url": "rs://a:1", "relam": "x"}]"#,
                "t.json: targets[0].relam: unknown key",
            ),
        ] {
            let e = parse_text(text).expect_err(text);
            assert!(e.starts_with(want), "{text}: {e}");
            assert!(!e.contains("s3cret"), "never echoes a secret: {e}");
        }
    }

    #[test]
    fn names_are_made_unique() {
        let urls = [
            "ws://h:1/ws@a".to_owned(),
            "ws://h:1/ws@b".to_owned(),
            "ws://h:1/ws@b".to_owned(),
        ];
        let mut ts = from_urls(&urls, &defaults()).expect("valid");
        unique_names(&mut ts);
        let names: Vec<&str> = ts.iter().map(|t| t.name.as_str()).collect();
        assert_eq!(names, ["h:1/a", "h:1/b", "h:1/b#3"]);
    }
}
