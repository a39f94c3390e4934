//! TLS with rustls (the `ring` provider): a router's certificate and key, the client's trust
//! roots, and the handshakes on either side.

use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock};

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName};
use tokio::net::TcpStream;

use super::Stream;

/// Why TLS could not be set up, naming the file at fault.
#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    /// A file could not be read or holds no usable PEM item.
    #[error("{path}: {problem}")]
    File {
        /// The file.
        path: PathBuf,
        /// What is wrong with it.
        problem: String,
    },
    /// rustls refused the combination (a key that does not belong to the certificate, …).
    #[error("{0}")]
    Config(String),
}

fn file_error(path: &Path, problem: impl std::fmt::Display) -> TlsError {
    TlsError::File {
        path: path.to_owned(),
        problem: problem.to_string(),
    }
}

fn provider() -> Arc<rustls::crypto::CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

/// The certificates of a PEM file, at least one.
fn certificates(path: &Path) -> Result<Vec<CertificateDer<'static>>, TlsError> {
    let certs = CertificateDer::pem_file_iter(path)
        .map_err(|e| file_error(path, pem_problem(e)))?
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| file_error(path, pem_problem(e)))?;
    if certs.is_empty() {
        return Err(file_error(
            path,
            "no PEM certificate (BEGIN CERTIFICATE) in it",
        ));
    }
    Ok(certs)
}

fn pem_problem(e: rustls::pki_types::pem::Error) -> String {
    match e {
        rustls::pki_types::pem::Error::Io(io) => format!("cannot read it: {io}"),
        rustls::pki_types::pem::Error::NoItemsFound => "no PEM item in it".to_owned(),
        other => format!("not valid PEM: {other:?}"),
    }
}

/// The trust roots in PEM files.
fn roots(paths: &[PathBuf]) -> Result<rustls::RootCertStore, TlsError> {
    let mut store = rustls::RootCertStore::empty();
    for path in paths {
        for cert in certificates(path)? {
            store
                .add(cert)
                .map_err(|e| file_error(path, format!("not a usable CA certificate: {e}")))?;
        }
    }
    Ok(store)
}

/// A router endpoint's TLS: its certificate chain and key, and, when client certificates are
/// required, the CAs that sign them.
#[derive(Clone)]
pub struct ServerTls {
    acceptor: tokio_rustls::TlsAcceptor,
}

impl std::fmt::Debug for ServerTls {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ServerTls")
    }
}

/// Where a router endpoint's TLS material is (Crossbar's `endpoint.tls` keys).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ServerTlsFiles {
    /// The private key (PEM: PKCS#8, PKCS#1 or SEC1).
    pub key: PathBuf,
    /// The certificate, possibly followed by its chain (PEM).
    pub certificate: PathBuf,
    /// More chain certificates (`chain_certificates`).
    pub chain_certificates: Vec<PathBuf>,
    /// CAs whose client certificates are required (`ca_certificates`), as Crossbar: when given,
    /// a client without a certificate they signed is refused.
    pub ca_certificates: Vec<PathBuf>,
}

impl ServerTls {
    /// Loads the key and certificates and checks that they belong together.
    pub fn load(files: &ServerTlsFiles) -> Result<ServerTls, TlsError> {
        let mut chain = certificates(&files.certificate)?;
        for extra in &files.chain_certificates {
            chain.extend(certificates(extra)?);
        }
        let key = PrivateKeyDer::from_pem_file(&files.key).map_err(|e| {
            file_error(
                &files.key,
                match e {
                    rustls::pki_types::pem::Error::NoItemsFound => {
                        "no PEM private key (BEGIN PRIVATE KEY) in it".to_owned()
                    }
                    e => pem_problem(e),
                },
            )
        })?;
        let builder = rustls::ServerConfig::builder_with_provider(provider())
            .with_safe_default_protocol_versions()
            .map_err(|e| TlsError::Config(e.to_string()))?;
        let builder = if files.ca_certificates.is_empty() {
            builder.with_no_client_auth()
        } else {
            let verifier = rustls::server::WebPkiClientVerifier::builder_with_provider(
                Arc::new(roots(&files.ca_certificates)?),
                provider(),
            )
            .build()
            .map_err(|e| TlsError::Config(format!("ca_certificates: {e}")))?;
            builder.with_client_cert_verifier(verifier)
        };
        let mut config = builder.with_single_cert(chain, key).map_err(|e| {
            TlsError::Config(format!(
                "key {} and certificate {} do not make a usable pair: {e}",
                files.key.display(),
                files.certificate.display()
            ))
        })?;
        // WebSocket upgrades are HTTP/1.1; a client that asks for ALPN gets it.
        config.alpn_protocols = vec![b"http/1.1".to_vec()];
        Ok(ServerTls {
            acceptor: tokio_rustls::TlsAcceptor::from(Arc::new(config)),
        })
    }

    /// The server side of the TLS handshake.
    pub async fn accept(&self, tcp: TcpStream) -> std::io::Result<Stream> {
        let tls = self.acceptor.accept(tcp).await?;
        Ok(Stream::Tls(Box::new(tokio_rustls::TlsStream::Server(tls))))
    }
}

/// Whom a client trusts: the system's roots, or the CAs of a file (`--ca`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum TrustRoots {
    /// The operating system's trust store.
    #[default]
    System,
    /// Only the CA certificates in this PEM file (a private CA).
    File(PathBuf),
}

/// The system's roots, read once per process.
fn system_roots() -> Result<Arc<rustls::RootCertStore>, TlsError> {
    static ROOTS: OnceLock<Arc<rustls::RootCertStore>> = OnceLock::new();
    if let Some(r) = ROOTS.get() {
        return Ok(Arc::clone(r));
    }
    let found = rustls_native_certs::load_native_certs();
    let mut store = rustls::RootCertStore::empty();
    let (added, _ignored) = store.add_parsable_certificates(found.certs);
    if added == 0 {
        return Err(TlsError::Config(format!(
            "no trusted CA certificates found on this system{}; give one with --ca FILE",
            found
                .errors
                .first()
                .map(|e| format!(" ({e})"))
                .unwrap_or_default()
        )));
    }
    Ok(Arc::clone(ROOTS.get_or_init(|| Arc::new(store))))
}

/// The client side of the TLS handshake with `host` (checked against the certificate).
pub async fn connect(tcp: TcpStream, host: &str, trust: &TrustRoots) -> Result<Stream, TlsError> {
    let roots = match trust {
        TrustRoots::System => system_roots()?,
        TrustRoots::File(path) => Arc::new(roots(std::slice::from_ref(path))?),
    };
    let config = rustls::ClientConfig::builder_with_provider(provider())
        .with_safe_default_protocol_versions()
        .map_err(|e| TlsError::Config(e.to_string()))?
        .with_root_certificates(roots)
        .with_no_client_auth();
    let name = ServerName::try_from(host.trim_start_matches('[').trim_end_matches(']'))
        .map_err(|e| TlsError::Config(format!("{host:?} is not a valid TLS server name: {e}")))?
        .to_owned();
    let connector = tokio_rustls::TlsConnector::from(Arc::new(config));
    let tls = connector
        .connect(name, tcp)
        .await
        .map_err(|e| TlsError::Config(format!("TLS handshake with {host} failed: {e}")))?;
    Ok(Stream::Tls(Box::new(tokio_rustls::TlsStream::Client(tls))))
}

/// A private CA and a certificate it signed for `localhost` and `127.0.0.1`, made at run time
/// and written as PEM files, for tests and benchmarks of TLS (feature `test-pki`).
#[cfg(feature = "test-pki")]
pub mod test_pki {
    use std::path::{Path, PathBuf};

    /// The files written.
    #[derive(Debug, Clone)]
    pub struct TestPki {
        /// The CA's certificate (what a client trusts: `--ca`).
        pub ca: PathBuf,
        /// The server's certificate.
        pub certificate: PathBuf,
        /// The server's private key.
        pub key: PathBuf,
        /// Another key, which does not belong to the certificate.
        pub other_key: PathBuf,
    }

    impl TestPki {
        /// Makes the CA and the certificate and writes them into `dir` (created if needed).
        pub fn create(dir: &Path) -> Result<TestPki, Box<dyn std::error::Error>> {
            use rcgen::{BasicConstraints, CertificateParams, IsCa, KeyPair};
            std::fs::create_dir_all(dir)?;
            let ca_key = KeyPair::generate()?;
            let mut ca_params = CertificateParams::new(Vec::<String>::new())?;
            ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
            ca_params
                .distinguished_name
                .push(rcgen::DnType::CommonName, "wampstat test CA");
            let ca = ca_params.self_signed(&ca_key)?;
            let issuer = rcgen::Issuer::new(ca_params, ca_key);
            let key = KeyPair::generate()?;
            let params =
                CertificateParams::new(vec!["localhost".to_owned(), "127.0.0.1".to_owned()])?;
            let cert = params.signed_by(&key, &issuer)?;
            let other = KeyPair::generate()?;
            let pki = TestPki {
                ca: dir.join("ca.crt"),
                certificate: dir.join("server.crt"),
                key: dir.join("server.key"),
                other_key: dir.join("other.key"),
            };
            std::fs::write(&pki.ca, ca.pem())?;
            std::fs::write(&pki.certificate, cert.pem())?;
            std::fs::write(&pki.key, key.serialize_pem())?;
            std::fs::write(&pki.other_key, other.serialize_pem())?;
            Ok(pki)
        }
    }
}
