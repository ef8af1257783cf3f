//! Fuzz target: the rule condition parser never panics, and what it accepts prints back to itself.
#![no_main]

use firmware_bridge::rules::parse_condition;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    if let Ok(c) = parse_condition(text) {
        let again = parse_condition(&c.to_string()).expect("printed condition parses");
        assert_eq!(again.to_string(), c.to_string());
    }
});
