//! Command-line options shared by `wamp-loadgen` and `wamp-monitor`: how to log in.

use std::path::PathBuf;

use wamp::auth::Login;

/// How to log in to the router. Secrets come from the environment (`WAMP_TICKET`,
/// `WAMP_SECRET`) or a file, never from the command line.
#[derive(Debug, Clone, clap::Args)]
pub struct LoginArgs {
    /// How to authenticate: anonymous, ticket (the ticket from WAMP_TICKET or --ticket-file),
    /// wampcra (the secret from WAMP_SECRET or --secret-file) or cryptosign (an Ed25519 seed,
    /// 64 hex digits, from WAMP_PRIVATE_KEY or --key-file).
    #[arg(long, default_value = "anonymous", value_parser = ["anonymous", "ticket", "wampcra", "cryptosign"], global = true)]
    pub authmethod: String,
    /// The authid to log in as (needed by ticket and wampcra).
    #[arg(long, global = true)]
    pub authid: Option<String>,
    /// A file whose first line is the ticket.
    #[arg(
        long,
        value_name = "FILE",
        conflicts_with = "secret_file",
        global = true
    )]
    pub ticket_file: Option<PathBuf>,
    /// A file whose first line is the WAMP-CRA secret.
    #[arg(long, value_name = "FILE", conflicts_with = "key_file", global = true)]
    pub secret_file: Option<PathBuf>,
    /// A file whose first line is the cryptosign private key (64 hex digits).
    #[arg(
        long,
        value_name = "FILE",
        conflicts_with = "ticket_file",
        global = true
    )]
    pub key_file: Option<PathBuf>,
}

impl LoginArgs {
    /// The login these options describe, with its secret read.
    pub fn login(&self) -> Result<Login, String> {
        let file = match self.authmethod.as_str() {
            "ticket" => self.ticket_file.as_deref(),
            "cryptosign" => self.key_file.as_deref(),
            _ => self.secret_file.as_deref(),
        };
        Login::from_command_line(&self.authmethod, self.authid.clone(), file)
    }
}
