//! `[notifications]` (mail server, webhooks, each person's addresses and wishes, summaries, retries) and `[alerts]`
//! (the token and the rules that turn monitoring alerts into tickets), as written and as validated.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::Deserialize;

use super::errors::{ConfigError, SourceMap};
use super::people::People;
use crate::engine::alerts::{GenericFields, OnResolve, Rule};
use crate::engine::notice::{Channel, Preferences, Reason, SummarySlot};
use crate::engine::shifts::Window;
use crate::vocab::{CatalogItem, Location, Priority};

/// `[notifications]` as written.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawNotifications {
    #[serde(default = "default_retry_initial")]
    pub retry_initial_s: u64,
    #[serde(default = "default_retry_max")]
    pub retry_max_s: u64,
    #[serde(default = "default_give_up")]
    pub give_up_after_h: u64,
    pub email: Option<RawEmail>,
    #[serde(default)]
    pub webhooks: Vec<RawWebhook>,
    #[serde(default)]
    pub recipients: Vec<RawRecipient>,
    pub summaries: Option<RawSummaries>,
}

fn default_retry_initial() -> u64 {
    30
}
fn default_retry_max() -> u64 {
    1800
}
fn default_give_up() -> u64 {
    24
}

/// `[notifications.email]` as written.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawEmail {
    pub server: String,
    pub port: Option<u16>,
    #[serde(default = "default_security")]
    pub security: String,
    pub username: Option<String>,
    pub password_file: Option<PathBuf>,
    pub from: String,
    pub ca_file: Option<PathBuf>,
}

fn default_security() -> String {
    "starttls".into()
}

/// `[[notifications.webhooks]]` as written.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawWebhook {
    pub name: String,
    pub url: String,
    #[serde(default = "default_content_type")]
    pub content_type: String,
    pub template: String,
    #[serde(default)]
    pub headers: BTreeMap<String, String>,
    pub token_file: Option<PathBuf>,
    #[serde(default = "default_idempotency_header")]
    pub idempotency_header: String,
    pub ca_file: Option<PathBuf>,
}

fn default_content_type() -> String {
    "application/json".into()
}
fn default_idempotency_header() -> String {
    "Idempotency-Key".into()
}

/// `[[notifications.recipients]]` as written.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawRecipient {
    pub id: String,
    pub email: Option<String>,
    #[serde(default)]
    pub webhooks: BTreeMap<String, String>,
    pub channels: Option<Vec<String>>,
    pub events: Option<Vec<String>>,
    pub quiet_hours: Option<String>,
    pub urgent: Option<Vec<String>>,
}

/// `[notifications.summaries]` as written.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawSummaries {
    pub to: Vec<String>,
    pub daily: Option<String>,
    pub weekly: Option<String>,
}

/// `[alerts]` as written.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawAlerts {
    pub token_file: PathBuf,
    #[serde(default = "default_max_body")]
    pub max_body_bytes: usize,
    #[serde(default)]
    pub on_resolve: OnResolve,
    #[serde(default)]
    pub generic: GenericFields,
    #[serde(default)]
    pub rules: Vec<RawAlertRule>,
}

fn default_max_body() -> usize {
    1024 * 1024
}

/// `[[alerts.rules]]` as written.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawAlertRule {
    pub name: String,
    pub source: Option<String>,
    #[serde(default, rename = "match")]
    pub matches: BTreeMap<String, String>,
    pub item: String,
    pub department: Option<String>,
    pub priority: Option<Priority>,
    pub location: String,
    pub fallback_location: Option<String>,
    pub on_resolve: Option<OnResolve>,
}

/// How the mail server is reached.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Security {
    /// Plain SMTP upgraded with STARTTLS (required), usually port 587.
    StartTls,
    /// TLS from the first byte, usually port 465.
    Tls,
    /// No encryption: only for a relay on this machine.
    None,
}

/// The mail server.
#[derive(Clone, Debug)]
pub struct Email {
    /// Host name or address.
    pub server: String,
    /// Port.
    pub port: u16,
    /// How the connection is protected.
    pub security: Security,
    /// The login, if the server wants one.
    pub username: Option<String>,
    /// Its password (read from `password_file`).
    pub password: Option<String>,
    /// The sender (`Name <address>`).
    pub from: String,
    /// A CA to trust beyond the system's (PEM).
    pub ca_file: Option<PathBuf>,
}

/// One HTTPS webhook.
#[derive(Clone, Debug)]
pub struct Webhook {
    /// Its name, which is also the channel's name.
    pub name: String,
    /// Where notices are POSTed.
    pub url: String,
    /// The body's content type; `json` in it makes placeholders JSON-escaped, `x-www-form-urlencoded` percent-encoded.
    pub content_type: String,
    /// The body with `{{placeholders}}`.
    pub template: String,
    /// Extra headers.
    pub headers: BTreeMap<String, String>,
    /// `Authorization: Bearer` token (read from `token_file`).
    pub token: Option<String>,
    /// The header that carries the notice's id, so the provider can drop a repeat.
    pub idempotency_header: String,
    /// A CA to trust beyond the system's (PEM).
    pub ca_file: Option<PathBuf>,
}

/// One recipient's addresses.
#[derive(Clone, Debug, Default)]
pub struct Addresses {
    /// Mail address.
    pub email: Option<String>,
    /// Address per webhook name (a phone number, a topic, a pager id).
    pub webhooks: BTreeMap<String, String>,
}

/// `[notifications]`, validated. Empty when the section is absent: nobody gets anything but the MQTT staff topic.
#[derive(Clone, Debug, Default)]
pub struct Notifications {
    /// First retry after this many seconds, doubling.
    pub retry_initial_s: u64,
    /// Retries at most this far apart.
    pub retry_max_s: u64,
    /// A notice not delivered after this many hours is given up.
    pub give_up_after_h: u64,
    /// The mail server.
    pub email: Option<Email>,
    /// Webhooks by name.
    pub webhooks: BTreeMap<String, Webhook>,
    /// Each recipient's wishes.
    pub preferences: Vec<Preferences>,
    /// Each recipient's addresses, by id.
    pub addresses: BTreeMap<String, Addresses>,
    /// Who gets summaries.
    pub summary_to: Vec<String>,
    /// When the daily summary goes out.
    pub daily: Option<SummarySlot>,
    /// When the weekly summary goes out.
    pub weekly: Option<SummarySlot>,
}

impl Notifications {
    /// Whether `id` has preferences (then the outbox, not the old MQTT publisher, tells them).
    pub fn manages(&self, id: &str) -> bool {
        self.preferences.iter().any(|p| p.id == id)
    }
}

/// `[alerts]`, validated.
#[derive(Clone, Debug)]
pub struct Alerts {
    /// The bearer token the alert endpoints want (read from `token_file`).
    pub token: String,
    /// The largest body accepted.
    pub max_body_bytes: usize,
    /// Where the generic webhook finds each part of an alert.
    pub generic: GenericFields,
    /// The rules, first match wins.
    pub rules: Vec<Rule>,
}

fn read_secret(path: &Path, key: &str, map: &SourceMap<'_>, errors: &mut Vec<ConfigError>) -> Option<String> {
    match std::fs::read_to_string(path) {
        Ok(text) if !text.trim().is_empty() => Some(text.trim_end_matches(['\r', '\n']).to_owned()),
        Ok(_) => {
            errors.push(map.at(key, format!("{} is empty", path.display())));
            None
        }
        Err(e) => {
            errors.push(map.at(key, format!("cannot read {}: {e}", path.display())));
            None
        }
    }
}

fn is_local(host: &str) -> bool {
    matches!(host, "127.0.0.1" | "localhost" | "::1")
}

/// The placeholders a template may use.
pub const PLACEHOLDERS: [&str; 10] =
    ["id", "to", "address", "recipient", "subject", "text", "ticket", "location", "priority", "reason"];

fn check_template(template: &str, content_type: &str) -> Result<(), String> {
    let mut rest = template;
    let mut filled = String::new();
    while let Some(start) = rest.find("{{") {
        filled += &rest[..start];
        let after = &rest[start + 2..];
        let end = after.find("}}").ok_or("a {{ has no closing }}")?;
        let name = after[..end].trim();
        if !PLACEHOLDERS.contains(&name) {
            return Err(format!("{{{{{name}}}}} is not one of {}", PLACEHOLDERS.join(", ")));
        }
        filled += "x";
        rest = &after[end + 2..];
    }
    filled += rest;
    if content_type.contains("json") {
        serde_json::from_str::<serde_json::Value>(&filled).map_err(|e| {
            format!("is not JSON once its placeholders are filled in ({e}); write \"{{{{text}}}}\" in quotes")
        })?;
    }
    Ok(())
}

/// Validates `[notifications]` against the roster.
pub(super) fn validate_notifications(
    path: &Path,
    raw: Option<RawNotifications>,
    people: &People,
    map: &SourceMap<'_>,
    errors: &mut Vec<ConfigError>,
) -> Notifications {
    let Some(raw) = raw else { return Notifications::default() };
    let relative = |p: &Path| super::relative_to(path, p);
    if raw.retry_initial_s == 0 || raw.retry_initial_s > raw.retry_max_s {
        errors.push(map.at("notifications.retry_initial_s", "must be at least 1 and at most retry_max_s"));
    }
    if raw.give_up_after_h == 0 || raw.give_up_after_h > 24 * 14 {
        errors.push(map.at("notifications.give_up_after_h", "must be from 1 to 336 hours (two weeks)"));
    }
    let email = raw.email.map(|e| {
        let security = match e.security.as_str() {
            "starttls" => Security::StartTls,
            "tls" => Security::Tls,
            "none" => Security::None,
            other => {
                errors.push(map.at("notifications.email.security", format!("{other:?} is not starttls, tls or none")));
                Security::StartTls
            }
        };
        if security == Security::None && !is_local(&e.server) {
            errors.push(map.at(
                "notifications.email.security",
                "\"none\" sends passwords and guests' requests in clear: only for a relay on 127.0.0.1 or localhost",
            ));
        }
        if e.from.parse::<lettre::message::Mailbox>().is_err() {
            errors.push(map.at(
                "notifications.email.from",
                format!("{:?} is not an address such as \"Bellhop <bellhop@hotel.example>\"", e.from),
            ));
        }
        let password = e
            .password_file
            .as_ref()
            .and_then(|f| read_secret(&relative(f), "notifications.email.password_file", map, errors));
        if password.is_some() != e.username.is_some() {
            errors.push(map.at("notifications.email.username", "give username and password_file together"));
        }
        let ca_file = e.ca_file.map(|f| relative(&f));
        if let Some(ca) = &ca_file {
            if !ca.is_file() {
                errors.push(map.at("notifications.email.ca_file", format!("{} is not a file", ca.display())));
            }
        }
        let port = e.port.unwrap_or(match security {
            Security::StartTls => 587,
            Security::Tls => 465,
            Security::None => 25,
        });
        Email { server: e.server, port, security, username: e.username, password, from: e.from, ca_file }
    });
    let mut webhooks = BTreeMap::new();
    for (i, w) in raw.webhooks.into_iter().enumerate() {
        let key = |field: &str| format!("notifications.webhooks[{i}].{field}");
        if let Err(e) = tv_protocol::validate_id(&w.name) {
            errors.push(map.at(&key("name"), format!("{:?} {e}", w.name)));
        }
        if matches!(w.name.as_str(), "email" | "mqtt") {
            errors.push(map.at(&key("name"), "\"email\" and \"mqtt\" are the other channels' names"));
        }
        match url::Url::parse(&w.url) {
            Ok(url) if url.scheme() == "https" => {}
            Ok(url) if url.scheme() == "http" && url.host_str().is_some_and(is_local) => {}
            _ => errors.push(map.at(
                &key("url"),
                format!("{:?} must be an https:// URL (http:// only for 127.0.0.1 or localhost)", w.url),
            )),
        }
        if let Err(e) = check_template(&w.template, &w.content_type) {
            errors.push(map.at(&key("template"), e));
        }
        for name in w.headers.keys().chain(std::iter::once(&w.idempotency_header)) {
            if hyper::header::HeaderName::from_bytes(name.as_bytes()).is_err() {
                errors.push(map.at(&key("headers"), format!("{name:?} is not a header name")));
            }
        }
        let token = w.token_file.as_ref().and_then(|f| read_secret(&relative(f), &key("token_file"), map, errors));
        let webhook = Webhook {
            name: w.name.clone(),
            url: w.url,
            content_type: w.content_type,
            template: w.template,
            headers: w.headers,
            token,
            idempotency_header: w.idempotency_header,
            ca_file: w.ca_file.map(|f| relative(&f)),
        };
        if webhooks.insert(w.name.clone(), webhook).is_some() {
            errors.push(map.at(&key("name"), format!("webhook {:?} is defined twice", w.name)));
        }
    }
    let mut preferences = Vec::new();
    let mut addresses = BTreeMap::new();
    for (i, r) in raw.recipients.into_iter().enumerate() {
        let key = |field: &str| format!("notifications.recipients[{i}].{field}");
        let is_staff = people.staff.contains_key(&r.id);
        if !is_staff && !people.contacts.contains_key(&r.id) {
            errors.push(map.at(&key("id"), format!("no [[staff]] or [[contacts]] entry has id {:?}", r.id)));
        }
        if let Some(address) = &r.email {
            if address.parse::<lettre::Address>().is_err() {
                errors.push(map.at(&key("email"), format!("{address:?} is not a mail address")));
            }
        }
        for name in r.webhooks.keys() {
            if !webhooks.contains_key(name) {
                errors.push(map.at(&key("webhooks"), format!("no [[notifications.webhooks]] entry is named {name:?}")));
            }
        }
        let default_channels = || {
            let mut list: Vec<String> = r.email.iter().map(|_| "email".to_owned()).collect();
            list.extend(r.webhooks.keys().cloned());
            if is_staff {
                list.push("mqtt".into());
            }
            list
        };
        let mut channels = Vec::new();
        for name in r.channels.clone().unwrap_or_else(default_channels) {
            let channel = match name.as_str() {
                "email" => {
                    if r.email.is_none() || email.is_none() {
                        errors.push(
                            map.at(&key("channels"), "\"email\" needs an email address here and [notifications.email]"),
                        );
                    }
                    Channel::Email
                }
                "mqtt" => Channel::Mqtt,
                other => {
                    if !r.webhooks.contains_key(other) {
                        errors.push(map.at(
                            &key("channels"),
                            format!("{other:?} is not email, mqtt, or a webhook with an address in webhooks"),
                        ));
                    }
                    Channel::Webhook(other.to_owned())
                }
            };
            channels.push(channel);
        }
        let reasons_of = |list: Option<Vec<String>>, field: &str, errors: &mut Vec<ConfigError>, default: &[Reason]| {
            list.map(|names| {
                names
                    .iter()
                    .filter_map(|n| {
                        let parsed = Reason::parse(n);
                        if parsed.is_none() {
                            errors.push(map.at(
                                &key(field),
                                format!("{n:?} is not assigned, queued, escalation, warning or summary"),
                            ));
                        }
                        parsed
                    })
                    .collect()
            })
            .unwrap_or_else(|| default.to_vec())
        };
        let ticket_reasons = [Reason::Assigned, Reason::Queued, Reason::Escalation, Reason::Warning];
        let mut reasons = reasons_of(r.events, "events", errors, &ticket_reasons);
        let urgent = reasons_of(r.urgent, "urgent", errors, &[Reason::Escalation]);
        let quiet_hours = r
            .quiet_hours
            .as_deref()
            .and_then(|q| Window::parse(q).map_err(|e| errors.push(map.at(&key("quiet_hours"), e))).ok());
        if raw.summaries.as_ref().is_some_and(|s| s.to.contains(&r.id)) && !reasons.contains(&Reason::Summary) {
            reasons.push(Reason::Summary);
        }
        if addresses.insert(r.id.clone(), Addresses { email: r.email, webhooks: r.webhooks }).is_some() {
            errors.push(map.at(&key("id"), format!("{:?} has two entries", r.id)));
        }
        preferences.push(Preferences { id: r.id, channels, reasons, quiet_hours, urgent });
    }
    let (mut summary_to, mut daily, mut weekly) = (Vec::new(), None, None);
    if let Some(s) = raw.summaries {
        for id in &s.to {
            if !addresses.contains_key(id) {
                errors.push(
                    map.at("notifications.summaries.to", format!("{id:?} has no [[notifications.recipients]] entry")),
                );
            }
        }
        daily = s.daily.as_deref().and_then(|d| {
            SummarySlot::parse(d, false).map_err(|e| errors.push(map.at("notifications.summaries.daily", e))).ok()
        });
        weekly = s.weekly.as_deref().and_then(|w| {
            SummarySlot::parse(w, true).map_err(|e| errors.push(map.at("notifications.summaries.weekly", e))).ok()
        });
        if daily.is_none() && weekly.is_none() {
            errors.push(map.at("notifications.summaries", "give daily = \"07:00\", weekly = \"mon 07:30\", or both"));
        }
        summary_to = s.to;
    }
    Notifications {
        retry_initial_s: raw.retry_initial_s,
        retry_max_s: raw.retry_max_s,
        give_up_after_h: raw.give_up_after_h,
        email,
        webhooks,
        preferences,
        addresses,
        summary_to,
        daily,
        weekly,
    }
}

/// Validates `[alerts]` against the catalog, departments and locations.
pub(super) fn validate_alerts(
    path: &Path,
    raw: Option<RawAlerts>,
    catalog: &BTreeMap<String, CatalogItem>,
    departments: &std::collections::BTreeSet<String>,
    locations: &BTreeMap<String, Location>,
    map: &SourceMap<'_>,
    errors: &mut Vec<ConfigError>,
) -> Option<Alerts> {
    let raw = raw?;
    let token = read_secret(&super::relative_to(path, &raw.token_file), "alerts.token_file", map, errors);
    if token.as_ref().is_some_and(|t| t.len() < 16) {
        errors.push(map.at("alerts.token_file", "the token must be at least 16 characters"));
    }
    if !(1024..=16 * 1024 * 1024).contains(&raw.max_body_bytes) {
        errors.push(map.at("alerts.max_body_bytes", "must be from 1024 to 16777216"));
    }
    let known = |l: &str| locations.is_empty() || locations.contains_key(l);
    let mut rules = Vec::new();
    for (i, r) in raw.rules.into_iter().enumerate() {
        let key = |field: &str| format!("alerts.rules[{i}].{field}");
        if r.source.as_deref().is_some_and(|s| !matches!(s, "alertmanager" | "webhook")) {
            errors.push(map.at(&key("source"), "must be \"alertmanager\" or \"webhook\" (leave it out for both)"));
        }
        if !catalog.contains_key(&r.item) {
            errors.push(map.at(&key("item"), format!("no [[catalog]] item has code {:?}", r.item)));
        }
        if let Some(d) = &r.department {
            if !departments.contains(d) {
                errors.push(map.at(&key("department"), format!("no [[departments]] entry has code {d:?}")));
            }
        }
        let templated = r.location.starts_with('{') && r.location.ends_with('}');
        if !templated && !known(&r.location) {
            errors.push(map.at(
                &key("location"),
                format!("no [[locations]] entry has id {:?} (write {{label}} to take it from a label)", r.location),
            ));
        }
        if let Some(f) = &r.fallback_location {
            if !known(f) {
                errors.push(map.at(&key("fallback_location"), format!("no [[locations]] entry has id {f:?}")));
            }
        }
        rules.push(Rule {
            name: r.name,
            source: r.source,
            matches: r.matches,
            item: r.item,
            department: r.department,
            priority: r.priority.map(|p| p.as_str().to_owned()),
            location: r.location,
            fallback_location: r.fallback_location,
            on_resolve: r.on_resolve.unwrap_or(raw.on_resolve),
        });
    }
    Some(Alerts { token: token.unwrap_or_default(), max_body_bytes: raw.max_body_bytes, generic: raw.generic, rules })
}
