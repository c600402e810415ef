//! The SMTP connection of one mail reporter: plain, STARTTLS (`use_tls`) or TLS from the
//! first byte (`use_ssl`), with the system's trusted certificates plus `tls_ca_file`, and a
//! login when `smtp_user` is set. Failures are sorted for the outbox: a refusal of the
//! message (5xx) is for good, anything else (server down, busy, 4xx, timeout, a refused
//! login) is worth another try. A message refused for good that has several recipients is
//! sent to each of them alone, so that one bad address does not keep it from the others.
//! After a failure to reach the server at all, [`Smtp::back`] looks whether it answers again.

use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use lettre::address::Envelope;
use lettre::transport::smtp::authentication::Credentials;
use lettre::transport::smtp::client::{Certificate, Tls, TlsParameters};
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};

use crate::config::{MailConfig, SmtpSecurity};
use crate::reporters::outbox::DeliverError;

/// The longest wait for the connection (and, on blocking transports, one command).
const COMMAND_TIMEOUT: Duration = Duration::from_secs(30);
/// The longest one delivery of the message (to all its recipients, or to one of them) may
/// take, however slowly the server answers.
const DELIVERY_TIMEOUT: Duration = Duration::from_secs(60);
/// The longest a look at whether the server is back may take.
const LOOK_TIMEOUT: Duration = Duration::from_secs(10);

/// A reporter's way to its mail server.
pub struct Smtp {
    /// The transport, or why the configuration gives none (an unreadable CA file, a
    /// password that cannot be resolved): every delivery then fails with that reason and
    /// is tried again later.
    transport: Result<AsyncSmtpTransport<Tokio1Executor>, String>,
    /// The last delivery failed without a reply from the server: it was down or unreachable.
    unreachable: AtomicBool,
}

impl Smtp {
    /// The connection `config` describes. Call it inside the runtime: the transport keeps
    /// a pool of connections with a task of its own.
    pub fn new(config: &MailConfig) -> Smtp {
        Smtp { transport: transport(config), unreachable: AtomicBool::new(false) }
    }

    /// After a delivery that failed without a reply from the server: whether the server now
    /// takes a connection and answers a NOOP (with TLS and the login, as a delivery would).
    /// False after any other outcome, so a server that answers "try later" is left alone.
    pub async fn back(&self) -> bool {
        if !self.unreachable.load(Ordering::Relaxed) {
            return false;
        }
        let Ok(transport) = &self.transport else { return false };
        matches!(tokio::time::timeout(LOOK_TIMEOUT, transport.test_connection()).await, Ok(Ok(true)))
    }

    /// Sends `message` to its envelope's recipients; returns those refused while the
    /// others got it.
    ///
    /// The server answers each recipient (RCPT) on its own, but lettre gives up at the
    /// first refusal, and its error does not say which command the server refused. So when
    /// the message is refused for good and has several recipients, each gets it in a
    /// transaction of their own, with the same bytes: those the server takes get it, the
    /// others are returned. That is safe, as a refused transaction delivered nothing.
    /// It is done when one recipient at least got it, and failed for good when the server
    /// refused it for every one of them (a refused sender or message ends so too).
    pub async fn send(&self, message: Message) -> Result<Vec<Refused>, DeliverError> {
        let transport = self.transport.as_ref().map_err(|e| DeliverError::Transient(e.clone()))?;
        let envelope = message.envelope().clone();
        let bytes = message.formatted();
        let outcome = attempt(transport, &envelope, &bytes).await;
        self.unreachable.store(matches!(outcome, Err(Failure::Lost(_))), Ordering::Relaxed);
        let error = match outcome {
            Ok(()) => return Ok(Vec::new()),
            Err(e) => e,
        };
        match error {
            Failure::Reply(DeliverError::Permanent(_)) if envelope.to().len() > 1 => {
                one_by_one(transport, &envelope, &bytes).await
            }
            other => Err(other.into()),
        }
    }
}

/// A recipient the server refused for good while others got the message.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Refused {
    /// The address.
    pub address: String,
    /// The server's answer.
    pub reason: String,
}

/// Why one delivery failed.
enum Failure {
    /// The server answered with an error reply.
    Reply(DeliverError),
    /// The connection failed, or the server did not answer in time.
    Lost(DeliverError),
}

impl From<Failure> for DeliverError {
    fn from(f: Failure) -> DeliverError {
        match f {
            Failure::Reply(e) | Failure::Lost(e) => e,
        }
    }
}

/// One delivery of `bytes` to the recipients of `envelope`.
async fn attempt(
    transport: &AsyncSmtpTransport<Tokio1Executor>,
    envelope: &Envelope,
    bytes: &[u8],
) -> Result<(), Failure> {
    match tokio::time::timeout(DELIVERY_TIMEOUT, transport.send_raw(envelope, bytes)).await {
        Ok(Ok(_)) => Ok(()),
        Ok(Err(e)) if e.status().is_some() => Err(Failure::Reply(classify(&e))),
        Ok(Err(e)) => Err(Failure::Lost(classify(&e))),
        Err(_) => Err(Failure::Lost(DeliverError::Transient(format!(
            "the mail server took longer than {} s to take the message",
            DELIVERY_TIMEOUT.as_secs()
        )))),
    }
}

/// Sends `bytes` to each recipient of `envelope` alone (see [`Smtp::send`]).
///
/// A transient failure (a recipient's 4xx, a lost connection, a timeout) makes the whole
/// message transient: it is tried again later, for all its recipients, so those that got it
/// this time get it twice. That is only possible in this corner (a message refused for one
/// address, then a transient failure while sending to each alone), and a mail twice is
/// better than a mail lost for those who had not got it yet.
async fn one_by_one(
    transport: &AsyncSmtpTransport<Tokio1Executor>,
    envelope: &Envelope,
    bytes: &[u8],
) -> Result<Vec<Refused>, DeliverError> {
    let recipients = envelope.to();
    let mut delivered = 0;
    let mut refused = Vec::new();
    let mut transient = None;
    for to in recipients {
        let alone = Envelope::new(envelope.from().cloned(), vec![to.clone()])
            .map_err(|e| DeliverError::Permanent(format!("envelope to {to}: {e}")))?;
        match attempt(transport, &alone, bytes).await {
            Ok(()) => delivered += 1,
            Err(Failure::Reply(DeliverError::Permanent(reason))) => {
                refused.push(Refused { address: to.to_string(), reason });
            }
            // A recipient the server asks to try later: the others may still get it now.
            Err(Failure::Reply(DeliverError::Transient(reason))) => transient = Some(format!("{to}: {reason}")),
            // The server is gone or stuck: the next recipients would fare no better.
            Err(Failure::Lost(e)) => {
                transient = Some(format!("{to}: {e}"));
                break;
            }
        }
    }
    let n = recipients.len();
    if let Some(reason) = transient {
        return Err(DeliverError::Transient(format!(
            "{reason} (sent to {delivered} of {n} recipients alone, after the server refused the message for one of them; \
             the next attempt sends it to all of them again)"
        )));
    }
    if delivered == 0 {
        let each: Vec<String> = refused.iter().map(|r| format!("{}: {}", r.address, r.reason)).collect();
        return Err(DeliverError::Permanent(format!("refused for each recipient: {}", each.join("; "))));
    }
    Ok(refused)
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

/// An SMTP failure as the outbox sees it, with a hint at the usual cause. A refused login
/// (530, 534, 535, 454: a password rotated on one side only, say) is worth another try:
/// once the login is put right, the mail goes out. Any other 5xx is for good.
pub fn classify(e: &lettre::transport::smtp::Error) -> DeliverError {
    let code = e.status().map(|c| c.to_string());
    let hint = match code.as_deref() {
        Some("454" | "530" | "534" | "535" | "538") => " (check smtp_user and smtp_password, and use_tls)",
        Some("550" | "551" | "553") => " (a recipient or the sender address was refused)",
        Some("552" | "554") => " (the server refused the message: too large, or taken for spam?)",
        _ if e.is_tls() => " (check use_tls / use_ssl against the port, and tls_ca_file)",
        _ if e.is_timeout() => " (the server did not answer in time)",
        _ => "",
    };
    let text = format!("{e}{hint}");
    if is_for_good(code.as_deref(), e.is_permanent()) {
        DeliverError::Permanent(text)
    } else {
        DeliverError::Transient(text)
    }
}

/// Whether a failure with SMTP reply `code` (lettre's `permanent`: a 5xx) is for good.
fn is_for_good(code: Option<&str>, permanent: bool) -> bool {
    permanent && !matches!(code, Some("530" | "534" | "535" | "454"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_refused_login_is_tried_again_and_other_refusals_are_for_good() {
        for code in ["530", "534", "535", "454"] {
            assert!(!is_for_good(Some(code), code.starts_with('5')), "{code}");
        }
        for code in ["550", "551", "552", "553", "554", "538", "501"] {
            assert!(is_for_good(Some(code), true), "{code}");
        }
        for code in ["421", "450", "451", "452"] {
            assert!(!is_for_good(Some(code), false), "{code}");
        }
        assert!(!is_for_good(None, false), "no reply: the connection failed");
    }
}
