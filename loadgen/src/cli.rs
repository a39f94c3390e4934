//! Command-line options shared by `wamp-loadgen` and `wamp-monitor`: how to log in.

use std::path::PathBuf;

use wamp::auth::Login;

/// How to log in to the router. Secrets come from the environment (`WAMP_TICKET`,
/// `WAMP_SECRET`, `WAMP_PRIVATE_KEY`) or a file, never from the command line.
#[derive(Debug, Clone, clap::Args)]
pub struct LoginArgs {
    /// How to authenticate: anonymous, ticket (the ticket from WAMP_TICKET), wampcra (the
    /// secret from WAMP_SECRET) or cryptosign (an Ed25519 seed, 64 hex digits, from
    /// WAMP_PRIVATE_KEY); or the secret from --secret-file.
    #[arg(long, default_value = "anonymous", value_parser = ["anonymous", "ticket", "wampcra", "cryptosign"], global = true)]
    pub authmethod: String,
    /// The authid to log in as (needed by ticket and wampcra).
    #[arg(long, global = true)]
    pub authid: Option<String>,
    /// A file whose first line is the secret: the ticket (also `--ticket-file`), the WAMP-CRA
    /// secret, or the cryptosign private key (also `--key-file`).
    #[arg(long, value_name = "FILE", visible_aliases = ["ticket-file", "key-file"], global = true)]
    pub secret_file: Option<PathBuf>,
    /// The CA certificate (PEM) that signed the router's, for wss:// and rss:// URLs signed
    /// by a private CA; the system's trusted roots otherwise.
    #[arg(long, value_name = "FILE", global = true)]
    pub ca: Option<PathBuf>,
}

impl LoginArgs {
    /// The login these options describe, with its secret read.
    pub fn login(&self) -> Result<Login, String> {
        Login::from_command_line(
            &self.authmethod,
            self.authid.clone(),
            self.secret_file.as_deref(),
        )
    }

    /// Whom to trust for TLS.
    pub fn trust(&self) -> wamp::transport::tls::TrustRoots {
        match &self.ca {
            Some(file) => wamp::transport::tls::TrustRoots::File(file.clone()),
            None => wamp::transport::tls::TrustRoots::System,
        }
    }
}
