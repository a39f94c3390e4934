//! An endpoint's `tls` block: Crossbar's keys, the files taken from the configuration file's
//! folder, and the key and certificates loaded now, so that an unreadable file or a key that
//! does not belong to its certificate is a configuration error naming the JSON path.

use serde_json::Value;
use wamp::transport::tls::{ServerTls, ServerTlsFiles, TlsError};

use super::{Cx, Result};
use crate::config::TlsConfig;
use crate::config::json_path::JsonPath;
use crate::config::raw::RawTls;

impl Cx<'_> {
    /// The `tls` block `value` at `tp`.
    pub(super) fn tls(&mut self, value: &Value, tp: &JsonPath) -> Result<TlsConfig> {
        let raw: RawTls = self.typed(value, tp)?;
        for (key, given) in [
            ("dhparam", raw.dhparam.is_some()),
            ("ciphers", raw.ciphers.is_some()),
        ] {
            if given {
                self.warn(
                    &tp.key(key),
                    "rustls chooses its own safe key exchanges and ciphers (TLS 1.2 with \
                     ECDHE and AEAD ciphers only, and TLS 1.3), ignored",
                );
            }
        }
        let list = |cx: &Self, l: Option<Vec<String>>| {
            l.unwrap_or_default()
                .iter()
                .map(|p| cx.relative_path(p))
                .collect::<Vec<_>>()
        };
        let files = ServerTlsFiles {
            key: self.relative_path(&raw.key),
            certificate: self.relative_path(&raw.certificate),
            chain_certificates: list(self, raw.chain_certificates),
            ca_certificates: list(self, raw.ca_certificates),
        };
        let server = ServerTls::load(&files).map_err(|e| {
            let at = match &e {
                TlsError::File { path, .. } if *path == files.key => tp.key("key"),
                TlsError::File { path, .. } if *path == files.certificate => tp.key("certificate"),
                TlsError::File { path, .. } if files.chain_certificates.contains(path) => {
                    tp.key("chain_certificates")
                }
                TlsError::File { path, .. } if files.ca_certificates.contains(path) => {
                    tp.key("ca_certificates")
                }
                _ => tp.clone(),
            };
            self.err(&at, e.to_string())
        })?;
        Ok(TlsConfig { files, server })
    }
}
