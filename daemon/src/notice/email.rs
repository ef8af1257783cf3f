//! Mail over SMTP with lettre on rustls with ring: STARTTLS (required) or TLS from the first byte, the system's
//! roots plus an optional CA file, and a Message-ID made from the notice's id, so a mail sent again after a crash
//! is recognisably the same message.

use std::time::Duration;

use lettre::message::header::ContentType;
use lettre::message::Mailbox;
use lettre::transport::smtp::authentication::Credentials;
use lettre::transport::smtp::client::{Certificate, Tls, TlsParameters};
use lettre::transport::smtp::extension::ClientId;
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};

use super::Attempt;
use crate::config::notify::{Email, Security};
use crate::store::Notice;

/// How long one SMTP conversation may take.
const TIMEOUT: Duration = Duration::from_secs(20);

/// The Message-ID of a notice: the same for every attempt.
pub fn message_id(notice_id: &str, site: &str) -> String {
    format!("<{notice_id}@{}.bellhop.invalid>", site.to_ascii_lowercase())
}

fn transport(server: &Email) -> Result<AsyncSmtpTransport<Tokio1Executor>, String> {
    let tls_parameters = || {
        let mut builder = TlsParameters::builder(server.server.clone());
        if let Some(ca) = &server.ca_file {
            let pem = std::fs::read(ca).map_err(|e| format!("{}: {e}", ca.display()))?;
            let cert = Certificate::from_pem(&pem).map_err(|e| format!("{}: {e}", ca.display()))?;
            builder = builder.add_root_certificate(cert);
        }
        builder.build().map_err(|e| format!("TLS setup: {e}"))
    };
    let tls = match server.security {
        Security::StartTls => Tls::Required(tls_parameters()?),
        Security::Tls => Tls::Wrapper(tls_parameters()?),
        Security::None => Tls::None,
    };
    let mut builder = AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(server.server.as_str())
        .port(server.port)
        .tls(tls)
        .hello_name(ClientId::Domain("bellhop.invalid".into()))
        .timeout(Some(TIMEOUT));
    if let (Some(user), Some(password)) = (&server.username, &server.password) {
        builder = builder.credentials(Credentials::new(user.clone(), password.clone()));
    }
    Ok(builder.build())
}

/// Sends one notice to `address`.
pub async fn send(server: &Email, site: &str, notice: &Notice, address: &str) -> Attempt {
    let to: Mailbox = match address.parse() {
        Ok(to) => to,
        Err(e) => return Attempt::Refused(format!("{address:?} is not a mail address: {e}")),
    };
    let from: Mailbox = match server.from.parse() {
        Ok(from) => from,
        Err(e) => return Attempt::Refused(format!("notifications.email.from: {e}")),
    };
    let message = Message::builder()
        .message_id(Some(message_id(&notice.id, site)))
        .from(from)
        .to(to)
        .subject(notice.subject.clone())
        .header(ContentType::TEXT_PLAIN)
        .body(notice.text.clone());
    let message = match message {
        Ok(message) => message,
        Err(e) => return Attempt::Refused(format!("the mail could not be built: {e}")),
    };
    let transport = match transport(server) {
        Ok(transport) => transport,
        Err(e) => return Attempt::Failed(e),
    };
    match tokio::time::timeout(TIMEOUT + Duration::from_secs(5), transport.send(message)).await {
        Ok(Ok(_)) => Attempt::Delivered,
        Ok(Err(e)) if e.is_permanent() => Attempt::Refused(format!("the mail server refused it: {e}")),
        Ok(Err(e)) => Attempt::Failed(format!("{}:{}: {e}", server.server, server.port)),
        Err(_) => Attempt::Failed(format!("{}:{}: no answer within {TIMEOUT:?}", server.server, server.port)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_message_id_is_stable_and_well_formed() {
        assert_eq!(message_id("E2E-N7", "E2E"), message_id("E2E-N7", "E2E"));
        let id = message_id("E2E-N7", "E2E");
        assert!(id.starts_with("<E2E-N7@") && id.ends_with('>'), "{id}");
    }
}
