//! One record: a two-letter record type, then fields, each a two-character field id and its value, all separated
//! by `|` (`GI|RN1204|GNSmith|`). Values are bytes 0x20 and above other than `|`, read as Latin-1, so every byte
//! a PMS sends has one meaning and any text can be written back.

use crate::SEP;

/// Why a frame is not a record.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RecordError {
    /// The record type is not two upper-case letters followed by `|`.
    #[error("the record type is not two capital letters followed by |")]
    BadType,
    /// A field shorter than its two-character id.
    #[error("field {0:?} is shorter than its two-character id")]
    ShortField(String),
}

/// A record as read: its type and its fields in order, unknown ones included.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Record {
    /// The record type, e.g. `GI`.
    pub kind: String,
    /// The fields in order: id (two characters, e.g. `RN` or `G#`) and value.
    pub fields: Vec<(String, String)>,
}

impl Record {
    /// A record of `kind` with no fields yet.
    pub fn new(kind: &str) -> Record {
        Record { kind: kind.to_owned(), fields: Vec::new() }
    }

    /// Adds a field (a value that is `None` is left out).
    pub fn with(mut self, id: &str, value: Option<&str>) -> Record {
        if let Some(value) = value {
            self.fields.push((id.to_owned(), value.to_owned()));
        }
        self
    }

    /// The first value of field `id`.
    pub fn get(&self, id: &str) -> Option<&str> {
        self.fields.iter().find(|(k, _)| k == id).map(|(_, v)| v.as_str())
    }

    /// Reads a frame's content. Empty fields (`||`) are skipped; a missing final `|` is tolerated.
    pub fn parse(frame: &[u8]) -> Result<Record, RecordError> {
        let text: String = frame.iter().map(|&b| char::from(b)).collect();
        let mut parts = text.split(char::from(SEP));
        let kind = parts.next().unwrap_or_default();
        if kind.len() != 2 || !kind.bytes().all(|b| b.is_ascii_uppercase()) || !text.contains(char::from(SEP)) {
            return Err(RecordError::BadType);
        }
        let mut fields = Vec::new();
        for part in parts.filter(|p| !p.is_empty()) {
            let mut chars = part.char_indices();
            let cut = chars.nth(2).map_or(part.len(), |(i, _)| i);
            if part.chars().count() < 2 {
                return Err(RecordError::ShortField(part.to_owned()));
            }
            fields.push((part[..cut].to_owned(), part[cut..].to_owned()));
        }
        Ok(Record { kind: kind.to_owned(), fields })
    }

    /// The record's bytes, without framing. Characters outside Latin-1, control characters and `|` in a value
    /// are written as `?`, so an encoded record always parses back to one record.
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(64);
        let put = |out: &mut Vec<u8>, text: &str| {
            for c in text.chars() {
                let code = u32::from(c);
                out.push(if (0x20..=0xff).contains(&code) && code != 0x7f && c != '|' { code as u8 } else { b'?' });
            }
        };
        put(&mut out, &self.kind);
        out.push(SEP);
        for (id, value) in &self.fields {
            put(&mut out, id);
            put(&mut out, value);
            out.push(SEP);
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn fields_in_order_unknown_ones_kept() {
        let record = Record::parse(b"GI|RN1204|G#88|GNM\xfcller|ZZwhatever||").unwrap();
        assert_eq!(record.kind, "GI");
        assert_eq!(record.get("RN"), Some("1204"));
        assert_eq!(record.get("G#"), Some("88"));
        assert_eq!(record.get("GN"), Some("Müller"));
        assert_eq!(record.get("ZZ"), Some("whatever"));
        assert_eq!(Record::parse(&record.encode()), Ok(record));
    }

    #[test]
    fn bad_records_are_refused_in_words() {
        assert_eq!(Record::parse(b"gi|RN1|"), Err(RecordError::BadType));
        assert_eq!(Record::parse(b"GIX|RN1|"), Err(RecordError::BadType));
        assert_eq!(Record::parse(b"LS"), Err(RecordError::BadType));
        assert_eq!(Record::parse(b"GI|R|"), Err(RecordError::ShortField("R".into())));
        assert_eq!(Record::parse(b"LS|").map(|r| r.fields.len()), Ok(0));
    }

    proptest! {
        #[test]
        fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..500)) {
            if let Ok(record) = Record::parse(&bytes) {
                prop_assert_eq!(Record::parse(&record.encode()).map(|r| r.kind), Ok(record.kind));
            }
        }

        #[test]
        fn records_round_trip(
            kind in "[A-Z]{2}",
            fields in proptest::collection::vec(("[A-Z0-9#]{2}", "[ -{}~\u{a0}-\u{ff}]{0,40}"), 0..12)
        ) {
            let record = Record { kind, fields };
            let parsed = Record::parse(&record.encode()).unwrap();
            prop_assert_eq!(parsed.kind, record.kind);
            // An empty value leaves only the id, which parses back as the same field.
            prop_assert_eq!(parsed.fields, record.fields);
        }
    }
}
