//! Monitoring alerts: reading Prometheus Alertmanager's webhook (payload version 4) and a generic JSON webhook into
//! one shape, and the rules that map an alert's labels to a ticket (item, department, priority, location). Pure;
//! every parser takes bytes and never panics (see the property tests and `fuzz/`).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// The most alerts one payload may carry.
pub const MAX_ALERTS: usize = 1000;
/// The most labels one alert may carry (generic payloads are flattened into labels).
pub const MAX_LABELS: usize = 64;
/// The longest label value kept, in characters.
pub const MAX_VALUE_CHARS: usize = 1000;

/// One alert, whichever system sent it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Alert {
    /// What identifies the alert across its notifications (Alertmanager's fingerprint, or the configured field).
    pub fingerprint: String,
    /// Firing (true) or resolved.
    pub firing: bool,
    /// When the episode started, when the sender says (Alertmanager's `startsAt`).
    pub starts_at: Option<String>,
    /// Its labels (Alertmanager's labels; a generic payload's fields, nested ones joined with dots).
    pub labels: BTreeMap<String, String>,
    /// A line for people (the `summary` or `description` annotation, or the configured field).
    pub summary: String,
}

/// Why a payload was refused.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct PayloadError(pub String);

fn error(message: impl Into<String>) -> PayloadError {
    PayloadError(message.into())
}

#[derive(Deserialize)]
struct AmPayload {
    version: String,
    #[serde(default)]
    alerts: Vec<AmAlert>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct AmAlert {
    status: String,
    #[serde(default)]
    labels: BTreeMap<String, String>,
    #[serde(default)]
    annotations: BTreeMap<String, String>,
    #[serde(default)]
    starts_at: Option<String>,
    #[serde(default)]
    fingerprint: Option<String>,
}

fn clip(text: &str) -> String {
    text.chars().take(MAX_VALUE_CHARS).collect()
}

/// Reads an Alertmanager webhook body (`"version": "4"`).
pub fn parse_alertmanager(body: &[u8]) -> Result<Vec<Alert>, PayloadError> {
    let payload: AmPayload =
        serde_json::from_slice(body).map_err(|e| error(format!("not an Alertmanager webhook payload: {e}")))?;
    if payload.version != "4" {
        return Err(error(format!("payload version {:?} is not supported (only \"4\")", payload.version)));
    }
    if payload.alerts.len() > MAX_ALERTS {
        return Err(error(format!("more than {MAX_ALERTS} alerts in one payload")));
    }
    payload
        .alerts
        .into_iter()
        .enumerate()
        .map(|(i, alert)| {
            let firing = match alert.status.as_str() {
                "firing" => true,
                "resolved" => false,
                other => return Err(error(format!("alerts[{i}].status {other:?} is not firing or resolved"))),
            };
            if alert.labels.len() > MAX_LABELS {
                return Err(error(format!("alerts[{i}] has more than {MAX_LABELS} labels")));
            }
            let fingerprint = match alert.fingerprint.filter(|f| !f.is_empty()) {
                Some(f) => clip(&f),
                // Alertmanager always sends one; for a sender that does not, the labels identify the alert.
                None => label_fingerprint(&alert.labels),
            };
            let summary = ["summary", "description", "message"]
                .iter()
                .find_map(|k| alert.annotations.get(*k))
                .or_else(|| alert.labels.get("alertname"))
                .map(|s| clip(s))
                .unwrap_or_default();
            Ok(Alert {
                fingerprint,
                firing,
                starts_at: alert.starts_at.map(|s| clip(&s)),
                labels: alert.labels.iter().map(|(k, v)| (clip(k), clip(v))).collect(),
                summary,
            })
        })
        .collect()
}

/// A fingerprint from the labels alone (SHA-256 of their sorted `name=value` lines, first 16 hex digits).
fn label_fingerprint(labels: &BTreeMap<String, String>) -> String {
    let text: String = labels.iter().map(|(k, v)| format!("{k}={v}\n")).collect();
    hex::encode(&ring::digest::digest(&ring::digest::SHA256, text.as_bytes()).as_ref()[..8])
}

/// Where the generic webhook finds each part of an alert (field names, nested ones joined with dots).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GenericFields {
    /// The field that identifies the alert; without it, the alert's fields are its identity.
    #[serde(default = "default_fingerprint")]
    pub fingerprint: String,
    /// The field that says whether it fires.
    #[serde(default = "default_status")]
    pub status: String,
    /// Values of `status` that mean resolved (any other value, or none, means firing).
    #[serde(default = "default_resolved")]
    pub resolved_values: Vec<String>,
    /// The field with a line for people.
    #[serde(default = "default_summary")]
    pub summary: String,
}

impl Default for GenericFields {
    fn default() -> Self {
        GenericFields {
            fingerprint: default_fingerprint(),
            status: default_status(),
            resolved_values: default_resolved(),
            summary: default_summary(),
        }
    }
}

fn default_fingerprint() -> String {
    "id".into()
}
fn default_status() -> String {
    "status".into()
}
fn default_resolved() -> Vec<String> {
    ["resolved", "ok", "closed", "recovered"].map(String::from).to_vec()
}
fn default_summary() -> String {
    "summary".into()
}

/// Reads a generic JSON webhook body: one alert object, an array of them, or `{"alerts": [...]}`. Every scalar
/// field becomes a label (nested objects joined with dots; arrays are skipped).
pub fn parse_generic(body: &[u8], fields: &GenericFields) -> Result<Vec<Alert>, PayloadError> {
    let value: serde_json::Value =
        serde_json::from_slice(body).map_err(|e| error(format!("the body is not JSON: {e}")))?;
    let items = match value {
        serde_json::Value::Array(items) => items,
        serde_json::Value::Object(mut object) => match object.remove("alerts") {
            Some(serde_json::Value::Array(items)) => items,
            Some(_) => return Err(error("\"alerts\" must be an array of objects")),
            None => vec![serde_json::Value::Object(object)],
        },
        _ => return Err(error("the body must be a JSON object or an array of objects")),
    };
    if items.len() > MAX_ALERTS {
        return Err(error(format!("more than {MAX_ALERTS} alerts in one payload")));
    }
    items
        .into_iter()
        .enumerate()
        .map(|(i, item)| {
            let serde_json::Value::Object(object) = item else {
                return Err(error(format!("alert {i} is not a JSON object")));
            };
            let mut labels = BTreeMap::new();
            flatten("", &serde_json::Value::Object(object), 0, &mut labels)
                .map_err(|e| error(format!("alert {i}: {e}")))?;
            let status = labels.get(&fields.status).cloned().unwrap_or_default();
            let firing = !fields.resolved_values.iter().any(|v| v.eq_ignore_ascii_case(&status));
            let fingerprint = match labels.get(&fields.fingerprint).filter(|f| !f.is_empty()) {
                Some(f) => f.clone(),
                None => {
                    let mut identity = labels.clone();
                    identity.remove(&fields.status);
                    identity.remove(&fields.summary);
                    label_fingerprint(&identity)
                }
            };
            let summary = labels.get(&fields.summary).cloned().unwrap_or_default();
            Ok(Alert { fingerprint, firing, starts_at: None, labels, summary })
        })
        .collect()
}

fn flatten(
    prefix: &str,
    value: &serde_json::Value,
    depth: usize,
    out: &mut BTreeMap<String, String>,
) -> Result<(), String> {
    if depth > 4 {
        return Err("nested deeper than 4 levels".into());
    }
    let scalar = match value {
        serde_json::Value::Object(object) => {
            for (key, inner) in object {
                let name = if prefix.is_empty() { key.clone() } else { format!("{prefix}.{key}") };
                flatten(&name, inner, depth + 1, out)?;
            }
            return Ok(());
        }
        serde_json::Value::Array(_) | serde_json::Value::Null => return Ok(()),
        serde_json::Value::String(s) => s.clone(),
        other => other.to_string(),
    };
    if out.len() >= MAX_LABELS {
        return Err(format!("more than {MAX_LABELS} fields"));
    }
    out.insert(clip(prefix), clip(&scalar));
    Ok(())
}

/// What happens to an alert's ticket when the alert resolves.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OnResolve {
    /// A comment says the alert resolved; staff close the ticket.
    #[default]
    Annotate,
    /// The ticket is resolved (when its status allows; otherwise annotated).
    Resolve,
}

/// One mapping rule, validated.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Rule {
    /// Its name (in events and answers).
    pub name: String,
    /// `alertmanager`, `webhook`, or `None` for both.
    pub source: Option<String>,
    /// Labels that must all have these values (`*`: present with any value).
    pub matches: BTreeMap<String, String>,
    /// The catalog item raised.
    pub item: String,
    /// The department, instead of the item's.
    pub department: Option<String>,
    /// The priority, instead of the item's (`low`, `normal`, `high`, `critical`).
    pub priority: Option<String>,
    /// The location: a location id, or `{label}` to take it from a label.
    pub location: String,
    /// Where the ticket goes when the label is missing or names no known location.
    pub fallback_location: Option<String>,
    /// What resolving the alert does.
    pub on_resolve: OnResolve,
}

/// What a rule decided for one alert.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Mapped {
    /// The rule's name.
    pub rule: String,
    /// The catalog item.
    pub item: String,
    /// The department override.
    pub department: Option<String>,
    /// The priority override.
    pub priority: Option<String>,
    /// The location.
    pub location: String,
    /// What resolving does.
    pub on_resolve: OnResolve,
}

/// The first rule that matches `alert` from `source`, with its location worked out (`known` says whether a location
/// id exists). `Err` names why nothing could be raised.
pub fn map(rules: &[Rule], source: &str, alert: &Alert, known: impl Fn(&str) -> bool) -> Result<Mapped, String> {
    let rule = rules
        .iter()
        .find(|rule| {
            rule.source.as_deref().is_none_or(|s| s == source)
                && rule
                    .matches
                    .iter()
                    .all(|(label, want)| alert.labels.get(label).is_some_and(|have| want == "*" || want == have))
        })
        .ok_or_else(|| "no rule matches its labels".to_owned())?;
    let wanted = match rule.location.strip_prefix('{').and_then(|l| l.strip_suffix('}')) {
        Some(label) => alert.labels.get(label).cloned(),
        None => Some(rule.location.clone()),
    };
    let location =
        match wanted.filter(|l| known(l)) {
            Some(location) => location,
            None => rule.fallback_location.clone().filter(|l| known(l)).ok_or_else(|| {
                format!("rule {:?}: its location {:?} names no known location", rule.name, rule.location)
            })?,
        };
    Ok(Mapped {
        rule: rule.name.clone(),
        item: rule.item.clone(),
        department: rule.department.clone(),
        priority: rule.priority.clone(),
        location,
        on_resolve: rule.on_resolve,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const AM: &str = r#"{"version":"4","groupKey":"{}:{}","status":"firing","receiver":"bellhop",
        "groupLabels":{},"commonLabels":{},"commonAnnotations":{},"externalURL":"http://am","truncatedAlerts":0,
        "alerts":[{"status":"firing","labels":{"alertname":"FreezerWarm","room":"kitchen","severity":"critical"},
        "annotations":{"summary":"Freezer 2 is at -8 C"},"startsAt":"2026-11-27T10:00:00Z",
        "endsAt":"0001-01-01T00:00:00Z","generatorURL":"http://prom","fingerprint":"c0ffee"}]}"#;

    fn rule() -> Rule {
        Rule {
            name: "freezer".into(),
            source: None,
            matches: [("alertname".to_owned(), "FreezerWarm".to_owned())].into(),
            item: "eng.fridge".into(),
            department: None,
            priority: Some("critical".into()),
            location: "{room}".into(),
            fallback_location: Some("lobby".into()),
            on_resolve: OnResolve::Resolve,
        }
    }

    #[test]
    fn alertmanager_payloads_are_read() {
        let alerts = parse_alertmanager(AM.as_bytes()).unwrap();
        assert_eq!(alerts.len(), 1);
        assert_eq!(alerts[0].fingerprint, "c0ffee");
        assert!(alerts[0].firing);
        assert_eq!(alerts[0].summary, "Freezer 2 is at -8 C");
        assert!(parse_alertmanager(AM.replace("\"4\"", "\"3\"").as_bytes()).unwrap_err().0.contains("version"));
        assert!(parse_alertmanager(b"{").is_err());
        assert!(parse_alertmanager(
            AM.replace("\"status\":\"firing\",\"labels", "\"status\":\"odd\",\"labels").as_bytes()
        )
        .is_err());
    }

    #[test]
    fn generic_payloads_are_flattened_into_labels() {
        let body = br#"{"id":"door-7","status":"open","summary":"Door 7 forced","where":{"room":"101"},"n":3}"#;
        let alerts = parse_generic(body, &GenericFields::default()).unwrap();
        assert_eq!(alerts[0].fingerprint, "door-7");
        assert!(alerts[0].firing);
        assert_eq!(alerts[0].labels["where.room"], "101");
        assert_eq!(alerts[0].labels["n"], "3");
        let resolved = parse_generic(br#"[{"id":"door-7","status":"resolved"}]"#, &GenericFields::default()).unwrap();
        assert!(!resolved[0].firing);
        assert!(parse_generic(b"42", &GenericFields::default()).is_err());
        assert!(parse_generic(br#"{"alerts": 3}"#, &GenericFields::default()).is_err());
        let without_id = parse_generic(br#"{"host":"a","status":"down"}"#, &GenericFields::default()).unwrap();
        let again = parse_generic(br#"{"host":"a","status":"ok"}"#, &GenericFields::default()).unwrap();
        assert_eq!(without_id[0].fingerprint, again[0].fingerprint, "the status is not part of the identity");
    }

    #[test]
    fn rules_map_labels_to_a_location_with_a_fallback() {
        let alert = &parse_alertmanager(AM.as_bytes()).unwrap()[0];
        let known = |l: &str| ["kitchen", "lobby"].contains(&l);
        let mapped = map(&[rule()], "alertmanager", alert, known).unwrap();
        assert_eq!(mapped.location, "kitchen");
        assert_eq!(mapped.priority.as_deref(), Some("critical"));
        let mapped = map(&[rule()], "alertmanager", alert, |l| l == "lobby").unwrap();
        assert_eq!(mapped.location, "lobby", "the fallback");
        let mut other = alert.clone();
        other.labels.insert("alertname".into(), "Other".into());
        assert!(map(&[rule()], "alertmanager", &other, known).is_err());
        let mut only_webhook = rule();
        only_webhook.source = Some("webhook".into());
        assert!(map(&[only_webhook], "alertmanager", alert, known).is_err());
    }

    proptest! {
        #[test]
        fn the_parsers_never_panic(body in proptest::collection::vec(any::<u8>(), 0..512)) {
            let _ = parse_alertmanager(&body);
            let _ = parse_generic(&body, &GenericFields::default());
        }

        #[test]
        fn json_shaped_input_never_panics(text in r#"[\[\]{}":,a-z0-9 .\-]{0,200}"#) {
            let _ = parse_alertmanager(text.as_bytes());
            let _ = parse_generic(text.as_bytes(), &GenericFields::default());
        }
    }
}
