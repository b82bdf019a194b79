//! `.cuda()` / `.cuda(i)` on tensors and modules moves to an NVIDIA GPU: it becomes
//! `.to(<device>)`, keeping keyword arguments such as `non_blocking=True`.

use super::checker::{Checker, span};
use crate::code::{Code, Entry, Kind, Severity};
use crate::edit::Edit;
use crate::options::Style;
use ruff_python_ast::{Expr, ExprCall};
use ruff_text_size::Ranged;

pub(crate) static CUDA_METHOD: Entry = Entry {
    code: Code::PY002,
    name: "cuda-method",
    kind: Kind::Rewrite,
    severity: Severity::Info,
    summary: "`.cuda()` / `.cuda(i)` calls become `.to(<device>)`",
    explanation: "`Tensor.cuda()` and `Module.cuda()` move to an NVIDIA GPU. Only calls of a `.cuda` \
method with at most one positional argument are rewritten; a `.cuda` attribute that is not \
called, and `torch.cuda`, are not touched.",
    fix: "Portable style: `.to(device_utils.DEVICE)` (with `device_utils.device(i)` for an index; \
keyword arguments such as `non_blocking=True` are kept). NPU style: `.npu(...)`.",
    guide: "`.cuda()`, `.cuda(i)`, `.cuda(non_blocking=True)` -> `.to(device_utils.DEVICE, ...)` \
(`.npu(...)`); an uncalled `.cuda` attribute and calls with other arguments are left",
    severities: None,
};

impl Checker<'_> {
    /// `.cuda()`, `.cuda(i)`, `.cuda(non_blocking=True)` on tensors and modules.
    pub fn cuda_method(&mut self, call: &ExprCall) {
        let Expr::Attribute(attr) = call.func.as_ref() else {
            return;
        };
        // torch.cuda(...) is not a method call on a tensor; neither is any module's .cuda.
        if self.qualified(&attr.value).as_deref() == Some("torch") {
            return;
        }
        let args = &call.arguments;
        let allowed = ["device", "non_blocking", "memory_format"];
        let known_keywords = args.keywords.iter().all(|k| {
            k.arg
                .as_ref()
                .is_some_and(|a| allowed.contains(&a.id.as_str()))
        });
        if args.args.len() > 1 || !known_keywords {
            return;
        }
        let (name_start, name_end) = span(&attr.attr);
        if self.opts.style == Style::Npu {
            return self.replace(&CUDA_METHOD, &attr.attr, "npu");
        }
        let mut edits = vec![Edit::replace(name_start, name_end, "to")];
        let device_kw = args
            .keywords
            .iter()
            .find(|k| k.arg.as_ref().is_some_and(|a| a.id.as_str() == "device"));
        if let Some(index) = args.args.first() {
            let replacement = self.opts.device_with_index(self.text(index));
            edits.push(Edit::replace(
                index.start().to_usize(),
                index.end().to_usize(),
                replacement,
            ));
        } else if let Some(kw) = device_kw {
            let replacement = self.opts.device_with_index(self.text(&kw.value));
            edits.push(Edit::replace(
                kw.start().to_usize(),
                kw.end().to_usize(),
                replacement,
            ));
        } else {
            let open = args.start().to_usize() + 1;
            let sep = if args.keywords.is_empty() { "" } else { ", " };
            edits.push(Edit::insert(open, format!("{}{sep}", self.opts.device())));
        }
        self.edit(&CUDA_METHOD, edits);
    }
}
