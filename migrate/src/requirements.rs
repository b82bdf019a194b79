//! pip requirements and conda environment files: CUDA-only packages are commented out (so
//! CUDA users can restore them), CUDA wheel indexes likewise, and torch-npu is added next
//! to torch with the matching version.

use crate::diagnostic::Diagnostic;
use crate::edit::{Edit, Fix};
use crate::text::SourceText;

pub struct RequirementFindings {
    pub fixes: Vec<Fix>,
    pub diagnostics: Vec<Diagnostic>,
}

/// Which syntax the file uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Flavor {
    Pip,
    Conda,
}

/// Normalised name (PEP 503) of a requirement line's package, and where the line's
/// requirement text starts; None for options, comments and blank lines.
fn package(line: &str, flavor: Flavor) -> Option<(String, usize)> {
    let trimmed = line.trim_start();
    let mut start = line.len() - trimmed.len();
    let mut spec = trimmed;
    if flavor == Flavor::Conda {
        spec = spec.strip_prefix('-')?.trim_start();
        start = line.len() - spec.len();
        // `channel::name`
        if let Some((_, name)) = spec.split_once("::") {
            spec = name;
        }
    }
    let end = spec
        .find(|c: char| !(c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.')))
        .unwrap_or(spec.len());
    let name = &spec[..end];
    if name.is_empty() || spec.starts_with('-') {
        return None;
    }
    Some((name.to_ascii_lowercase().replace(['_', '.'], "-"), start))
}

fn is_cuda_only(name: &str) -> bool {
    matches!(
        name,
        "flash-attn"
            | "flash-attention"
            | "xformers"
            | "triton"
            | "pytorch-cuda"
            | "cudatoolkit"
            | "cuda-toolkit"
            | "cuda-python"
    ) || name.starts_with("nvidia-")
        || name.starts_with("cupy-cuda")
}

fn needs_review(name: &str) -> bool {
    matches!(
        name,
        "bitsandbytes"
            | "apex"
            | "deepspeed"
            | "onnxruntime-gpu"
            | "tensorrt"
            | "auto-gptq"
            | "vllm"
    )
}

fn is_cuda_index(line: &str) -> bool {
    let t = line.trim_start();
    let option = [
        "--extra-index-url",
        "--index-url",
        "-i ",
        "--find-links",
        "-f ",
    ]
    .iter()
    .any(|o| t.starts_with(o));
    option && (t.contains("/whl/cu") || t.contains("nvidia") || t.contains("/cuda"))
}

/// `2.4.0` from `torch==2.4.0` / `torch==2.4.0+cu121` / `pytorch=2.4.0` (conda).
fn torch_pin(line: &str, flavor: Flavor) -> Option<Option<String>> {
    let (name, start) = package(line, flavor)?;
    if name != "torch" && !(flavor == Flavor::Conda && name == "pytorch") {
        return None;
    }
    let rest = line[start..]
        .trim_start_matches(|c: char| c.is_ascii_alphanumeric() || c == '_' || c == '-');
    let rest = rest.split('#').next().unwrap_or_default().trim();
    let version = rest
        .strip_prefix("==")
        .or_else(|| rest.strip_prefix('=').filter(|_| flavor == Flavor::Conda));
    Some(version.map(|v| {
        let v = v.trim();
        let v = v.split(['+', ';', ' ', ',']).next().unwrap_or(v);
        v.trim_end_matches(".*").to_string()
    }))
}

pub fn collect(source: &SourceText, flavor: Flavor) -> RequirementFindings {
    let mut out = RequirementFindings {
        fixes: Vec::new(),
        diagnostics: Vec::new(),
    };
    let has_torch_npu = source.body.lines().any(|l| {
        let t = l.trim_start().trim_start_matches('-').trim_start();
        !t.starts_with('#') && package(l, flavor).is_some_and(|(n, _)| n == "torch-npu")
    });
    let nl = source.newline;
    let mut offset = 0;
    for raw in source.body.split_inclusive('\n') {
        let line = raw.trim_end_matches(['\n', '\r']);
        let line_no = source.line_of(offset);
        let trimmed = line.trim_start();
        let indent = &line[..line.len() - trimmed.len()];
        if trimmed.starts_with('#') || trimmed.is_empty() {
            offset += raw.len();
            continue;
        }
        if is_cuda_index(line) {
            let comment = format!("{indent}# {trimmed}  # migrate RQ002: CUDA wheel index");
            out.fixes
                .push(Fix::single("RQ002", offset, offset + line.len(), comment));
        } else if let Some((name, _)) = package(line, flavor) {
            if is_cuda_only(&name) {
                let comment =
                    format!("{indent}# {trimmed}  # migrate RQ001: CUDA-only, no Ascend build");
                out.fixes
                    .push(Fix::single("RQ001", offset, offset + line.len(), comment));
            } else if needs_review(&name) {
                out.diagnostics.push(Diagnostic::new(
                    "RQ102",
                    line_no,
                    indent.len() + 1,
                    format!("`{trimmed}` ships CUDA builds"),
                ));
            } else if let Some(pin) = torch_pin(line, flavor)
                && !has_torch_npu
            {
                if flavor == Flavor::Conda {
                    // torch-npu is a pip package; conda cannot resolve it as a dependency.
                    let version = pin.map_or(String::new(), |v| format!("=={v}.*"));
                    out.diagnostics.push(
                        Diagnostic::new(
                            "RQ101",
                            line_no,
                            indent.len() + 1,
                            format!("`{trimmed}`: torch-npu must come from pip"),
                        )
                        .with_fix(format!(
                            "Add `- torch-npu{version}` under the environment's `- pip:` list."
                        )),
                    );
                    offset += raw.len();
                    continue;
                }
                let added = match &pin {
                    Some(version) => format!("{indent}torch-npu=={version}.*"),
                    None => {
                        out.diagnostics.push(Diagnostic::new(
                            "RQ101",
                            line_no,
                            indent.len() + 1,
                            format!("`{trimmed}` is not pinned"),
                        ));
                        format!("{indent}torch-npu")
                    }
                };
                let end = offset + line.len();
                let text = if raw.ends_with('\n') {
                    format!("{nl}{added}")
                } else {
                    format!("{nl}{added}{nl}")
                };
                out.fixes
                    .push(Fix::new("RQ003", vec![Edit::insert(end, text)]));
            }
        }
        offset += raw.len();
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::edit;

    fn run(text: &str, flavor: Flavor) -> (String, Vec<&'static str>) {
        let source = SourceText::new(text);
        let found = collect(&source, flavor);
        let (fixes, _) = edit::resolve_overlaps(found.fixes);
        (
            edit::apply(&source.body, &fixes),
            found.diagnostics.iter().map(|d| d.code).collect(),
        )
    }

    #[test]
    fn cuda_packages_are_commented_and_torch_npu_added() {
        let text = "--extra-index-url https://download.pytorch.org/whl/cu121\ntorch==2.4.0+cu121\nflash_attn>=2\nnvidia-cudnn-cu12\ndiffusers # pinned later\n";
        let (out, diags) = run(text, Flavor::Pip);
        assert_eq!(
            out,
            "# --extra-index-url https://download.pytorch.org/whl/cu121  # migrate RQ002: CUDA wheel index\n\
torch==2.4.0+cu121\ntorch-npu==2.4.0.*\n\
# flash_attn>=2  # migrate RQ001: CUDA-only, no Ascend build\n\
# nvidia-cudnn-cu12  # migrate RQ001: CUDA-only, no Ascend build\n\
diffusers # pinned later\n"
        );
        assert!(diags.is_empty());
        assert_eq!(run(&out, Flavor::Pip).0, out);
    }

    #[test]
    fn unpinned_torch_gets_unpinned_torch_npu_and_a_warning() {
        let (out, diags) = run("torch>=2.1", Flavor::Pip);
        assert_eq!(out, "torch>=2.1\ntorch-npu\n");
        assert_eq!(diags, vec!["RQ101"]);
    }

    #[test]
    fn torchvision_is_not_torch() {
        let (out, _) = run("torchvision==0.19.0\n", Flavor::Pip);
        assert_eq!(out, "torchvision==0.19.0\n");
    }

    #[test]
    fn conda_environment_items() {
        let text = "dependencies:\n  - python=3.10\n  - pytorch=2.1.0\n  - pytorch-cuda=12.1\n  - pip:\n    - xformers\n";
        let (out, diags) = run(text, Flavor::Conda);
        assert_eq!(diags, vec!["RQ101"]);
        assert_eq!(
            out,
            "dependencies:\n  - python=3.10\n  - pytorch=2.1.0\n  # - pytorch-cuda=12.1  # migrate RQ001: CUDA-only, no Ascend build\n  - pip:\n    # - xformers  # migrate RQ001: CUDA-only, no Ascend build\n"
        );
    }
}
