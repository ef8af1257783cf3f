//! `bellhop import locations|staff FILE.csv`: brings a property's rooms or roster in from a spreadsheet. Every row
//! is checked, then the whole configuration with the import layered in; only when all of it is valid is
//! `{data_dir}/imported.toml` replaced (atomically). A bad row names its row number and nothing is imported.

use std::path::Path;

use toml_edit::{value, Array, ArrayOfTables, DocumentMut, Item, Table};

use crate::config::{self, ConfigErrors, IMPORTED_FILE};

/// What is imported.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// Rooms and areas: `id,kind,building,wing,floor,class`.
    Locations,
    /// The roster: `id,name,role,departments,skills,max_open,shifts,language` (lists separated by `;`).
    Staff,
}

impl Kind {
    /// The section of the configuration it fills.
    pub fn section(self) -> &'static str {
        match self {
            Kind::Locations => "locations",
            Kind::Staff => "staff",
        }
    }

    fn columns(self) -> &'static [&'static str] {
        match self {
            Kind::Locations => &["id", "kind", "building", "wing", "floor", "class"],
            Kind::Staff => &["id", "name", "role", "departments", "skills", "max_open", "shifts", "language"],
        }
    }

    fn required(self) -> &'static [&'static str] {
        match self {
            Kind::Locations => &["id"],
            Kind::Staff => &["id", "name"],
        }
    }
}

/// Reads the CSV at `csv` into table rows; errors name the row (the header is row 1).
pub fn read_rows(kind: Kind, csv: &Path, text: &str) -> Result<ArrayOfTables, Vec<String>> {
    let mut reader = csv::ReaderBuilder::new().trim(csv::Trim::All).from_reader(text.as_bytes());
    let name = csv.display();
    let headers = reader.headers().map_err(|e| vec![format!("{name}: row 1: {e}")])?.clone();
    let mut errors = Vec::new();
    for header in &headers {
        if !kind.columns().contains(&header) {
            errors.push(format!(
                "{name}: row 1: unknown column {header:?}; the columns are {}",
                kind.columns().join(",")
            ));
        }
    }
    for column in kind.required() {
        if !headers.iter().any(|h| h == *column) {
            errors.push(format!("{name}: row 1: the column {column:?} is missing"));
        }
    }
    if !errors.is_empty() {
        return Err(errors);
    }
    let mut rows = ArrayOfTables::new();
    let mut seen = std::collections::BTreeSet::new();
    for (index, record) in reader.records().enumerate() {
        let row = index + 2;
        let record = match record {
            Ok(record) => record,
            Err(e) => {
                errors.push(format!("{name}: row {row}: {e}"));
                continue;
            }
        };
        let mut table = Table::new();
        let mut problem = |message: String| errors.push(format!("{name}: row {row}: {message}"));
        for (header, field) in headers.iter().zip(record.iter()) {
            if field.is_empty() {
                if kind.required().contains(&header) {
                    problem(format!("{header} is empty"));
                }
                continue;
            }
            match header {
                "floor" => match field.parse::<i64>() {
                    Ok(n) => table[header] = value(n),
                    Err(_) => problem(format!("floor {field:?} is not a whole number")),
                },
                "max_open" => match field.parse::<i64>() {
                    Ok(n) if n >= 1 => table[header] = value(n),
                    _ => problem(format!("max_open {field:?} is not a number of at least 1")),
                },
                "departments" | "skills" | "shifts" => {
                    let list: Array = field.split(';').map(str::trim).filter(|s| !s.is_empty()).collect();
                    table[header] = value(list);
                }
                _ => table[header] = value(field),
            }
        }
        if let Some(id) = record.get(headers.iter().position(|h| h == "id").unwrap_or(0)) {
            if !id.is_empty() && !seen.insert(id.to_owned()) {
                problem(format!("{id:?} appears twice"));
            }
        }
        if kind == Kind::Locations && table.get("kind").is_none() {
            table["kind"] = value("room");
        }
        rows.push(table);
    }
    if rows.is_empty() && errors.is_empty() {
        errors.push(format!("{name}: no rows after the header; nothing to import"));
    }
    if errors.is_empty() {
        Ok(rows)
    } else {
        Err(errors)
    }
}

/// The imported file with `rows` as its `kind` section, keeping its other sections.
pub fn layer_document(current: Option<&str>, kind: Kind, rows: ArrayOfTables) -> Result<String, String> {
    let mut document = match current {
        Some(text) => text.parse::<DocumentMut>().map_err(|e| format!("{IMPORTED_FILE}: {e}"))?,
        None => DocumentMut::new(),
    };
    document[kind.section()] = Item::ArrayOfTables(rows);
    Ok(document.to_string())
}

/// Rewrites errors found in the imported layer's `section[N]` as the CSV's row N + 2.
fn by_row(errors: ConfigErrors, kind: Kind, csv: &Path) -> Vec<String> {
    errors
        .0
        .into_iter()
        .map(|error| {
            let in_layer = error.file.file_name().is_some_and(|f| f == IMPORTED_FILE);
            let index = error
                .key
                .strip_prefix(kind.section())
                .and_then(|rest| rest.strip_prefix('['))
                .and_then(|rest| rest.split(']').next())
                .and_then(|n| n.parse::<usize>().ok());
            match (in_layer, index) {
                (true, Some(index)) => {
                    let field = error.key.split_once("].").map_or("", |(_, f)| f);
                    format!("{}: row {}: {field}: {}", csv.display(), index + 2, error.message)
                }
                _ => error.to_string(),
            }
        })
        .collect()
}

/// Imports `csv` into the data directory's imported layer; returns how many rows were imported.
pub fn import(config_path: &Path, data_dir: Option<&Path>, kind: Kind, csv: &Path) -> Result<usize, Vec<String>> {
    let text = std::fs::read_to_string(csv).map_err(|e| vec![format!("{}: {e}", csv.display())])?;
    let rows = read_rows(kind, csv, &text)?;
    let count = rows.len();
    let data_dir = match data_dir {
        Some(dir) => dir.to_owned(),
        None => config::load_layered(config_path, None).map_err(|e| vec![e.to_string()])?.storage.data_dir,
    };
    let target = data_dir.join(IMPORTED_FILE);
    let current = match std::fs::read_to_string(&target) {
        Ok(text) => Some(text),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
        Err(e) => return Err(vec![format!("{}: {e}", target.display())]),
    };
    let document = layer_document(current.as_deref(), kind, rows).map_err(|e| vec![e])?;
    config::load_with_layer(config_path, Some(&data_dir), Some((IMPORTED_FILE, &document)))
        .map_err(|errors| by_row(errors, kind, csv))?;
    crate::perms::create_dir(&data_dir).map_err(|e| vec![format!("{}: {e}", data_dir.display())])?;
    let tmp = data_dir.join(format!("{IMPORTED_FILE}.tmp"));
    crate::perms::write_durably(&tmp, document.as_bytes())
        .and_then(|()| std::fs::rename(&tmp, &target))
        .map_err(|e| vec![format!("writing {}: {e}", target.display())])?;
    Ok(count)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rows_become_tables_and_bad_rows_are_named() {
        let csv = Path::new("rooms.csv");
        let rows = read_rows(Kind::Locations, csv, "id,kind,floor,class\n101,room,1,standard\nlobby,area,,\n").unwrap();
        let doc = layer_document(None, Kind::Locations, rows).unwrap();
        assert!(doc.contains("[[locations]]\nid = \"101\"\nkind = \"room\"\nfloor = 1"), "{doc}");
        let errors = read_rows(Kind::Locations, csv, "id,floor\n101,one\n102,2\n101,3\n").unwrap_err();
        assert_eq!(
            errors,
            vec![
                "rooms.csv: row 2: floor \"one\" is not a whole number".to_string(),
                "rooms.csv: row 4: \"101\" appears twice".to_string()
            ]
        );
        // Departments are not a required column (analytics and installers need none); the roster's validation asks
        // for them where a role needs them.
        let errors = read_rows(Kind::Staff, Path::new("s.csv"), "id,colour\n").unwrap_err();
        assert!(errors[0].contains("unknown column \"colour\""), "{errors:?}");
        assert!(errors.iter().any(|e| e.contains("\"name\" is missing")), "{errors:?}");
    }

    #[test]
    fn lists_split_on_semicolons_and_other_sections_are_kept() {
        let rows =
            read_rows(Kind::Staff, Path::new("s.csv"), "id,name,departments,skills\nana,Ana,hk;laundry,vip\n").unwrap();
        let doc = layer_document(Some("[[locations]]\nid = \"1\"\nkind = \"room\"\n"), Kind::Staff, rows).unwrap();
        assert!(doc.contains("departments = [\"hk\", \"laundry\"]"), "{doc}");
        assert!(doc.contains("[[locations]]"), "{doc}");
    }

    #[test]
    fn nothing_is_imported_when_a_row_or_the_configuration_is_bad() {
        let dir = tempfile::tempdir().unwrap();
        let config = dir.path().join("b.toml");
        std::fs::write(
            &config,
            format!(
                "[site]\ncode = \"H\"\nname = \"H\"\n[mqtt]\nurl = \"mqtt://127.0.0.1\"\n[storage]\ndata_dir = \"{}\"\n\
                 [[departments]]\ncode = \"hk\"\nname = \"HK\"\n[[catalog]]\ncode = \"t\"\ncategory = \"hk\"\n\
                 department = \"hk\"\npriority = \"low\"\n",
                dir.path().display()
            ),
        )
        .unwrap();
        let csv = dir.path().join("staff.csv");
        std::fs::write(&csv, "id,name,departments\nana,Ana,hk\nrui,Rui,kitchen\n").unwrap();
        let errors = import(&config, None, Kind::Staff, &csv).unwrap_err();
        assert_eq!(errors.len(), 1, "{errors:?}");
        assert!(errors[0].ends_with("row 3: departments: no [[departments]] entry has code \"kitchen\""), "{errors:?}");
        assert!(!dir.path().join(IMPORTED_FILE).exists(), "nothing imported");
        std::fs::write(&csv, "id,name,departments\nana,Ana,hk\nrui,Rui,hk\n").unwrap();
        assert_eq!(import(&config, None, Kind::Staff, &csv), Ok(2));
        let loaded = config::load_layered(&config, None).unwrap();
        assert_eq!(loaded.people.staff.len(), 2);
    }
}
