//! Monitoring alerts inside the writer: one ticket per firing episode (the episode is stored with its ticket, keyed
//! by the alert's fingerprint), and the ticket resolved or annotated when the alert resolves.

use serde::Serialize;

use super::apply::Cx;
use crate::engine::alerts::{self, Alert, OnResolve};
use crate::engine::lifecycle;
use crate::event::EventBody;
use crate::store::StoreError;
use crate::vocab::{Action, Actor, Source};

/// What became of one alert.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct AlertResult {
    /// The alert's fingerprint.
    pub fingerprint: String,
    /// `raised` (a new ticket), `joined` (an open ticket for the same item and place), `ongoing` (its episode
    /// already has a ticket), `resolved`, `annotated`, `closed` (resolved, its ticket already closed), `unknown` (a
    /// resolved alert with no episode), or `unmatched` (no rule, or no location).
    pub outcome: String,
    /// The ticket, if any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ticket: Option<String>,
    /// Why nothing was raised, for `unmatched`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
}

fn result(alert: &Alert, outcome: &str, ticket: Option<String>) -> AlertResult {
    AlertResult { fingerprint: alert.fingerprint.clone(), outcome: outcome.into(), ticket, detail: None }
}

impl Cx<'_, '_> {
    /// Applies alerts from `source` (`alertmanager` or `webhook`), in order.
    pub(super) fn alerts(&mut self, source: &str, alerts: &[Alert]) -> Result<Vec<AlertResult>, StoreError> {
        let mut out = Vec::with_capacity(alerts.len());
        for alert in alerts {
            out.push(if alert.firing {
                self.alert_fired(source, alert)?
            } else {
                self.alert_resolved(source, alert, None)?
            });
        }
        Ok(out)
    }

    fn alert_fired(&mut self, source: &str, alert: &Alert) -> Result<AlertResult, StoreError> {
        if let Some((ticket, starts_at)) = self.txn.notices().episode(source, &alert.fingerprint)? {
            let same = starts_at.is_none() || alert.starts_at.is_none() || starts_at == alert.starts_at;
            if same {
                return Ok(result(alert, "ongoing", Some(ticket)));
            }
            // The last episode ended while nobody told us (a resolution lost in an outage): close it first.
            self.alert_resolved(source, alert, Some(OnResolve::Annotate))?;
        }
        let Some(config) = self.config.alerts.as_ref() else {
            return Ok(AlertResult {
                detail: Some("alerts are not set up".into()),
                ..result(alert, "unmatched", None)
            });
        };
        let known = |l: &str| self.config.locations.is_empty() || self.config.locations.contains_key(l);
        let mapped = match alerts::map(&config.rules, source, alert, known) {
            Ok(mapped) => mapped,
            Err(why) => return Ok(AlertResult { detail: Some(why), ..result(alert, "unmatched", None) }),
        };
        let Some(mut item) = self.config.catalog.get(&mapped.item).cloned() else {
            let detail = format!("catalog item {:?} is gone", mapped.item);
            return Ok(AlertResult { detail: Some(detail), ..result(alert, "unmatched", None) });
        };
        if let Some(department) = &mapped.department {
            item.department = department.clone();
        }
        if let Some(priority) = mapped.priority.as_deref().and_then(crate::vocab::Priority::parse) {
            item.priority = priority;
        }
        let actor = Actor::device(Source::Alert, source);
        let note =
            if alert.summary.is_empty() { format!("Alert {}", alert.fingerprint) } else { alert.summary.clone() };
        let (number, outcome) = match self.txn.query().open_for(&mapped.location, &item.code)? {
            Some(open) => {
                let body = EventBody::RequestMerged {
                    ticket: open.number.clone(),
                    device: None,
                    request_id: None,
                    qty: 1,
                    note: Some(note.clone()),
                };
                let seq = self.append(&actor, body)?;
                self.txn.tickets().add_repeat(&open.number, seq, self.at)?;
                self.touched.push(mapped.location.clone());
                (open.number, "joined")
            }
            None => (self.raise(&actor, &item, &mapped.location, Source::Alert, None, None, 1, Some(&note))?, "raised"),
        };
        self.append(
            &actor,
            EventBody::AlertFired {
                source: source.to_owned(),
                fingerprint: alert.fingerprint.clone(),
                rule: mapped.rule,
                ticket: number.clone(),
                summary: note,
            },
        )?;
        self.txn.notices().start_episode(source, &alert.fingerprint, &number, alert.starts_at.as_deref())?;
        Ok(result(alert, outcome, Some(number)))
    }

    fn alert_resolved(
        &mut self,
        source: &str,
        alert: &Alert,
        force: Option<OnResolve>,
    ) -> Result<AlertResult, StoreError> {
        let Some((number, _)) = self.txn.notices().episode(source, &alert.fingerprint)? else {
            return Ok(result(alert, "unknown", None));
        };
        self.txn.notices().end_episode(source, &alert.fingerprint)?;
        let actor = Actor::device(Source::Alert, source);
        let on_resolve = force.unwrap_or_else(|| {
            let known = |_: &str| true;
            self.config
                .alerts
                .as_ref()
                .and_then(|c| alerts::map(&c.rules, source, alert, known).ok())
                .map(|m| m.on_resolve)
                .unwrap_or_default()
        });
        let note = format!(
            "The alert resolved{}.",
            if alert.summary.is_empty() { String::new() } else { format!(": {}", alert.summary) }
        );
        let Some(ticket) = self.txn.query().get(&number)? else { return Ok(result(alert, "closed", Some(number))) };
        let action = match lifecycle::transition(ticket.status, Action::Resolve) {
            Ok(to) if on_resolve == OnResolve::Resolve => {
                self.change_status(&actor, &ticket, Action::Resolve, to, Some(note))?;
                "resolved"
            }
            _ if ticket.status.is_open() => {
                let seq = self.append(&actor, EventBody::TicketCommented { ticket: number.clone(), text: note })?;
                self.txn.tickets().touch(&number, seq, self.at)?;
                self.touched.push(ticket.location.clone());
                "annotated"
            }
            _ => "closed",
        };
        self.append(
            &actor,
            EventBody::AlertResolved {
                source: source.to_owned(),
                fingerprint: alert.fingerprint.clone(),
                ticket: number.clone(),
                action: action.to_owned(),
            },
        )?;
        Ok(result(alert, action, Some(number)))
    }
}
