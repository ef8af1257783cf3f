//! Fuzzes `decode_feedback` on arbitrary bytes: it must never panic, and whatever it accepts must survive
//! `encode_feedback` and decode again to the same feedback.
#![no_main]

use libfuzzer_sys::fuzz_target;
use tv_protocol::{decode_feedback, encode_feedback};

fuzz_target!(|data: &[u8]| {
    if let Ok(feedback) = decode_feedback(data) {
        let encoded = encode_feedback(&feedback);
        let again = decode_feedback(&encoded).expect("re-encoded feedback decodes");
        assert_eq!(again, feedback);
    }
});
