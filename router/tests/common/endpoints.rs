//! Routers on TLS, universal and Unix-socket endpoints, for the tests of those.

use std::path::{Path, PathBuf};

use wamp::transport::tls::test_pki::TestPki;
use wamp::transport::tls::{ServerTls, ServerTlsFiles, TrustRoots};
use wamp::{Serializer, SessionOptions};
use wamp_router::Router;
use wamp_router::config::{Listen, TlsConfig, TransportKind};

use super::start_configured;

/// A fresh scratch folder for `name`.
pub fn scratch(name: &str) -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(name);
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("a scratch folder");
    dir
}

/// The default config's two transports made one universal, TLS endpoint (a `tls` config
/// when `pki` is given), plus RawSocket on the Unix socket `unix`.
pub async fn start_universal(pki: Option<&TestPki>, unix: &Path) -> Router {
    let tls = pki.map(|pki| {
        let files = ServerTlsFiles {
            key: pki.key.clone(),
            certificate: pki.certificate.clone(),
            ..Default::default()
        };
        let server = ServerTls::load(&files).expect("the test certificate loads");
        TlsConfig { files, server }
    });
    start_configured(|config| {
        let mut on_unix = None;
        for t in &mut config.transports {
            t.listener = 0;
            t.tls = tls.clone();
            if t.kind == TransportKind::RawSocket {
                let mut u = t.clone();
                u.listen = Listen::Unix(unix.to_owned());
                u.listener = 1;
                u.tls = None;
                on_unix = Some(u);
            }
        }
        config.transports.extend(on_unix);
    })
    .await
}

/// Options that trust `pki`'s CA.
pub fn trusting(pki: &TestPki, serializer: Serializer) -> SessionOptions {
    SessionOptions {
        serializer,
        trust: TrustRoots::File(pki.ca.clone()),
        ..SessionOptions::default()
    }
}
