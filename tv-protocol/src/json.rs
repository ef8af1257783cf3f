//! Strict JSON parsing for every payload of the protocol: an object that names the same key twice is refused, at
//! any depth, instead of letting the last occurrence silently win.

use serde::de::{self, DeserializeOwned, Deserializer, MapAccess, SeqAccess, Visitor};
use serde::Deserialize;
use serde_json::{Map, Value};

/// Parses `bytes` as JSON, refusing any object with a duplicate key (keys are compared exactly, after unescaping).
pub fn parse(bytes: &[u8]) -> Result<Value, serde_json::Error> {
    let mut deserializer = serde_json::Deserializer::from_slice(bytes);
    let Strict(value) = Strict::deserialize(&mut deserializer)?;
    deserializer.end()?;
    Ok(value)
}

/// Parses `bytes` strictly (see [`parse`]), then as `T`.
pub fn from_slice<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, serde_json::Error> {
    serde_json::from_value(parse(bytes)?)
}

/// A JSON value built by a visitor that refuses duplicate keys.
struct Strict(Value);

impl<'de> Deserialize<'de> for Strict {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Strict, D::Error> {
        deserializer.deserialize_any(StrictVisitor).map(Strict)
    }
}

struct StrictVisitor;

impl<'de> Visitor<'de> for StrictVisitor {
    type Value = Value;

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("a JSON value")
    }

    fn visit_bool<E>(self, v: bool) -> Result<Value, E> {
        Ok(Value::Bool(v))
    }

    fn visit_i64<E>(self, v: i64) -> Result<Value, E> {
        Ok(Value::from(v))
    }

    fn visit_u64<E>(self, v: u64) -> Result<Value, E> {
        Ok(Value::from(v))
    }

    fn visit_f64<E>(self, v: f64) -> Result<Value, E> {
        Ok(serde_json::Number::from_f64(v).map_or(Value::Null, Value::Number))
    }

    fn visit_str<E>(self, v: &str) -> Result<Value, E> {
        Ok(Value::String(v.to_owned()))
    }

    fn visit_string<E>(self, v: String) -> Result<Value, E> {
        Ok(Value::String(v))
    }

    fn visit_unit<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }

    fn visit_none<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }

    fn visit_some<D: Deserializer<'de>>(self, deserializer: D) -> Result<Value, D::Error> {
        Strict::deserialize(deserializer).map(|Strict(v)| v)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        let mut items = Vec::new();
        while let Some(Strict(item)) = seq.next_element()? {
            items.push(item);
        }
        Ok(Value::Array(items))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Value, A::Error> {
        let mut object = Map::new();
        while let Some(key) = map.next_key::<String>()? {
            if object.contains_key(&key) {
                return Err(de::Error::custom(format_args!("duplicate key {key:?}")));
            }
            let Strict(value) = map.next_value()?;
            object.insert(key, value);
        }
        Ok(Value::Object(object))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn refuses_duplicate_keys_at_any_depth() {
        for bad in [
            &br#"{"item":"hk.towels","item":"sec.sos"}"#[..],
            br#"{"a":{"b":1,"b":2}}"#,
            br#"[{"x":1},{"y":1,"y":1}]"#,
            br#"{"id":"r1","\u0069d":"r2"}"#,
        ] {
            let error = parse(bad).unwrap_err().to_string();
            assert!(error.contains("duplicate key"), "{}: {error}", String::from_utf8_lossy(bad));
        }
    }

    #[test]
    fn parses_what_serde_json_parses() {
        let text = br#"{"a":[1,-2,3.5,true,null,"s"],"b":{"c":{}},"d":18446744073709551615}"#;
        assert_eq!(parse(text).unwrap(), serde_json::from_slice::<Value>(text).unwrap());
        assert!(parse(b"{} x").is_err(), "trailing characters");
    }

    proptest! {
        /// Any document without duplicate keys parses exactly as serde_json parses it.
        #[test]
        fn agrees_with_serde_json_without_duplicates(
            entries in proptest::collection::btree_map("[a-z]{1,6}", any::<i64>(), 0..8)
        ) {
            let text = serde_json::to_vec(&entries).unwrap();
            prop_assert_eq!(parse(&text).unwrap(), serde_json::from_slice::<Value>(&text).unwrap());
        }

        /// Repeating any key of an object makes it invalid.
        #[test]
        fn a_repeated_key_is_always_refused(
            entries in proptest::collection::btree_map("[a-z]{1,6}", "[a-z]{0,6}", 1..8),
            pick in any::<prop::sample::Index>(),
        ) {
            let keys: Vec<_> = entries.keys().cloned().collect();
            let repeated = &keys[pick.index(keys.len())];
            let mut text = serde_json::to_string(&entries).unwrap();
            text.pop();
            text.push_str(&format!(",{}:\"again\"}}", serde_json::to_string(repeated).unwrap()));
            prop_assert!(parse(text.as_bytes()).is_err(), "{}", text);
        }
    }
}
