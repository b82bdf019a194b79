//! Mixed precision: `torch.cuda.amp` is deprecated and CUDA-only, so its names move to
//! `torch.amp` with the device type first; "cuda" given as an autocast or GradScaler device
//! type becomes the selected one.

use super::checker::{Checker, span};
use super::unresolved::UNRESOLVED_CUDA;
use crate::code::{Code, Entry, Kind, Severity};
use crate::edit::Edit;
use crate::options::Style;
use crate::python::names::{CudaString, cuda_string};
use ruff_python_ast::{Arguments, Decorator, Expr, ExprCall, Stmt};
use ruff_text_size::Ranged;

pub(crate) static AMP: Entry = Entry {
    code: Code::PY005,
    name: "amp",
    kind: Kind::Rewrite,
    severity: Severity::Info,
    summary: "`torch.cuda.amp` autocast / GradScaler / custom_fwd move to `torch.amp` with a device type",
    explanation: "`torch.cuda.amp` is deprecated and CUDA-only. `torch.amp.autocast(device_type, ...)` and \
`torch.amp.GradScaler(device, ...)` take the device type explicitly. Positional arguments of \
the old autocast (`enabled`, `dtype`, `cache_enabled`) are turned into keywords because the \
new signature orders them differently.",
    fix: "`from torch.cuda.amp import X` becomes `from torch.amp import X`, and each call gains the \
device type as its first argument (`device_type=` for custom_fwd/custom_bwd).",
    guide: "`torch.cuda.amp.{autocast, GradScaler, custom_fwd, custom_bwd}` and `from \
torch.cuda.amp import ...` -> `torch.amp` with the device type first; autocast's positional \
`enabled, dtype, cache_enabled` become keywords because torch.amp orders them differently",
    severities: None,
};

pub(crate) static AUTOCAST_DEVICE_TYPE: Entry = Entry {
    code: Code::PY006,
    name: "autocast-device-type",
    kind: Kind::Rewrite,
    severity: Severity::Info,
    summary: "\"cuda\" given as an autocast / GradScaler device type becomes the helper's device type",
    explanation: "`torch.autocast(\"cuda\")`, `torch.amp.autocast(device_type=\"cuda\")` and \
`torch.amp.GradScaler(\"cuda\")` only enable mixed precision on NVIDIA GPUs.",
    fix: "Portable style: `device_utils.AMP_DEVICE_TYPE` (the accelerator's type; \"cuda\" on a host \
without one, where torch turns CUDA autocast off as it did before migration). NPU style: \"npu\".",
    guide: "`\"cuda\"` as the device type of `torch.autocast`, `torch.amp.autocast`, \
`torch.amp.GradScaler` or `device_type=` -> `device_utils.AMP_DEVICE_TYPE` (`\"npu\"`; stays \
\"cuda\", i.e. off, without an accelerator, so CPU results do not change)",
    severities: None,
};

const AMP_NAMES: &[&str] = &["autocast", "GradScaler", "custom_fwd", "custom_bwd"];

/// Where the `torch.cuda.amp` part of a callee goes once it moves to `torch.amp`.
enum AmpModule {
    /// The callee is a name imported from torch.cuda.amp; the import itself is rewritten.
    Imported,
    /// Replace the bytes `start..end` (the `torch.cuda.amp` part) with the text.
    Replace(usize, usize, String),
    /// torch is not imported under any name, so `torch.amp` cannot be written.
    NoTorchName,
}

impl Checker<'_> {
    /// Which torch.cuda.amp name a callee refers to, under any import form.
    fn amp_target(&self, name: Option<&str>) -> Option<&'static str> {
        let rest = name?.strip_prefix("torch.cuda.amp.")?;
        AMP_NAMES.iter().copied().find(|n| *n == rest)
    }

    /// How to turn the `torch.cuda.amp` inside `func` into `torch.amp`.
    fn amp_module(&self, func: &Expr) -> AmpModule {
        let mut node = func;
        loop {
            match node {
                Expr::Attribute(attr)
                    if self.qualified(node).as_deref() != Some("torch.cuda.amp") =>
                {
                    node = &attr.value;
                }
                Expr::Name(_) if std::ptr::eq(node, func) => return AmpModule::Imported,
                _ => break,
            }
        }
        let (s, e) = span(node);
        // `torch.cuda.amp` spelled out keeps the spelling of its torch part.
        if let Expr::Attribute(amp) = node
            && let Expr::Attribute(cuda) = amp.value.as_ref()
            && self.qualified(&cuda.value).as_deref() == Some("torch")
        {
            return AmpModule::Replace(s, e, format!("{}.amp", self.text(cuda.value.as_ref())));
        }
        match self.bindings.local_for("torch") {
            Some(torch) => AmpModule::Replace(s, e, format!("{torch}.amp")),
            None => AmpModule::NoTorchName,
        }
    }

    /// A call of a torch.cuda.amp name; true when it was one (the caller then only looks
    /// at its keywords).
    pub fn amp_call(&mut self, call: &ExprCall, name: Option<&str>) -> bool {
        let Some(target) = self.amp_target(name) else {
            return false;
        };
        let mut edits = Vec::new();
        match self.amp_module(&call.func) {
            AmpModule::Imported => {}
            AmpModule::Replace(s, e, text) => edits.push(Edit::replace(s, e, text)),
            AmpModule::NoTorchName => {
                self.diag(
                    &UNRESOLVED_CUDA,
                    call.range(),
                    format!(
                        "{} needs torch.amp, but torch is not imported by name",
                        self.text(call.func.as_ref())
                    ),
                );
                return true;
            }
        }
        let args = &call.arguments;
        let open = args.start().to_usize() + 1;
        let device_type = self.opts.amp_device_type();
        match target {
            "custom_fwd" | "custom_bwd" => {
                let sep = if args.args.is_empty() && args.keywords.is_empty() {
                    ""
                } else {
                    ", "
                };
                edits.push(Edit::insert(
                    open,
                    format!("device_type={device_type}{sep}"),
                ));
            }
            _ => {
                // torch.cuda.amp.autocast(enabled, dtype, cache_enabled) puts `enabled` first,
                // torch.amp.autocast(device_type, dtype, enabled, ...) does not: name them.
                let positional_names: &[&str] = if target == "autocast" {
                    &["enabled", "dtype", "cache_enabled"]
                } else {
                    &[]
                };
                let mut lead = device_type;
                if !(args.args.is_empty() && args.keywords.is_empty()) {
                    lead.push_str(", ");
                }
                for (i, arg) in args.args.iter().enumerate() {
                    let Some(kw) = positional_names.get(i) else {
                        break;
                    };
                    if arg.start().to_usize() == open && i == 0 {
                        lead.push_str(&format!("{kw}="));
                    } else {
                        edits.push(Edit::insert(arg.start().to_usize(), format!("{kw}=")));
                    }
                }
                edits.push(Edit::insert(open, lead));
            }
        }
        self.edit(&AMP, edits);
        true
    }

    /// `@torch.cuda.amp.custom_fwd` / `@custom_fwd` written without a call.
    pub fn amp_decorator(&mut self, decorator: &Decorator) {
        let expr = &decorator.expression;
        if matches!(expr, Expr::Call(_)) {
            return;
        }
        let name = self.qualified(expr);
        let Some(target) = self.amp_target(name.as_deref()) else {
            return;
        };
        if !matches!(target, "custom_fwd" | "custom_bwd") {
            return;
        }
        let (start, end) = span(expr);
        let text = self.text(expr);
        let base = match self.amp_module(expr) {
            AmpModule::Imported => text.to_string(),
            AmpModule::Replace(s, e, module) => {
                format!("{}{module}{}", &text[..s - start], &text[e - start..])
            }
            AmpModule::NoTorchName => {
                self.diag(
                    &UNRESOLVED_CUDA,
                    expr.range(),
                    format!("@{text} needs torch.amp, but torch is not imported by name"),
                );
                return;
            }
        };
        let replacement = format!("{base}(device_type={})", self.opts.amp_device_type());
        self.replace_span(&AMP, start, end, replacement);
    }

    /// `from torch.cuda.amp import autocast as ac`: the module moves; calls of the local
    /// names are found through the file's bindings.
    pub fn amp_import(&mut self, stmt: &Stmt, module: &str) {
        if module == "torch.cuda.amp"
            && let Stmt::ImportFrom(from) = stmt
            && let Some(module_id) = &from.module
        {
            self.replace(&AMP, module_id, "torch.amp");
        }
    }

    /// `torch.autocast("cuda")`, `torch.amp.GradScaler("cuda")`.
    pub fn autocast_call(&mut self, args: &Arguments) {
        if let Some(first) = args.args.first() {
            self.rewrite_device_type(first);
        }
    }

    /// "cuda" given as a device type (positionally or as `device_type=`).
    pub fn rewrite_device_type(&mut self, expr: &Expr) {
        if cuda_string(expr) == Some(CudaString::Bare) {
            self.handled.insert(expr.start().to_usize());
            let replacement = match self.opts.style {
                Style::Npu => self.text(expr).replacen("cuda", "npu", 1),
                Style::Portable => self.opts.amp_device_type(),
            };
            self.replace(&AUTOCAST_DEVICE_TYPE, expr, replacement);
        }
    }
}
