//! pip requirements and conda environment files: CUDA-only packages are commented out (so
//! CUDA users can restore them), CUDA wheel indexes likewise, and torch-npu is added next
//! to torch with the matching version.

pub(crate) mod cuda_packages;
mod package;
pub(crate) mod torch_npu;
mod torch_npu_releases;

pub use package::Flavor;

use crate::findings::Findings;
use crate::text::SourceText;
use package::package;

pub fn collect(source: &SourceText, flavor: Flavor) -> Findings {
    let mut out = Findings::default();
    let has_torch_npu = torch_npu::already_listed(source, flavor);
    for line in source.numbered_lines() {
        if line.is_blank_or_comment() {
            continue;
        }
        if cuda_packages::is_cuda_index(line.text) {
            out.fixes.push(cuda_packages::comment_out_index(&line));
        } else if let Some((name, _)) = package(line.text, flavor) {
            if cuda_packages::is_cuda_only(&name) {
                out.fixes.push(cuda_packages::comment_out_package(&line));
            } else if cuda_packages::needs_review(&name) {
                out.diagnostics.push(cuda_packages::review(&line));
            } else if let Some(pin) = torch_npu::torch_pin(line.text, flavor)
                && !has_torch_npu
            {
                torch_npu::add_beside_torch(&line, pin, flavor, source.newline, &mut out);
            }
        }
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
            found.diagnostics.iter().map(|d| d.code.as_str()).collect(),
        )
    }

    #[test]
    fn cuda_packages_are_commented_and_torch_npu_added() {
        let text = "--extra-index-url https://download.pytorch.org/whl/cu121\ntorch==2.4.0+cu121\nflash_attn>=2\nnvidia-cudnn-cu12\ndiffusers # pinned later\n";
        let (out, diags) = run(text, Flavor::Pip);
        assert_eq!(
            out,
            "# --extra-index-url https://download.pytorch.org/whl/cu121  # migrate RQ002: CUDA wheel index\n\
torch==2.4.0+cu121\ntorch-npu==2.4.0.post4\n\
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
    fn a_torch_version_without_a_torch_npu_release_gets_no_pin() {
        // `torch-npu==2.7.0.*` matches nothing on PyPI: pip would fail on every host.
        let (out, diags) = run("torch==2.7.0\n", Flavor::Pip);
        assert_eq!(out, "torch==2.7.0\n");
        assert_eq!(diags, vec!["RQ101"]);
        let (out, diags) = run("torch==2.2.0\n", Flavor::Pip);
        assert_eq!(out, "torch==2.2.0\ntorch-npu==2.2.0.post2\n");
        assert!(diags.is_empty());
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
