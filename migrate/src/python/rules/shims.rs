//! Uses of flash-attn, xformers, apex and bitsandbytes names. A name with a stand-in in the
//! helper (see `shim_table`) is rewritten to it when its call's arguments are ones the
//! stand-in carries over; NPU style rewrites the call to torch_npu instead. Every other use
//! of those libraries is reported at its line: the import is guarded, so that line is
//! where a host without the library stops.

use super::attention::{ATTENTION_SHIM, FLASH_ATTN, XFORMERS};
use super::call_arguments::named;
use super::checker::Checker;
use super::optimizers::{BNB_QUANTIZATION, OPTIMIZER_SHIM};
use super::shim_table::Shim;
use super::vendor_stacks::APEX;
use crate::code::{Entry, Severity};
use crate::options::Style;
use ruff_python_ast::{Expr, ExprCall, ExprContext};
use ruff_text_size::{Ranged, TextRange};

/// The libraries this module watches, by the first name of their qualified names.
fn library_root(qualified: &str) -> Option<&str> {
    let root = qualified.split('.').next()?;
    matches!(root, "flash_attn" | "xformers" | "apex" | "bitsandbytes").then_some(root)
}

/// Module paths a bare name may stand for (`if xformers is None:` after the guarded import):
/// not a use of the library's code.
const MODULES: &[&str] = &[
    "flash_attn",
    "flash_attn.flash_attn_interface",
    "xformers",
    "xformers.ops",
    "xformers.ops.fmha",
    "apex",
    "apex.optimizers",
    "bitsandbytes",
    "bitsandbytes.optim",
    "bitsandbytes.nn",
];

/// bitsandbytes' quantised layers and functions: reported, never rewritten.
fn is_bnb_quantization(qualified: &str) -> bool {
    qualified.starts_with("bitsandbytes.nn.")
        && !qualified.starts_with("bitsandbytes.nn.StableEmbedding")
        || qualified.starts_with("bitsandbytes.functional")
}

impl Checker<'_> {
    /// A call whose callee has a stand-in: decides from the arguments whether the
    /// rewrite computes the same thing (runs before the callee itself is visited).
    pub fn shim_call(&mut self, call: &ExprCall, name: Option<&str>) {
        if let Expr::Attribute(method) = call.func.as_ref()
            && self
                .qualified(&method.value)
                .as_deref()
                .and_then(Shim::of)
                .is_some()
        {
            // `BlockDiagonalMask.from_seqlens(...)`: the class is used for a call.
            self.shim_callees.push(method.value.range());
        }
        let Some(shim) = name.and_then(Shim::of) else {
            return;
        };
        self.shim_callees.push(call.func.range());
        if self
            .shim_done
            .iter()
            .any(|r| r.contains_range(call.range()))
        {
            return; // an argument of a call already rewritten whole (NPU style)
        }
        if shim == Shim::LowerTriangularMask && self.opts.style == Style::Portable {
            return;
        }
        if shim == Shim::BlockDiagonalMask {
            // Built with from_seqlens(...); the constructor's own arguments are xformers'
            // internal sequence descriptors, which the stand-in does not take.
            let why = "built by its constructor; the stand-in takes BlockDiagonalMask.from_seqlens";
            return self.block_shim(call.func.range(), shim, why.to_string());
        }
        let mut checked_later = Vec::new();
        let problem = match named(call, shim.positional(), shim.keyword_only()) {
            Err(why) => Some(why.to_string()),
            Ok(args) => shim.restrictions().iter().find_map(|r| {
                let (_, value) = args.iter().find(|(n, _)| *n == r.name)?;
                let text = self.text(*value);
                if r.allowed.contains(&text) {
                    return None;
                }
                if r.checked_at_run_time && !value.is_literal_expr() {
                    checked_later.push(format!("{}={text}", r.name));
                    return None;
                }
                Some(format!("{}={text}", r.name))
            }),
        };
        if let Some(problem) = problem {
            let why = format!("{problem} has no portable equivalent");
            return self.block_shim(call.func.range(), shim, why);
        }
        if let Some(argument) = checked_later.first() {
            let entry = if shim.is_optimizer() {
                &APEX
            } else {
                &XFORMERS
            };
            self.diag(
                entry,
                call.range(),
                format!(
                    "{}: {argument} is honoured on CUDA only; elsewhere the stand-in refuses anything but None at run time",
                    shim.library_name()
                ),
            )
            .set_severity(Severity::Warning);
        }
        if shim.is_optimizer() {
            self.optimizer_caveat(call, shim);
        }
        if self.opts.style == Style::Npu {
            let rewritten = if shim == Shim::LowerTriangularMask {
                Err(
                    "torch_npu takes it only as memory_efficient_attention's literal attn_bias"
                        .to_string(),
                )
            } else if shim.is_optimizer() {
                self.npu_optimizer_call(call, shim)
            } else {
                self.npu_attention_call(call, shim)
            };
            match rewritten {
                Ok(()) => self.shim_done.push(call.range()),
                Err(why) => self.block_shim(call.func.range(), shim, why),
            }
        }
    }

    /// Leaves a use as written and says why it has no stand-in.
    fn block_shim(&mut self, at: TextRange, shim: Shim, why: String) {
        self.shim_blocked.push(at);
        let entry = library_entry(shim);
        let fix = self.shim_fix(shim);
        self.diag(entry, at, format!("{}: {why}", shim.library_name()))
            .set_severity(Severity::Error)
            .set_fix(fix);
    }

    /// A Name or attribute chain that may refer to one of the libraries (any context).
    /// True when it was dealt with here.
    pub fn shim_reference(&mut self, expr: &Expr) -> bool {
        let range = expr.range();
        let covered = |ranges: &[TextRange]| ranges.iter().any(|r| r.contains_range(range));
        if covered(&self.shim_done) || covered(&self.shim_blocked) {
            return true;
        }
        let load = match expr {
            Expr::Name(n) => n.ctx == ExprContext::Load,
            Expr::Attribute(a) => a.ctx == ExprContext::Load,
            _ => false,
        };
        let Some(qualified) = self.qualified(expr).filter(|_| load) else {
            return false;
        };
        let Some(root) = library_root(&qualified) else {
            return false;
        };
        if matches!(expr, Expr::Name(_)) && MODULES.contains(&qualified.as_str()) {
            return true;
        }
        if let Some(shim) = Shim::of(&qualified) {
            self.shim_done.push(range);
            if self.availability_tests.contains(&range) {
                // `if flash_attn_func is None:` tests whether the library imported: the
                // project's own fallback decides, as before migration.
                return true;
            }
            if self.opts.style == Style::Npu && !self.shim_callees.contains(&range) {
                // Without a helper there is nothing to pass around in its place.
                self.value_use(range, shim);
                return true;
            }
            if self.opts.style == Style::Portable {
                let entry = if shim.is_optimizer() {
                    &OPTIMIZER_SHIM
                } else {
                    &ATTENTION_SHIM
                };
                let replacement = format!("{}.{}", self.opts.helper, shim.helper_name());
                self.replace(entry, &range, replacement);
            } else {
                let why = "no NPU-style rewrite for this use (the portable style has one)";
                self.block_shim(range, shim, why.to_string());
            }
            return true;
        }
        if self.has_shim_prefix(expr) {
            return false; // `BlockDiagonalMask.from_seqlens`: the prefix is rewritten
        }
        self.shim_done.push(range);
        self.unsupported_library_use(range, root, &qualified);
        true
    }

    fn value_use(&mut self, range: TextRange, shim: Shim) {
        let entry = library_entry(shim);
        let text = self.text(&range).to_string();
        self.diag(
            entry,
            range,
            format!(
                "{text} used as a value is None where the library is missing; NPU style rewrites \
calls only"
            ),
        )
        .set_severity(Severity::Warning);
    }

    /// `x is None` / `x is not None` / `x == None`: the operand is only tested.
    pub fn remember_none_test(&mut self, cmp: &ruff_python_ast::ExprCompare) {
        let operands: Vec<&Expr> = std::iter::once(cmp.left.as_ref())
            .chain(cmp.comparators.iter())
            .collect();
        if operands.iter().any(|e| e.is_none_literal_expr()) {
            self.availability_tests.extend(
                operands
                    .iter()
                    .filter(|e| e.is_name_expr())
                    .map(|e| e.range()),
            );
        }
    }

    /// A name whose truth is tested (`if flash_attn_func:`, `not xops`, an operand of `and`
    /// / `or`, a ternary's test). Only a name: an attribute of a module bound to None would
    /// fail right there.
    pub fn remember_truth_test(&mut self, expr: &Expr) {
        let expr = match expr {
            Expr::UnaryOp(op) if op.op == ruff_python_ast::UnaryOp::Not => op.operand.as_ref(),
            other => other,
        };
        if expr.is_name_expr() {
            self.availability_tests.push(expr.range());
        }
    }

    fn has_shim_prefix(&self, expr: &Expr) -> bool {
        let mut current = expr;
        while let Expr::Attribute(attr) = current {
            current = &attr.value;
            if self
                .qualified(current)
                .as_deref()
                .and_then(Shim::of)
                .is_some()
            {
                return true;
            }
        }
        false
    }

    fn unsupported_library_use(&mut self, range: TextRange, root: &str, qualified: &str) {
        if root == "xformers" && self.xformers_gates.iter().any(|g| g.contains_range(range)) {
            return; // under the project's own `if is_xformers_available():`
        }
        let (entry, severity): (&Entry, Severity) = match root {
            "flash_attn" => (&FLASH_ATTN, Severity::Error),
            "xformers" => (&XFORMERS, Severity::Error),
            _ if is_bnb_quantization(qualified) => (&BNB_QUANTIZATION, Severity::Error),
            _ => (&APEX, APEX.severity),
        };
        let text = self.text(&range).to_string();
        self.diag(
            entry,
            range,
            format!("{text} ({qualified}) has no portable replacement"),
        )
        .set_severity(severity);
    }
}

/// The diagnostic that reports a library use no stand-in covers.
fn library_entry(shim: Shim) -> &'static Entry {
    if shim.is_optimizer() {
        &APEX
    } else if matches!(shim, Shim::FlashAttn | Shim::FlashVarlen) {
        &FLASH_ATTN
    } else {
        &XFORMERS
    }
}
