//! Ingest: device requests and feedback from the broker become core commands; their acks go back in arrival order,
//! each only after the core has committed it.

use std::sync::Arc;

use rumqttc::{Publish, QoS};
use tokio::sync::{mpsc, oneshot, watch};
use tv_protocol::{decode_feedback, decode_request, Ack, Presence, Topic, Topics};

use super::session::{MqttLink, Received};
use crate::core::{Command, CoreHandle, DeviceObservation, Origin};
use crate::metrics::Metrics;
use crate::ticket::Source;

/// A message waiting for its turn to be acknowledged.
struct InFlight {
    publish: Publish,
    generation: u64,
    /// What to wait for before the PUBACK; `None` for a message that is only dropped.
    answer: Option<Answer>,
}

/// What the core owes for a message.
enum Answer {
    /// An ack message to publish on this topic.
    Ack(String, oneshot::Receiver<Ack>),
    /// Only the commit (a presence change).
    Committed(oneshot::Receiver<()>),
}

/// Reads messages until shutdown; hands each to the core and queues its ack in arrival order.
pub async fn run(
    link: Arc<MqttLink>,
    topics: Topics,
    core: CoreHandle,
    mut received: mpsc::UnboundedReceiver<Received>,
    mut shutdown: watch::Receiver<bool>,
    metrics: Arc<Metrics>,
) {
    let (queue, in_flight) = mpsc::channel(8192);
    let acker = tokio::spawn(acknowledge(link.clone(), in_flight, metrics));
    loop {
        let message = tokio::select! {
            biased;
            _ = shutdown.wait_for(|stop| *stop) => break,
            message = received.recv() => message,
        };
        let Some(Received { publish, generation }) = message else { break };
        let answer = match dispatch(&topics, &core, &publish).await {
            Ok(answer) => answer,
            Err(()) => break,
        };
        if queue.send(InFlight { publish, generation, answer }).await.is_err() {
            break;
        }
    }
    drop(queue);
    let _ = acker.await;
}

/// Turns one message into a command. `Ok(None)`: nothing to answer (the topic itself is invalid). `Err`: the core
/// has stopped, so the message must stay un-acked.
async fn dispatch(topics: &Topics, core: &CoreHandle, publish: &Publish) -> Result<Option<Answer>, ()> {
    let (location, device, is_request) = match topics.parse(&publish.topic) {
        Ok(Topic::Request { location, device }) => (location, device, true),
        Ok(Topic::Feedback { location, device }) => (location, device, false),
        Ok(Topic::Presence { location, device }) => {
            let Some(presence) = Presence::parse(&publish.payload) else {
                tracing::warn!(topic = %publish.topic, "Ignoring a presence that is neither online nor offline.");
                return Ok(None);
            };
            let (reply, committed) = oneshot::channel();
            let observation = DeviceObservation::Presence { location, online: presence == Presence::Online };
            let actor = format!("tv:{device}");
            core.send(Command::DeviceObserved { actor, device, observation, reply: Some(reply) })
                .await
                .map_err(|_| ())?;
            return Ok(Some(Answer::Committed(committed)));
        }
        Ok(_) | Err(_) => {
            tracing::warn!(topic = %publish.topic, "Ignoring a message on a topic Bellhop does not take.");
            return Ok(None);
        }
    };
    let ack_topic = topics.ack(&location, &device);
    let origin = Origin { location, device, source: Source::Tv };
    let (reply, answer) = oneshot::channel();
    let command = if is_request {
        Command::DeviceRequest { origin, request: decode_request(&publish.payload), reply }
    } else {
        Command::DeviceFeedback { origin, feedback: decode_feedback(&publish.payload), reply }
    };
    core.send(command).await.map_err(|_| ())?;
    Ok(Some(Answer::Ack(ack_topic, answer)))
}

/// Publishes each answer, then PUBACKs its message, strictly in arrival order. A PUBACK is dropped when the message
/// arrived on an earlier connection: its packet id may now belong to another message.
async fn acknowledge(link: Arc<MqttLink>, mut in_flight: mpsc::Receiver<InFlight>, metrics: Arc<Metrics>) {
    while let Some(InFlight { publish, generation, answer }) = in_flight.recv().await {
        match answer {
            Some(Answer::Ack(topic, reply)) => {
                let Ok(ack) = reply.await else {
                    tracing::warn!("The core stopped before answering; leaving the message for redelivery.");
                    continue;
                };
                metrics.count_ack(&ack);
                if let Err(error) = link.client.publish(topic, QoS::AtLeastOnce, false, ack.encode()).await {
                    tracing::warn!(%error, "Could not queue an ack.");
                    continue;
                }
            }
            Some(Answer::Committed(done)) => {
                let Ok(()) = done.await else {
                    tracing::warn!("The core stopped before committing; leaving the message for redelivery.");
                    continue;
                };
            }
            None => {}
        }
        if generation != link.generation() {
            tracing::debug!(generation, "Not acking a message from an earlier connection.");
            continue;
        }
        if let Err(error) = link.client.ack(&publish).await {
            tracing::warn!(%error, "Could not queue a PUBACK.");
        }
    }
}
