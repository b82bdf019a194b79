//! Cargo manifests: CUDA-only features and crates are reported, never changed, because
//! whether a crate may drop them is the owner's decision.

use crate::code::{Code, Entry, Kind, Severity};
use crate::diagnostic::Diagnostic;
use crate::text::SourceText;
use toml_edit::{Document, Item, Table};

pub(crate) static CUDA_FEATURE: Entry = Entry {
    code: Code::CG101,
    name: "cuda-feature",
    kind: Kind::Diagnostic,
    severity: Severity::Warning,
    summary: "A dependency enables a CUDA feature (cuda, cudnn, nccl, flash-attn)",
    explanation: "Such features compile CUDA kernels or link the CUDA toolkit at build time, so the crate \
does not build on an NPU host without CUDA. An optional dependency is reported as info.",
    fix: "Move the feature behind one of your own: `[features] cuda = [\"candle-core/cuda\"]`, \
off by default; NPU kernels come from ops-npu.",
    guide: "put `cuda` / `cudnn` / `nccl` / `flash-attn` behind an opt-in feature",
    severities: Some("warning (info when optional or in `[features]`)"),
};

pub(crate) static CUDA_ONLY_CRATE: Entry = Entry {
    code: Code::CG102,
    name: "cuda-only-crate",
    kind: Kind::Diagnostic,
    severity: Severity::Warning,
    summary: "A CUDA-only crate (candle-flash-attn, cudarc, cust, ...) is a dependency",
    explanation: "It cannot build or run on an Ascend host.",
    fix: "Make it optional behind a `cuda` feature; use ops-npu attention on NPU.",
    guide: "make the crate optional behind a `cuda` feature",
    severities: None,
};

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
                    &CUDA_ONLY_CRATE,
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
                    &CUDA_FEATURE,
                    line,
                    column,
                    format!(
                        "[{section}] {name} enables feature `{feature}`, which needs the CUDA toolkit to build"
                    ),
                );
                if is_optional(item) {
                    d.set_severity(Severity::Info);
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
                &CUDA_FEATURE,
                line,
                column,
                format!(
                    "feature `{name}` turns on {}: leave it off on NPU hosts (it needs the CUDA toolkit)",
                    cuda_members.join(", ")
                ),
            );
            d.set_severity(Severity::Info);
            diagnostics.push(d);
        }
    }
    Ok(ManifestFindings { diagnostics })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cuda_features_and_crates_are_reported_with_lines() {
        let text = "[dependencies]\ncandle-core = { version = \"0.11\", features = [\"cuda\", \"cudnn\"] }\ncandle-flash-attn = { version = \"0.11\", optional = true }\n\n[features]\ncuda = [\"candle-core/cuda\"]\n";
        let found = collect(&SourceText::new(text)).unwrap().diagnostics;
        let summary: Vec<(&str, usize)> = found.iter().map(|d| (d.code.as_str(), d.line)).collect();
        assert_eq!(
            summary,
            vec![("CG101", 2), ("CG101", 2), ("CG102", 3), ("CG101", 6)]
        );
        assert_eq!(
            found[3].severity,
            Severity::Info,
            "an opt-in feature is only worth knowing"
        );
    }
}
