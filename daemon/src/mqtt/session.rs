//! The broker session: options, the event-loop task, reconnects, and connection generations.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use rumqttc::{AsyncClient, Event, EventLoop, MqttOptions, Packet, Publish, QoS, SubscribeFilter};
use tokio::sync::{mpsc, watch};
use tv_protocol::Topics;

use crate::config::Config;

/// The longest a reconnect waits.
const MAX_BACKOFF: Duration = Duration::from_secs(30);

/// The largest packet MQTT 3.1.1 can carry (the remaining length's limit). The client takes whatever its broker may
/// deliver: refusing a packet drops the connection, and the broker would deliver the same message again on every
/// reconnect, keeping the gateway off the broker for good. Messages above the protocol's own limits are read,
/// rejected and acknowledged by ingest; the packaged Mosquitto configuration keeps them small before they arrive.
const MAX_INCOMING_PACKET: usize = 268_435_455;

/// The largest packet the gateway sends (menus are the largest). The packaged Mosquitto configuration takes
/// messages up to this size and no larger (`message_size_limit`).
const MAX_OUTGOING_PACKET: usize = 256 * 1024;

/// The largest menu the gateway publishes: a packet, less room for the topic and the header.
pub(super) const MAX_MENU_BYTES: usize = MAX_OUTGOING_PACKET - 1024;

/// The shared client and what other tasks need to know about the connection.
pub struct MqttLink {
    /// Publishes and acks.
    pub client: AsyncClient,
    /// Incremented on every CONNACK.
    generation: AtomicU64,
    connected: AtomicBool,
    closing: AtomicBool,
    /// Carries the generation after every CONNACK, so retained state can be republished.
    connects: watch::Sender<u64>,
}

impl MqttLink {
    /// The current connection generation.
    pub fn generation(&self) -> u64 {
        self.generation.load(Ordering::Acquire)
    }

    /// Whether the broker connection is up.
    pub fn is_connected(&self) -> bool {
        self.connected.load(Ordering::Acquire)
    }

    /// Watches connections: the value changes on every CONNACK.
    pub fn connects(&self) -> watch::Receiver<u64> {
        self.connects.subscribe()
    }

    /// Sends DISCONNECT once everything queued before it is sent; [`drive`] then ends.
    pub async fn close(&self) {
        self.closing.store(true, Ordering::Release);
        if self.client.disconnect().await.is_err() {
            tracing::debug!("The event loop had already stopped.");
        }
    }
}

/// A message from the broker, tagged with the generation it arrived in.
pub struct Received {
    /// The message.
    pub publish: Publish,
    /// The connection generation it arrived in.
    pub generation: u64,
}

/// The event loop and where it forwards incoming messages; consumed by [`drive`].
pub struct Session {
    eventloop: EventLoop,
    forward: mpsc::UnboundedSender<Received>,
}

/// Builds the client: stable client id, persistent session, manual acks, and room for a burst.
pub fn connect(config: &Config) -> (Arc<MqttLink>, Session, mpsc::UnboundedReceiver<Received>) {
    let mqtt = &config.mqtt;
    let mut options = MqttOptions::new(&mqtt.client_id, &mqtt.broker.host, mqtt.broker.port);
    options
        .set_clean_session(false)
        .set_manual_acks(true)
        .set_keep_alive(Duration::from_secs(u64::from(mqtt.keep_alive_s)))
        .set_max_packet_size(MAX_INCOMING_PACKET, MAX_OUTGOING_PACKET)
        .set_inflight(1000)
        .set_request_channel_capacity(4096);
    if let Some(user) = &mqtt.username {
        options.set_credentials(user, mqtt.password.clone().unwrap_or_default());
    }
    let (client, mut eventloop) = AsyncClient::new(options, 4096);
    without_nagle(&mut eventloop);
    let (forward, received) = mpsc::unbounded_channel();
    let link = Arc::new(MqttLink {
        client,
        generation: AtomicU64::new(0),
        connected: AtomicBool::new(false),
        closing: AtomicBool::new(false),
        connects: watch::Sender::new(0),
    });
    (link, Session { eventloop, forward }, received)
}

/// Turns off Nagle's algorithm on the client's socket. Acks are small and sent one by one; with Nagle and delayed
/// ACKs on the peer each round trip can wait 40 ms.
pub fn without_nagle(eventloop: &mut EventLoop) {
    let mut network = eventloop.network_options();
    network.set_tcp_nodelay(true);
    eventloop.set_network_options(network);
}

/// Drives the event loop until shutdown: forwards incoming publishes, resubscribes on every CONNACK, and backs off
/// between reconnects. The forward channel is unbounded on purpose: the broker sends at most its in-flight window of
/// un-acked QoS 1 messages and we ack only after commit, so that window bounds it; a bounded channel here could
/// deadlock with acks that wait for this same loop to drain the request queue.
///
/// It ends after [`MqttLink::close`], once the DISCONNECT has gone out, so acks queued before it are sent.
pub async fn drive(link: Arc<MqttLink>, session: Session, topics: Topics) {
    let Session { mut eventloop, forward } = session;
    let mut backoff = Duration::from_millis(250);
    loop {
        let event = eventloop.poll().await;
        match event {
            Ok(Event::Outgoing(rumqttc::Outgoing::Disconnect)) => break,
            Ok(Event::Incoming(Packet::ConnAck(connack))) => {
                let generation = link.generation.fetch_add(1, Ordering::AcqRel) + 1;
                link.connected.store(true, Ordering::Release);
                backoff = Duration::from_millis(250);
                tracing::info!(generation, session_present = connack.session_present, "Connected to the broker.");
                // Subscribing again is harmless when the session survived and necessary when it did not. It is
                // spawned: awaiting the client from this task could wait on the very queue this task drains.
                let client = link.client.clone();
                let filters = vec![
                    SubscribeFilter::new(topics.request_filter(), QoS::AtLeastOnce),
                    SubscribeFilter::new(topics.feedback_filter(), QoS::AtLeastOnce),
                    SubscribeFilter::new(topics.presence_filter(), QoS::AtLeastOnce),
                ];
                tokio::spawn(async move {
                    if let Err(error) = client.subscribe_many(filters).await {
                        tracing::warn!(%error, "Could not subscribe.");
                    }
                });
                link.connects.send_replace(generation);
            }
            Ok(Event::Incoming(Packet::Publish(publish))) => {
                let generation = link.generation();
                // Once ingest has stopped, a message is left un-acked for the broker to deliver again next time.
                let _ = forward.send(Received { publish, generation });
            }
            Ok(_) => {}
            Err(_) if link.closing.load(Ordering::Acquire) => break,
            Err(error) => {
                if link.connected.swap(false, Ordering::AcqRel) {
                    tracing::warn!(%error, "Lost the broker connection; reconnecting.");
                } else {
                    tracing::debug!(%error, retry_in = ?backoff, "Broker not reachable.");
                }
                tokio::time::sleep(backoff).await;
                backoff = (backoff * 2).min(MAX_BACKOFF);
            }
        }
    }
    link.connected.store(false, Ordering::Release);
}
