//! The daemon's layering, checked on its source: nothing imports upward, no two modules import each other (directly
//! or round a longer circle), and the vocabulary and the engines import no I/O crate and read no clock.
//!
//! Layers, bottom up (docs/ARCHITECTURE.md): the vocabulary; the pure engines; configuration, the journal's events
//! and the small utilities; the store; the core; the adapters; the binary's commands. A module may import its own
//! layer and the ones below. Test code (`#[cfg(test)]` and below) is not counted.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// Every top-level module of `daemon/src` and its layer. A new module must be placed here.
const LAYERS: &[(&str, u8)] = &[
    ("vocab", 0),
    ("engine", 1),
    ("config", 2),
    ("event", 2),
    ("clock", 2),
    ("perms", 2),
    ("credentials", 2),
    ("log_limit", 2),
    ("logging", 2),
    ("credentials", 2),
    ("store", 3),
    ("core", 4),
    ("api", 5),
    ("mqtt", 5),
    ("devices", 5),
    ("grms", 5),
    ("sync", 5),
    ("scheduler", 5),
    ("metrics", 5),
    ("readiness", 5),
    ("systemd", 5),
    ("sim", 5),
    ("broker", 5),
    ("import", 5),
    ("pms", 5),
    ("notice", 5),
    ("app", 6),
    ("cli", 6),
    ("account_cli", 6),
    ("demo", 6),
    ("account_cli", 6),
    ("main", 7),
    ("lib", 7),
];

/// What the vocabulary and the engines must not name: I/O crates, the file system, the network, threads, processes
/// and the clock (the writer passes `now` in).
const IO: &[&str] = &[
    "tokio",
    "rusqlite",
    "hyper",
    "axum",
    "tower",
    "rumqttc",
    "mdns_sd",
    "tokio_modbus",
    "rustls",
    "std::fs",
    "std::net",
    "std::thread",
    "std::process",
    "std::env",
    "std::io",
    "SystemTime",
    "Timestamp::now",
    "Instant::now",
    "Zoned::now",
    "crate::clock",
];

fn src() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("src")
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// The file's code before its tests, without comments.
fn code(path: &Path) -> String {
    let text = std::fs::read_to_string(path).unwrap();
    let text = text.find("#[cfg(test)]").map_or(text.as_str(), |cut| &text[..cut]);
    text.lines().map(|line| line.find("//").map_or(line, |at| &line[..at])).collect::<Vec<_>>().join("\n")
}

/// The top-level module a file belongs to.
fn module_of(path: &Path) -> String {
    let relative = path.strip_prefix(src()).unwrap();
    let first = relative.components().next().unwrap().as_os_str().to_str().unwrap();
    first.trim_end_matches(".rs").to_owned()
}

/// The top-level modules named by `crate::…` paths, `crate::{a, b::c}` groups included.
fn crate_imports(code: &str) -> BTreeSet<String> {
    let mut names = BTreeSet::new();
    let mut rest = code;
    while let Some(at) = rest.find("crate::") {
        let after = &rest[at + "crate::".len()..];
        let preceded_by_ident = rest[..at].chars().next_back().is_some_and(|c| c.is_alphanumeric() || c == '_');
        if !preceded_by_ident {
            if let Some(group) = after.strip_prefix('{') {
                // Names at the group's top level: after `{` and after each `,` at depth 0.
                let mut depth = 0;
                let mut start = true;
                for (i, c) in group.char_indices() {
                    match c {
                        '{' => depth += 1,
                        '}' if depth == 0 => break,
                        '}' => depth -= 1,
                        ',' if depth == 0 => start = true,
                        c if start && (c.is_alphanumeric() || c == '_') => {
                            let name: String =
                                group[i..].chars().take_while(|c| c.is_alphanumeric() || *c == '_').collect();
                            names.insert(name);
                            start = false;
                        }
                        _ => {}
                    }
                }
            } else {
                let name: String = after.chars().take_while(|c| c.is_alphanumeric() || *c == '_').collect();
                if !name.is_empty() {
                    names.insert(name);
                }
            }
        }
        rest = after;
    }
    names
}

fn edges() -> BTreeMap<String, BTreeSet<String>> {
    let mut files = Vec::new();
    rust_files(&src(), &mut files);
    let mut edges: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for file in files {
        let module = module_of(&file);
        let imports = crate_imports(&code(&file));
        let entry = edges.entry(module.clone()).or_default();
        entry.extend(imports.into_iter().filter(|name| *name != module && name != "self"));
    }
    edges
}

fn layer(module: &str) -> u8 {
    LAYERS
        .iter()
        .find(|(name, _)| *name == module)
        .unwrap_or_else(|| panic!("daemon/src/{module} has no layer: add it to LAYERS in tests/structure.rs"))
        .1
}

#[test]
fn nothing_imports_upward() {
    let mut upward = Vec::new();
    for (module, imports) in edges() {
        for import in imports.iter().filter(|import| LAYERS.iter().any(|(name, _)| name == *import)) {
            if layer(import) > layer(&module) {
                upward.push(format!("{module} (layer {}) imports {import} (layer {})", layer(&module), layer(import)));
            }
        }
    }
    assert!(upward.is_empty(), "imports upward:\n{}", upward.join("\n"));
}

#[test]
fn no_modules_import_each_other() {
    let edges = edges();
    // Every module reachable from each module; a module that reaches itself is on a cycle.
    let mut cycles = BTreeSet::new();
    for start in edges.keys() {
        let mut seen = BTreeSet::new();
        let mut stack: Vec<&String> = edges[start].iter().collect();
        while let Some(next) = stack.pop() {
            if !seen.insert(next.clone()) {
                continue;
            }
            if let Some(more) = edges.get(next) {
                stack.extend(more.iter());
            }
        }
        if seen.contains(start) {
            cycles.insert(start.clone());
        }
    }
    assert!(cycles.is_empty(), "modules on an import cycle: {cycles:?}");
}

#[test]
fn the_vocabulary_and_the_engines_do_no_io_and_read_no_clock() {
    let mut files = Vec::new();
    rust_files(&src().join("vocab"), &mut files);
    rust_files(&src().join("engine"), &mut files);
    assert!(files.len() > 5, "the vocabulary and the engines are where this test looks");
    let mut found = Vec::new();
    for file in &files {
        let code = code(file);
        for word in IO {
            let named = code.match_indices(word).any(|(at, _)| {
                let before = code[..at].chars().next_back();
                !before.is_some_and(|c| c.is_alphanumeric() || c == '_')
            });
            if named {
                found.push(format!("{} names {word}", file.strip_prefix(src()).unwrap().display()));
            }
        }
    }
    assert!(found.is_empty(), "I/O or the clock where only pure code belongs:\n{}", found.join("\n"));
}

#[test]
fn the_vocabulary_depends_on_nothing_else_in_the_crate() {
    let edges = edges();
    assert_eq!(edges["vocab"], BTreeSet::new(), "the vocabulary is the ground floor");
    let engine: BTreeSet<&str> = edges["engine"].iter().map(String::as_str).collect();
    assert_eq!(engine, BTreeSet::from(["vocab"]), "the engines import only the vocabulary");
}

#[test]
fn the_import_reader_finds_groups_and_paths() {
    let code = "use crate::{config::Config, store::{Reader, Store}, vocab};\nlet x = crate::engine::sla::step();\n\
                use crate::{\n    api::x,\n    core::{a, b},\n};";
    let names: Vec<String> = crate_imports(code).into_iter().collect();
    assert_eq!(names, ["api", "config", "core", "engine", "store", "vocab"]);
}
