//! The retained location status topics: republished after every commit that touches a location, and in full after
//! every (re)connect so a crash between commit and publish is repaired.

use std::collections::BTreeSet;
use std::sync::Arc;

use rumqttc::QoS;
use tokio::sync::{broadcast, watch};
use tv_protocol::{LocationStatus, StatusTicket, Topics};

use super::session::MqttLink;
use crate::clock::format_time;
use crate::core::CoreHandle;
use crate::store::{ReadPool, Ticket};

/// Publishes status until shutdown.
pub async fn run(
    link: Arc<MqttLink>,
    topics: Topics,
    core: CoreHandle,
    reads: ReadPool,
    known: Vec<String>,
    mut shutdown: watch::Receiver<bool>,
) {
    let mut committed = core.subscribe();
    let mut connects = link.connects();
    loop {
        let mut dirty = BTreeSet::new();
        let mut everything = false;
        tokio::select! {
            biased;
            _ = shutdown.wait_for(|stop| *stop) => break,
            changed = connects.changed() => {
                if changed.is_err() { break }
                everything = true;
            }
            batch = committed.recv() => match batch {
                Ok(batch) => dirty.extend(batch.locations.iter().cloned()),
                Err(broadcast::error::RecvError::Lagged(_)) => everything = true,
                Err(broadcast::error::RecvError::Closed) => break,
            },
        }
        // Coalesce whatever else is already waiting: one publish per location, however many commits touched it.
        loop {
            match committed.try_recv() {
                Ok(batch) => dirty.extend(batch.locations.iter().cloned()),
                Err(broadcast::error::TryRecvError::Lagged(_)) => everything = true,
                Err(_) => break,
            }
        }
        if everything {
            dirty.extend(known.iter().cloned());
            match reads.with(|r| r.tickets().open_locations()).await {
                Ok(open) => dirty.extend(open),
                Err(error) => tracing::warn!(%error, "Could not list locations with open tickets."),
            }
        }
        for location in dirty {
            publish(&link, &topics, &reads, location).await;
        }
    }
}

async fn publish(link: &MqttLink, topics: &Topics, reads: &ReadPool, location: String) {
    let loc = location.clone();
    let tickets = match reads.with(move |r| r.tickets().open_at(&loc)).await {
        Ok(tickets) => tickets,
        Err(error) => {
            tracing::warn!(%error, location = %location, "Could not read the location's tickets.");
            return;
        }
    };
    let now = jiff::Timestamp::now();
    let status = LocationStatus {
        location: location.clone(),
        updated_at: format_time(now),
        tickets: tickets.iter().map(|t| status_ticket(t, now)).collect(),
    };
    if let Err(error) = link.client.publish(topics.status(&location), QoS::AtLeastOnce, true, status.encode()).await {
        tracing::warn!(%error, location = %location, "Could not queue a status update.");
    }
}

/// The TV's view of one ticket: the estimate counts down from when it was raised.
fn status_ticket(ticket: &Ticket, now: jiff::Timestamp) -> StatusTicket {
    let eta_s = ticket.eta_s.map(|eta| {
        let raised = ticket.created_at.parse::<jiff::Timestamp>().unwrap_or(now);
        let elapsed = now.as_second().saturating_sub(raised.as_second()).max(0) as u32;
        eta.saturating_sub(elapsed)
    });
    StatusTicket {
        ticket: ticket.number.clone(),
        item: ticket.item.clone(),
        status: ticket.status.as_str().to_owned(),
        eta_s,
        sla: ticket.sla.as_ref().map(|sla| sla.flag.clone()),
    }
}
