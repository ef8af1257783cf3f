//! The devices adapter: mDNS both ways (advertise the gateway, browse devices, re-query the quiet ones) and the
//! outage clock that raises one offline ticket per outage after the grace period. It decides nothing itself: what
//! it sees goes to the core as observations, and it reacts to the liveness events the core commits.

mod mdns;
mod outage;

use std::sync::Arc;

use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::clock::Clock;
use crate::config::Config;
use crate::core::CoreHandle;
use crate::store::ReadPool;

/// The running adapter.
pub struct DevicesAdapter {
    stop: watch::Sender<bool>,
    tasks: Vec<JoinHandle<()>>,
    mdns: Option<mdns_sd::ServiceDaemon>,
}

impl DevicesAdapter {
    /// Starts mDNS (when enabled) and the outage clock on `clock`. `api_port` is advertised as TXT `api`.
    pub fn start(
        config: &Config,
        configs: watch::Receiver<Arc<Config>>,
        core: CoreHandle,
        reads: ReadPool,
        clock: Arc<dyn Clock>,
        api_port: u16,
    ) -> anyhow::Result<DevicesAdapter> {
        let (stop, stopped) = watch::channel(false);
        let mut tasks = vec![tokio::spawn(outage::run(configs, core.clone(), reads.clone(), clock, stopped.clone()))];
        let mdns = if config.devices.mdns.enabled {
            let (daemon, task) = mdns::start(config, core, reads, api_port, stopped)?;
            tasks.push(task);
            Some(daemon)
        } else {
            None
        };
        Ok(DevicesAdapter { stop, tasks, mdns })
    }

    /// Stops browsing (sending the gateway's goodbye) and the outage clock.
    pub async fn stop(self) {
        self.stop.send_replace(true);
        if let Some(daemon) = self.mdns {
            if let Ok(done) = daemon.shutdown() {
                let _ = tokio::time::timeout(std::time::Duration::from_secs(2), done.recv_async()).await;
            }
        }
        for task in self.tasks {
            let _ = task.await;
        }
    }
}
