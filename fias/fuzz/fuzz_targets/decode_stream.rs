//! Fuzzes the whole read path on arbitrary bytes, split at an arbitrary point: framing (with and without LRC),
//! records and messages must never panic, no frame may exceed the bound, and every message read must survive
//! encoding and framing and read back the same.
#![no_main]

use fias::{encode_frame, Decoder, Message, MAX_FRAME};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((&first, rest)) = data.split_first() else { return };
    let lrc = first & 1 == 1;
    let cut = usize::from(first).min(rest.len());
    let mut decoder = Decoder::new(lrc);
    for part in [&rest[..cut], &rest[cut..]] {
        decoder.push(part);
        while let Some(item) = decoder.next_frame() {
            let Ok(frame) = item else { continue };
            assert!(frame.len() <= MAX_FRAME);
            if let Ok(message) = Message::decode(&frame) {
                let encoded = message.encode();
                let mut again = Decoder::new(lrc);
                again.push(&encode_frame(&encoded, lrc));
                // Filling in a description's missing fields may take a frame just past the bound; nothing else may.
                let Some(Ok(frame)) = again.next_frame() else {
                    assert!(encoded.len() > MAX_FRAME);
                    continue;
                };
                assert_eq!(Message::decode(&frame).expect("decodes again").kind(), message.kind());
            }
        }
    }
});
