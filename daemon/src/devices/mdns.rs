//! mDNS with mdns-sd: advertises `_bellhop-gw._tcp` with the TXT keys of the protocol, browses `_bellhop-dev._tcp`
//! (and configured extra types), and asks again for devices that have been quiet for `requery`; mdns-sd reports a
//! device that does not answer as removed.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use anyhow::Context;
use mdns_sd::{IfKind, ServiceDaemon, ServiceEvent, ServiceInfo};
use tokio::sync::watch;
use tokio::task::JoinHandle;
use tv_protocol::{parse_device_txt, GatewayAdvert, DEVICE_SERVICE, GATEWAY_SERVICE};

use crate::config::Config;
use crate::core::{Command, CoreHandle, DeviceObservation};
use crate::store::ReadPool;
use crate::vocab::Actor;

/// How long a re-query waits for an answer before mdns-sd removes the device.
const VERIFY_TIMEOUT: Duration = Duration::from_secs(3);
/// Resolutions of one device arriving within this time (its addresses come one by one) make one observation.
const SETTLE: Duration = Duration::from_millis(500);

/// What is known about one browsed instance.
struct Instance {
    device: String,
    heard: Instant,
}

/// Starts the mDNS daemon, registers the gateway and spawns the browse loop.
pub fn start(
    config: &Config,
    core: CoreHandle,
    reads: ReadPool,
    api_port: u16,
    stopped: watch::Receiver<bool>,
) -> anyhow::Result<(ServiceDaemon, JoinHandle<()>)> {
    let mdns = &config.devices.mdns;
    let daemon = ServiceDaemon::new_with_port(mdns.port).context("starting mDNS")?;
    if !mdns.interfaces.is_empty() {
        daemon.disable_interface(IfKind::All).context("mDNS interfaces")?;
        for name in &mdns.interfaces {
            daemon.enable_interface(IfKind::Name(name.clone())).with_context(|| format!("mDNS interface {name}"))?;
        }
    }
    if mdns.advertise {
        let mqtt_port = mdns.mqtt_port.unwrap_or(config.mqtt.broker.port);
        let advert = GatewayAdvert { mqtt_port, api_port, site: config.site.code.clone() };
        let txt: Vec<(&str, String)> = advert.txt();
        let host = format!("bellhop-{}.local.", config.site.code.to_ascii_lowercase());
        let info = ServiceInfo::new(GATEWAY_SERVICE, &mdns.instance, &host, "", api_port, &txt[..])
            .context("the gateway's mDNS record")?
            .enable_addr_auto();
        daemon.register(info).context("advertising the gateway")?;
        tracing::info!(instance = %mdns.instance, api_port, mqtt_port, "Advertising the gateway over mDNS.");
    }
    let mut receivers = Vec::new();
    for ty in std::iter::once(DEVICE_SERVICE.to_owned()).chain(mdns.extra_service_types.iter().cloned()) {
        receivers.push(daemon.browse(&ty).with_context(|| format!("browsing {ty}"))?);
    }
    let task = tokio::spawn(browse(daemon.clone(), receivers, config.devices.requery, core, reads, stopped));
    Ok((daemon, task))
}

async fn browse(
    daemon: ServiceDaemon,
    receivers: Vec<mdns_sd::Receiver<ServiceEvent>>,
    requery: Duration,
    core: CoreHandle,
    reads: ReadPool,
    mut stopped: watch::Receiver<bool>,
) {
    let (events_tx, mut events) = tokio::sync::mpsc::channel(1024);
    for receiver in receivers {
        let tx = events_tx.clone();
        tokio::spawn(async move {
            while let Ok(event) = receiver.recv_async().await {
                if tx.send(event).await.is_err() {
                    break;
                }
            }
        });
    }
    drop(events_tx);
    let mut instances: HashMap<String, Instance> = HashMap::new();
    // Resolutions waiting for their device's addresses to settle, with when to send them.
    let mut pending: HashMap<String, (tv_protocol::DeviceAdvert, Vec<String>, Instant)> = HashMap::new();
    let mut tick = tokio::time::interval(requery.min(Duration::from_secs(10)).max(Duration::from_millis(200)));
    // Devices the journal says were on mDNS when the gateway stopped: gone unless they answer within `requery`.
    let started = Instant::now();
    let mut unconfirmed: Option<Vec<String>> = reads
        .with(|r| r.devices().list(None, None, None))
        .await
        .ok()
        .map(|all| all.into_iter().filter(|d| d.mdns).map(|d| d.id).collect());
    loop {
        let settle = pending.values().map(|(_, _, at)| *at).min();
        let event = tokio::select! {
            biased;
            _ = stopped.changed() => break,
            event = events.recv() => match event { Some(event) => Some(event), None => break },
            _ = settled(settle) => {
                let now = Instant::now();
                let ready: Vec<String> = pending.iter().filter(|(_, (_, _, at))| *at <= now).map(|(k, _)| k.clone()).collect();
                for fullname in ready {
                    if let Some((advert, addresses, _)) = pending.remove(&fullname) {
                        let device = advert.device.clone();
                        observe(&core, device, DeviceObservation::Advert { advert, addresses }).await;
                    }
                }
                continue;
            }
            _ = tick.tick() => None,
        };
        let Some(event) = event else {
            let now = Instant::now();
            for (fullname, instance) in instances.iter_mut().filter(|(_, i)| now.duration_since(i.heard) >= requery) {
                instance.heard = now;
                if let Err(error) = daemon.verify(fullname.clone(), VERIFY_TIMEOUT) {
                    tracing::debug!(%error, fullname, "Could not re-query a device.");
                }
            }
            if started.elapsed() >= requery {
                for device in unconfirmed.take().unwrap_or_default() {
                    if !instances.values().any(|i| i.device == device) {
                        observe(&core, device, DeviceObservation::MdnsGone).await;
                    }
                }
            }
            continue;
        };
        match event {
            ServiceEvent::ServiceResolved(info) => {
                let txt = info.get_properties().iter().map(|p| (p.key(), p.val_str()));
                let advert = match parse_device_txt(txt) {
                    Ok(advert) => advert,
                    Err(problem) => {
                        tracing::warn!(fullname = %info.fullname, problem, "A device advertises a TXT record Bellhop cannot use.");
                        continue;
                    }
                };
                let mut addresses: Vec<String> = info.addresses.iter().map(|a| a.to_ip_addr().to_string()).collect();
                addresses.sort();
                instances
                    .insert(info.fullname.clone(), Instance { device: advert.device.clone(), heard: Instant::now() });
                pending.insert(info.fullname.clone(), (advert, addresses, Instant::now() + SETTLE));
            }
            ServiceEvent::ServiceRemoved(_, fullname) => {
                pending.remove(&fullname);
                if let Some(instance) = instances.remove(&fullname) {
                    observe(&core, instance.device, DeviceObservation::MdnsGone).await;
                }
            }
            _ => {}
        }
    }
}

async fn settled(at: Option<Instant>) {
    match at {
        Some(at) => tokio::time::sleep_until(at.into()).await,
        None => std::future::pending().await,
    }
}

async fn observe(core: &CoreHandle, device: String, observation: DeviceObservation) {
    let command = Command::DeviceObserved { actor: Actor::Mdns, device, observation, reply: None };
    if core.send(command).await.is_err() {
        tracing::debug!("The core has stopped; dropping an mDNS observation.");
    }
}
