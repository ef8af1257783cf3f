//! Configuration errors that name the file, the key and the line, and the map from keys to lines that finds them.

use std::fmt;
use std::ops::Range;
use std::path::{Path, PathBuf};

use super::shape;

/// One problem in a configuration file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigError {
    /// The file.
    pub file: PathBuf,
    /// The 1-based line, when the problem has a place in the file.
    pub line: Option<usize>,
    /// The key, as a dotted path such as `catalog[2].department`.
    pub key: String,
    /// What is wrong.
    pub message: String,
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.file.display())?;
        if let Some(line) = self.line {
            write!(f, ":{line}")?;
        }
        if !self.key.is_empty() {
            write!(f, ": {}", self.key)?;
        }
        write!(f, ": {}", self.message)
    }
}

/// Every problem found in a configuration file, in file order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigErrors(pub Vec<ConfigError>);

impl fmt::Display for ConfigErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, error) in self.0.iter().enumerate() {
            if i > 0 {
                writeln!(f)?;
            }
            write!(f, "{error}")?;
        }
        Ok(())
    }
}

impl std::error::Error for ConfigErrors {}

/// A key or table's dotted path, with the byte range of its key and of its value.
type Entry = (String, Option<Range<usize>>, Option<Range<usize>>);

/// Where each key of a parsed file is, so errors found after parsing can still name a line.
pub struct SourceMap<'a> {
    file: &'a Path,
    text: &'a str,
    /// Every key and table with the byte range of its key and of its value.
    entries: Vec<Entry>,
    /// A second file whose top-level sections replaced this file's (head office's configuration), and which.
    overlay: Option<(Box<SourceMap<'a>>, Vec<&'static str>)>,
}

impl<'a> SourceMap<'a> {
    /// Maps a file's keys; a file that does not parse maps nothing (the parse error has its own place).
    pub fn new(file: &'a Path, text: &'a str) -> SourceMap<'a> {
        let entries = shape::entries(text).into_iter().map(|e| (shape::render(&e.path), e.key, e.value)).collect();
        SourceMap { file, text, entries, overlay: None }
    }

    /// Keys under `sections` are found in `overlay` instead (errors there name that file and its lines).
    pub fn with_overlay(mut self, overlay: SourceMap<'a>, sections: Vec<&'static str>) -> SourceMap<'a> {
        self.overlay = Some((Box::new(overlay), sections));
        self
    }

    /// An error at a key given as a dotted path; the line is the key's.
    pub fn at(&self, key: &str, message: impl Into<String>) -> ConfigError {
        if let Some((overlay, sections)) = &self.overlay {
            let section = key.split(['.', '[']).next().unwrap_or(key);
            if sections.contains(&section) {
                return overlay.at(key, message);
            }
        }
        ConfigError {
            file: self.file.to_owned(),
            line: self.line_of(key),
            key: key.to_owned(),
            message: message.into(),
        }
    }

    /// The line of a key or table given as a dotted path, when this file has it.
    pub fn line_of(&self, key: &str) -> Option<usize> {
        let (_, k, v) = self.entries.iter().find(|(path, ..)| path == key)?;
        k.clone().or(v.clone()).map(|r| self.line(r.start))
    }

    /// An error at a byte offset (from the TOML parser); the key is the one found there.
    pub fn at_offset(&self, offset: Option<usize>, message: impl Into<String>) -> ConfigError {
        let key = offset
            .and_then(|at| {
                let inside = |r: &Option<Range<usize>>| r.as_ref().is_some_and(|r| r.contains(&at) || r.start == at);
                // The innermost entry is the last one containing the offset, since children follow their parents.
                self.entries.iter().rev().find(|(_, k, v)| inside(k) || inside(v)).map(|(path, ..)| path.clone())
            })
            .unwrap_or_default();
        ConfigError { file: self.file.to_owned(), line: offset.map(|at| self.line(at)), key, message: message.into() }
    }

    fn line(&self, offset: usize) -> usize {
        let end = offset.min(self.text.len());
        self.text.as_bytes()[..end].iter().filter(|&&b| b == b'\n').count() + 1
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const TEXT: &str =
        "[site]\ncode = \"A\"\n\n[[catalog]]\ncode = \"x\"\n\n[[catalog]]\ncode = \"y\"\nlabels = { en = \"Y\" }\n";

    #[test]
    fn finds_the_line_of_a_key() {
        let map = SourceMap::new(Path::new("f.toml"), TEXT);
        assert_eq!(map.at("site.code", "m").line, Some(2));
        assert_eq!(map.at("catalog[1].code", "m").line, Some(8));
        assert_eq!(map.at("catalog[1].labels.en", "m").line, Some(9));
        assert_eq!(map.at("nowhere", "m").line, None);
    }

    #[test]
    fn finds_the_key_at_an_offset() {
        let map = SourceMap::new(Path::new("f.toml"), TEXT);
        let offset = TEXT.find("\"y\"").unwrap();
        let error = map.at_offset(Some(offset), "bad");
        assert_eq!((error.key.as_str(), error.line), ("catalog[1].code", Some(8)));
        assert_eq!(error.to_string(), "f.toml:8: catalog[1].code: bad");
    }
}
