//! `torch.Generator("cuda")`: CUDA's and the NPU's generators give different noise for the
//! same seed, so the portable style draws from the helper's seeded CPU generator.

use super::checker::Checker;
use super::generator_draws::Placement;
use super::unresolved::UNRESOLVED_CUDA;
use crate::code::{Code, Entry, Kind, Severity};
use crate::options::Style;
use crate::python::names::cuda_string;
use ruff_python_ast::{Expr, ExprCall};
use ruff_text_size::Ranged;

pub(crate) static GENERATOR: Entry = Entry {
    code: Code::PY003,
    name: "generator",
    kind: Kind::Rewrite,
    severity: Severity::Info,
    summary: "`torch.Generator(\"cuda\")` becomes the helper's seeded generator",
    explanation: "CUDA's Philox generator and the NPU's generator give different noise for the same seed, \
so an image generated with `torch.Generator(\"cuda\").manual_seed(s)` cannot be reproduced \
on another device. diffusers recommends drawing noise on the CPU generator.",
    fix: "Portable style: `device_utils.generator(s)` (a CPU generator, same noise everywhere). \
NPU style: `torch.Generator(\"npu\")`.",
    guide: "`torch.Generator(\"cuda\")[.manual_seed(s)]` -> `device_utils.generator([s])`, or \
`torch.Generator(device_utils.DEVICE)` when a draw in the file uses it on the device; left and \
reported (PY115) when a draw's device cannot be followed (`torch.Generator(\"npu\")`)",
    severities: None,
};

impl Checker<'_> {
    /// `torch.Generator("cuda")` and `torch.Generator("cuda").manual_seed(s)`; true when the
    /// call was a generator (the caller then only looks at its keywords).
    pub fn generator(&mut self, call: &ExprCall, name: Option<&str>) -> bool {
        let placement = self
            .generator_placements
            .get(&call.start().to_usize())
            .cloned();
        // The outer `.manual_seed(s)` call is matched first so the whole chain is replaced.
        if let Expr::Attribute(attr) = call.func.as_ref()
            && attr.attr.id.as_str() == "manual_seed"
            && let Expr::Call(inner) = attr.value.as_ref()
            && self.qualified(&inner.func).as_deref() == Some("torch.Generator")
            && self.opts.style == Style::Portable
            && placement.is_none()
            && call.arguments.args.len() == 1
            && call.arguments.keywords.is_empty()
            && let Some(device) = generator_device(inner)
            && cuda_string(device).is_some()
        {
            self.handled.insert(device.start().to_usize());
            let seed = self.text(&call.arguments.args[0]);
            let replacement = format!("{}.generator({seed})", self.opts.helper);
            self.replace(&GENERATOR, call, replacement);
            return true;
        }
        if name != Some("torch.Generator") {
            return false;
        }
        let Some(device) = generator_device(call) else {
            return true;
        };
        if cuda_string(device).is_none() {
            return true;
        }
        self.handled.insert(device.start().to_usize());
        match placement {
            Some(Placement::Device) => {}
            Some(Placement::Unknown(line)) => {
                self.diag(
                    &UNRESOLVED_CUDA,
                    call.range(),
                    format!(
                        "this generator is drawn from on line {line} with a device migrate cannot follow; \
generator and draw must stay on one device, so both are left as written"
                    ),
                )
                .set_fix("Create the generator on the draw's device (`torch.Generator(device=x.device)`), or draw on the CPU and move the result.");
                return true;
            }
            None => {}
        }
        match self.opts.style {
            Style::Npu => {
                let replacement = self.text(device).replacen("cuda", "npu", 1);
                self.replace(&GENERATOR, device, replacement);
            }
            Style::Portable
                if placement.is_none()
                    && call.arguments.args.len() + call.arguments.keywords.len() == 1 =>
            {
                let replacement = format!("{}.generator()", self.opts.helper);
                self.replace(&GENERATOR, call, replacement);
            }
            Style::Portable => {
                self.rewrite_device(&GENERATOR, device);
            }
        }
        true
    }
}

/// The device a `torch.Generator(...)` call names, positionally or as `device=`.
fn generator_device(call: &ExprCall) -> Option<&Expr> {
    call.arguments.args.first().or_else(|| {
        call.arguments
            .keywords
            .iter()
            .find(|k| k.arg.as_ref().is_some_and(|a| a.id.as_str() == "device"))
            .map(|k| &k.value)
    })
}
