//! Intake: what to do with a device's request (raise, merge, answer as a duplicate, or reject). Pure.

use tv_protocol::{ErrorCode, Request};

use crate::vocab::CatalogItem;

/// What the store knows that bears on one request.
#[derive(Clone, Copy, Debug)]
pub struct Facts<'a> {
    /// The ticket that already answered this device's request id, if any.
    pub answered_by: Option<&'a str>,
    /// The catalog entry for the requested item, if it exists.
    pub item: Option<&'a CatalogItem>,
    /// Whether the location is one the property knows.
    pub location_known: bool,
    /// The ticket already open for this item at this location, if any.
    pub open_same_item: Option<&'a str>,
    /// How many tickets are open at this location.
    pub open_at_location: u32,
    /// The most open tickets a location may have.
    pub max_open_per_location: u32,
}

/// The decision for one request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Decision<'a> {
    /// Seen before: answer with the same ticket, change nothing.
    Duplicate {
        /// The ticket that answered it.
        ticket: &'a str,
    },
    /// The same item is already open here: record the repeat on that ticket.
    Merge {
        /// The open ticket.
        ticket: &'a str,
    },
    /// Raise a new ticket for this catalog item.
    Raise {
        /// The catalog entry.
        item: &'a CatalogItem,
    },
    /// Refuse it.
    Reject {
        /// Why, as a wire code.
        code: ErrorCode,
        /// Why, in words.
        message: String,
    },
}

/// Decides what to do with `request`. A duplicate wins over everything else, so a retry always gets the answer the
/// first attempt got, even if the catalog changed in between.
pub fn decide<'a>(request: &Request, facts: Facts<'a>) -> Decision<'a> {
    if let Some(ticket) = facts.answered_by {
        return Decision::Duplicate { ticket };
    }
    let Some(item) = facts.item else {
        return Decision::Reject {
            code: ErrorCode::UnknownItem,
            message: format!("no catalog item {:?}", request.item),
        };
    };
    if request.qty > item.max_qty {
        return Decision::Reject {
            code: ErrorCode::BadPayload,
            message: format!("qty {} is more than the {} allowed for {}", request.qty, item.max_qty, item.code),
        };
    }
    if !facts.location_known {
        return Decision::Reject {
            code: ErrorCode::LocationMismatch,
            message: "the location in the topic is not one this property knows".into(),
        };
    }
    if let Some(ticket) = facts.open_same_item {
        return Decision::Merge { ticket };
    }
    if facts.open_at_location >= facts.max_open_per_location {
        return Decision::Reject {
            code: ErrorCode::RateLimited,
            message: format!("this location already has {} open requests", facts.open_at_location),
        };
    }
    Decision::Raise { item }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::vocab::Priority;

    fn item() -> CatalogItem {
        CatalogItem {
            code: "hk.towels".into(),
            category: "housekeeping".into(),
            department: "housekeeping".into(),
            priority: Priority::Low,
            eta_min: Some(15),
            max_qty: 5,
            sla: None,
            skill: None,
            emergency: false,
            guest: true,
            labels: [("en".to_string(), "Towels".to_string())].into(),
        }
    }

    fn request(qty: u8) -> Request {
        Request { id: "r1".into(), item: "hk.towels".into(), qty, note: None, lang: None, sent_at: None }
    }

    fn facts(item: &CatalogItem) -> Facts<'_> {
        Facts {
            answered_by: None,
            item: Some(item),
            location_known: true,
            open_same_item: None,
            open_at_location: 0,
            max_open_per_location: 3,
        }
    }

    #[test]
    fn decisions() {
        let it = item();
        let base = facts(&it);
        let cases: Vec<(&str, Facts<'_>, u8, Decision<'_>)> = vec![
            ("fresh", base, 1, Decision::Raise { item: &it }),
            ("seen", Facts { answered_by: Some("H-1"), item: None, ..base }, 1, Decision::Duplicate { ticket: "H-1" }),
            ("open", Facts { open_same_item: Some("H-2"), ..base }, 1, Decision::Merge { ticket: "H-2" }),
            ("max qty", base, 5, Decision::Raise { item: &it }),
        ];
        for (name, f, qty, want) in cases {
            assert_eq!(decide(&request(qty), f), want, "{name}");
        }
    }

    #[test]
    fn rejections() {
        let it = item();
        let base = facts(&it);
        let cases: Vec<(&str, Facts<'_>, u8, ErrorCode)> = vec![
            ("unknown item", Facts { item: None, ..base }, 1, ErrorCode::UnknownItem),
            ("too many", base, 6, ErrorCode::BadPayload),
            ("unknown location", Facts { location_known: false, ..base }, 1, ErrorCode::LocationMismatch),
            ("location full", Facts { open_at_location: 3, ..base }, 1, ErrorCode::RateLimited),
        ];
        for (name, f, qty, want) in cases {
            match decide(&request(qty), f) {
                Decision::Reject { code, .. } => assert_eq!(code, want, "{name}"),
                other => panic!("{name}: {other:?}"),
            }
        }
    }
}
