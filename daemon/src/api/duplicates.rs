//! Refusing JSON with a key given twice in one object: `{"item": "hk.towels", "item": "sec.sos"}` must not raise
//! whichever came last.

use std::collections::HashSet;
use std::fmt;

use serde::de::{DeserializeSeed, Deserializer, Error, MapAccess, SeqAccess, Visitor};

/// Checks that no object in `bytes` repeats a key. Other JSON mistakes are left to the real decoder.
pub fn check(bytes: &[u8]) -> Result<(), String> {
    let mut de = serde_json::Deserializer::from_slice(bytes);
    match Walk.deserialize(&mut de).and_then(|()| de.end()) {
        Err(error) if error.is_data() => Err(error.to_string()),
        _ => Ok(()),
    }
}

/// Visits every value, remembering the keys of each object.
struct Walk;

impl<'de> DeserializeSeed<'de> for Walk {
    type Value = ();

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<(), D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Walk {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any JSON value")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        let mut seen = HashSet::new();
        while let Some(key) = map.next_key::<String>()? {
            if seen.contains(&key) {
                return Err(A::Error::custom(format!("the key {key:?} is given twice")));
            }
            map.next_value_seed(Walk)?;
            seen.insert(key);
        }
        Ok(())
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        while seq.next_element_seed(Walk)?.is_some() {}
        Ok(())
    }

    fn visit_bool<E: Error>(self, _: bool) -> Result<(), E> {
        Ok(())
    }

    fn visit_i64<E: Error>(self, _: i64) -> Result<(), E> {
        Ok(())
    }

    fn visit_u64<E: Error>(self, _: u64) -> Result<(), E> {
        Ok(())
    }

    fn visit_f64<E: Error>(self, _: f64) -> Result<(), E> {
        Ok(())
    }

    fn visit_str<E: Error>(self, _: &str) -> Result<(), E> {
        Ok(())
    }

    fn visit_unit<E: Error>(self) -> Result<(), E> {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::check;

    #[test]
    fn a_key_given_twice_is_refused_at_any_depth() {
        assert!(check(br#"{"item":"hk.towels","item":"sec.sos"}"#).unwrap_err().contains("\"item\""));
        assert!(check(br#"{"a":[{"b":1,"c":{"d":1,"d":2}}]}"#).is_err());
        assert!(check(br#"{"a":1,"\u0061":2}"#).is_err(), "an escaped spelling is the same key");
    }

    #[test]
    fn distinct_keys_and_other_values_pass() {
        assert!(check(br#"{"item":"hk.towels","qty":2,"note":null,"x":[1,2.5,true,{"item":1}]}"#).is_ok());
        assert!(check(b"[]").is_ok());
        assert!(check(b"{").is_ok(), "syntax errors are the decoder's to report");
    }
}
