//! Fuzz target: decoding arbitrary registers and bits with arbitrary point settings never panics,
//! and encoding a decoded value never panics either.
#![no_main]

use firmware_bridge::map::{DataType, Kind, Point, WordOrder};
use firmware_bridge::value::{decode, encode, Raw};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let [k, t, o, bit, rest @ ..] = data else { return };
    let kind = [Kind::Coil, Kind::DiscreteInput, Kind::InputRegister, Kind::HoldingRegister][usize::from(k % 4)];
    let data_type =
        [DataType::Bool, DataType::U16, DataType::I16, DataType::U32, DataType::I32, DataType::F32][usize::from(t % 6)];
    let scale = f64::from(i16::from_le_bytes([*o, *bit])) / 64.0;
    let point = Point {
        name: "p".into(),
        kind,
        address: 0,
        data_type,
        word_order: if o & 1 == 0 { WordOrder::Big } else { WordOrder::Little },
        bit: (bit & 0x80 == 0).then_some(bit & 0x1F),
        scale,
        offset: f64::from(*o) - 128.0,
        unit: String::new(),
        writable: true,
    };
    let words: Vec<u16> = rest.chunks_exact(2).map(|c| u16::from_be_bytes([c[0], c[1]])).collect();
    let bits: Vec<bool> = rest.iter().map(|b| b & 1 == 1).collect();
    for raw in [Raw::Words(&words), Raw::Bits(&bits)] {
        if let Ok(v) = decode(&point, raw) {
            let _ = encode(&point, v);
        }
    }
});
