//! A reference device for installers and TV vendors (`bellhop simulate-device`): advertises `_bellhop-dev._tcp`
//! with the protocol's TXT keys, keeps its MQTT presence `online` with an `offline` last will, and prints the menu,
//! its own status (that of the location it is bound to) and its acks as they arrive. It runs until stopped; killed,
//! it vanishes silently.

use std::time::Duration;

use anyhow::Context;
use mdns_sd::{ServiceDaemon, ServiceInfo};
use rumqttc::{AsyncClient, Event, LastWill, MqttOptions, Packet, QoS};
use tv_protocol::{DeviceKind, Presence, Topics, DEVICE_SERVICE, PROTOCOL_VERSION};

/// What `bellhop simulate-device` takes.
#[derive(Debug, Clone, clap::Args)]
pub struct DeviceArgs {
    /// The location it claims (TXT `loc`).
    #[arg(long)]
    pub location: String,
    /// Its device id (TXT `dev`, and its MQTT client id).
    #[arg(long)]
    pub device: String,
    /// tv, kiosk or tablet.
    #[arg(long, default_value = "tv")]
    pub kind: String,
    /// TXT `model`.
    #[arg(long, default_value = "Bellhop reference device")]
    pub model: String,
    /// TXT `fw`.
    #[arg(long, default_value = env!("CARGO_PKG_VERSION"))]
    pub firmware: String,
    /// The broker; without it, the device only advertises over mDNS.
    #[arg(long)]
    pub mqtt: Option<String>,
    /// The broker user name (the packaged Mosquitto refuses anonymous clients).
    #[arg(long)]
    pub username: Option<String>,
    /// A file holding the broker password.
    #[arg(long)]
    pub password_file: Option<std::path::PathBuf>,
    /// The mDNS port (5353; others only for tests).
    #[arg(long, default_value_t = 5353)]
    pub mdns_port: u16,
    /// The topic root.
    #[arg(long, default_value = tv_protocol::DEFAULT_ROOT)]
    pub root: String,
}

/// Runs the device until Ctrl-C or SIGTERM (then it says goodbye: presence `offline` and an mDNS goodbye).
pub async fn simulate_device(args: DeviceArgs) -> anyhow::Result<()> {
    tv_protocol::validate_id(&args.location).map_err(|e| anyhow::anyhow!("--location {e}"))?;
    tv_protocol::validate_id(&args.device).map_err(|e| anyhow::anyhow!("--device {e}"))?;
    let kind = [DeviceKind::Tv, DeviceKind::Kiosk, DeviceKind::Tablet]
        .into_iter()
        .find(|k| k.as_str() == args.kind)
        .ok_or_else(|| anyhow::anyhow!("--kind must be tv, kiosk or tablet"))?;
    let mdns = ServiceDaemon::new_with_port(args.mdns_port).context("starting mDNS")?;
    let proto = PROTOCOL_VERSION.to_string();
    let txt = [
        ("loc", args.location.as_str()),
        ("dev", args.device.as_str()),
        ("kind", kind.as_str()),
        ("model", args.model.as_str()),
        ("fw", args.firmware.as_str()),
        ("proto", proto.as_str()),
    ];
    let host = format!("{}.local.", args.device);
    let info = ServiceInfo::new(DEVICE_SERVICE, &args.device, &host, "", 9, &txt[..])
        .context("the device's mDNS record")?
        .enable_addr_auto();
    let fullname = info.get_fullname().to_owned();
    mdns.register(info).context("advertising the device")?;
    println!("advertising {fullname} (loc={}, dev={}, kind={})", args.location, args.device, kind.as_str());

    let mqtt = match &args.mqtt {
        Some(url) => Some(connect(&args, url).await?),
        None => None,
    };
    wait_for_stop().await;
    if let Some((client, topics)) = mqtt {
        let presence = topics.presence(&args.location, &args.device);
        let _ = client.publish(presence, QoS::AtLeastOnce, true, Presence::Offline.as_str()).await;
        let _ = client.disconnect().await;
    }
    if let Ok(done) = mdns.unregister(&fullname) {
        let _ = tokio::time::timeout(Duration::from_secs(2), done.recv_async()).await;
    }
    let _ = mdns.shutdown();
    Ok(())
}

/// Connects with an `offline` last will, publishes `online`, subscribes to the menu, status and acks, and prints
/// what arrives from a background task.
async fn connect(args: &DeviceArgs, url: &str) -> anyhow::Result<(AsyncClient, Topics)> {
    let broker = crate::config::Broker::parse(url).map_err(|e| anyhow::anyhow!("--mqtt {e}"))?;
    let topics = Topics::new(&args.root).map_err(|e| anyhow::anyhow!("--root {e}"))?;
    let presence = topics.presence(&args.location, &args.device);
    let mut options = MqttOptions::new(&args.device, &broker.host, broker.port);
    options.set_keep_alive(Duration::from_secs(5)).set_last_will(LastWill::new(
        &presence,
        Presence::Offline.as_str(),
        QoS::AtLeastOnce,
        true,
    ));
    if let Some(user) = &args.username {
        let password = match &args.password_file {
            Some(file) => {
                std::fs::read_to_string(file).with_context(|| format!("--password-file {}", file.display()))?
            }
            None => String::new(),
        };
        options.set_credentials(user, password.trim_end_matches(['\r', '\n']));
    }
    let (client, mut eventloop) = AsyncClient::new(options, 64);
    crate::mqtt::without_nagle(&mut eventloop);
    let subscriptions = [topics.menu(), topics.device_status(&args.device), topics.ack(&args.location, &args.device)];
    let on_connect = client.clone();
    tokio::spawn(async move {
        loop {
            match eventloop.poll().await {
                Ok(Event::Incoming(Packet::ConnAck(_))) => {
                    let client = on_connect.clone();
                    let (presence, subscriptions) = (presence.clone(), subscriptions.clone());
                    tokio::spawn(async move {
                        for topic in subscriptions {
                            let _ = client.subscribe(topic, QoS::AtLeastOnce).await;
                        }
                        let _ = client.publish(presence, QoS::AtLeastOnce, true, Presence::Online.as_str()).await;
                    });
                }
                Ok(Event::Incoming(Packet::Publish(p))) => {
                    println!("{} {}", p.topic, String::from_utf8_lossy(&p.payload));
                }
                Ok(_) => {}
                Err(error) => {
                    eprintln!("broker: {error}; retrying");
                    tokio::time::sleep(Duration::from_secs(1)).await;
                }
            }
        }
    });
    Ok((client, topics))
}

async fn wait_for_stop() {
    use tokio::signal::unix::{signal, SignalKind};
    match signal(SignalKind::terminate()) {
        Ok(mut term) => {
            tokio::select! {
                _ = tokio::signal::ctrl_c() => {}
                _ = term.recv() => {}
            }
        }
        Err(_) => {
            let _ = tokio::signal::ctrl_c().await;
        }
    }
}
