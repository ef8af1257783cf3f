//! The retained menu: the request catalog as the TV shows it.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::error::DecodeError;

/// The payload of `{root}/v1/menu`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Menu {
    /// Changes whenever the catalog changes; a TV may cache by it.
    pub version: String,
    /// The items in display order.
    pub items: Vec<MenuItem>,
}

/// One item a guest can request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MenuItem {
    /// The catalog code to send as `item`.
    pub code: String,
    /// A grouping for the screen, e.g. `housekeeping`.
    pub category: String,
    /// The label per language tag, e.g. `{"en": "Extra towels", "pt": "Toalhas extra"}`.
    pub labels: BTreeMap<String, String>,
    /// The largest `qty` accepted.
    pub max_qty: u8,
}

impl Menu {
    /// The JSON payload.
    pub fn encode(&self) -> Vec<u8> {
        serde_json::to_vec(self).expect("a menu always serialises")
    }
}

/// Decodes a menu, as a device does. Unknown fields are ignored.
pub fn decode_menu(payload: &[u8]) -> Result<Menu, DecodeError> {
    Ok(crate::json::from_slice(payload)?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips() {
        let menu = Menu {
            version: "3f2a".into(),
            items: vec![MenuItem {
                code: "hk.towels".into(),
                category: "housekeeping".into(),
                labels: [("en".to_string(), "Extra towels".to_string())].into(),
                max_qty: 5,
            }],
        };
        assert_eq!(decode_menu(&menu.encode()), Ok(menu));
    }
}
