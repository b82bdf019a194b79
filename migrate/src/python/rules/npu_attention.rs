//! NPU style: flash-attn and xformers calls written as torch_npu.npu_fusion_attention,
//! following its documented signature (migrate/tests/fixtures/torch_npu/): the head count
//! from the query's shape, the scale always passed (torch_npu's default is 1, not
//! 1/sqrt(d)), keep_prob = 1 - dropout, causal as sparse mode 3 (flash-attn: from the
//! bottom-right corner) or 2 (xformers' LowerTriangularMask: from the top-left), both with
//! the compressed 2048 x 2048 mask in which True means masked. Calls whose arguments need
//! more (windows, a causal flag known only at run time, other biases) are reported.

use super::attention::ATTENTION_SHIM;
use super::call_arguments::named;
use super::checker::Checker;
use super::shim_table::Shim;
use ruff_python_ast::{Expr, ExprCall};

/// An expression safe to write more than once: a name or an attribute chain of names.
fn repeatable(expr: &Expr) -> bool {
    match expr {
        Expr::Name(_) => true,
        Expr::Attribute(attr) => repeatable(&attr.value),
        _ => false,
    }
}

/// An expression that needs no parentheses as an operand: a name, an attribute chain, a
/// number.
fn atomic(expr: &Expr) -> bool {
    repeatable(expr) || matches!(expr, Expr::NumberLiteral(_))
}

impl Checker<'_> {
    /// `expr`'s text, parenthesised unless atomic.
    fn operand(&self, expr: &Expr) -> String {
        let text = self.text(expr);
        if atomic(expr) {
            text.to_string()
        } else {
            format!("({text})")
        }
    }

    pub fn npu_attention_call(&mut self, call: &ExprCall, shim: Shim) -> Result<(), String> {
        let args =
            named(call, shim.positional(), shim.keyword_only()).map_err(|e| e.to_string())?;
        let arg = |name: &str| args.iter().find(|(n, _)| *n == name).map(|(_, v)| *v);
        let text = |name: &str| arg(name).map(|v| self.text(v));
        let (q_name, k_name, v_name) = match shim {
            Shim::MemoryEfficient => ("query", "key", "value"),
            _ => ("q", "k", "v"),
        };
        let (Some(q), Some(k), Some(v)) = (arg(q_name), text(k_name), text(v_name)) else {
            return Err("query, key and value not all given".to_string());
        };
        if !repeatable(q) {
            return Err("a query that is not a plain name (it is needed twice)".to_string());
        }
        let q = self.text(q);
        let torch = self
            .bindings
            .local_for("torch")
            .ok_or("torch not imported by name")?
            .to_string();
        let mask = |mode: u8| {
            format!(
                ", atten_mask={torch}.triu({torch}.ones(2048, 2048, dtype={torch}.bool, \
device={q}.device), diagonal=1), sparse_mode={mode}"
            )
        };
        let (scale_name, dropout_name) = match shim {
            Shim::MemoryEfficient => ("scale", "p"),
            _ => ("softmax_scale", "dropout_p"),
        };
        let scale = text(scale_name)
            .filter(|s| *s != "None")
            .map_or_else(|| format!("{q}.shape[-1] ** -0.5"), str::to_string);
        let keep = match arg(dropout_name) {
            None => String::new(),
            Some(p) if matches!(self.text(p), "0" | "0.0" | "0.") => String::new(),
            Some(p) => format!(", keep_prob=1.0 - {}", self.operand(p)),
        };
        let sparse = match shim {
            Shim::MemoryEfficient => match arg("attn_bias") {
                None => String::new(),
                Some(bias) if self.text(bias) == "None" => String::new(),
                Some(Expr::Call(bias))
                    if bias.arguments.args.is_empty()
                        && bias.arguments.keywords.is_empty()
                        && self.qualified(&bias.func).as_deref().and_then(Shim::of)
                            == Some(Shim::LowerTriangularMask) =>
                {
                    mask(2)
                }
                Some(other) => return Err(format!("attn_bias={}", self.text(other))),
            },
            _ => {
                match text("window_size") {
                    None | Some("(-1, -1)") => {}
                    Some(w) => return Err(format!("window_size={w}")),
                }
                match text("causal") {
                    None | Some("False") => String::new(),
                    Some("True") => mask(3),
                    Some(c) => return Err(format!("causal={c} (only a literal True or False)")),
                }
            }
        };
        let layout = if shim == Shim::FlashVarlen {
            let (Some(cu_q), Some(cu_k)) = (arg("cu_seqlens_q"), arg("cu_seqlens_k")) else {
                return Err("cu_seqlens_q / cu_seqlens_k not given".to_string());
            };
            let (cu_q, cu_k) = (self.operand(cu_q), self.operand(cu_k));
            // TND takes the cumulative ends as lists, without cu_seqlens' leading 0.
            format!(
                "{q}.shape[1], input_layout=\"TND\", actual_seq_qlen={cu_q}[1:].tolist(), \
actual_seq_kvlen={cu_k}[1:].tolist()"
            )
        } else {
            format!("{q}.shape[2], input_layout=\"BSND\"")
        };
        let replacement = format!(
            "torch_npu.npu_fusion_attention({q}, {k}, {v}, {layout}, scale={scale}{keep}{sparse})[0]"
        );
        self.replace(&ATTENTION_SHIM, call, replacement);
        Ok(())
    }
}
