//! Every mistake in a file's shape (unknown keys, missing keys, wrong types and values) in one run, in words an
//! installer understands. The file is deserialized; each mistake serde stops at is recorded, cut out of a working copy
//! (or stood in for, when the key is required), and the copy is deserialized again until it goes through.

use std::collections::{BTreeMap, BTreeSet};
use std::ops::Range;
use std::path::Path;

use serde::de::DeserializeOwned;
use toml_edit::{Array, ArrayOfTables, DocumentMut, InlineTable, Item, TableLike, Value};

use super::errors::{ConfigError, SourceMap};

/// The most mistakes of shape looked for in one file: each costs a parse of the whole file, and a file with more has
/// one mistake made many times over.
pub const MAX_MISTAKES: usize = 50;

/// The most rounds spent on one file: each finds a mistake or tries another stand-in for a missing key.
const MAX_ROUNDS: usize = 8 * MAX_MISTAKES;

/// One step of a key's path: a key in a table, or a position in an array.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Seg {
    /// A key.
    Key(String),
    /// A position, from 0.
    Index(usize),
}

/// A path as errors show it: `catalog[2].labels.en`.
pub fn render(path: &[Seg]) -> String {
    let mut out = String::new();
    for seg in path {
        match seg {
            Seg::Key(key) if out.is_empty() => out.push_str(key),
            Seg::Key(key) => {
                out.push('.');
                out.push_str(key);
            }
            Seg::Index(i) => out.push_str(&format!("[{i}]")),
        }
    }
    out
}

/// A key or table of a parsed file, with the byte ranges of its key and of its value.
pub struct Entry {
    /// Where it is.
    pub path: Vec<Seg>,
    /// Its key's bytes.
    pub key: Option<Range<usize>>,
    /// Its value's bytes (for a `[table]`, its header).
    pub value: Option<Range<usize>>,
}

/// Every key, table and array element of `text`, parents before children; nothing when it is not TOML.
pub fn entries(text: &str) -> Vec<Entry> {
    let mut out = Vec::new();
    if let Ok(doc) = toml_edit::Document::parse(text) {
        walk(doc.as_table(), &[], &mut out);
    }
    out
}

fn walk(table: &dyn TableLike, prefix: &[Seg], out: &mut Vec<Entry>) {
    for (name, item) in table.iter() {
        let path = child(prefix, Seg::Key(name.to_owned()));
        let key = table.get_key_value(name).and_then(|(key, _)| key.span());
        out.push(Entry { path: path.clone(), key, value: item.span() });
        if let Some(tables) = item.as_array_of_tables() {
            for (i, table) in tables.iter().enumerate() {
                let path = child(&path, Seg::Index(i));
                out.push(Entry { path: path.clone(), key: None, value: table.span() });
                walk(table, &path, out);
            }
        } else if let Some(table) = item.as_table_like() {
            walk(table, &path, out);
        } else if let Some(value) = item.as_value() {
            walk_value(value, &path, out);
        }
    }
}

fn walk_value(value: &Value, path: &[Seg], out: &mut Vec<Entry>) {
    match value {
        Value::InlineTable(table) => walk(table, path, out),
        Value::Array(array) => {
            for (i, value) in array.iter().enumerate() {
                let path = child(path, Seg::Index(i));
                out.push(Entry { path: path.clone(), key: None, value: value.span() });
                walk_value(value, &path, out);
            }
        }
        _ => {}
    }
}

fn child(prefix: &[Seg], seg: Seg) -> Vec<Seg> {
    let mut path = prefix.to_vec();
    path.push(seg);
    path
}

/// The innermost entry whose key or value holds byte `at` (children follow their parents, so the last one).
pub fn innermost(entries: &[Entry], at: usize) -> Option<&Entry> {
    let inside = |r: &Option<Range<usize>>| r.as_ref().is_some_and(|r| r.contains(&at) || r.start == at);
    entries.iter().rev().find(|e| inside(&e.key) || inside(&e.value))
}

/// What reading a file's shape found.
pub struct Shape<T> {
    /// The value with every mistake cut out or stood in for; `None` when the file could not be read that far.
    pub value: Option<T>,
    /// Every mistake, in the order found.
    pub errors: Vec<ConfigError>,
    /// Keys (as paths) whose values were cut out or stood in for: what validation says about them is not news.
    pub patched: Vec<String>,
}

/// Reads `text` as a `T`, reporting every mistake of shape in it rather than the first. `map` gives lines.
pub fn read<T: DeserializeOwned>(file: &Path, text: &str, map: &SourceMap<'_>) -> Shape<T> {
    let mut error = match toml::from_str::<T>(text) {
        Ok(value) => return Shape { value: Some(value), errors: Vec::new(), patched: Vec::new() },
        Err(error) => error,
    };
    let Ok(mut doc) = text.parse::<DocumentMut>() else {
        // Not TOML at all: the parser stops at the first mistake, and that is the one there is.
        let offset = error.span().map(|s| s.start);
        return Shape {
            value: None,
            errors: vec![map.at_offset(offset, error.message().trim_end())],
            patched: Vec::new(),
        };
    };
    let mut reader = Reader {
        file,
        map,
        removed: BTreeMap::new(),
        stand_ins: BTreeMap::new(),
        meant: BTreeSet::new(),
        errors: Vec::new(),
    };
    let mut working = text.to_owned();
    for _ in 0..MAX_ROUNDS {
        if reader.errors.len() >= MAX_MISTAKES {
            reader.errors.push(ConfigError {
                file: file.to_owned(),
                line: None,
                key: String::new(),
                message: format!("more mistakes may follow the first {MAX_MISTAKES}; fix these and check again"),
            });
            break;
        }
        if !reader.step::<T>(&mut doc, &working, &error) {
            break;
        }
        working = doc.to_string();
        match toml::from_str::<T>(&working) {
            Ok(value) => return reader.finish(Some(value)),
            Err(next) => error = next,
        }
    }
    if reader.errors.is_empty() {
        // Nothing could be placed: say what the deserializer said, where it said it.
        let offset = if working == text { error.span().map(|s| s.start) } else { None };
        reader.errors.push(map.at_offset(offset, error.message().trim_end()));
    }
    reader.finish(None)
}

/// What a round knows about the working copy.
struct Reader<'a, 'm> {
    file: &'a Path,
    map: &'a SourceMap<'m>,
    /// Per array (original path), the original positions cut out of it.
    removed: BTreeMap<Vec<Seg>, BTreeSet<usize>>,
    /// Keys (original paths) cut out or stood in for, with the stand-in tried (`None`: cut out).
    stand_ins: BTreeMap<Vec<Seg>, Option<usize>>,
    /// Keys (original paths) a reported unknown key probably meant.
    meant: BTreeSet<Vec<Seg>>,
    errors: Vec<ConfigError>,
}

/// What a stand-in for a required key may be, tried in turn until the deserializer takes one.
fn stand_in(n: usize) -> Option<Value> {
    Some(match n {
        0 => Value::from(""),
        1 => Value::from(0),
        2 => Value::from(false),
        3 => Value::Array(Array::new()),
        4 => Value::InlineTable(InlineTable::new()),
        _ => return None,
    })
}

impl Reader<'_, '_> {
    fn finish<T>(self, value: Option<T>) -> Shape<T> {
        let mut patched: Vec<String> = self.stand_ins.keys().map(|p| render(p)).collect();
        patched.extend(self.removed.keys().map(|p| render(p)));
        Shape { value, errors: self.errors, patched }
    }

    /// Records the mistake `error` points at and changes the working copy so it is not met again. `false` when
    /// nothing more can be done.
    fn step<T: DeserializeOwned>(&mut self, doc: &mut DocumentMut, working: &str, error: &toml::de::Error) -> bool {
        let found = entries(working);
        let (at, written, section) = match error.span() {
            // The top level's own span is empty, at the start of the file.
            Some(span) if span.is_empty() && span.start == 0 => (Vec::new(), "", false),
            Some(span) => match innermost(&found, span.start) {
                Some(entry) => {
                    let written = entry.value.clone().and_then(|r| working.get(r)).unwrap_or("");
                    // A `[section]` header starts before its key.
                    let section = matches!((&entry.key, &entry.value), (Some(k), Some(v)) if v.start < k.start);
                    (entry.path.clone(), written.trim(), section)
                }
                None => return false,
            },
            None => return false,
        };
        let original = self.original(&at);
        let kind = Kind::parse(error.message());
        if let Kind::Missing(field) = &kind {
            let key = child(&original, Seg::Key(field.clone()));
            // A misspelt key was already reported with this one as its likely meaning: once is enough.
            let misspelt = self.meant.contains(&key);
            if !self.covered(&key) && !misspelt {
                self.report(&original, &key, "is required".into());
            }
            self.stand_ins.insert(key, Some(0));
            return set(doc, &child(&at, Seg::Key(field.clone())), stand_in(0));
        }
        if let Some(Some(tried)) = self.stand_ins.get(&original).copied() {
            // A stand-in of the wrong kind: try the next, or the first word an enum allows.
            let next = match &kind {
                Kind::Variant { options, .. } => options.first().map(|word| Value::from(word.as_str())),
                _ => {
                    self.stand_ins.insert(original.clone(), Some(tried + 1));
                    stand_in(tried + 1)
                }
            };
            return next.is_some() && set(doc, &at, next);
        }
        if !self.covered(&original) {
            let message = self.describe::<T>(&kind, doc, &at, written, section);
            self.report(&original, &original, message);
            if let (Kind::Unknown { name, allowed }, Some((_, table))) = (&kind, original.split_last()) {
                if let Some(best) = suggest(name, allowed) {
                    self.meant.insert(child(table, Seg::Key(best.to_owned())));
                }
            }
        }
        match original.split_last() {
            Some((Seg::Index(i), array)) => {
                self.removed.entry(array.to_vec()).or_default().insert(*i);
            }
            _ => {
                self.stand_ins.insert(original, None);
            }
        }
        set(doc, &at, None)
    }

    /// The path in the file as written of a path in the working copy (positions move as elements are cut out).
    fn original(&self, working: &[Seg]) -> Vec<Seg> {
        let mut out = Vec::new();
        for seg in working {
            let seg = match seg {
                Seg::Index(j) => {
                    let gone = self.removed.get(&out);
                    let kept = (0..).filter(|i| gone.is_none_or(|g| !g.contains(i)));
                    Seg::Index(kept.take(j + 1).last().unwrap_or(*j))
                }
                key => key.clone(),
            };
            out.push(seg);
        }
        out
    }

    /// Whether `key` is at or under something already reported (so a mistake there is not news).
    fn covered(&self, key: &[Seg]) -> bool {
        let cut = self.removed.iter().flat_map(|(array, gone)| gone.iter().map(|i| child(array, Seg::Index(*i))));
        self.stand_ins.keys().any(|p| key.starts_with(p)) || cut.into_iter().any(|p| key.starts_with(&p))
    }

    /// Records a mistake at `key`, on the line of `place` (or the nearest enclosing table that has one).
    fn report(&mut self, place: &[Seg], key: &[Seg], message: String) {
        let line = (0..=place.len()).rev().find_map(|n| self.map.line_of(&render(&place[..n]))).or(Some(1));
        self.errors.push(ConfigError { file: self.file.to_owned(), line, key: render(key), message });
    }

    /// The installer's words for a mistake at `at` in the working copy.
    fn describe<T: DeserializeOwned>(
        &self,
        kind: &Kind,
        doc: &DocumentMut,
        at: &[Seg],
        written: &str,
        section: bool,
    ) -> String {
        match kind {
            Kind::Unknown { name, allowed } => {
                let what = if section { "unknown section" } else { "unknown key" };
                match suggest(name, allowed) {
                    Some(best) => format!("{what}; did you mean \"{best}\"?"),
                    None if allowed.is_empty() => format!("{what}: nothing may be set here"),
                    None => format!("{what}; the keys here are {}", quoted(allowed, "and")),
                }
            }
            Kind::Type { found, expected } | Kind::Value { found, expected } => {
                // `[catalog]` written for `[[catalog]]`: say how to write it, when it can be written as a header.
                let header = at.iter().all(|s| matches!(s, Seg::Key(_))).then(|| render(at));
                match (found.as_str(), expected.as_str(), header) {
                    ("map", "a sequence", Some(key)) if section => {
                        format!("must be a list: write [[{key}]] before each entry, not [{key}]")
                    }
                    _ => format!("must be {}, not {}", expected_words(expected), found_words(found)),
                }
            }
            Kind::Variant { found, options } => {
                let mut message = format!("must be {}, not \"{found}\"", one_of(options));
                if let Some(best) = suggest(found, options) {
                    message.push_str(&format!("; did you mean \"{best}\"?"));
                }
                message
            }
            Kind::EnumType => format!("must be {}, not {}", one_of(&self.probe_words::<T>(doc, at)), written),
            Kind::Missing(_) => "is required".into(),
            Kind::Other(message) => message.clone(),
        }
    }

    /// The words an enum at `at` allows: what the deserializer lists when it is given an empty word there.
    fn probe_words<T: DeserializeOwned>(&self, doc: &DocumentMut, at: &[Seg]) -> Vec<String> {
        let mut probe = doc.clone();
        if !set(&mut probe, at, Some(Value::from(""))) {
            return Vec::new();
        }
        match toml::from_str::<T>(&probe.to_string()).map(|_| ()).map_err(|e| Kind::parse(e.message())) {
            Err(Kind::Variant { options, .. }) => options,
            _ => Vec::new(),
        }
    }
}

/// The mistakes serde reports, by their message.
#[derive(Debug, PartialEq, Eq)]
enum Kind {
    /// `unknown field `x`, expected one of ...`.
    Unknown { name: String, allowed: Vec<String> },
    /// `missing field `x``.
    Missing(String),
    /// `invalid type: F, expected E`.
    Type { found: String, expected: String },
    /// `invalid value: F, expected E` (a number out of range).
    Value { found: String, expected: String },
    /// `unknown variant `x`, expected ...`.
    Variant { found: String, options: Vec<String> },
    /// An enum given something that is not a string.
    EnumType,
    /// Anything else, as serde said it.
    Other(String),
}

impl Kind {
    fn parse(message: &str) -> Kind {
        let message = message.trim_end();
        let ticked = |text: &str| -> Vec<String> { text.split('`').skip(1).step_by(2).map(str::to_owned).collect() };
        if let Some(rest) = message.strip_prefix("unknown field ") {
            let mut words = ticked(rest);
            if !words.is_empty() {
                let name = words.remove(0);
                return Kind::Unknown { name, allowed: words };
            }
        }
        if let Some(rest) = message.strip_prefix("unknown variant ") {
            let mut words = ticked(rest);
            if !words.is_empty() {
                let found = words.remove(0);
                return Kind::Variant { found, options: words };
            }
        }
        if let Some(rest) = message.strip_prefix("missing field ") {
            if let Some(name) = ticked(rest).into_iter().next() {
                return Kind::Missing(name);
            }
        }
        for (prefix, is_type) in [("invalid type: ", true), ("invalid value: ", false)] {
            if let Some((found, expected)) = message.strip_prefix(prefix).and_then(|r| r.rsplit_once(", expected ")) {
                let (found, expected) = (found.to_owned(), expected.to_owned());
                return if is_type { Kind::Type { found, expected } } else { Kind::Value { found, expected } };
            }
        }
        if let Some((count, expected)) =
            message.strip_prefix("invalid length ").and_then(|r| r.split_once(", expected "))
        {
            // A list where a table belongs, or a list of the wrong length.
            return match expected.strip_prefix("struct ") {
                Some(name) => Kind::Type { found: "sequence".into(), expected: format!("struct {name}") },
                None => Kind::Value { found: format!("a list of {count}"), expected: expected.to_owned() },
            };
        }
        if message == "wanted string or table" {
            return Kind::EnumType;
        }
        Kind::Other(message.to_owned())
    }
}

/// What serde expected, in words.
fn expected_words(expected: &str) -> String {
    let words = match expected {
        "a string" | "a borrowed string" | "string" => "text in quotes",
        "a boolean" => "true or false",
        "u8" => "a whole number from 0 to 255",
        "u16" => "a whole number from 0 to 65535",
        "u32" => "a whole number from 0 to 4294967295",
        "u64" | "usize" | "u128" => "a whole number, 0 or more",
        "i8" => "a whole number from -128 to 127",
        "i16" => "a whole number from -32768 to 32767",
        "i32" => "a whole number from -2147483648 to 2147483647",
        "i64" | "isize" | "i128" => "a whole number",
        "f32" | "f64" => "a number",
        "a sequence" => "a list in square brackets",
        "a map" => "a table",
        "path string" => "a file path in quotes",
        other if other.starts_with("struct ") => "a table",
        other => other,
    };
    words.to_owned()
}

/// What was found instead, as it was written (serde's `Unexpected`).
fn found_words(found: &str) -> String {
    if let Some(text) = found.strip_prefix("string ") {
        return text.to_owned();
    }
    for prefix in ["integer ", "floating point ", "boolean "] {
        if let Some(value) = found.strip_prefix(prefix) {
            return value.trim_matches('`').to_owned();
        }
    }
    match found {
        "sequence" => "a list".into(),
        "map" => "a table".into(),
        other => other.to_owned(),
    }
}

fn quoted(words: &[String], last: &str) -> String {
    let quoted: Vec<String> = words.iter().map(|w| format!("\"{w}\"")).collect();
    match quoted.split_last() {
        None => String::new(),
        Some((only, [])) => only.clone(),
        Some((tail, head)) => format!("{} {last} {tail}", head.join(", ")),
    }
}

fn one_of(options: &[String]) -> String {
    match options.len() {
        0 => "one of the words this key takes".into(),
        1 => quoted(options, "or"),
        _ => format!("one of {}", quoted(options, "or")),
    }
}

/// The allowed word closest to a misspelt one, when it is close enough to be what was meant.
pub fn suggest<'w>(word: &str, allowed: &'w [String]) -> Option<&'w str> {
    let word = word.to_ascii_lowercase();
    allowed
        .iter()
        .map(|candidate| (distance(&word, &candidate.to_ascii_lowercase()), candidate))
        .filter(|(d, candidate)| *d <= 1 + candidate.chars().count().max(word.chars().count()) / 4)
        .min_by_key(|(d, _)| *d)
        .map(|(_, candidate)| candidate.as_str())
}

/// Edit distance counting an insertion, a deletion, a substitution or a swap of neighbours as one.
fn distance(a: &str, b: &str) -> usize {
    let (a, b): (Vec<char>, Vec<char>) = (a.chars().collect(), b.chars().collect());
    let mut d = vec![vec![0usize; b.len() + 1]; a.len() + 1];
    for (i, row) in d.iter_mut().enumerate() {
        row[0] = i;
    }
    for (j, cell) in d[0].iter_mut().enumerate() {
        *cell = j;
    }
    for i in 1..=a.len() {
        for j in 1..=b.len() {
            let cost = usize::from(a[i - 1] != b[j - 1]);
            let mut best = (d[i - 1][j] + 1).min(d[i][j - 1] + 1).min(d[i - 1][j - 1] + cost);
            if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                best = best.min(d[i - 2][j - 2] + 1);
            }
            d[i][j] = best;
        }
    }
    d[a.len()][b.len()]
}

/// A mutable place in the working copy.
enum Node<'a> {
    Table(&'a mut dyn TableLike),
    Array(&'a mut Array),
    Tables(&'a mut ArrayOfTables),
    Leaf,
}

fn node_of_item(item: &mut Item) -> Node<'_> {
    match item {
        Item::Table(table) => Node::Table(table),
        Item::ArrayOfTables(tables) => Node::Tables(tables),
        Item::Value(value) => node_of_value(value),
        Item::None => Node::Leaf,
    }
}

fn node_of_value(value: &mut Value) -> Node<'_> {
    match value {
        Value::InlineTable(table) => Node::Table(table),
        Value::Array(array) => Node::Array(array),
        _ => Node::Leaf,
    }
}

fn descend<'a>(node: Node<'a>, seg: &Seg) -> Option<Node<'a>> {
    match (node, seg) {
        (Node::Table(table), Seg::Key(key)) => table.get_mut(key).map(node_of_item),
        (Node::Tables(tables), Seg::Index(i)) => tables.get_mut(*i).map(|t| Node::Table(t)),
        (Node::Array(array), Seg::Index(i)) => array.get_mut(*i).map(node_of_value),
        _ => None,
    }
}

/// Sets the key or element at `path` to `value`, or removes it when `value` is `None`. `false` when there is no
/// such place.
fn set(doc: &mut DocumentMut, path: &[Seg], value: Option<Value>) -> bool {
    let Some((last, parent)) = path.split_last() else { return false };
    let mut node = Node::Table(doc.as_table_mut());
    for seg in parent {
        match descend(node, seg) {
            Some(next) => node = next,
            None => return false,
        }
    }
    match (node, last, value) {
        (Node::Table(table), Seg::Key(key), Some(value)) => {
            table.insert(key, Item::Value(value));
            true
        }
        (Node::Table(table), Seg::Key(key), None) => table.remove(key).is_some(),
        (Node::Array(array), Seg::Index(i), Some(value)) if *i < array.len() => {
            array.replace(*i, value);
            true
        }
        (Node::Array(array), Seg::Index(i), None) if *i < array.len() => {
            array.remove(*i);
            true
        }
        (Node::Tables(tables), Seg::Index(i), None) if *i < tables.len() => {
            tables.remove(*i);
            true
        }
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn words(list: &[&str]) -> Vec<String> {
        list.iter().map(|w| (*w).to_owned()).collect()
    }

    #[test]
    fn serde_messages_are_understood() {
        assert_eq!(
            Kind::parse("unknown field `nmae`, expected one of `code`, `name`"),
            Kind::Unknown { name: "nmae".into(), allowed: words(&["code", "name"]) }
        );
        assert_eq!(
            Kind::parse("unknown field `x`, there are no fields"),
            Kind::Unknown { name: "x".into(), allowed: vec![] }
        );
        assert_eq!(Kind::parse("missing field `url`"), Kind::Missing("url".into()));
        assert_eq!(
            Kind::parse("invalid type: string \"a, expected b\", expected u8"),
            Kind::Type { found: "string \"a, expected b\"".into(), expected: "u8".into() }
        );
        assert_eq!(
            Kind::parse("invalid value: integer `300`, expected u8"),
            Kind::Value { found: "integer `300`".into(), expected: "u8".into() }
        );
        assert_eq!(
            Kind::parse("unknown variant `rom`, expected `room` or `area`"),
            Kind::Variant { found: "rom".into(), options: words(&["room", "area"]) }
        );
        assert_eq!(Kind::parse("wanted string or table"), Kind::EnumType);
        assert_eq!(
            Kind::parse("invalid length 0, expected struct RawMqtt with 7 elements"),
            Kind::Type { found: "sequence".into(), expected: "struct RawMqtt with 7 elements".into() }
        );
        assert_eq!(Kind::parse("something else\n"), Kind::Other("something else".into()));
    }

    #[test]
    fn types_and_values_are_said_in_words() {
        assert_eq!(expected_words("u8"), "a whole number from 0 to 255");
        assert_eq!(expected_words("struct RawSite"), "a table");
        assert_eq!(expected_words("path string"), "a file path in quotes");
        assert_eq!(found_words("integer `-1`"), "-1");
        assert_eq!(found_words("string \"ten\""), "\"ten\"");
        assert_eq!(found_words("floating point `1.5`"), "1.5");
        assert_eq!(found_words("sequence"), "a list");
    }

    #[test]
    fn a_misspelling_suggests_the_closest_word_only_when_close() {
        let keys = words(&["listen", "name", "max_open_per_location", "time_zone"]);
        assert_eq!(suggest("listne", &keys), Some("listen"));
        assert_eq!(suggest("nmae", &keys), Some("name"));
        assert_eq!(suggest("Name", &keys), Some("name"));
        assert_eq!(suggest("max_open_per_locaton", &keys), Some("max_open_per_location"));
        assert_eq!(suggest("timezone", &keys), Some("time_zone"));
        assert_eq!(suggest("colour", &keys), None);
        assert_eq!(distance("ab", "ba"), 1);
        assert_eq!(distance("", "abc"), 3);
    }

    #[test]
    fn paths_render_as_errors_show_them() {
        let path = [Seg::Key("catalog".into()), Seg::Index(2), Seg::Key("labels".into()), Seg::Key("en".into())];
        assert_eq!(render(&path), "catalog[2].labels.en");
    }

    #[test]
    fn text_that_is_not_toml_has_its_one_error() {
        let map = SourceMap::new(Path::new("f.toml"), "[site\n");
        let shape = read::<toml::Table>(Path::new("f.toml"), "[site\n", &map);
        assert!(shape.value.is_none());
        assert_eq!(shape.errors.len(), 1);
        assert_eq!(shape.errors[0].line, Some(1));
    }
}
