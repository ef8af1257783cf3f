//! Fuzzes the alert webhook parsers on arbitrary bytes: Alertmanager's payload and the generic JSON payload must
//! never panic, and every alert they accept must have a fingerprint and stay within the limits on labels.
#![no_main]

use bellhop::engine::alerts::{parse_alertmanager, parse_generic, GenericFields, MAX_ALERTS, MAX_LABELS};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    for parsed in [parse_alertmanager(data), parse_generic(data, &GenericFields::default())] {
        if let Ok(alerts) = parsed {
            assert!(alerts.len() <= MAX_ALERTS);
            for alert in alerts {
                assert!(!alert.fingerprint.is_empty());
                assert!(alert.labels.len() <= MAX_LABELS);
            }
        }
    }
});
