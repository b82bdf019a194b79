//! Cargo manifests: diagnostics for CUDA-only features and crates, and the `device`
//! dependency that rewritten code needs, added with toml_edit so comments, order and
//! formatting survive.

use super::rules::Needs;
use crate::diagnostic::Diagnostic;
use crate::text::SourceText;
use std::path::{Component, Path, PathBuf};
use toml_edit::{Array, Document, DocumentMut, InlineTable, Item, Table, Value};

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

pub struct ManifestFindings {
    pub diagnostics: Vec<Diagnostic>,
}

const CUDA_FEATURES: &[&str] = &[
    "cuda",
    "cudnn",
    "nccl",
    "flash-attn",
    "flash_attn",
    "cutlass",
    "cuda-12",
    "cuda-11",
];
const CUDA_CRATES: &[&str] = &[
    "candle-flash-attn",
    "cudarc",
    "cust",
    "cuda-sys",
    "cuda-runtime-sys",
    "cudnn",
    "nccl",
];

fn dependency_tables(root: &Table) -> Vec<(String, &Table)> {
    let mut out = Vec::new();
    for section in ["dependencies", "dev-dependencies", "build-dependencies"] {
        if let Some(t) = root.get(section).and_then(Item::as_table) {
            out.push((section.to_string(), t));
        }
    }
    if let Some(targets) = root.get("target").and_then(Item::as_table) {
        for (cfg, item) in targets.iter() {
            if let Some(t) = item.as_table() {
                for section in ["dependencies", "dev-dependencies"] {
                    if let Some(deps) = t.get(section).and_then(Item::as_table) {
                        out.push((format!("target.{cfg}.{section}"), deps));
                    }
                }
            }
        }
    }
    if let Some(ws) = root.get("workspace").and_then(Item::as_table)
        && let Some(t) = ws.get("dependencies").and_then(Item::as_table)
    {
        out.push(("workspace.dependencies".to_string(), t));
    }
    out
}

fn is_optional(item: &Item) -> bool {
    item.get("optional")
        .and_then(Item::as_bool)
        .unwrap_or(false)
}

/// Diagnostics for a manifest (CG101 CUDA features, CG102 CUDA-only crates).
pub fn collect(source: &SourceText) -> Result<ManifestFindings, String> {
    let doc = Document::parse(source.body.as_str())
        .map_err(|e| format!("invalid TOML: {}", e.message()))?;
    let mut diagnostics = Vec::new();
    let at = |span: Option<std::ops::Range<usize>>| {
        let offset = span.map_or(0, |r| r.start);
        (source.line_of(offset), source.column_of(offset))
    };
    let root = doc.as_table();
    for (section, deps) in dependency_tables(root) {
        for (name, item) in deps.iter() {
            let key_span = deps.key(name).and_then(|k| k.span());
            let (line, column) = at(key_span);
            if CUDA_CRATES.contains(&name) {
                let how = if is_optional(item) {
                    "optional, keep it off on NPU hosts"
                } else {
                    "always built"
                };
                diagnostics.push(Diagnostic::new(
                    "CG102",
                    line,
                    column,
                    format!("[{section}] {name} is CUDA-only ({how})"),
                ));
            }
            let features: Vec<String> = item
                .get("features")
                .and_then(Item::as_array)
                .map(|a| {
                    a.iter()
                        .filter_map(|v| v.as_str().map(String::from))
                        .collect()
                })
                .unwrap_or_default();
            for feature in features
                .iter()
                .filter(|f| CUDA_FEATURES.contains(&f.as_str()))
            {
                let mut d = Diagnostic::new(
                    "CG101",
                    line,
                    column,
                    format!(
                        "[{section}] {name} enables feature `{feature}`, which needs the CUDA toolkit to build"
                    ),
                );
                if is_optional(item) {
                    d.set_severity(crate::Severity::Info);
                }
                diagnostics.push(d);
            }
        }
    }
    if let Some(features) = root.get("features").and_then(Item::as_table) {
        for (name, item) in features.iter() {
            let members: Vec<&str> = item
                .as_array()
                .map(|a| a.iter().filter_map(|v| v.as_str()).collect())
                .unwrap_or_default();
            let cuda_members: Vec<&str> = members
                .iter()
                .copied()
                .filter(|m| {
                    m.rsplit('/')
                        .next()
                        .is_some_and(|f| CUDA_FEATURES.contains(&f))
                        || m.contains("flash-attn")
                })
                .collect();
            if cuda_members.is_empty() {
                continue;
            }
            let (line, column) = at(features.key(name).and_then(|k| k.span()));
            let mut d = Diagnostic::new(
                "CG101",
                line,
                column,
                format!(
                    "feature `{name}` turns on {}: leave it off on NPU hosts (it needs the CUDA toolkit)",
                    cuda_members.join(", ")
                ),
            );
            d.set_severity(crate::Severity::Info);
            diagnostics.push(d);
        }
    }
    Ok(ManifestFindings { diagnostics })
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

    fn device() -> DeviceCrate {
        DeviceCrate {
            dir: PathBuf::from("/toolkit/device"),
        }
    }

    #[test]
    fn adds_the_dependency_keeping_comments_and_order() {
        let text = "[package]\nname = \"app\" # the app\n\n[dependencies]\n# tensors\ncandle-core = \"0.11\"\nanyhow = \"1\"\n";
        let out = add_device_dependency(
            text,
            Path::new("/work/app"),
            &device(),
            Needs {
                candle: true,
                framework: false,
            },
        )
        .unwrap()
        .unwrap();
        assert_eq!(
            out,
            "[package]\nname = \"app\" # the app\n\n[dependencies]\n# tensors\ncandle-core = \"0.11\"\nanyhow = \"1\"\ndevice = { path = \"../../toolkit/device\", features = [\"candle\"] }\n"
        );
        let again = add_device_dependency(
            &out,
            Path::new("/work/app"),
            &device(),
            Needs {
                candle: true,
                framework: false,
            },
        )
        .unwrap();
        assert_eq!(again, None, "second run adds nothing");
    }

    #[test]
    fn an_existing_dependency_gains_only_the_missing_feature() {
        let text = "[dependencies]\ndevice = { path = \"../device\" }\n";
        let out = add_device_dependency(
            text,
            Path::new("/x"),
            &device(),
            Needs {
                candle: true,
                framework: false,
            },
        )
        .unwrap()
        .unwrap();
        assert_eq!(
            out,
            "[dependencies]\ndevice = { path = \"../device\" , features = [\"candle\"] }\n"
        );
    }

    #[test]
    fn cuda_features_and_crates_are_reported_with_lines() {
        let text = "[dependencies]\ncandle-core = { version = \"0.11\", features = [\"cuda\", \"cudnn\"] }\ncandle-flash-attn = { version = \"0.11\", optional = true }\n\n[features]\ncuda = [\"candle-core/cuda\"]\n";
        let found = collect(&SourceText::new(text)).unwrap().diagnostics;
        let summary: Vec<(&str, usize)> = found.iter().map(|d| (d.code, d.line)).collect();
        assert_eq!(
            summary,
            vec![("CG101", 2), ("CG101", 2), ("CG102", 3), ("CG101", 6)]
        );
        assert_eq!(
            found[3].severity,
            crate::Severity::Info,
            "an opt-in feature is only worth knowing"
        );
    }
}
