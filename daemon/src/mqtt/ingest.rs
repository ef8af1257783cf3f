//! Ingest: device requests, feedback and presence from the broker become core commands; their acks go back in
//! arrival order, each only after the core has committed it.
//!
//! Every message is consumed once: one that cannot be read (too large, not JSON, a foreign topic) is journaled or
//! logged as rejected and then acknowledged, so the broker never delivers it again. A request whose commit failed
//! is answered `unavailable` (its device retries); a presence whose commit failed is sent to the core again until
//! it is stored, as its device sends it only once.

use std::sync::Arc;
use std::time::{Duration, Instant};

use rumqttc::{Publish, QoS};
use tokio::sync::{mpsc, oneshot, watch};
use tv_protocol::{decode_feedback, decode_request, Ack, ErrorCode, Presence, Topic, Topics, MAX_PAYLOAD_BYTES};

use super::session::{MqttLink, Received};
use crate::core::{Command, CoreError, CoreHandle, DeviceObservation, Origin};
use crate::log_limit::LogLimit;
use crate::metrics::Metrics;
use crate::vocab::{Actor, Source};

/// The longest a presence waits between tries while the store cannot commit.
const MAX_RETRY_WAIT: Duration = Duration::from_secs(5);

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
    /// Only the commit of a presence observation; kept so it can be sent again if the commit failed.
    Committed(Observed, oneshot::Receiver<Result<(), CoreError>>),
}

/// A presence observation as sent to the core.
struct Observed {
    device: String,
    observation: DeviceObservation,
}

impl Observed {
    /// Sends it to the core; the receiver answers once it is committed, or says why not.
    async fn send(&self, core: &CoreHandle) -> Result<oneshot::Receiver<Result<(), CoreError>>, ()> {
        let (reply, committed) = oneshot::channel();
        let command = Command::DeviceObserved {
            actor: Actor::device(Source::Tv, self.device.clone()),
            device: self.device.clone(),
            observation: self.observation.clone(),
            reply: Some(reply),
        };
        core.send(command).await.map_err(|_| ())?;
        Ok(committed)
    }
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
    let acker = tokio::spawn(acknowledge(link.clone(), core.clone(), in_flight, shutdown.clone(), metrics));
    let mut foreign = LogLimit::new(Duration::from_secs(60));
    loop {
        let message = tokio::select! {
            biased;
            _ = shutdown.wait_for(|stop| *stop) => break,
            message = received.recv() => message,
        };
        let Some(Received { publish, generation }) = message else { break };
        let answer = match dispatch(&topics, &core, &publish, &mut foreign).await {
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
async fn dispatch(
    topics: &Topics,
    core: &CoreHandle,
    publish: &Publish,
    foreign: &mut LogLimit,
) -> Result<Option<Answer>, ()> {
    let (location, device, is_request) = match topics.parse(&publish.topic) {
        Ok(Topic::Request { location, device }) => (location, device, true),
        Ok(Topic::Feedback { location, device }) => (location, device, false),
        Ok(Topic::Presence { location, device }) => {
            // An empty payload is a retained presence being cleared: nothing to observe.
            let Some(observation) = presence(location, &publish.payload) else { return Ok(None) };
            let observed = Observed { device, observation };
            let committed = observed.send(core).await?;
            return Ok(Some(Answer::Committed(observed, committed)));
        }
        Ok(_) | Err(_) => {
            if let Some(held_back) = foreign.allow("", Instant::now()) {
                tracing::warn!(topic = %publish.topic, held_back, "Ignoring a message on a topic Bellhop does not take.");
            }
            return Ok(None);
        }
    };
    if publish.payload.is_empty() {
        // How MQTT clears a retained message (ingest clears retained requests itself); never a request.
        return Ok(None);
    }
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

/// What a presence message says: online, offline, why it cannot be read, or nothing (an empty payload).
fn presence(location: String, payload: &[u8]) -> Option<DeviceObservation> {
    if payload.is_empty() {
        return None;
    }
    if payload.len() > MAX_PAYLOAD_BYTES {
        let message = format!("presence is {} bytes; the limit is {MAX_PAYLOAD_BYTES}", payload.len());
        return Some(DeviceObservation::UnreadablePresence { location, code: ErrorCode::TooLarge, message });
    }
    Some(match Presence::parse(payload) {
        Some(presence) => DeviceObservation::Presence { location, online: presence == Presence::Online },
        None => DeviceObservation::UnreadablePresence {
            location,
            code: ErrorCode::BadPayload,
            message: "presence must be online or offline".into(),
        },
    })
}

/// Whether to clear the retained message on the topic once the message is handled, so the broker does not hand it
/// to the gateway again on every new subscription: a retained request or feedback (a device must never retain
/// one), and any presence that could not be read. A live message reaches the gateway with its retain flag off even
/// when it was published retained, so an unreadable presence is cleared either way; a readable presence stays, as
/// retaining it is the protocol.
fn clear_after(publish: &Publish, answer: &Answer) -> bool {
    match answer {
        Answer::Ack(..) => publish.retain,
        Answer::Committed(observed, _) => matches!(observed.observation, DeviceObservation::UnreadablePresence { .. }),
    }
}

/// Publishes each answer, then PUBACKs its message, strictly in arrival order. A PUBACK is dropped when the message
/// arrived on an earlier connection: its packet id may now belong to another message.
async fn acknowledge(
    link: Arc<MqttLink>,
    core: CoreHandle,
    mut in_flight: mpsc::Receiver<InFlight>,
    mut shutdown: watch::Receiver<bool>,
    metrics: Arc<Metrics>,
) {
    while let Some(InFlight { publish, generation, answer }) = in_flight.recv().await {
        let clear = answer.as_ref().is_some_and(|answer| clear_after(&publish, answer));
        let answered = match answer {
            Some(Answer::Ack(topic, reply)) => publish_ack(&link, &metrics, topic, reply).await,
            Some(Answer::Committed(observed, committed)) => {
                commit_presence(&core, &observed, committed, &mut shutdown).await
            }
            None => true,
        };
        if !answered {
            continue;
        }
        if clear {
            if let Err(error) = link.client.publish(publish.topic.clone(), QoS::AtLeastOnce, true, Vec::new()).await {
                tracing::warn!(%error, topic = %publish.topic, "Could not clear a retained message.");
            }
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

/// Waits for the core's answer to a request or feedback and publishes it. `false`: the core stopped before
/// answering, or the ack could not be queued; the message is left for redelivery.
async fn publish_ack(link: &MqttLink, metrics: &Metrics, topic: String, reply: oneshot::Receiver<Ack>) -> bool {
    let Ok(ack) = reply.await else {
        tracing::warn!("The core stopped before answering; leaving the message for redelivery.");
        return false;
    };
    metrics.count_ack(&ack);
    if let Err(error) = link.client.publish(topic, QoS::AtLeastOnce, false, ack.encode()).await {
        tracing::warn!(%error, "Could not queue an ack.");
        return false;
    }
    true
}

/// Waits until a presence observation is committed, sending it again (with a growing pause) while the store cannot
/// commit. A device sends its presence once, so giving up would lose it; the acks queued behind it wait, as every
/// request would be refused `unavailable` meanwhile anyway. `false`: the daemon is stopping, or the core stopped.
async fn commit_presence(
    core: &CoreHandle,
    observed: &Observed,
    mut committed: oneshot::Receiver<Result<(), CoreError>>,
    shutdown: &mut watch::Receiver<bool>,
) -> bool {
    let mut wait = Duration::from_millis(100);
    loop {
        match committed.await {
            Ok(Ok(())) => return true,
            Ok(Err(error)) => {
                tracing::warn!(%error, device = observed.device, retry_in = ?wait, "A presence was not stored; trying again.");
            }
            Err(_) => {
                tracing::warn!("The core stopped before storing a presence; leaving it for redelivery.");
                return false;
            }
        }
        tokio::select! {
            _ = shutdown.wait_for(|stop| *stop) => return false,
            _ = tokio::time::sleep(wait) => {}
        }
        wait = (wait * 2).min(MAX_RETRY_WAIT);
        committed = match observed.send(core).await {
            Ok(committed) => committed,
            Err(()) => return false,
        };
    }
}
