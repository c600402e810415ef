//! The SMTP connection of one mail reporter: plain, STARTTLS (`use_tls`) or TLS from the
//! first byte (`use_ssl`), with the system's trusted certificates plus `tls_ca_file`, and a
//! login when `smtp_user` is set. Failures are sorted for the outbox: a refusal of the
//! message or the login (5xx) is for good, anything else (server down, busy, 4xx, timeout)
//! is worth another try.

use std::time::Duration;

use lettre::transport::smtp::authentication::Credentials;
use lettre::transport::smtp::client::{Certificate, Tls, TlsParameters};
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};

use crate::config::{MailConfig, SmtpSecurity};
use crate::reporters::outbox::DeliverError;

/// The longest wait for the connection (and, on blocking transports, one command).
const COMMAND_TIMEOUT: Duration = Duration::from_secs(30);
/// The longest a whole delivery may take, however slowly the server answers.
const DELIVERY_TIMEOUT: Duration = Duration::from_secs(60);

/// A reporter's way to its mail server.
pub struct Smtp {
    /// The transport, or why the configuration gives none (an unreadable CA file, a
    /// password that cannot be resolved): every delivery then fails with that reason and
    /// is tried again later.
    transport: Result<AsyncSmtpTransport<Tokio1Executor>, String>,
}

impl Smtp {
    /// The connection `config` describes. Call it inside the runtime: the transport keeps
    /// a pool of connections with a task of its own.
    pub fn new(config: &MailConfig) -> Smtp {
        Smtp { transport: transport(config) }
    }

    /// Sends `message` to its envelope's recipients.
    pub async fn send(&self, message: Message) -> Result<(), DeliverError> {
        let transport = self.transport.as_ref().map_err(|e| DeliverError::Transient(e.clone()))?;
        match tokio::time::timeout(DELIVERY_TIMEOUT, transport.send(message)).await {
            Ok(Ok(_)) => Ok(()),
            Ok(Err(e)) => Err(classify(&e)),
            Err(_) => Err(DeliverError::Transient(format!(
                "the mail server took longer than {} s to take the message",
                DELIVERY_TIMEOUT.as_secs()
            ))),
        }
    }
}

fn transport(config: &MailConfig) -> Result<AsyncSmtpTransport<Tokio1Executor>, String> {
    let tls = match config.security {
        SmtpSecurity::None => Tls::None,
        SmtpSecurity::StartTls => Tls::Required(tls_parameters(config)?),
        SmtpSecurity::Implicit => Tls::Wrapper(tls_parameters(config)?),
    };
    let mut builder = AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(&config.relay_host)
        .port(config.smtp_port)
        .timeout(Some(COMMAND_TIMEOUT))
        .tls(tls);
    if let (Some(user), Some(secret)) = (&config.smtp_user, &config.smtp_password) {
        let password = secret.resolve().map_err(|e| format!("smtp_password: {e}"))?;
        builder = builder.credentials(Credentials::new(user.clone(), password));
    }
    Ok(builder.build())
}

fn tls_parameters(config: &MailConfig) -> Result<TlsParameters, String> {
    let mut params = TlsParameters::builder(config.relay_host.clone());
    if let Some(path) = &config.tls_ca_file {
        let pem = std::fs::read(path).map_err(|e| format!("tls_ca_file {}: {e}", path.display()))?;
        let certificate = Certificate::from_pem(&pem).map_err(|e| format!("tls_ca_file {}: {e}", path.display()))?;
        params = params.add_root_certificate(certificate);
    }
    params.build_rustls().map_err(|e| format!("TLS set-up for {}: {e}", config.relay_host))
}

/// An SMTP failure as the outbox sees it, with a hint at the usual cause.
pub fn classify(e: &lettre::transport::smtp::Error) -> DeliverError {
    let code = e.status().map(|c| c.to_string());
    let hint = match code.as_deref() {
        Some("530" | "534" | "535" | "538") => " (check smtp_user and smtp_password, and use_tls)",
        Some("550" | "551" | "553") => " (a recipient or the sender address was refused)",
        Some("552" | "554") => " (the server refused the message: too large, or taken for spam?)",
        _ if e.is_tls() => " (check use_tls / use_ssl against the port, and tls_ca_file)",
        _ if e.is_timeout() => " (the server did not answer in time)",
        _ => "",
    };
    let text = format!("{e}{hint}");
    if e.is_permanent() { DeliverError::Permanent(text) } else { DeliverError::Transient(text) }
}
