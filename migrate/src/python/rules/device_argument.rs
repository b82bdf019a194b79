//! "cuda" / "cuda:N" in a device position becomes the selected device: call arguments,
//! `torch.device(...)`, the `"cuda" if torch.cuda.is_available() else "cpu"` idiom,
//! parameter defaults, `--device` flags, assignments and dict keys named like a device.
//! The same text anywhere else is only reported (PY113), because it may not be a device.

use super::checker::{Checker, span};
use crate::code::{Code, Entry, Kind, Severity};
use crate::options::Style;
use crate::python::names::{CudaString, cuda_fstring_index, cuda_string, is_string};
use ruff_python_ast::{Arguments, Expr, ExprCall, ExprDict, ExprIf, Operator, StmtFunctionDef};
use ruff_text_size::Ranged;

pub(crate) static DEVICE_ARGUMENT: Entry = Entry {
    code: Code::PY001,
    name: "device-argument",
    kind: Kind::Rewrite,
    severity: Severity::Info,
    summary: "\"cuda\" / \"cuda:N\" used as a device becomes the helper's device",
    explanation: "`.to(\"cuda\")`, `device=\"cuda\"`, `torch.device(\"cuda:1\")`, `map_location=\"cuda\"`, \
`\"cuda\" if torch.cuda.is_available() else \"cpu\"`, `--device` argparse defaults and \
assignments to names containing `device` pin the program to NVIDIA GPUs. Only strings in \
those device positions are rewritten; the same text in comments, docstrings, log messages \
or paths is left alone.",
    fix: "Portable style: `device_utils.DEVICE`, or `device_utils.device(N)` when an index is \
given. NPU style: the string becomes \"npu\" / \"npu:N\".",
    guide: "`\"cuda\"` / `\"cuda:N\"` / `f\"cuda:{i}\"` as a device: `.to()`, `device=`, \
`map_location=`, `location=`, `device_map=`, `torch.device(...)`, the `\"cuda\" if torch.cuda.is_available() \
else \"cpu\"` idiom, `--device` argparse defaults, `device` parameters, assignments and dict \
keys -> `device_utils.DEVICE` / `device_utils.device(N)` (`\"npu\"`, `\"npu:N\"`)",
    severities: None,
};

pub(crate) static UNHANDLED_CUDA_STRING: Entry = Entry {
    code: Code::PY113,
    name: "unhandled-cuda-string",
    kind: Kind::Diagnostic,
    severity: Severity::Warning,
    summary: "A string that is exactly \"cuda\" / \"cuda:N\" in a position the tool does not rewrite",
    explanation: "The string may be a device, a config value or a dictionary key; the tool cannot be sure, \
so it leaves it and says where it is.",
    fix: "If it is a device, replace it with `device_utils.DEVICE` (or \"npu\").",
    guide: "if the string is a device, use `device_utils.DEVICE`",
    severities: None,
};

impl Checker<'_> {
    /// The replacement for an expression used as a device, when it is a CUDA device.
    pub(super) fn device_replacement(&mut self, expr: &Expr) -> Option<String> {
        if let Some(kind) = cuda_string(expr) {
            self.handled.insert(expr.start().to_usize());
            return Some(match (self.opts.style, kind) {
                (Style::Npu, _) => self.text(expr).replacen("cuda", "npu", 1),
                (Style::Portable, CudaString::Bare) => self.opts.device(),
                (Style::Portable, CudaString::Indexed(n)) => {
                    self.opts.device_with_index(&n.to_string())
                }
            });
        }
        if let Some(index) = cuda_fstring_index(expr, &self.src.body) {
            return Some(match self.opts.style {
                Style::Npu => self.text(expr).replacen("cuda:", "npu:", 1),
                Style::Portable => self.opts.device_with_index(index),
            });
        }
        // "cuda:" + str(i), "cuda:%d" % i, "cuda:{}".format(i): the helper's device() takes
        // the index as an int or a numeric string.
        if self.opts.style == Style::Portable
            && let Some((literal, index)) = built_cuda_string(expr)
        {
            self.handled.insert(literal.start().to_usize());
            return Some(self.opts.device_with_index(self.text(index)));
        }
        None
    }

    /// Rewrites `expr` in place under `entry`'s code when it is a CUDA device.
    pub fn rewrite_device(&mut self, entry: &Entry, expr: &Expr) -> bool {
        match self.device_replacement(expr) {
            Some(replacement) => {
                self.replace(entry, expr, replacement);
                true
            }
            None => false,
        }
    }

    /// `torch.device("cuda", i)` and `torch.device("cuda:1")`.
    pub fn torch_device(&mut self, args: &Arguments) {
        match (args.args.first(), args.args.get(1)) {
            (Some(first), Some(index)) if cuda_string(first) == Some(CudaString::Bare) => {
                self.handled.insert(first.start().to_usize());
                let replacement = self.opts.device_with_index(self.text(index));
                self.replace_span(
                    &DEVICE_ARGUMENT,
                    first.start().to_usize(),
                    index.end().to_usize(),
                    replacement,
                );
            }
            (Some(first), _) => {
                self.rewrite_device(&DEVICE_ARGUMENT, first);
            }
            _ => {}
        }
    }

    /// `x.to("cuda", ...)`, `x.to(0)`, `x.to(local_rank)`.
    pub fn dot_to_call(&mut self, call: &ExprCall) {
        let Some(first) = call.arguments.args.first() else {
            return;
        };
        if self.rewrite_device(&DEVICE_ARGUMENT, first) {
            return;
        }
        self.integer_device_index(first);
        self.float64_conversion(call);
    }

    /// `"cuda" if torch.cuda.is_available() else "cpu"`: the whole idiom becomes the
    /// helper's device in portable style, only the string in NPU style.
    pub fn cuda_ternary(&mut self, expr: &Expr, ternary: &ExprIf) {
        if !self.is_cuda_ternary(ternary) {
            return;
        }
        self.handled.insert(ternary.body.start().to_usize());
        let (s, e, replacement) = match (self.opts.style, cuda_string(&ternary.body)) {
            (Style::Portable, Some(CudaString::Indexed(n))) => {
                let (s, e) = span(expr);
                (s, e, self.opts.device_with_index(&n.to_string()))
            }
            (Style::Portable, _) => {
                let (s, e) = span(expr);
                (s, e, self.opts.device())
            }
            (Style::Npu, _) => {
                let (s, e) = span(ternary.body.as_ref());
                (
                    s,
                    e,
                    self.text(ternary.body.as_ref()).replacen("cuda", "npu", 1),
                )
            }
        };
        self.replace_span(&DEVICE_ARGUMENT, s, e, replacement);
    }

    /// `{"device": "cuda"}`: values of keys that name a device.
    pub fn device_dict_values(&mut self, dict: &ExprDict) {
        for item in &dict.items {
            if let Some(Expr::StringLiteral(key)) = &item.key
                && key.value.to_str().to_ascii_lowercase().contains("device")
            {
                self.rewrite_device(&DEVICE_ARGUMENT, &item.value);
            }
        }
    }

    /// `device = "cuda"`, `self.device = "cuda:0"`: assignments to names containing device.
    pub fn device_named_target(&mut self, target: &Expr, value: &Expr) {
        let name = match target {
            Expr::Name(n) => Some(n.id.as_str()),
            Expr::Attribute(a) => Some(a.attr.id.as_str()),
            _ => None,
        };
        if name.is_some_and(|n| n.to_ascii_lowercase().contains("device")) {
            self.rewrite_device(&DEVICE_ARGUMENT, value);
        }
    }

    /// `def run(x, device="cuda")`: defaults of parameters named like a device.
    pub fn device_parameter_defaults(&mut self, def: &StmtFunctionDef) {
        let params = &def.parameters;
        for param in params
            .posonlyargs
            .iter()
            .chain(&params.args)
            .chain(&params.kwonlyargs)
        {
            if let Some(default) = &param.default
                && param
                    .parameter
                    .name
                    .id
                    .as_str()
                    .to_ascii_lowercase()
                    .contains("device")
            {
                self.rewrite_device(&DEVICE_ARGUMENT, default);
            }
            // `def init_dist(launcher, backend="nccl")`.
            if let Some(default) = &param.default
                && param.parameter.name.id.as_str() == "backend"
            {
                self.rewrite_backend(default);
            }
        }
    }

    /// `parser.add_argument("--device", default="cuda")`.
    pub fn argparse_default(&mut self, call: &ExprCall) {
        let is_device_flag = call.arguments.args.iter().any(|a| {
            matches!(a, Expr::StringLiteral(s) if s.value.to_str().trim_start_matches('-').contains("device"))
        });
        if !is_device_flag {
            return;
        }
        for kw in &call.arguments.keywords {
            if kw.arg.as_ref().is_some_and(|a| a.id.as_str() == "default") {
                self.rewrite_device(&DEVICE_ARGUMENT, &kw.value);
            }
        }
    }

    /// A "cuda" / "cuda:N" literal no rule dealt with: reported, never guessed at.
    pub fn leftover_cuda_string(&mut self, expr: &Expr) {
        let device_like = cuda_string(expr).is_some()
            || matches!(expr, Expr::StringLiteral(s) if s.value.to_str().starts_with("cuda:"));
        if device_like && !self.handled.contains(&expr.start().to_usize()) {
            let text = self.text(expr);
            self.diag(
                &UNHANDLED_CUDA_STRING,
                expr.range(),
                format!("{text} is left unchanged"),
            );
        }
    }
}

impl Checker<'_> {
    /// `"cuda" if torch.cuda.is_available() else "cpu"`, with torch under any import name.
    fn is_cuda_ternary(&self, ternary: &ExprIf) -> bool {
        cuda_string(&ternary.body).is_some()
            && is_string(&ternary.orelse, "cpu")
            && matches!(ternary.test.as_ref(), Expr::Call(call) if call.arguments.is_empty()
                && self.qualified(&call.func).as_deref() == Some("torch.cuda.is_available"))
    }
}

/// `"cuda:" + i`, `"cuda:%d" % i`, `"cuda:{}".format(i)`: the literal and the index expression.
fn built_cuda_string(expr: &Expr) -> Option<(&Expr, &Expr)> {
    let literal_is = |e: &Expr, values: &[&str]| {
        matches!(e, Expr::StringLiteral(s) if !s.value.is_implicit_concatenated()
            && values.contains(&s.value.to_str()))
    };
    match expr {
        Expr::BinOp(op) if op.op == Operator::Add && literal_is(&op.left, &["cuda:"]) => {
            Some((op.left.as_ref(), op.right.as_ref()))
        }
        Expr::BinOp(op)
            if op.op == Operator::Mod
                && literal_is(&op.left, &["cuda:%d", "cuda:%s", "cuda:%i"])
                && !matches!(op.right.as_ref(), Expr::Tuple(_)) =>
        {
            Some((op.left.as_ref(), op.right.as_ref()))
        }
        Expr::Call(call)
            if call.arguments.args.len() == 1
                && call.arguments.keywords.is_empty()
                && matches!(call.func.as_ref(), Expr::Attribute(a)
                    if a.attr.id.as_str() == "format" && literal_is(&a.value, &["cuda:{}", "cuda:{0}"])) =>
        {
            let Expr::Attribute(a) = call.func.as_ref() else {
                return None;
            };
            Some((a.value.as_ref(), call.arguments.args.first()?))
        }
        _ => None,
    }
}
