//! The retained menu: the catalog as TVs show it, published after every (re)connect and whenever a reload changes
//! it. Its `version` changes exactly when the items do.

use std::sync::Arc;

use rumqttc::QoS;
use tokio::sync::watch;
use tv_protocol::Topics;

use super::session::{MqttLink, MAX_MENU_BYTES};
use crate::config::Config;

/// Publishes the menu until shutdown.
pub async fn run(
    link: Arc<MqttLink>,
    topics: Topics,
    mut config: watch::Receiver<Arc<Config>>,
    mut shutdown: watch::Receiver<bool>,
) {
    let mut connects = link.connects();
    // A connection made before this task started counts too.
    connects.mark_changed();
    let mut published: Option<String> = None;
    loop {
        tokio::select! {
            biased;
            _ = shutdown.wait_for(|stop| *stop) => break,
            changed = connects.changed() => {
                if changed.is_err() { break }
                published = None;
            }
            changed = config.changed() => if changed.is_err() { break },
        }
        if !link.is_connected() {
            continue;
        }
        let menu = config.borrow_and_update().menu();
        if published.as_deref() == Some(menu.version.as_str()) {
            continue;
        }
        let payload = menu.encode();
        if payload.len() > MAX_MENU_BYTES {
            // Sending it would fail the connection on every try; say so once per version instead.
            tracing::error!(
                bytes = payload.len(),
                limit = MAX_MENU_BYTES,
                "The menu is too large to publish; shorten the catalog's labels."
            );
            published = Some(menu.version);
            continue;
        }
        match link.client.publish(topics.menu(), QoS::AtLeastOnce, true, payload).await {
            Ok(()) => {
                tracing::info!(version = %menu.version, items = menu.items.len(), "Published the menu.");
                published = Some(menu.version);
            }
            Err(error) => tracing::warn!(%error, "Could not queue the menu."),
        }
    }
}
