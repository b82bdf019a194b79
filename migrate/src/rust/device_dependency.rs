//! The `device` dependency rewritten Rust code calls, added to a manifest with toml_edit
//! so comments, order and formatting survive.

use super::rules::Needs;
use crate::code::{Code, Entry, Kind, Severity};
use std::path::{Component, Path, PathBuf};
use toml_edit::{Array, DocumentMut, InlineTable, Item, Table, Value};

pub(crate) static DEVICE_DEPENDENCY: Entry = Entry {
    code: Code::CG001,
    name: "device-dependency",
    kind: Kind::Rewrite,
    severity: Severity::Info,
    summary: "The crate gains the `device` dependency its rewritten code uses",
    explanation: "RS001 / RS002 rewrites call the toolkit's `device` crate.",
    fix: "`device = { path = \"<relative path>\", features = [\"candle\"] }` is added to \
[dependencies] (toml_edit: comments and order are kept); pass --device-crate to choose the path.",
    guide: "the crate of a rewritten file gains `device = { path = \"...\", features = \
[\"candle\"] }` (or the missing feature)",
    severities: None,
};

/// Where the toolkit's `device` crate lives (the directory holding its Cargo.toml).
#[derive(Debug, Clone)]
pub struct DeviceCrate {
    pub dir: PathBuf,
}

impl DeviceCrate {
    /// The `device` crate next to this binary's source tree, when the checkout is still
    /// there (the usual `cargo run --bin migrate` from the toolkit).
    pub fn beside_this_checkout() -> Option<DeviceCrate> {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
            .parent()?
            .join("device");
        dir.join("Cargo.toml").is_file().then(|| DeviceCrate {
            dir: dir.canonicalize().unwrap_or(dir),
        })
    }
}

/// `../../device` from `from` to `to` (both absolute).
fn relative_path(from: &Path, to: &Path) -> String {
    let from: Vec<Component> = from.components().collect();
    let to: Vec<Component> = to.components().collect();
    let common = from.iter().zip(&to).take_while(|(a, b)| a == b).count();
    let mut parts: Vec<String> =
        std::iter::repeat_n("..".to_string(), from.len() - common).collect();
    parts.extend(
        to[common..]
            .iter()
            .map(|c| c.as_os_str().to_string_lossy().into_owned()),
    );
    if parts.is_empty() {
        ".".to_string()
    } else {
        parts.join("/")
    }
}

/// The manifest with a `device` dependency (and the features rewritten code needs), or
/// None when it already has everything.
pub fn add_device_dependency(
    text: &str,
    manifest_dir: &Path,
    device: &DeviceCrate,
    needs: Needs,
) -> Result<Option<String>, String> {
    let mut doc: DocumentMut = text
        .parse()
        .map_err(|e: toml_edit::TomlError| format!("invalid TOML: {}", e.message()))?;
    let wanted: Vec<&str> = if needs.candle { vec!["candle"] } else { vec![] };
    let deps = doc
        .entry("dependencies")
        .or_insert_with(|| Item::Table(Table::new()));
    let Some(deps) = deps.as_table_like_mut() else {
        return Err("[dependencies] is not a table".to_string());
    };
    match deps.get_mut("device") {
        Some(existing) => {
            let Some(entry) = existing.as_table_like_mut() else {
                // `device = "0.1"`: a bare version cannot carry features; make it a table.
                if wanted.is_empty() {
                    return Ok(None);
                }
                let version = existing.as_str().unwrap_or("*").to_string();
                let mut table = InlineTable::new();
                table.insert("version", Value::from(version));
                table.insert(
                    "features",
                    Value::Array(wanted.iter().copied().collect::<Array>()),
                );
                *existing = Item::Value(Value::InlineTable(table));
                return Ok(Some(doc.to_string()));
            };
            let mut changed = false;
            let features = entry
                .entry("features")
                .or_insert(Item::Value(Value::Array(Array::new())));
            if let Some(array) = features.as_array_mut() {
                for f in &wanted {
                    if !array.iter().any(|v| v.as_str() == Some(f)) {
                        array.push(*f);
                        changed = true;
                    }
                }
            }
            if !changed {
                return Ok(None);
            }
        }
        None => {
            let mut table = InlineTable::new();
            table.insert(
                "path",
                Value::from(relative_path(manifest_dir, &device.dir)),
            );
            if !wanted.is_empty() {
                table.insert(
                    "features",
                    Value::Array(wanted.iter().copied().collect::<Array>()),
                );
            }
            deps.insert("device", Item::Value(Value::InlineTable(table)));
        }
    }
    Ok(Some(doc.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The manifest `text` in `dir` after adding the dependency candle code needs.
    fn add_for_candle(text: &str, dir: &str) -> Option<String> {
        let device = DeviceCrate {
            dir: PathBuf::from("/toolkit/device"),
        };
        let needs = Needs {
            candle: true,
            framework: false,
        };
        add_device_dependency(text, Path::new(dir), &device, needs).unwrap()
    }

    #[test]
    fn adds_the_dependency_keeping_comments_and_order() {
        let text = "[package]\nname = \"app\" # the app\n\n[dependencies]\n# tensors\ncandle-core = \"0.11\"\nanyhow = \"1\"\n";
        let out = add_for_candle(text, "/work/app").unwrap();
        assert_eq!(
            out,
            "[package]\nname = \"app\" # the app\n\n[dependencies]\n# tensors\ncandle-core = \"0.11\"\nanyhow = \"1\"\ndevice = { path = \"../../toolkit/device\", features = [\"candle\"] }\n"
        );
        let again = add_for_candle(&out, "/work/app");
        assert_eq!(again, None, "second run adds nothing");
    }

    #[test]
    fn an_existing_dependency_gains_only_the_missing_feature() {
        let text = "[dependencies]\ndevice = { path = \"../device\" }\n";
        let out = add_for_candle(text, "/x").unwrap();
        assert_eq!(
            out,
            "[dependencies]\ndevice = { path = \"../device\" , features = [\"candle\"] }\n"
        );
    }
}
