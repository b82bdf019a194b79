//! Shell scripts, line by line: visible-devices variables and nvidia-smi. Comment lines are
//! never touched; anything not clearly a simple command becomes a diagnostic.

pub(crate) mod nccl_env;
pub(crate) mod nvidia_smi;
pub(crate) mod visible_devices;

use crate::findings::Findings;
use crate::options::RuleOptions;
use crate::text::SourceText;

pub fn collect(source: &SourceText, options: &RuleOptions) -> Findings {
    let mut out = Findings::default();
    let already_ascend = visible_devices::already_set(source);
    for line in source.numbered_lines() {
        if line.is_blank_or_comment() {
            continue;
        }
        visible_devices::check(&line, already_ascend, options, source.newline, &mut out);
        nvidia_smi::check(&line, options, &mut out);
        nccl_env::check(&line, &mut out);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::edit;

    fn run(text: &str, options: &RuleOptions) -> (String, Vec<&'static str>) {
        let source = SourceText::new(text);
        let found = collect(&source, options);
        let (fixes, _) = edit::resolve_overlaps(found.fixes);
        (
            edit::apply(&source.body, &fixes),
            found.diagnostics.iter().map(|d| d.code.as_str()).collect(),
        )
    }

    #[test]
    fn export_gains_the_ascend_variable_once() {
        let (out, diags) = run(
            "export CUDA_VISIBLE_DEVICES=0,1\npython a.py\n",
            &RuleOptions::default(),
        );
        assert_eq!(
            out,
            "export CUDA_VISIBLE_DEVICES=0,1\nexport ASCEND_RT_VISIBLE_DEVICES=\"$CUDA_VISIBLE_DEVICES\"\npython a.py\n"
        );
        assert!(diags.is_empty());
        assert_eq!(
            run(&out, &RuleOptions::default()).0,
            out,
            "second run changes nothing"
        );
    }

    #[test]
    fn command_prefix_gets_the_same_value() {
        let (out, _) = run(
            "CUDA_VISIBLE_DEVICES=2 python a.py\n",
            &RuleOptions::default(),
        );
        assert_eq!(
            out,
            "CUDA_VISIBLE_DEVICES=2 ASCEND_RT_VISIBLE_DEVICES=2 python a.py\n"
        );
    }

    #[test]
    fn npu_style_renames_and_comments_stay() {
        let text =
            "# CUDA_VISIBLE_DEVICES=0 nvidia-smi\nexport CUDA_VISIBLE_DEVICES=3,1\nnvidia-smi\n";
        let (out, diags) = run(text, &RuleOptions::npu());
        assert_eq!(
            out,
            "# CUDA_VISIBLE_DEVICES=0 nvidia-smi\nexport ASCEND_RT_VISIBLE_DEVICES=3,1\nnpu-smi info\n"
        );
        assert_eq!(diags, vec!["SH101"]);
    }

    #[test]
    fn nvidia_smi_falls_back_and_pipelines_are_reported() {
        let (out, diags) = run(
            "  nvidia-smi -L\nnvidia-smi | grep MiB\n",
            &RuleOptions::default(),
        );
        assert_eq!(
            out,
            "  if command -v npu-smi >/dev/null 2>&1; then npu-smi info; else nvidia-smi -L; fi\nnvidia-smi | grep MiB\n"
        );
        assert_eq!(diags, vec!["SH103"]);
        let (again, diags) = run(&out, &RuleOptions::default());
        assert_eq!(again, out);
        assert_eq!(diags, vec!["SH103"]);
    }

    #[test]
    fn crlf_scripts_keep_crlf() {
        let (out, _) = run(
            "export CUDA_VISIBLE_DEVICES=0\r\necho hi\r\n",
            &RuleOptions::default(),
        );
        assert_eq!(
            out,
            "export CUDA_VISIBLE_DEVICES=0\r\nexport ASCEND_RT_VISIBLE_DEVICES=\"$CUDA_VISIBLE_DEVICES\"\r\necho hi\r\n"
        );
    }
}
