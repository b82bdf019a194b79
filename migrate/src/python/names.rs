//! Small questions asked of expressions: what dotted name is this, is this a CUDA device
//! string, does this look like a device index.

use ruff_python_ast::{Expr, ExprCall};
use ruff_text_size::Ranged;

/// `torch.cuda.amp.autocast` for an attribute chain of plain names; None otherwise.
pub fn dotted(expr: &Expr) -> Option<String> {
    match expr {
        Expr::Name(name) => Some(name.id.as_str().to_string()),
        Expr::Attribute(attr) => {
            let mut base = dotted(&attr.value)?;
            base.push('.');
            base.push_str(attr.attr.id.as_str());
            Some(base)
        }
        _ => None,
    }
}

/// The last segment of a call's function: `load_file` for `safetensors.torch.load_file(...)`.
pub fn callee_tail(call: &ExprCall) -> Option<&str> {
    match call.func.as_ref() {
        Expr::Name(name) => Some(name.id.as_str()),
        Expr::Attribute(attr) => Some(attr.attr.id.as_str()),
        _ => None,
    }
}

/// A device string literal: "cuda" or "cuda:N".
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CudaString {
    Bare,
    Indexed(u32),
}

/// Classifies a plain (non-concatenated) string literal whose whole value is a CUDA device.
pub fn cuda_string(expr: &Expr) -> Option<CudaString> {
    let Expr::StringLiteral(lit) = expr else {
        return None;
    };
    if lit.value.is_implicit_concatenated() {
        return None;
    }
    parse_cuda_device(lit.value.to_str())
}

pub fn parse_cuda_device(value: &str) -> Option<CudaString> {
    match value.strip_prefix("cuda")? {
        "" => Some(CudaString::Bare),
        rest => {
            let digits = rest.strip_prefix(':')?;
            if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
                return None;
            }
            digits.parse().ok().map(CudaString::Indexed)
        }
    }
}

/// A string literal equal to `value`.
pub fn is_string(expr: &Expr, value: &str) -> bool {
    matches!(expr, Expr::StringLiteral(lit) if !lit.value.is_implicit_concatenated() && lit.value.to_str() == value)
}

/// `f"cuda:{expr}"` written as one f-string with one interpolation: the expression's source.
pub fn cuda_fstring_index<'s>(expr: &Expr, source: &'s str) -> Option<&'s str> {
    let Expr::FString(_) = expr else { return None };
    let text = &source[expr.range().start().to_usize()..expr.range().end().to_usize()];
    let rest = text.strip_prefix(['f', 'F'])?;
    let quote = rest.chars().next().filter(|c| *c == '"' || *c == '\'')?;
    let inner = rest.strip_prefix(quote)?.strip_suffix(quote)?;
    let index = inner.strip_prefix("cuda:{")?.strip_suffix('}')?;
    let plain = !index.is_empty() && !index.contains(['{', '}', '!', ':', '"', '\'']);
    plain.then_some(index.trim())
}

/// Names that hold a device index in practice: `local_rank`, `args.gpu`, `self.device_id`.
pub fn looks_like_device_index(expr: &Expr) -> bool {
    let name = match expr {
        Expr::Name(name) => name.id.as_str(),
        Expr::Attribute(attr) => attr.attr.id.as_str(),
        Expr::NumberLiteral(num) => return matches!(num.value, ruff_python_ast::Number::Int(_)),
        _ => return false,
    };
    matches!(
        name.to_ascii_lowercase().as_str(),
        "local_rank"
            | "rank"
            | "gpu"
            | "gpu_id"
            | "gpu_idx"
            | "gpu_index"
            | "local_gpu"
            | "device_id"
            | "device_idx"
            | "device_index"
            | "cuda_device"
    )
}

/// `torch.float64` / `torch.double`.
pub fn is_float64(expr: &Expr) -> bool {
    matches!(
        dotted(expr).as_deref(),
        Some("torch.float64" | "torch.double")
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cuda_device_strings_are_exact() {
        assert_eq!(parse_cuda_device("cuda"), Some(CudaString::Bare));
        assert_eq!(parse_cuda_device("cuda:3"), Some(CudaString::Indexed(3)));
        for not_a_device in [
            "cuda:",
            "cuda:x",
            "cudas",
            "CUDA",
            "/opt/cuda",
            "cuda:1:2",
            " cuda",
        ] {
            assert_eq!(parse_cuda_device(not_a_device), None, "{not_a_device}");
        }
    }
}
