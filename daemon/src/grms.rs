//! The room-controller adapter: runs the firmware bridge and turns its events into core commands (source `grms`).
//! It makes no decisions and never touches the store.

use std::sync::atomic::Ordering;
use std::sync::Arc;

use firmware_bridge::{Bridge, BridgeEvent, BridgeHandle, OnClear};
use tokio::task::JoinHandle;

use crate::config::Grms;
use crate::core::{Command, CoreHandle, GrmsSignal};
use crate::metrics::Metrics;

/// The running bridge and the task that forwards its events.
pub struct GrmsAdapter {
    bridge: BridgeHandle,
    forward: JoinHandle<()>,
}

impl GrmsAdapter {
    /// Starts polling every configured controller.
    pub fn start(grms: &Grms, core: CoreHandle, metrics: Arc<Metrics>) -> anyhow::Result<GrmsAdapter> {
        let (bridge, mut events) = Bridge::start(&grms.config, &grms.maps, &grms.rules)
            .map_err(|problems| anyhow::anyhow!("room controllers: {}", problems.join("; ")))?;
        let make_up_room_item = grms.config.make_up_room_item.clone();
        let offline_item = grms.config.offline_item.clone();
        let forward = tokio::spawn(async move {
            while let Some(event) = events.recv().await {
                match &event {
                    BridgeEvent::ControllerOffline { .. } => {
                        metrics.controllers_offline.fetch_add(1, Ordering::Relaxed)
                    }
                    BridgeEvent::ControllerOnline { .. } => metrics.controllers_offline.fetch_sub(1, Ordering::Relaxed),
                    _ => 0,
                };
                let command = command(event, &make_up_room_item, &offline_item);
                if core.send(command).await.is_err() {
                    break;
                }
            }
        });
        tracing::info!(controllers = grms.config.controllers.len(), "Polling room controllers.");
        Ok(GrmsAdapter { bridge, forward })
    }

    /// Stops polling; signals already sent to the core are still applied.
    pub async fn stop(self) {
        self.bridge.stop().await;
        let _ = self.forward.await;
    }
}

/// The core command for one bridge event.
fn command(event: BridgeEvent, make_up_room_item: &str, offline_item: &str) -> Command {
    let (controller, location, signal) = match event {
        BridgeEvent::AlarmRaised { controller, location, rule, item, detail } => {
            (controller, location, GrmsSignal::Raise { episode: Some(rule), item, note: detail })
        }
        BridgeEvent::AlarmCleared { controller, location, rule, on_clear, .. } => {
            let note = format!("The controller reports that {rule} has cleared.");
            (controller, location, GrmsSignal::Clear { episode: rule, resolve: on_clear == OnClear::Resolve, note })
        }
        BridgeEvent::MakeUpRoom { controller, location } => {
            let note = "Make-up-room pressed at the door station.".to_owned();
            (controller, location, GrmsSignal::Raise { episode: None, item: make_up_room_item.to_owned(), note })
        }
        BridgeEvent::DoNotDisturb { controller, location, on } => {
            (controller, location, GrmsSignal::DoNotDisturb { on })
        }
        BridgeEvent::ControllerOffline { controller, location, error } => {
            let note = format!("The room controller {controller} stopped answering: {error}");
            (
                controller,
                location,
                GrmsSignal::Raise { episode: Some(OFFLINE.into()), item: offline_item.to_owned(), note },
            )
        }
        BridgeEvent::ControllerOnline { controller, location } => {
            let note = format!("The room controller {controller} answers again.");
            (controller, location, GrmsSignal::Clear { episode: OFFLINE.into(), resolve: false, note })
        }
    };
    Command::Grms { controller, location, signal }
}

/// The episode of a controller's outage.
const OFFLINE: &str = "offline";
