//! The notice outbox inside the writer: an event that tells someone (an assignment, a queued ticket, an escalation,
//! a flag turning yellow) queues its notices in the same transaction; delivery outcomes and summaries come back as
//! commands and are journaled here.

use super::apply::Cx;
use crate::clock::format_time;
use crate::engine::notice::{self, Reason, SummaryFigures, TicketFacts};
use crate::event::EventBody;
use crate::store::{NewNotice, StoreError};

/// The counter that numbers notices.
const NOTICE_COUNTER: &str = "notice_seq";

/// What an event asks to be told, and to whom.
#[derive(Debug)]
pub(super) struct Trigger {
    reason: Reason,
    ticket: String,
    recipients: Vec<String>,
    level: Option<u32>,
    escalation: Option<String>,
    due_at: Option<String>,
}

/// The notices an event causes, if any (decided before the event is appended, so nothing is cloned for the rest).
pub(super) fn trigger(body: &EventBody) -> Option<Trigger> {
    let new = |reason, ticket: &str, recipients| Trigger {
        reason,
        ticket: ticket.to_owned(),
        recipients,
        level: None,
        escalation: None,
        due_at: None,
    };
    match body {
        EventBody::TicketAssigned { ticket, staff: Some(staff), .. } => {
            Some(new(Reason::Assigned, ticket, vec![staff.clone()]))
        }
        EventBody::TicketAssigned { ticket, staff: None, considered, .. } => {
            let flagged: Vec<String> = considered["flagged"]
                .as_array()
                .map(|list| list.iter().filter_map(|s| s.as_str().map(str::to_owned)).collect())
                .unwrap_or_default();
            (!flagged.is_empty()).then(|| new(Reason::Queued, ticket, flagged))
        }
        EventBody::TicketEscalated { ticket, recipients, level, reason, .. } => Some(Trigger {
            level: Some(*level),
            escalation: Some(reason.as_str().to_owned()),
            ..new(Reason::Escalation, ticket, recipients.clone())
        }),
        EventBody::SlaFlagChanged { ticket, flag, due_at } if *flag == crate::vocab::sla::Flag::Yellow => {
            Some(Trigger { due_at: Some(due_at.clone()), ..new(Reason::Warning, ticket, Vec::new()) })
        }
        _ => None,
    }
}

/// How a delivery attempt ended.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// The channel took it.
    Delivered,
    /// It failed; `permanent` when trying again cannot help (the provider refused the request itself).
    Failed {
        /// What went wrong.
        error: String,
        /// Whether to give up now.
        permanent: bool,
    },
}

impl Cx<'_, '_> {
    /// Queues the notices `trigger` asks for, to everyone with preferences (see `[notifications]`).
    pub(super) fn queue_notices(&mut self, trigger: Trigger) -> Result<(), StoreError> {
        let Some(ticket) = self.txn.query().get(&trigger.ticket)? else { return Ok(()) };
        let recipients = match trigger.reason {
            Reason::Warning => ticket.assignee.iter().cloned().collect(),
            _ => trigger.recipients,
        };
        let planned =
            notice::plan(trigger.reason, &recipients, &self.config.notifications.preferences, self.local_now());
        if planned.is_empty() {
            return Ok(());
        }
        let item = self.config.catalog.get(&ticket.item);
        let label = item
            .and_then(|i| i.labels.get("en").or_else(|| i.labels.values().next()))
            .cloned()
            .unwrap_or_else(|| ticket.item.clone());
        let facts = TicketFacts {
            ticket: ticket.number.clone(),
            item: ticket.item.clone(),
            label,
            location: ticket.location.clone(),
            department: ticket.department.clone(),
            priority: ticket.priority.as_str().to_owned(),
            sla: ticket.sla.as_ref().map(|s| s.flag.as_str().to_owned()),
            level: trigger.level,
            escalation: trigger.escalation,
            due_at: trigger.due_at,
        };
        let (subject, text) = notice::render(trigger.reason, &facts);
        let facts = serde_json::to_value(&facts).unwrap_or_default();
        for plan in planned {
            let not_before = plan.hold_until.and_then(|local| self.to_instant(local));
            self.queue_one(
                Some(&ticket.number),
                &plan.recipient,
                &plan.channel.name(),
                trigger.reason,
                &subject,
                &text,
                &facts,
                not_before,
            )?;
        }
        Ok(())
    }

    /// A local civil time in the property's time zone as an instant.
    fn to_instant(&self, local: jiff::civil::DateTime) -> Option<jiff::Timestamp> {
        let tz = self.config.site.time_zone.clone();
        local.to_zoned(tz).ok().map(|z| z.timestamp())
    }

    #[allow(clippy::too_many_arguments)]
    fn queue_one(
        &mut self,
        ticket: Option<&str>,
        recipient: &str,
        channel: &str,
        reason: Reason,
        subject: &str,
        text: &str,
        facts: &serde_json::Value,
        not_before: Option<jiff::Timestamp>,
    ) -> Result<(), StoreError> {
        let n = self.txn.query().counter(NOTICE_COUNTER)?.unwrap_or(0) + 1;
        self.txn.tickets().set_counter(NOTICE_COUNTER, n)?;
        let id = format!("{}-N{n}", self.config.site.code);
        self.txn.append(
            self.at,
            &crate::vocab::Actor::System,
            EventBody::NoticeQueued {
                notice: id.clone(),
                ticket: ticket.map(str::to_owned),
                recipient: recipient.to_owned(),
                channel: channel.to_owned(),
                reason: reason.as_str().to_owned(),
                subject: subject.to_owned(),
                text: text.to_owned(),
                facts: facts.clone(),
                not_before: not_before.map(format_time),
            },
        )?;
        let facts = facts.to_string();
        let due_ms = not_before.unwrap_or(self.now).as_millisecond();
        let new = NewNotice {
            id: &id,
            ticket,
            recipient,
            channel,
            reason: reason.as_str(),
            subject,
            text,
            facts: &facts,
            due_ms,
        };
        self.txn.notices().queue(&new, self.now.as_millisecond(), self.at)?;
        Ok(())
    }

    /// Journals how a delivery attempt ended. A notice no longer queued (delivered or given up meanwhile) is left
    /// as it is, so a late or repeated outcome changes nothing.
    pub(super) fn notice_outcome(&mut self, id: &str, outcome: Outcome) -> Result<(), StoreError> {
        let Some((notice, state)) = self.txn.notice_query().state(id)? else { return Ok(()) };
        if state != "queued" {
            return Ok(());
        }
        let attempts = notice.attempts + 1;
        match outcome {
            Outcome::Delivered => {
                self.txn.append(
                    self.at,
                    &crate::vocab::Actor::System,
                    EventBody::NoticeDelivered {
                        notice: notice.id.clone(),
                        ticket: notice.ticket.clone(),
                        recipient: notice.recipient,
                        channel: notice.channel,
                        attempts,
                    },
                )?;
                self.txn.notices().delivered(id, attempts, self.at)?;
            }
            Outcome::Failed { error, permanent } => {
                let settings = &self.config.notifications;
                let now_ms = self.now.as_millisecond();
                let retry_ms = now_ms
                    + notice::retry_after_ms(attempts, settings.retry_initial_s.max(1), settings.retry_max_s.max(1));
                let give_up_ms = notice.queued_ms + settings.give_up_after_h.max(1) as i64 * 3_600_000;
                let retry = (!permanent && retry_ms <= give_up_ms).then_some(retry_ms);
                let retry_at = retry.and_then(|ms| jiff::Timestamp::from_millisecond(ms).ok()).map(format_time);
                if retry.is_none() {
                    tracing::warn!(
                        notice = id,
                        recipient = notice.recipient,
                        channel = notice.channel,
                        error,
                        "A notice was given up."
                    );
                }
                let error: String = error.chars().take(500).collect();
                self.txn.append(
                    self.at,
                    &crate::vocab::Actor::System,
                    EventBody::NoticeFailed {
                        notice: notice.id.clone(),
                        ticket: notice.ticket.clone(),
                        recipient: notice.recipient,
                        channel: notice.channel,
                        attempts,
                        error: error.clone(),
                        retry_at,
                    },
                )?;
                self.txn.notices().failed(id, attempts, &error, retry, self.at)?;
            }
        }
        Ok(())
    }

    /// Queues a summary for everyone on the summary list, once per slot (`slot_ms`): a repeat after a restart, or
    /// from a second timer, queues nothing. Returns whether it was queued.
    pub(super) fn summary(&mut self, slot_ms: i64, figures: &SummaryFigures) -> Result<bool, StoreError> {
        let counter = format!("summary_{}", figures.period);
        if self.txn.query().counter(&counter)?.is_some_and(|last| last >= slot_ms) {
            return Ok(false);
        }
        self.txn.tickets().set_counter(&counter, slot_ms)?;
        let to = self.config.notifications.summary_to.clone();
        let planned = notice::plan(Reason::Summary, &to, &self.config.notifications.preferences, self.local_now());
        let (subject, text) = notice::render_summary(&self.config.site.name, figures);
        let facts = serde_json::to_value(figures).unwrap_or_default();
        for plan in planned {
            let not_before = plan.hold_until.and_then(|local| self.to_instant(local));
            self.queue_one(
                None,
                &plan.recipient,
                &plan.channel.name(),
                Reason::Summary,
                &subject,
                &text,
                &facts,
                not_before,
            )?;
        }
        Ok(true)
    }
}
