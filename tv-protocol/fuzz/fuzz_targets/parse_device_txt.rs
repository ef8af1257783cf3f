//! Fuzzes `parse_device_txt` on arbitrary UTF-8 split into TXT pairs: one pair per line, `key=value` split at the
//! first `=` (a line without `=` is a key with an empty value). It must never panic, and an accepted record must
//! carry valid ids.
#![no_main]

use libfuzzer_sys::fuzz_target;
use tv_protocol::{parse_device_txt, validate_id};

fuzz_target!(|text: &str| {
    let pairs = text.split('\n').map(|line| line.split_once('=').unwrap_or((line, "")));
    if let Ok(advert) = parse_device_txt(pairs) {
        assert_eq!(validate_id(&advert.location), Ok(()));
        assert_eq!(validate_id(&advert.device), Ok(()));
        assert!(advert.model.chars().count() <= 128 && advert.firmware.chars().count() <= 128);
    }
});
