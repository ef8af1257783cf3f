//! Fuzzes `decode_request` on arbitrary bytes: it must never panic, and whatever it accepts must survive
//! `encode_request` and decode again to the same request.
#![no_main]

use libfuzzer_sys::fuzz_target;
use tv_protocol::{decode_request, encode_request};

fuzz_target!(|data: &[u8]| {
    if let Ok(request) = decode_request(data) {
        let encoded = encode_request(&request);
        let again = decode_request(&encoded).expect("a re-encoded request decodes");
        assert_eq!(again, request);
    }
});
