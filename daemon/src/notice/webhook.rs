//! A generic HTTPS webhook (SMS gateways, ntfy, Gotify, pagers): the configured template filled in and POSTed on
//! the ring-only rustls client of the head-office link, with the notice's id in an idempotency header, so a provider
//! that honours it drops a request sent again after a crash.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::CertificateDer;
use rustls::{ClientConfig, RootCertStore};

use super::Attempt;
use crate::config::notify::Webhook;
use crate::config::sync::Endpoint;
use crate::store::Notice;
use crate::sync::transport::Client;

/// How long one request may take.
const TIMEOUT: Duration = Duration::from_secs(20);

/// The values a template's placeholders take.
pub fn values(notice: &Notice, address: &str) -> BTreeMap<&'static str, String> {
    let facts: serde_json::Value = serde_json::from_str(&notice.facts).unwrap_or_default();
    let fact = |name: &str| facts[name].as_str().unwrap_or_default().to_owned();
    BTreeMap::from([
        ("id", notice.id.clone()),
        ("to", address.to_owned()),
        ("address", address.to_owned()),
        ("recipient", notice.recipient.clone()),
        ("subject", notice.subject.clone()),
        ("text", notice.text.clone()),
        ("ticket", notice.ticket.clone().unwrap_or_default()),
        ("location", fact("location")),
        ("priority", fact("priority")),
        ("reason", notice.reason.clone()),
    ])
}

/// Fills `{{name}}` placeholders: JSON-escaped (without quotes) for a JSON body, percent-encoded for a form, as they
/// are otherwise. An unknown name is left empty (the configuration refuses them).
pub fn fill(template: &str, content_type: &str, values: &BTreeMap<&'static str, String>) -> String {
    let escape = |value: &str| -> String {
        if content_type.contains("json") {
            let quoted = serde_json::to_string(value).unwrap_or_default();
            quoted[1..quoted.len() - 1].to_owned()
        } else if content_type.contains("x-www-form-urlencoded") {
            url::form_urlencoded::byte_serialize(value.as_bytes()).collect()
        } else {
            value.to_owned()
        }
    };
    let mut out = String::with_capacity(template.len() + 128);
    let mut rest = template;
    while let Some(start) = rest.find("{{") {
        out += &rest[..start];
        let after = &rest[start + 2..];
        let Some(end) = after.find("}}") else {
            out += &rest[start..];
            return out;
        };
        out += &escape(values.get(after[..end].trim()).map(String::as_str).unwrap_or(""));
        rest = &after[end + 2..];
    }
    out + rest
}

fn endpoint(url: &str) -> Result<Endpoint, String> {
    let url = url::Url::parse(url).map_err(|e| format!("not a URL: {e}"))?;
    let host = match url.host() {
        Some(url::Host::Domain(d)) => d.to_owned(),
        Some(url::Host::Ipv4(ip)) => ip.to_string(),
        Some(url::Host::Ipv6(ip)) => ip.to_string(),
        None => return Err("the URL names no host".into()),
    };
    let port = url.port_or_known_default().ok_or("the URL has no port")?;
    let authority = match url.port() {
        Some(p) => format!("{}:{p}", url.host_str().unwrap_or_default()),
        None => url.host_str().unwrap_or_default().to_owned(),
    };
    let path = match url.query() {
        Some(q) => format!("{}?{q}", url.path()),
        None => url.path().to_owned(),
    };
    Ok(Endpoint { tls: url.scheme() == "https", host, port, authority, path })
}

fn tls(webhook: &Webhook) -> Result<Arc<ClientConfig>, String> {
    let mut roots = RootCertStore::empty();
    let (_added, _ignored) = roots.add_parsable_certificates(rustls_native_certs::load_native_certs().certs);
    if let Some(ca) = &webhook.ca_file {
        let certs = CertificateDer::pem_file_iter(ca)
            .and_then(|iter| iter.collect::<Result<Vec<_>, _>>())
            .map_err(|e| format!("{}: {e}", ca.display()))?;
        for cert in certs {
            roots.add(cert).map_err(|e| format!("{}: {e}", ca.display()))?;
        }
    }
    let mut config = ClientConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
        .with_safe_default_protocol_versions()
        .map_err(|e| format!("TLS setup: {e}"))?
        .with_root_certificates(roots)
        .with_no_client_auth();
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(Arc::new(config))
}

/// One webhook's connection, kept while its settings stay the same.
pub struct Link {
    url: String,
    ca: Option<std::path::PathBuf>,
    client: Client,
}

impl Link {
    fn open(webhook: &Webhook) -> Result<Link, String> {
        let endpoint = endpoint(&webhook.url)?;
        let tls = if endpoint.tls { Some(tls(webhook)?) } else { None };
        Ok(Link { url: webhook.url.clone(), ca: webhook.ca_file.clone(), client: Client::new(endpoint, tls)? })
    }
}

/// Sends one notice to `address` through `webhook`, reusing (or opening) its link in `links`.
pub async fn send(links: &mut BTreeMap<String, Link>, webhook: &Webhook, notice: &Notice, address: &str) -> Attempt {
    let stale = links.get(&webhook.name).is_some_and(|l| l.url != webhook.url || l.ca != webhook.ca_file);
    if stale || !links.contains_key(&webhook.name) {
        match Link::open(webhook) {
            Ok(link) => {
                links.insert(webhook.name.clone(), link);
            }
            Err(e) => return Attempt::Failed(e),
        }
    }
    let Some(link) = links.get_mut(&webhook.name) else { return Attempt::Failed("no link".into()) };
    let body = fill(&webhook.template, &webhook.content_type, &values(notice, address));
    let mut headers: Vec<(&str, String)> = vec![
        ("content-type", webhook.content_type.clone()),
        (webhook.idempotency_header.as_str(), notice.id.clone()),
        ("user-agent", format!("bellhop/{}", env!("CARGO_PKG_VERSION"))),
    ];
    if let Some(token) = &webhook.token {
        headers.push(("authorization", format!("Bearer {token}")));
    }
    for (name, value) in &webhook.headers {
        headers.push((name.as_str(), value.clone()));
    }
    let path = link.client.endpoint().path.clone();
    let sent =
        tokio::time::timeout(TIMEOUT, link.client.request(hyper::Method::POST, &path, &headers, Bytes::from(body)));
    match sent.await {
        Ok(Ok(reply)) if (200..300).contains(&reply.status) => Attempt::Delivered,
        Ok(Ok(reply)) if matches!(reply.status, 408 | 425 | 429) || reply.status >= 500 => {
            Attempt::Failed(format!("{} answered {}", webhook.name, reply.status))
        }
        Ok(Ok(reply)) => {
            let detail: String = String::from_utf8_lossy(&reply.body).chars().take(200).collect();
            Attempt::Refused(format!("{} refused the request with {}: {detail}", webhook.name, reply.status))
        }
        Ok(Err(e)) => Attempt::Failed(format!("{}: {e}", webhook.name)),
        Err(_) => {
            links.remove(&webhook.name);
            Attempt::Failed(format!("{}: no answer within {TIMEOUT:?}", webhook.name))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn placeholders_are_escaped_for_the_body_type() {
        let values = BTreeMap::from([("text", "Towels \"now\"\n& soap".to_owned()), ("to", "+351 91".to_owned())]);
        let json = fill(r#"{"to":"{{to}}","msg":"{{ text }}"}"#, "application/json", &values);
        let parsed: serde_json::Value = serde_json::from_str(&json).unwrap();
        assert_eq!(parsed["msg"], "Towels \"now\"\n& soap");
        let form = fill("to={{to}}&text={{text}}", "application/x-www-form-urlencoded", &values);
        assert_eq!(form, "to=%2B351+91&text=Towels+%22now%22%0A%26+soap");
        assert_eq!(fill("{{text}", "text/plain", &values), "{{text}", "an unclosed placeholder stays as written");
    }

    #[test]
    fn webhook_urls_keep_their_path_and_query() {
        let e = endpoint("https://sms.example:8443/api/send?account=7").unwrap();
        assert_eq!((e.host.as_str(), e.port, e.path.as_str()), ("sms.example", 8443, "/api/send?account=7"));
        assert!(e.tls);
    }
}
