//! The retained status topics: each location's (`loc/{location}/status`, for the gateway's tools and monitoring) and
//! each bound device's copy of its location's (`dev/{device}/status`, the one a device may read under the shipped
//! ACL). Republished after every commit that touches a location or binds a device there, and in full after every
//! (re)connect so a crash between commit and publish is repaired.

use std::collections::BTreeSet;
use std::sync::Arc;

use rumqttc::QoS;
use tokio::sync::{broadcast, watch};
use tv_protocol::{LocationStatus, StatusTicket, Topics};

use super::session::MqttLink;
use crate::clock::{format_time, Clock};
use crate::core::{Committed, CoreHandle};
use crate::event::EventBody;
use crate::store::{ReadPool, Ticket};

/// Publishes status until shutdown.
pub async fn run(
    link: Arc<MqttLink>,
    topics: Topics,
    core: CoreHandle,
    reads: ReadPool,
    known: Vec<String>,
    clock: Arc<dyn Clock>,
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
                Ok(batch) => mark(&mut dirty, &batch),
                Err(broadcast::error::RecvError::Lagged(_)) => everything = true,
                Err(broadcast::error::RecvError::Closed) => break,
            },
        }
        // Coalesce whatever else is already waiting: one publish per location, however many commits touched it.
        loop {
            match committed.try_recv() {
                Ok(batch) => mark(&mut dirty, &batch),
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
            match reads.with(|r| r.devices().list(None, None, None)).await {
                Ok(devices) => dirty.extend(devices.into_iter().filter_map(|d| d.bound)),
                Err(error) => tracing::warn!(%error, "Could not list the devices' bindings."),
            }
        }
        for location in dirty {
            publish(&link, &topics, &reads, clock.as_ref(), location).await;
        }
    }
}

/// The locations a committed batch changed: those whose open tickets changed, and those a device was bound to
/// (its status topic now shows that location).
fn mark(dirty: &mut BTreeSet<String>, batch: &Committed) {
    dirty.extend(batch.locations.iter().cloned());
    for event in &batch.events {
        if let EventBody::DeviceBound { location: Some(location), .. } = &event.body {
            dirty.insert(location.clone());
        }
    }
}

/// Publishes a location's status on its own topic and on the status topic of every device bound to it.
async fn publish(link: &MqttLink, topics: &Topics, reads: &ReadPool, clock: &dyn Clock, location: String) {
    let loc = location.clone();
    let read = reads
        .with(move |r| {
            let tickets = r.tickets().open_at(&loc)?;
            let devices = r.devices().list(Some(&loc), None, None)?;
            let bound: Vec<String> =
                devices.into_iter().filter(|d| d.bound.as_deref() == Some(loc.as_str())).map(|d| d.id).collect();
            Ok((tickets, bound))
        })
        .await;
    let (tickets, devices) = match read {
        Ok(read) => read,
        Err(error) => {
            tracing::warn!(%error, location = %location, "Could not read the location's tickets and devices.");
            return;
        }
    };
    let now = clock.now();
    let status = LocationStatus {
        location: location.clone(),
        updated_at: format_time(now),
        tickets: tickets.iter().map(|t| status_ticket(t, now)).collect(),
    };
    let payload = status.encode();
    let targets = std::iter::once(topics.status(&location)).chain(devices.iter().map(|d| topics.device_status(d)));
    for topic in targets {
        if let Err(error) = link.client.publish(topic, QoS::AtLeastOnce, true, payload.clone()).await {
            tracing::warn!(%error, location = %location, "Could not queue a status update.");
        }
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
        sla: ticket.sla.as_ref().map(|sla| sla.flag.as_str().to_owned()),
    }
}
