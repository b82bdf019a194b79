//! `.cuda()` / `.cuda(i)` on tensors and modules moves to an NVIDIA GPU: it becomes
//! `.to(<device>)`, keeping keyword arguments such as `non_blocking=True`.

use super::checker::{Checker, span};
use super::unresolved::UNRESOLVED_CUDA;
use crate::code::{Code, Entry, Kind, Severity};
use crate::edit::Edit;
use crate::options::Style;
use crate::python::names::looks_like_device_index;
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
    fix: "Portable style: `.to(device_utils.DEVICE)` (with `device_utils.device(i)` for an index, \
the device itself for a device object such as `x.device`; keyword arguments such as \
`non_blocking=True` are kept; a storage in a `map_location` lambda gets `.to(device=...)`). An \
argument of unknown kind is reported (PY115). NPU style: `.npu(...)`.",
    guide: "`.cuda()`, `.cuda(i)`, `.cuda(x.device)`, `.cuda(non_blocking=True)` -> \
`.to(device_utils.DEVICE, ...)`, `.to(device_utils.device(i))`, `.to(x.device)` (`.npu(...)`); \
storages get `.to(device=...)`; an argument of unknown kind, an uncalled `.cuda` and calls with \
other arguments are reported (PY115)",
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
        // A class of this file with its own `cuda()` (a TensorRT engine, say): `self.cuda()`
        // is that method, and `.to()` may be the very method that calls it.
        if self.defines_cuda_method
            && matches!(attr.value.as_ref(), Expr::Name(n) if n.id.as_str() == "self")
        {
            self.diag(
                &UNRESOLVED_CUDA,
                call.range(),
                "`self.cuda()` calls this file's own cuda() method; left as written",
            )
            .set_severity(Severity::Info);
            return;
        }
        if self.opts.style == Style::Npu {
            return self.replace(&CUDA_METHOD, &attr.attr, "npu");
        }
        let device_kw = args
            .keywords
            .iter()
            .find(|k| k.arg.as_ref().is_some_and(|a| a.id.as_str() == "device"));
        // The device argument and the bytes it replaces (the whole `device=` keyword).
        let given = match (args.args.first(), device_kw) {
            (Some(index), _) => Some((index, span(index))),
            (None, Some(kw)) => Some((&kw.value, span(kw))),
            (None, None) => None,
        };
        let device = match given {
            None => Some(self.opts.device()),
            Some((arg, _)) => self.cuda_argument(arg),
        };
        let Some(device) = device else {
            self.diag(
                &UNRESOLVED_CUDA,
                call.range(),
                format!(
                    "`{}`: cannot tell whether the argument is a device, an index or something else",
                    self.text(call)
                ),
            );
            return;
        };
        // torch's storages take `to(*, device=...)` only; tensors and modules accept both.
        let device = if self.is_storage(attr.value.as_ref(), call.start().to_usize()) {
            format!("device={device}")
        } else {
            device
        };
        let (name_start, name_end) = span(&attr.attr);
        let mut edits = vec![Edit::replace(name_start, name_end, "to")];
        match given {
            Some((_, (s, e))) => edits.push(Edit::replace(s, e, device)),
            None => {
                let open = args.start().to_usize() + 1;
                let sep = if args.keywords.is_empty() { "" } else { ", " };
                edits.push(Edit::insert(open, format!("{device}{sep}")));
            }
        }
        self.edit(&CUDA_METHOD, edits);
    }

    /// What `.cuda(arg)` becomes the argument of `.to(...)`, decided from what the code
    /// shows: an index gets the helper's indexed device, a device object or device string
    /// stays a device; None when the kind cannot be told (then it is reported).
    fn cuda_argument(&mut self, arg: &Expr) -> Option<String> {
        if let Some(device) = self.device_replacement(arg) {
            return Some(device);
        }
        if arg.is_none_literal_expr() {
            return Some(self.opts.device());
        }
        if looks_like_device_index(arg) {
            return Some(self.opts.device_with_index(self.text(arg)));
        }
        if self.is_device_object(arg) {
            return Some(self.text(arg).to_string());
        }
        None
    }

    /// `x.device`, `torch.device(...)`, `device`, `self.device`, `dev`: a device already.
    fn is_device_object(&self, expr: &Expr) -> bool {
        let name = match expr {
            Expr::Call(call) => {
                return self.qualified(&call.func).as_deref() == Some("torch.device");
            }
            Expr::Name(name) => name.id.as_str(),
            Expr::Attribute(attr) => attr.attr.id.as_str(),
            _ => return false,
        };
        let name = name.to_ascii_lowercase();
        name == "dev" || name == "device" || name.ends_with("_device")
    }
}
