//! The notifications adapter: delivers the outbox the core fills (mail, webhooks, the MQTT staff topic), journals
//! each outcome through the core, tries failures again with back-off, and sends the daily and weekly summaries.
//!
//! Delivery never decides who is told (the core did, in the transaction of the cause) and never writes the store.
//! After a restart, whatever is still queued in the store is delivered. A notice is never sent twice while the
//! daemon runs; after a crash between sending and journaling it, it is sent once more with the same id (the
//! webhook's idempotency key, the mail's Message-ID), so the provider or the reader can recognise it.

pub mod email;
mod summary;
pub mod webhook;

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use rumqttc::QoS;
use tokio::sync::{broadcast, watch};
use tokio::task::JoinHandle;
use tokio::time::Instant;
use tv_protocol::{NoticeKind, StaffNotice, Topics};

use crate::clock::Clock;
use crate::config::Config;
use crate::core::{Command, CoreHandle, NoticeOutcome};
use crate::engine::notice::retry_after_ms;
use crate::event::EventBody;
use crate::mqtt::MqttLink;
use crate::store::{Notice, ReadPool};

/// How one delivery attempt ended.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Attempt {
    /// The channel took it.
    Delivered,
    /// It failed in a way that may pass (the link, a busy server): try again later.
    Failed(String),
    /// The provider refused this notice itself (a bad address, a 4xx): trying again cannot help.
    Refused(String),
}

/// The most notices read per round.
const ROUND: u32 = 500;
/// The longest sleep between rounds, so a changed configuration or a stepped clock is noticed.
const MAX_SLEEP: Duration = Duration::from_secs(30);

/// The running adapter.
pub struct Notifier {
    stop: watch::Sender<bool>,
    tasks: Vec<JoinHandle<()>>,
}

impl Notifier {
    /// Starts delivery and the summary timer.
    pub fn start(
        configs: watch::Receiver<Arc<Config>>,
        core: CoreHandle,
        reads: ReadPool,
        mqtt: Option<(Arc<MqttLink>, Topics)>,
        clock: Arc<dyn Clock>,
    ) -> Notifier {
        let (stop, stopped) = watch::channel(false);
        let delivery =
            Delivery { configs: configs.clone(), core: core.clone(), reads: reads.clone(), mqtt, clock: clock.clone() };
        let tasks = vec![
            tokio::spawn(delivery.run(stopped.clone())),
            tokio::spawn(summary::run(configs, core, reads, clock, stopped)),
        ];
        Notifier { stop, tasks }
    }

    /// Stops after the attempt in flight (its outcome is journaled, or it is tried again after the restart).
    pub async fn stop(self) {
        self.stop.send_replace(true);
        for task in self.tasks {
            let _ = task.await;
        }
    }
}

struct Delivery {
    configs: watch::Receiver<Arc<Config>>,
    core: CoreHandle,
    reads: ReadPool,
    mqtt: Option<(Arc<MqttLink>, Topics)>,
    clock: Arc<dyn Clock>,
}

impl Delivery {
    async fn run(self, mut stopped: watch::Receiver<bool>) {
        let mut committed = self.core.subscribe();
        let mut links = BTreeMap::new();
        // A channel that just failed is left alone until its retry time, so one outage costs one attempt per
        // retry, not one per queued notice.
        let mut resting: BTreeMap<String, Instant> = BTreeMap::new();
        loop {
            if *stopped.borrow() {
                break;
            }
            let now_ms = self.clock.now().as_millisecond();
            let due = match self.reads.with(move |r| r.notices().due(now_ms, ROUND)).await {
                Ok(due) => due,
                Err(error) => {
                    tracing::warn!(%error, "Could not read the notice outbox.");
                    Vec::new()
                }
            };
            resting.retain(|_, until| *until > Instant::now());
            for notice in due {
                if *stopped.borrow() {
                    break;
                }
                if resting.contains_key(&notice.channel) {
                    continue;
                }
                let config = self.configs.borrow().clone();
                // A stop does not wait for a slow server: the notice stays queued and goes out after the restart,
                // with the same id.
                let attempt = tokio::select! {
                    biased;
                    _ = stopped.wait_for(|stop| *stop) => break,
                    attempt = self.attempt(&config, &mut links, &notice) => attempt,
                };
                let outcome = match &attempt {
                    Attempt::Delivered => NoticeOutcome::Delivered,
                    Attempt::Failed(error) => {
                        let settings = &config.notifications;
                        let wait = retry_after_ms(
                            notice.attempts + 1,
                            settings.retry_initial_s.max(1),
                            settings.retry_max_s.max(1),
                        );
                        resting.insert(notice.channel.clone(), Instant::now() + Duration::from_millis(wait as u64));
                        tracing::warn!(
                            notice = notice.id,
                            channel = notice.channel,
                            error,
                            "A notice could not be delivered; it will be tried again."
                        );
                        NoticeOutcome::Failed { error: error.clone(), permanent: false }
                    }
                    Attempt::Refused(error) => NoticeOutcome::Failed { error: error.clone(), permanent: true },
                };
                let id = notice.id.clone();
                match self.core.call(|reply| Command::NoticeOutcome { notice: id, outcome, reply }).await {
                    Ok(Ok(())) => {}
                    Ok(Err(error)) => tracing::warn!(%error, notice = notice.id, "A notice's outcome was not stored."),
                    Err(error) => tracing::warn!(%error, notice = notice.id, "A notice's outcome was not stored."),
                }
            }
            let next_ms = self.reads.with(|r| r.notices().next_due()).await.ok().flatten();
            let mut wake = Instant::now() + MAX_SLEEP;
            if let Some(next_ms) = next_ms {
                let wait = (next_ms - self.clock.now().as_millisecond()).clamp(0, MAX_SLEEP.as_millis() as i64);
                wake = wake.min(Instant::now() + Duration::from_millis(wait as u64));
            }
            if let Some(earliest) = resting.values().min() {
                // Due notices of resting channels wait for the channel, not for their own time.
                if next_ms.is_some_and(|n| n <= self.clock.now().as_millisecond()) {
                    wake = wake.max(*earliest).min(Instant::now() + MAX_SLEEP);
                }
            }
            tokio::select! {
                biased;
                _ = stopped.wait_for(|stop| *stop) => break,
                _ = tokio::time::sleep_until(wake) => {}
                _ = queued(&mut committed) => {}
            }
        }
    }

    async fn attempt(&self, config: &Config, links: &mut BTreeMap<String, webhook::Link>, notice: &Notice) -> Attempt {
        let settings = &config.notifications;
        let addresses = settings.addresses.get(&notice.recipient);
        match notice.channel.as_str() {
            "email" => {
                let (Some(server), Some(address)) = (&settings.email, addresses.and_then(|a| a.email.as_ref())) else {
                    return Attempt::Refused(format!(
                        "{} has no mail address, or no mail server is set up",
                        notice.recipient
                    ));
                };
                email::send(server, &config.site.code, notice, address).await
            }
            "mqtt" => self.publish(notice).await,
            name => {
                let (Some(hook), Some(address)) =
                    (settings.webhooks.get(name), addresses.and_then(|a| a.webhooks.get(name)))
                else {
                    return Attempt::Refused(format!(
                        "webhook {name:?} or {}'s address for it is no longer configured",
                        notice.recipient
                    ));
                };
                webhook::send(links, hook, notice, address).await
            }
        }
    }

    /// The staff topic: handed to the broker session while it is connected (QoS 1; the broker keeps it for a
    /// handheld with a persistent session).
    async fn publish(&self, notice: &Notice) -> Attempt {
        let Some((link, topics)) = &self.mqtt else { return Attempt::Refused("MQTT is not running".into()) };
        if !link.is_connected() {
            return Attempt::Failed("the broker is not connected".into());
        }
        let kind = match notice.reason.as_str() {
            "assigned" => NoticeKind::Assigned,
            "queued" => NoticeKind::Queued,
            "escalation" => NoticeKind::Escalation,
            other => return Attempt::Refused(format!("the staff topic has no {other} notice")),
        };
        let facts: serde_json::Value = serde_json::from_str(&notice.facts).unwrap_or_default();
        let text = |name: &str| facts[name].as_str().unwrap_or_default().to_owned();
        let payload = StaffNotice {
            kind,
            ticket: text("ticket"),
            item: text("item"),
            location: text("location"),
            department: text("department"),
            priority: text("priority"),
            level: facts["level"].as_u64().map(|l| l as u32),
            reason: facts["escalation"].as_str().map(str::to_owned),
            sla: facts["sla"].as_str().map(str::to_owned),
            at: crate::clock::format_time(self.clock.now()),
        };
        match link
            .client
            .publish(topics.staff_notify(&notice.recipient), QoS::AtLeastOnce, false, payload.encode())
            .await
        {
            Ok(()) => Attempt::Delivered,
            Err(error) => Attempt::Failed(format!("the MQTT session refused it: {error}")),
        }
    }
}

/// Returns when a committed batch queued a notice (or the broadcast lagged: look anyway).
async fn queued(committed: &mut broadcast::Receiver<Arc<crate::core::Committed>>) {
    loop {
        match committed.recv().await {
            Ok(batch) => {
                if batch.events.iter().any(|e| matches!(e.body, EventBody::NoticeQueued { .. })) {
                    return;
                }
            }
            Err(broadcast::error::RecvError::Lagged(_)) => return,
            Err(broadcast::error::RecvError::Closed) => std::future::pending::<()>().await,
        }
    }
}
