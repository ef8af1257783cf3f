//! Simulated in-room TVs: they publish requests per `docs/tv-protocol.md` and retry each until its ack arrives.
//! Used by `bellhop demo`, the end-to-end tests and the ingest benchmark.

mod device;

pub use device::{simulate_device, DeviceArgs};

use std::collections::HashMap;
use std::time::Duration;

use rumqttc::{AsyncClient, Event, MqttOptions, Packet, QoS};
use tokio::sync::mpsc;
use tokio::time::Instant;
use tv_protocol::{decode_ack, encode_request, Ack, Request, Topics};

/// One TV's identity and broker.
#[derive(Clone, Debug)]
pub struct TvSpec {
    /// Broker host.
    pub host: String,
    /// Broker port.
    pub port: u16,
    /// Topic root.
    pub root: String,
    /// The room.
    pub location: String,
    /// The TV's device id (also its MQTT client id).
    pub device: String,
    /// How long to wait for an ack before sending the same request again.
    pub retry: Duration,
    /// The most requests waiting for an ack at once; further ones wait their turn, as a guest waits for the screen.
    pub window: usize,
}

/// What a TV reports for each request: the request, its ack, and the time from first publish to ack.
#[derive(Clone, Debug)]
pub struct Answered {
    /// The device that asked.
    pub device: String,
    /// The request.
    pub request: Request,
    /// The gateway's answer.
    pub ack: Ack,
    /// From the first publish to the ack.
    pub latency: Duration,
    /// How many times it was published.
    pub attempts: u32,
}

/// Starts a TV. Send requests into the returned sender; answers arrive on `answers`. The TV stops when the sender
/// is dropped and every request is answered.
pub fn start_tv(spec: TvSpec, answers: mpsc::UnboundedSender<Answered>) -> mpsc::UnboundedSender<Request> {
    let (tx, rx) = mpsc::unbounded_channel();
    tokio::spawn(run_tv(spec, rx, answers));
    tx
}

struct Outstanding {
    request: Request,
    first_sent: Instant,
    last_sent: Instant,
    attempts: u32,
}

async fn run_tv(
    spec: TvSpec,
    mut requests: mpsc::UnboundedReceiver<Request>,
    answers: mpsc::UnboundedSender<Answered>,
) {
    let topics = Topics::new(&spec.root).expect("valid topic root");
    let mut options = MqttOptions::new(&spec.device, &spec.host, spec.port);
    options.set_keep_alive(Duration::from_secs(30)).set_clean_session(true);
    let (client, mut eventloop) = AsyncClient::new(options, 1024);
    crate::mqtt::without_nagle(&mut eventloop);
    let (acks_tx, mut acks) = mpsc::unbounded_channel::<Vec<u8>>();
    let (connected_tx, mut subscribed) = tokio::sync::watch::channel(0u64);
    let ack_topic = topics.ack(&spec.location, &spec.device);
    let request_topic = topics.request(&spec.location, &spec.device);
    let sub_client = client.clone();
    let sub_topic = ack_topic.clone();
    let driver = tokio::spawn(async move {
        loop {
            match eventloop.poll().await {
                Ok(Event::Incoming(Packet::ConnAck(_))) => {
                    let c = sub_client.clone();
                    let t = sub_topic.clone();
                    tokio::spawn(async move { c.subscribe(t, QoS::AtLeastOnce).await });
                }
                Ok(Event::Incoming(Packet::SubAck(_))) => {
                    connected_tx.send_modify(|n| *n += 1);
                }
                Ok(Event::Incoming(Packet::Publish(p))) => {
                    if acks_tx.send(p.payload.to_vec()).is_err() {
                        break;
                    }
                }
                Ok(_) => {}
                Err(_) => tokio::time::sleep(Duration::from_millis(100)).await,
            }
        }
    });
    let mut outstanding: HashMap<String, Outstanding> = HashMap::new();
    let mut open = true;
    let mut tick = tokio::time::interval(spec.retry.min(Duration::from_millis(250)));
    // Wait for the first subscription before publishing, as the protocol asks.
    let _ = subscribed.wait_for(|n| *n > 0).await;
    while open || !outstanding.is_empty() {
        tokio::select! {
            request = requests.recv(), if open && outstanding.len() < spec.window.max(1) => match request {
                Some(request) => {
                    let now = Instant::now();
                    let _ = client.publish(&request_topic, QoS::AtLeastOnce, false, encode_request(&request)).await;
                    outstanding.insert(request.id.clone(), Outstanding { request, first_sent: now, last_sent: now, attempts: 1 });
                }
                None => open = false,
            },
            payload = acks.recv() => {
                let Some(payload) = payload else { break };
                let Ok(ack) = decode_ack(&payload) else { continue };
                if let Some(done) = outstanding.remove(&ack.id) {
                    let _ = answers.send(Answered {
                        device: spec.device.clone(),
                        request: done.request,
                        ack,
                        latency: done.first_sent.elapsed(),
                        attempts: done.attempts,
                    });
                }
            }
            _ = tick.tick() => {
                let now = Instant::now();
                for o in outstanding.values_mut() {
                    if now.duration_since(o.last_sent) >= spec.retry {
                        o.last_sent = now;
                        o.attempts += 1;
                        let _ = client.publish(&request_topic, QoS::AtLeastOnce, false, encode_request(&o.request)).await;
                    }
                }
            }
        }
    }
    let _ = client.disconnect().await;
    driver.abort();
}
