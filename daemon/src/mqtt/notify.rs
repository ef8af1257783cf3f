//! Staff notifications: after each commit, tells handhelds on `{root}/v1/staff/{staff}/notify` about tickets given
//! to them, tickets waiting for someone (supervisors), and escalations that reached them.

use std::sync::Arc;

use rumqttc::QoS;
use tokio::sync::{broadcast, watch};
use tv_protocol::{NoticeKind, StaffNotice, Topics};

use super::session::MqttLink;
use crate::core::CoreHandle;
use crate::event::{Event, EventBody};
use crate::store::ReadPool;

/// Why a notice is sent, to whom, and for escalations the level and reason.
type Audience = (NoticeKind, Vec<String>, Option<u32>, Option<String>);

/// Who hears of one event, and why.
fn audience(event: &Event) -> Option<Audience> {
    match &event.body {
        EventBody::TicketAssigned { staff: Some(staff), .. } => {
            Some((NoticeKind::Assigned, vec![staff.clone()], None, None))
        }
        EventBody::TicketAssigned { staff: None, considered, .. } => {
            let flagged: Vec<String> = considered["flagged"]
                .as_array()
                .map(|list| list.iter().filter_map(|s| s.as_str().map(str::to_owned)).collect())
                .unwrap_or_default();
            (!flagged.is_empty()).then_some((NoticeKind::Queued, flagged, None, None))
        }
        EventBody::TicketEscalated { recipients, level, reason, .. } => {
            Some((NoticeKind::Escalation, recipients.clone(), Some(*level), Some(reason.as_str().to_owned())))
        }
        _ => None,
    }
}

/// Publishes notices until shutdown.
pub async fn run(
    link: Arc<MqttLink>,
    topics: Topics,
    core: CoreHandle,
    reads: ReadPool,
    mut shutdown: watch::Receiver<bool>,
) {
    let mut committed = core.subscribe();
    loop {
        let batch = tokio::select! {
            biased;
            _ = shutdown.wait_for(|stop| *stop) => break,
            batch = committed.recv() => match batch {
                Ok(batch) => batch,
                Err(broadcast::error::RecvError::Lagged(missed)) => {
                    tracing::warn!(missed, "Staff notifications fell behind; some were not sent (the journal has them).");
                    continue;
                }
                Err(broadcast::error::RecvError::Closed) => break,
            },
        };
        for event in &batch.events {
            let (Some((kind, audience, level, reason)), Some(number)) = (audience(event), event.body.ticket()) else {
                continue;
            };
            let n = number.to_owned();
            let ticket = match reads.with(move |r| r.tickets().get(&n)).await {
                Ok(Some(ticket)) => ticket,
                Ok(None) => continue,
                Err(error) => {
                    tracing::warn!(%error, ticket = number, "Could not read a ticket to notify staff.");
                    continue;
                }
            };
            let notice = StaffNotice {
                kind,
                ticket: ticket.number.clone(),
                item: ticket.item.clone(),
                location: ticket.location.clone(),
                department: ticket.department.clone(),
                priority: ticket.priority.as_str().to_owned(),
                level,
                reason: reason.clone(),
                sla: ticket.sla.as_ref().map(|s| s.flag.as_str().to_owned()),
                at: event.at.clone(),
            };
            let payload = notice.encode();
            for staff in audience {
                if let Err(error) =
                    link.client.publish(topics.staff_notify(&staff), QoS::AtLeastOnce, false, payload.clone()).await
                {
                    tracing::warn!(%error, staff, ticket = number, "Could not queue a staff notification.");
                }
            }
        }
    }
}
