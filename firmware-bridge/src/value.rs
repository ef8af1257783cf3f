//! Decoding raw bits and registers into point values, and encoding values for writes (pure).

use crate::map::{DataType, Point, WordOrder};

/// A decoded point value.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Value {
    /// A bit, or a register read as a flag.
    Bool(bool),
    /// A number after `scale` and `offset`.
    Number(f64),
}

impl Value {
    /// The value as a number (`true` = 1).
    pub fn as_f64(self) -> f64 {
        match self {
            Value::Bool(b) => f64::from(u8::from(b)),
            Value::Number(n) => n,
        }
    }

    /// The value as a flag (non-zero = true; NaN = false).
    pub fn is_truthy(self) -> bool {
        match self {
            Value::Bool(b) => b,
            Value::Number(n) => n != 0.0 && !n.is_nan(),
        }
    }
}

impl std::fmt::Display for Value {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Value::Bool(b) => write!(f, "{b}"),
            Value::Number(n) => write!(f, "{n}"),
        }
    }
}

/// Raw data for one point, starting at the point's address.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Raw<'a> {
    /// Coils or discrete inputs.
    Bits(&'a [bool]),
    /// Registers.
    Words(&'a [u16]),
}

/// Raw data to write for one point.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Encoded {
    /// One coil.
    Bit(bool),
    /// One or two holding registers, starting at the point's address.
    Words(Vec<u16>),
}

/// Why raw data could not be decoded.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum DecodeError {
    /// Bits were given for a register point, or the reverse.
    #[error("point `{0}`: raw data of the wrong kind")]
    WrongKind(String),
    /// Fewer bits or registers than the point needs.
    #[error("point `{point}`: needs {needed} values, got {got}")]
    Short {
        /// Point name.
        point: String,
        /// Values needed.
        needed: usize,
        /// Values given.
        got: usize,
    },
}

/// Why a value could not be encoded.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum EncodeError {
    /// The value is not finite or does not fit the register type after scale and offset.
    #[error("point `{point}`: {value} does not fit type {data_type:?}")]
    OutOfRange {
        /// Point name.
        point: String,
        /// Requested value.
        value: f64,
        /// Register type.
        data_type: DataType,
    },
    /// Single bits of a register cannot be written.
    #[error("point `{0}`: a bit of a register cannot be written")]
    BitOfRegister(String),
}

/// Decodes one point from raw data that starts at the point's address.
///
/// Extra trailing data is ignored. Never panics.
pub fn decode(point: &Point, raw: Raw<'_>) -> Result<Value, DecodeError> {
    let needed = usize::from(point.width());
    match raw {
        Raw::Bits(bits) => {
            if !point.kind.is_bits() {
                return Err(DecodeError::WrongKind(point.name.clone()));
            }
            let first = bits.first().ok_or_else(|| short(point, needed, 0))?;
            Ok(Value::Bool(*first))
        }
        Raw::Words(words) => {
            if point.kind.is_bits() {
                return Err(DecodeError::WrongKind(point.name.clone()));
            }
            if words.len() < needed {
                return Err(short(point, needed, words.len()));
            }
            let w0 = words[0];
            let raw = match point.data_type {
                DataType::Bool => {
                    let flag = match point.bit {
                        Some(bit) => bit < 16 && (w0 >> bit) & 1 == 1,
                        None => w0 != 0,
                    };
                    return Ok(Value::Bool(flag));
                }
                DataType::U16 => f64::from(w0),
                DataType::I16 => f64::from(w0 as i16),
                DataType::U32 => f64::from(join(point.word_order, w0, words[1])),
                DataType::I32 => f64::from(join(point.word_order, w0, words[1]) as i32),
                DataType::F32 => f64::from(f32::from_bits(join(point.word_order, w0, words[1]))),
            };
            Ok(Value::Number(raw * point.scale + point.offset))
        }
    }
}

/// Encodes a value for writing to a point. `Bool` values written to numeric points count as 0/1;
/// numbers written to `bool` points count as true when non-zero.
pub fn encode(point: &Point, value: Value) -> Result<Encoded, EncodeError> {
    if point.kind.is_bits() {
        return Ok(Encoded::Bit(value.is_truthy()));
    }
    if point.bit.is_some() {
        return Err(EncodeError::BitOfRegister(point.name.clone()));
    }
    let v = value.as_f64();
    let out_of_range = || EncodeError::OutOfRange { point: point.name.clone(), value: v, data_type: point.data_type };
    if point.data_type == DataType::Bool {
        return Ok(Encoded::Words(vec![u16::from(value.is_truthy())]));
    }
    let raw = (v - point.offset) / point.scale;
    if !raw.is_finite() {
        return Err(out_of_range());
    }
    let int = |lo: f64, hi: f64| {
        let r = raw.round();
        if r < lo || r > hi {
            Err(out_of_range())
        } else {
            Ok(r)
        }
    };
    let words = match point.data_type {
        DataType::Bool => unreachable!("handled above"),
        DataType::U16 => vec![int(0.0, f64::from(u16::MAX))? as u16],
        DataType::I16 => vec![int(f64::from(i16::MIN), f64::from(i16::MAX))? as i16 as u16],
        DataType::U32 => split(point.word_order, int(0.0, f64::from(u32::MAX))? as u32),
        DataType::I32 => split(point.word_order, int(f64::from(i32::MIN), f64::from(i32::MAX))? as i32 as u32),
        DataType::F32 => {
            let f = raw as f32;
            if !f.is_finite() {
                return Err(out_of_range());
            }
            split(point.word_order, f.to_bits())
        }
    };
    Ok(Encoded::Words(words))
}

fn short(point: &Point, needed: usize, got: usize) -> DecodeError {
    DecodeError::Short { point: point.name.clone(), needed, got }
}

fn join(order: WordOrder, w0: u16, w1: u16) -> u32 {
    match order {
        WordOrder::Big => (u32::from(w0) << 16) | u32::from(w1),
        WordOrder::Little => (u32::from(w1) << 16) | u32::from(w0),
    }
}

fn split(order: WordOrder, v: u32) -> Vec<u16> {
    let (hi, lo) = ((v >> 16) as u16, v as u16);
    match order {
        WordOrder::Big => vec![hi, lo],
        WordOrder::Little => vec![lo, hi],
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;
    use crate::map::Kind;

    pub(crate) fn point(kind: Kind, data_type: DataType) -> Point {
        Point {
            name: "p".into(),
            kind,
            address: 0,
            data_type,
            word_order: WordOrder::Big,
            bit: None,
            scale: 1.0,
            offset: 0.0,
            unit: String::new(),
            writable: true,
        }
    }

    #[test]
    fn decodes_types() {
        let mut p = point(Kind::HoldingRegister, DataType::I16);
        assert_eq!(decode(&p, Raw::Words(&[0xFFFE])), Ok(Value::Number(-2.0)));
        p.data_type = DataType::U16;
        p.scale = 0.1;
        let Value::Number(n) = decode(&p, Raw::Words(&[215])).unwrap() else { panic!() };
        assert!((n - 21.5).abs() < 1e-9);
        p.scale = 1.0;
        p.data_type = DataType::U32;
        assert_eq!(decode(&p, Raw::Words(&[1, 2])), Ok(Value::Number(65538.0)));
        p.word_order = WordOrder::Little;
        assert_eq!(decode(&p, Raw::Words(&[2, 1])), Ok(Value::Number(65538.0)));
        p.data_type = DataType::F32;
        p.word_order = WordOrder::Big;
        assert_eq!(decode(&p, Raw::Words(&[0x41C8, 0x0000])), Ok(Value::Number(25.0)));
        p.data_type = DataType::Bool;
        p.bit = Some(3);
        assert_eq!(decode(&p, Raw::Words(&[0b1000])), Ok(Value::Bool(true)));
        assert_eq!(decode(&p, Raw::Words(&[0b0111])), Ok(Value::Bool(false)));
        assert!(matches!(decode(&p, Raw::Bits(&[true])), Err(DecodeError::WrongKind(_))));
        p.data_type = DataType::U32;
        assert!(matches!(decode(&p, Raw::Words(&[1])), Err(DecodeError::Short { .. })));
    }

    #[test]
    fn encode_rejects_out_of_range() {
        let mut p = point(Kind::HoldingRegister, DataType::U16);
        p.scale = 0.1;
        assert_eq!(encode(&p, Value::Number(21.5)), Ok(Encoded::Words(vec![215])));
        assert!(encode(&p, Value::Number(-1.0)).is_err());
        assert!(encode(&p, Value::Number(f64::NAN)).is_err());
        assert!(encode(&p, Value::Number(7000.0)).is_err());
    }

    fn any_point() -> impl Strategy<Value = Point> {
        let kind = prop_oneof![
            Just(Kind::Coil),
            Just(Kind::DiscreteInput),
            Just(Kind::InputRegister),
            Just(Kind::HoldingRegister)
        ];
        let ty = prop_oneof![
            Just(DataType::Bool),
            Just(DataType::U16),
            Just(DataType::I16),
            Just(DataType::U32),
            Just(DataType::I32),
            Just(DataType::F32)
        ];
        let order = prop_oneof![Just(WordOrder::Big), Just(WordOrder::Little)];
        (kind, ty, order, proptest::option::of(any::<u8>()), any::<f64>(), any::<f64>()).prop_map(
            |(kind, ty, order, bit, scale, offset)| {
                let mut p = point(kind, ty);
                p.word_order = order;
                p.bit = bit;
                p.scale = scale;
                p.offset = offset;
                p
            },
        )
    }

    /// Finite floats other than -0.0 (which decodes to 0.0 once the offset is added).
    fn finite_f32() -> impl Strategy<Value = f32> {
        any::<f32>().prop_filter("finite, not -0", |f| f.is_finite() && f.to_bits() != 0x8000_0000)
    }

    proptest! {
        #[test]
        fn decode_never_panics(p in any_point(), words in proptest::collection::vec(any::<u16>(), 0..4),
                               bits in proptest::collection::vec(any::<bool>(), 0..4)) {
            let _ = decode(&p, Raw::Words(&words));
            let _ = decode(&p, Raw::Bits(&bits));
        }

        #[test]
        fn integer_round_trip(ty in prop_oneof![Just(DataType::U16), Just(DataType::I16), Just(DataType::U32),
                                                Just(DataType::I32)],
                              order in prop_oneof![Just(WordOrder::Big), Just(WordOrder::Little)],
                              scale in prop_oneof![Just(1.0), Just(0.1), Just(0.01), Just(0.5), Just(10.0)],
                              offset in prop_oneof![Just(0.0), Just(-40.0), Just(273.15)],
                              words in proptest::collection::vec(any::<u16>(), 2)) {
            let mut p = point(Kind::HoldingRegister, ty);
            p.word_order = order;
            p.scale = scale;
            p.offset = offset;
            let words = &words[..usize::from(ty.words())];
            let v = decode(&p, Raw::Words(words)).unwrap();
            prop_assert_eq!(encode(&p, v), Ok(Encoded::Words(words.to_vec())));
        }

        #[test]
        fn float_and_bool_round_trip(order in prop_oneof![Just(WordOrder::Big), Just(WordOrder::Little)],
                                     f in finite_f32(), b: bool) {
            let mut p = point(Kind::HoldingRegister, DataType::F32);
            p.word_order = order;
            let words = split(order, f.to_bits());
            let v = decode(&p, Raw::Words(&words)).unwrap();
            prop_assert_eq!(encode(&p, v), Ok(Encoded::Words(words)));
            let c = point(Kind::Coil, DataType::Bool);
            let v = decode(&c, Raw::Bits(&[b])).unwrap();
            prop_assert_eq!(encode(&c, v), Ok(Encoded::Bit(b)));
            let r = point(Kind::HoldingRegister, DataType::Bool);
            let v = decode(&r, Raw::Words(&[u16::from(b)])).unwrap();
            prop_assert_eq!(encode(&r, v), Ok(Encoded::Words(vec![u16::from(b)])));
        }
    }
}
