//! The Python rules: one walk over the syntax tree collects every fix and diagnostic.
//!
//! Each rule looks at a node in a device position (a call's device argument, a `.cuda()`
//! call, a `torch.cuda` attribute ...) and never at free text, which is why comments,
//! docstrings, log messages and paths are safe.

use super::names::{
    CudaString, callee_tail, cuda_fstring_index, cuda_string, dotted, dotted_if_relevant,
    is_float64, is_string, looks_like_device_index,
};
use crate::catalog::Severity;
use crate::diagnostic::Diagnostic;
use crate::edit::{Edit, Fix};
use crate::options::{RuleOptions, Style};
use crate::text::SourceText;
use ruff_python_ast::visitor::{self, Visitor};
use ruff_python_ast::{
    Alias, Arguments, CmpOp, Decorator, ExceptHandler, Expr, ExprAttribute, ExprCall, Keyword,
    Stmt, StmtTry,
};
use ruff_text_size::{Ranged, TextRange};
use std::collections::{HashMap, HashSet};

/// `torch.cuda` functions with the same meaning on `torch.npu` (and a CPU stand-in).
const PORTABLE_CUDA_FUNCTIONS: &[&str] = &[
    "is_available",
    "device_count",
    "set_device",
    "current_device",
    "synchronize",
    "empty_cache",
    "manual_seed",
    "manual_seed_all",
    "seed",
    "seed_all",
    "memory_summary",
    "memory_stats",
    "memory_allocated",
    "memory_reserved",
    "max_memory_allocated",
    "max_memory_reserved",
    "reset_peak_memory_stats",
    "reset_max_memory_allocated",
    "mem_get_info",
    "Stream",
    "Event",
    "current_stream",
    "default_stream",
    "stream",
    "get_rng_state",
    "set_rng_state",
    "get_rng_state_all",
    "set_rng_state_all",
    "is_bf16_supported",
    "device",
    "get_device_name",
    "init",
    "is_initialized",
];

const CAPABILITY_FUNCTIONS: &[&str] = &[
    "get_device_capability",
    "get_device_properties",
    "get_arch_list",
];

const AMP_NAMES: &[&str] = &["autocast", "GradScaler", "custom_fwd", "custom_bwd"];

const FLASH_ATTN_REPLACEMENT: &str = "on NPU use torch_npu.npu_fusion_attention(q, k, v, \
q.shape[2], input_layout=\"BSND\", scale=q.shape[-1] ** -0.5)[0]; everywhere else \
torch.nn.functional.scaled_dot_product_attention on (batch, heads, seq, dim) tensors";

pub struct Findings {
    pub fixes: Vec<Fix>,
    pub diagnostics: Vec<Diagnostic>,
}

pub fn collect(body: &[Stmt], source: &SourceText, options: &RuleOptions) -> Findings {
    let mut collector = Collector {
        src: source,
        opts: options,
        fixes: Vec::new(),
        diagnostics: Vec::new(),
        handled: HashSet::new(),
        amp_aliases: HashMap::new(),
        flash_names: HashSet::new(),
        guarded_depth: 0,

        noted_lines: HashSet::new(),
        bf16_uses: Vec::new(),
    };
    collector.visit_body(body);
    if let Some(first) = collector.bf16_uses.first().copied() {
        let n = collector.bf16_uses.len();
        let helper = &options.helper;
        collector
            .diag(
                "PY114",
                first,
                format!("torch.bfloat16 is hard-coded {n} time(s) in this file"),
            )
            .set_fix(format!(
                "Ascend 910A and 310P have no bf16: use `{helper}.DTYPE` (the device's best dtype, \
PREFERRED_DTYPE to override) where bf16 is a speed choice rather than a requirement."
            ));
    }
    Findings {
        fixes: collector.fixes,
        diagnostics: collector.diagnostics,
    }
}

struct Collector<'s> {
    src: &'s SourceText,
    opts: &'s RuleOptions,
    fixes: Vec<Fix>,
    diagnostics: Vec<Diagnostic>,
    /// Start offsets of string literals a rule already dealt with (no PY113 for them).
    handled: HashSet<usize>,
    /// Local name -> torch.cuda.amp name, from `from torch.cuda.amp import X as Y`.
    amp_aliases: HashMap<String, &'static str>,
    /// Names bound by `from flash_attn... import name`.
    flash_names: HashSet<String>,
    /// > 0 inside the body of a `try` whose handlers catch import failures.
    guarded_depth: usize,
    /// (code, line) pairs already reported, so one line gets one note per code.
    noted_lines: HashSet<(&'static str, usize)>,
    /// Where torch.bfloat16 appears, reported once per file (PY114).
    bf16_uses: Vec<TextRange>,
}

fn span(node: &impl Ranged) -> (usize, usize) {
    (node.start().to_usize(), node.end().to_usize())
}

impl<'s> Collector<'s> {
    fn text(&self, node: &impl Ranged) -> &'s str {
        let (s, e) = span(node);
        &self.src.body[s..e]
    }

    fn fix(&mut self, fix: Fix) {
        self.fixes.push(fix);
    }

    fn diag(
        &mut self,
        code: &'static str,
        at: TextRange,
        message: impl Into<String>,
    ) -> &mut Diagnostic {
        let offset = at.start().to_usize();
        let d = Diagnostic::new(
            code,
            self.src.line_of(offset),
            self.src.column_of(offset),
            message,
        );
        self.diagnostics.push(d);
        self.diagnostics.last_mut().expect("just pushed")
    }

    /// A diagnostic reported at most once per line and code.
    fn note_once(&mut self, code: &'static str, at: TextRange, message: impl Into<String>) {
        let line = self.src.line_of(at.start().to_usize());
        if self.noted_lines.insert((code, line)) {
            self.diag(code, at, message);
        }
    }

    // ---- device values ---------------------------------------------------------------

    /// The replacement for an expression used as a device, when it is a CUDA device.
    fn device_replacement(&mut self, expr: &Expr) -> Option<String> {
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
        None
    }

    /// Rewrites `expr` in place when it is a CUDA device.
    fn rewrite_device(&mut self, code: &'static str, expr: &Expr) -> bool {
        match self.device_replacement(expr) {
            Some(replacement) => {
                let (s, e) = span(expr);
                self.fix(Fix::single(code, s, e, replacement));
                true
            }
            None => false,
        }
    }

    fn rewrite_device_type(&mut self, expr: &Expr) {
        if cuda_string(expr) == Some(CudaString::Bare) {
            self.handled.insert(expr.start().to_usize());
            let (s, e) = span(expr);
            let replacement = match self.opts.style {
                Style::Npu => self.text(expr).replacen("cuda", "npu", 1),
                Style::Portable => self.opts.device_type(),
            };
            self.fix(Fix::single("PY006", s, e, replacement));
        }
    }

    fn rewrite_backend(&mut self, expr: &Expr) {
        if is_string(expr, "nccl") {
            let (s, e) = span(expr);
            self.fix(Fix::single("PY007", s, e, self.opts.dist_backend()));
        }
    }

    // ---- calls -----------------------------------------------------------------------

    fn visit_call(&mut self, call: &ExprCall) {
        let name = dotted_if_relevant(&call.func);
        let tail = callee_tail(call).unwrap_or_default();
        let args = &call.arguments;

        if self.generator(call, name.as_deref()) || self.amp_call(call, name.as_deref()) {
            return self.keywords(call, tail);
        }
        match (name.as_deref(), tail) {
            (Some("torch.device"), _) => self.torch_device(args),
            (Some("torch.autocast" | "torch.amp.autocast" | "torch.amp.GradScaler"), _) => {
                if let Some(first) = args.args.first() {
                    self.rewrite_device_type(first);
                }
            }
            (_, "init_process_group" | "new_group") => {
                if let Some(first) = args.args.first() {
                    self.rewrite_backend(first);
                }
            }
            (_, "to") if matches!(call.func.as_ref(), Expr::Attribute(_)) => self.dot_to_call(call),
            (_, "cuda") => self.cuda_method(call),
            (_, "add_argument") => self.argparse_default(call),
            (_, "enable_xformers_memory_efficient_attention") => {
                self.diag(
                    "PY102",
                    call.range(),
                    "enable_xformers_memory_efficient_attention() raises on an NPU host",
                );
            }
            (_, "DataParallel") => {
                self.diag(
                    "PY109",
                    call.range(),
                    "torch.nn.DataParallel is not supported by torch_npu",
                );
            }
            (_, "CUDAExtension" | "BuildExtension") => {
                self.diag(
                    "PY105",
                    call.range(),
                    format!("{tail} builds CUDA code with nvcc"),
                );
            }
            (_, "load" | "load_inline")
                if name.as_deref().is_some_and(|n| n.contains("cpp_extension"))
                    || self.has_cu_source(args) =>
            {
                self.diag(
                    "PY105",
                    call.range(),
                    "a torch extension built from CUDA sources",
                );
            }
            (_, "is_nccl_available") => {
                self.diag(
                    "PY111",
                    call.range(),
                    "is_nccl_available() is False on NPU hosts",
                );
            }
            (Some("torch.compile" | "torch.jit.script"), _) => {
                let n = name.clone().unwrap_or_default();
                self.diag(
                    "PY104",
                    call.range(),
                    format!("{n}: check it on NPU (torchair) or keep an eager fallback"),
                );
            }
            _ => {}
        }
        if self.is_flash_call(call, name.as_deref()) {
            self.diag(
                "PY101",
                call.range(),
                format!("call of flash-attn's {tail}"),
            )
            .set_severity(Severity::Warning)
            .set_fix(format!("Replace it: {FLASH_ATTN_REPLACEMENT}."));
        }
        if name.as_deref().is_some_and(|n| n.starts_with("xformers.")) {
            self.diag(
                "PY102",
                call.range(),
                format!("call of {}", name.clone().unwrap_or_default()),
            )
            .set_fix("Use torch.nn.functional.scaled_dot_product_attention.");
        }
        self.keywords(call, tail);
        self.float64_on_device(call);
    }

    /// Device-like keyword arguments of any call.
    fn keywords(&mut self, call: &ExprCall, tail: &str) {
        let safetensors = matches!(tail, "load_file" | "safe_open" | "load_model" | "load");
        for kw in &call.arguments.keywords {
            let Some(arg) = kw.arg.as_ref().map(|a| a.id.as_str()) else {
                continue;
            };
            match arg {
                "device" | "map_location" | "device_map" => {
                    let code = if safetensors && arg == "device" {
                        "PY008"
                    } else {
                        "PY001"
                    };
                    self.rewrite_device(code, &kw.value);
                }
                "device_type" => self.rewrite_device_type(&kw.value),
                "backend" => self.rewrite_backend(&kw.value),
                _ => {}
            }
        }
    }

    fn torch_device(&mut self, args: &Arguments) {
        match (args.args.first(), args.args.get(1)) {
            (Some(first), Some(index)) if cuda_string(first) == Some(CudaString::Bare) => {
                self.handled.insert(first.start().to_usize());
                let replacement = self.opts.device_with_index(self.text(index));
                self.fix(Fix::single(
                    "PY001",
                    first.start().to_usize(),
                    index.end().to_usize(),
                    replacement,
                ));
            }
            (Some(first), _) => {
                self.rewrite_device("PY001", first);
            }
            _ => {}
        }
    }

    /// `x.to("cuda", ...)`, `x.to(0)`, `x.to(local_rank)`.
    fn dot_to_call(&mut self, call: &ExprCall) {
        let Some(first) = call.arguments.args.first() else {
            return;
        };
        if self.rewrite_device("PY001", first) {
            return;
        }
        if looks_like_device_index(first) {
            let replacement = self.opts.device_with_index(self.text(first));
            let (s, e) = span(first);
            self.fix(Fix::single("PY009", s, e, replacement));
        }
        if is_float64(first) || call.arguments.args.get(1).is_some_and(is_float64) {
            self.diag("PY106", call.range(), "a tensor converted to float64");
        }
    }

    /// `.cuda()`, `.cuda(i)`, `.cuda(non_blocking=True)` on tensors and modules.
    fn cuda_method(&mut self, call: &ExprCall) {
        let Expr::Attribute(attr) = call.func.as_ref() else {
            return;
        };
        // torch.cuda(...) is not a method call on a tensor; neither is any module's .cuda.
        if matches!(dotted(&attr.value).as_deref(), Some("torch")) {
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
            return self.fix(Fix::single("PY002", name_start, name_end, "npu"));
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
        self.fix(Fix::new("PY002", edits));
    }

    /// `torch.Generator("cuda")` and `torch.Generator("cuda").manual_seed(s)`.
    fn generator(&mut self, call: &ExprCall, name: Option<&str>) -> bool {
        // The outer `.manual_seed(s)` call is matched first so the whole chain is replaced.
        if let Expr::Attribute(attr) = call.func.as_ref()
            && attr.attr.id.as_str() == "manual_seed"
            && let Expr::Call(inner) = attr.value.as_ref()
            && dotted(&inner.func).as_deref() == Some("torch.Generator")
            && self.opts.style == Style::Portable
            && call.arguments.args.len() == 1
            && call.arguments.keywords.is_empty()
            && let Some(device) = generator_device(inner)
            && cuda_string(device).is_some()
        {
            self.handled.insert(device.start().to_usize());
            let seed = self.text(&call.arguments.args[0]);
            let (s, e) = span(call);
            self.fix(Fix::single(
                "PY003",
                s,
                e,
                format!("{}.generator({seed})", self.opts.helper),
            ));
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
        match self.opts.style {
            Style::Npu => {
                let (s, e) = span(device);
                let replacement = self.text(device).replacen("cuda", "npu", 1);
                self.fix(Fix::single("PY003", s, e, replacement));
            }
            Style::Portable if call.arguments.args.len() + call.arguments.keywords.len() == 1 => {
                let (s, e) = span(call);
                self.fix(Fix::single(
                    "PY003",
                    s,
                    e,
                    format!("{}.generator()", self.opts.helper),
                ));
            }
            Style::Portable => {
                self.rewrite_device("PY003", device);
            }
        }
        true
    }

    // ---- torch.cuda.amp ----------------------------------------------------------------

    /// Which torch.cuda.amp name a call's function refers to, if any.
    fn amp_target(&self, func: &Expr, name: Option<&str>) -> Option<&'static str> {
        if let Some(rest) = name.and_then(|n| n.strip_prefix("torch.cuda.amp.")) {
            return AMP_NAMES.iter().copied().find(|n| *n == rest);
        }
        match func {
            Expr::Name(n) => self.amp_aliases.get(n.id.as_str()).copied(),
            _ => None,
        }
    }

    fn amp_call(&mut self, call: &ExprCall, name: Option<&str>) -> bool {
        let Some(target) = self.amp_target(&call.func, name) else {
            return false;
        };
        let mut edits = Vec::new();
        if let Some(n) = name.filter(|n| n.starts_with("torch.cuda.amp.")) {
            let (s, e) = span(call.func.as_ref());
            edits.push(Edit::replace(
                s,
                e,
                n.replacen("torch.cuda.amp.", "torch.amp.", 1),
            ));
        }
        let args = &call.arguments;
        let open = args.start().to_usize() + 1;
        let device_type = self.opts.device_type();
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
        self.fix(Fix::new("PY005", edits));
        true
    }

    /// `@torch.cuda.amp.custom_fwd` / `@custom_fwd` written without a call.
    fn amp_decorator(&mut self, decorator: &Decorator) {
        let expr = &decorator.expression;
        if matches!(expr, Expr::Call(_)) {
            return;
        }
        let name = dotted(expr);
        let Some(target) = self.amp_target(expr, name.as_deref()) else {
            return;
        };
        if !matches!(target, "custom_fwd" | "custom_bwd") {
            return;
        }
        let base = match name.as_deref() {
            Some(n) if n.starts_with("torch.cuda.amp.") => {
                n.replacen("torch.cuda.amp.", "torch.amp.", 1)
            }
            _ => self.text(expr).to_string(),
        };
        let (s, e) = span(expr);
        self.fix(Fix::single(
            "PY005",
            s,
            e,
            format!("{base}(device_type={})", self.opts.device_type()),
        ));
    }

    fn argparse_default(&mut self, call: &ExprCall) {
        let is_device_flag = call.arguments.args.iter().any(|a| {
            matches!(a, Expr::StringLiteral(s) if s.value.to_str().trim_start_matches('-').contains("device"))
        });
        if !is_device_flag {
            return;
        }
        for kw in &call.arguments.keywords {
            if kw.arg.as_ref().is_some_and(|a| a.id.as_str() == "default") {
                self.rewrite_device("PY001", &kw.value);
            }
        }
    }

    fn float64_on_device(&mut self, call: &ExprCall) {
        let kw = |name: &str| {
            call.arguments
                .keywords
                .iter()
                .find(|k| k.arg.as_ref().is_some_and(|a| a.id.as_str() == name))
        };
        let (Some(dtype), Some(device)) = (kw("dtype"), kw("device")) else {
            return;
        };
        if is_float64(&dtype.value) && !is_string(&device.value, "cpu") {
            self.diag(
                "PY106",
                call.range(),
                format!(
                    "{} creates a float64 tensor on the accelerator",
                    self.text(call.func.as_ref())
                ),
            );
        }
    }

    fn has_cu_source(&self, args: &Arguments) -> bool {
        args.keywords
            .iter()
            .filter(|k| k.arg.as_ref().is_some_and(|a| a.id.as_str() == "sources"))
            .any(|k| {
                let text = self.text(&k.value);
                text.contains(".cu\"") || text.contains(".cu'")
            })
    }

    fn is_flash_call(&self, call: &ExprCall, name: Option<&str>) -> bool {
        match call.func.as_ref() {
            Expr::Name(n) => self.flash_names.contains(n.id.as_str()),
            _ => name.is_some_and(|n| n.starts_with("flash_attn.")),
        }
    }

    // ---- attributes --------------------------------------------------------------------

    fn visit_attribute(&mut self, attr: &ExprAttribute) {
        let value = dotted_if_relevant(&attr.value);
        let member = attr.attr.id.as_str();
        if value.as_deref() == Some("torch") && member == "bfloat16" {
            self.bf16_uses.push(attr.range());
        }
        match value.as_deref() {
            Some("torch.cuda") => self.torch_cuda_member(attr, member),
            Some("torch.backends.cuda" | "torch.backends.cuda.matmul") => {
                if member.contains("sdp") || member == "preferred_linalg_library" {
                    self.diag(
                        "PY110",
                        attr.range(),
                        format!("torch.backends.cuda.{member} has no NPU equivalent"),
                    );
                } else if member == "allow_tf32"
                    || member == "allow_fp16_reduced_precision_reduction"
                    || member == "allow_bf16_reduced_precision_reduction"
                {
                    self.note_once(
                        "PY112",
                        attr.range(),
                        format!("{} is kept and has no effect on NPU", self.text(attr)),
                    );
                }
            }
            Some("torch.backends.cudnn")
                if matches!(member, "allow_tf32" | "benchmark" | "deterministic") =>
            {
                self.note_once(
                    "PY112",
                    attr.range(),
                    format!("{} is kept and has no effect on NPU", self.text(attr)),
                );
            }
            _ => {}
        }
        if member == "is_cuda" {
            self.diag(
                "PY108",
                attr.range(),
                format!("{} is False for NPU tensors", self.text(attr)),
            );
        }
    }

    fn torch_cuda_member(&mut self, attr: &ExprAttribute, member: &str) {
        if member == "amp" {
            return; // handled where the amp name is used
        }
        if PORTABLE_CUDA_FUNCTIONS.contains(&member) {
            let (s, e) = span(attr.value.as_ref());
            self.fix(Fix::single("PY004", s, e, self.opts.device_module()));
        } else if CAPABILITY_FUNCTIONS.contains(&member) {
            self.diag(
                "PY107",
                attr.range(),
                format!("torch.cuda.{member} has no NPU meaning"),
            );
        } else {
            self.diag(
                "PY110",
                attr.range(),
                format!("torch.cuda.{member} has no NPU equivalent"),
            );
        }
    }

    // ---- statements --------------------------------------------------------------------

    fn visit_import(&mut self, stmt: &Stmt, aliases: &[Alias], module: Option<&str>) {
        let guarded = self.guarded_depth > 0;
        let modules: Vec<String> = match module {
            Some(m) => vec![m.to_string()],
            None => aliases
                .iter()
                .map(|a| a.name.id.as_str().to_string())
                .collect(),
        };
        for m in &modules {
            let root = m.split('.').next().unwrap_or_default();
            match root {
                "flash_attn" if !guarded => {
                    self.diag("PY101", stmt.range(), format!("unguarded import of {m} fails on NPU hosts"))
                        .set_fix(format!("Guard it with try/except ImportError and a fallback; {FLASH_ATTN_REPLACEMENT}."));
                }
                "xformers" => {
                    let severity = if guarded {
                        Severity::Info
                    } else {
                        Severity::Error
                    };
                    self.diag("PY102", stmt.range(), format!("import of {m}"))
                        .set_severity(severity)
                        .set_fix("Remove the import, or guard it with try/except ImportError; use torch.nn.functional.scaled_dot_product_attention instead.");
                }
                "apex" | "amp_C" | "bitsandbytes" => {
                    self.diag("PY103", stmt.range(), format!("import of {m}"));
                }
                "triton" => {
                    self.diag("PY104", stmt.range(), format!("import of {m}"));
                }
                _ => {}
            }
        }
        if let Some(m) = module {
            if m.starts_with("flash_attn") {
                for a in aliases {
                    let bound = a.asname.as_ref().unwrap_or(&a.name);
                    self.flash_names.insert(bound.id.as_str().to_string());
                }
            }
            if m == "torch.cuda.amp"
                && let Stmt::ImportFrom(from) = stmt
                && let Some(module_id) = &from.module
            {
                for a in aliases {
                    if let Some(original) =
                        AMP_NAMES.iter().copied().find(|n| *n == a.name.id.as_str())
                    {
                        let bound = a.asname.as_ref().unwrap_or(&a.name);
                        self.amp_aliases
                            .insert(bound.id.as_str().to_string(), original);
                    }
                }
                let (s, e) = span(module_id);
                self.fix(Fix::single("PY005", s, e, "torch.amp"));
            }
        }
    }

    fn visit_try(&mut self, stmt: &StmtTry) {
        let catches_import_errors = stmt.handlers.iter().any(|h| {
            let ExceptHandler::ExceptHandler(handler) = h;
            match handler.type_.as_deref() {
                None => true,
                Some(t) => {
                    self.text(t).contains("ImportError")
                        || self.text(t).contains("ModuleNotFoundError")
                        || self.text(t) == "Exception"
                }
            }
        });
        if catches_import_errors {
            self.guarded_depth += 1;
            self.visit_body(&stmt.body);
            self.guarded_depth -= 1;
        } else {
            self.visit_body(&stmt.body);
        }
        for handler in &stmt.handlers {
            self.visit_except_handler(handler);
        }
        self.visit_body(&stmt.orelse);
        self.visit_body(&stmt.finalbody);
    }

    fn visit_assign(&mut self, targets: &[Expr], value: &Expr, stmt: &Stmt) {
        for target in targets {
            if let Expr::Subscript(sub) = target
                && dotted(&sub.value).as_deref() == Some("os.environ")
            {
                self.environ_assignment(&sub.slice, value, stmt);
            }
            let name = match target {
                Expr::Name(n) => Some(n.id.as_str()),
                Expr::Attribute(a) => Some(a.attr.id.as_str()),
                _ => None,
            };
            if name.is_some_and(|n| n.to_ascii_lowercase().contains("device")) {
                self.rewrite_device("PY001", value);
            }
        }
    }

    fn environ_assignment(&mut self, key: &Expr, value: &Expr, stmt: &Stmt) {
        if is_string(key, "CUDA_VISIBLE_DEVICES") {
            if let Expr::StringLiteral(v) = value {
                lint_visible_devices(v.value.to_str(), |msg| {
                    self.diag("SH101", value.range(), msg);
                });
            }
            // Checked only here: most files never assign CUDA_VISIBLE_DEVICES.
            if self.src.body.contains("ASCEND_RT_VISIBLE_DEVICES") {
                return;
            }
            match self.opts.style {
                Style::Npu => {
                    let (s, e) = span(key);
                    let replacement = self.text(key).replacen(
                        "CUDA_VISIBLE_DEVICES",
                        "ASCEND_RT_VISIBLE_DEVICES",
                        1,
                    );
                    self.fix(Fix::single("PY010", s, e, replacement));
                }
                Style::Portable => {
                    let (_, stmt_end) = span(stmt);
                    let (line_start, end) = self.src.line_span(stmt.start().to_usize(), stmt_end);
                    let indent: String = self.src.body[line_start..]
                        .chars()
                        .take_while(|c| *c == ' ' || *c == '\t')
                        .collect();
                    let quote = if self.text(key).starts_with('\'') {
                        "'"
                    } else {
                        "\""
                    };
                    let line = format!(
                        "{nl}{indent}os.environ[{q}ASCEND_RT_VISIBLE_DEVICES{q}] = os.environ[{q}CUDA_VISIBLE_DEVICES{q}]",
                        nl = self.src.newline,
                        q = quote
                    );
                    self.fix(Fix::new("PY010", vec![Edit::insert(end, line)]));
                }
            }
        } else if let Expr::StringLiteral(k) = key
            && k.value.to_str().starts_with("NCCL_")
        {
            self.diag(
                "PY111",
                key.range(),
                format!("{} does not configure HCCL", k.value.to_str()),
            );
        }
    }

    fn visit_compare(
        &mut self,
        left: &Expr,
        ops: &[CmpOp],
        comparators: &[Expr],
        whole: TextRange,
    ) {
        let operands: Vec<&Expr> = std::iter::once(left).chain(comparators).collect();
        for (i, op) in ops.iter().enumerate() {
            let (a, b) = (operands[i], operands[i + 1]);
            let cuda_side = [a, b].into_iter().find(|e| is_string(e, "cuda"));
            let nccl_side = [a, b].into_iter().find(|e| is_string(e, "nccl"));
            match op {
                CmpOp::Eq | CmpOp::NotEq | CmpOp::In | CmpOp::NotIn if cuda_side.is_some() => {
                    let s = cuda_side.expect("checked");
                    self.handled.insert(s.start().to_usize());
                    self.diag(
                        "PY108",
                        whole,
                        format!("`{}` is False on NPU", self.text(&whole)),
                    );
                }
                CmpOp::Eq | CmpOp::NotEq if nccl_side.is_some() => {
                    self.diag(
                        "PY111",
                        whole,
                        format!("`{}` assumes the NCCL backend", self.text(&whole)),
                    );
                }
                _ => {}
            }
        }
    }
}

/// The device a `torch.Generator(...)` call names, positionally or as `device=`.
fn generator_device(call: &ExprCall) -> Option<&Expr> {
    call.arguments.args.first().or_else(|| {
        call.arguments
            .keywords
            .iter()
            .find(|k: &&Keyword| k.arg.as_ref().is_some_and(|a| a.id.as_str() == "device"))
            .map(|k| &k.value)
    })
}

/// `"cuda" if torch.cuda.is_available() else "cpu"`.
fn is_cuda_ternary(ternary: &ruff_python_ast::ExprIf) -> bool {
    cuda_string(&ternary.body).is_some()
        && is_string(&ternary.orelse, "cpu")
        && dotted_call(&ternary.test).as_deref() == Some("torch.cuda.is_available")
}

/// The dotted name of a call's function, for `torch.cuda.is_available()`.
fn dotted_call(expr: &Expr) -> Option<String> {
    match expr {
        Expr::Call(call) if call.arguments.is_empty() => dotted(&call.func),
        _ => None,
    }
}

/// Warns about lists ASCEND_RT_VISIBLE_DEVICES would read differently from CUDA.
pub fn lint_visible_devices(value: &str, mut warn: impl FnMut(String)) {
    let value = value.trim();
    if value.is_empty() {
        return;
    }
    let mut previous: Option<u32> = None;
    for id in value.split(',').map(str::trim) {
        match id.parse::<u32>() {
            Err(_) => {
                return warn(format!(
                    "visible-devices list `{value}`: `{id}` is not a device id; Ascend stops reading the list there"
                ));
            }
            Ok(n) if previous.is_some_and(|p| n <= p) => {
                return warn(format!(
                    "visible-devices list `{value}` is not ascending; Ascend requires ascending ids"
                ));
            }
            Ok(n) => previous = Some(n),
        }
    }
}

impl<'a> Visitor<'a> for Collector<'_> {
    fn visit_stmt(&mut self, stmt: &'a Stmt) {
        match stmt {
            Stmt::Import(import) => self.visit_import(stmt, &import.names, None),
            Stmt::ImportFrom(from) if from.level == 0 => {
                let module = from.module.as_ref().map(|m| m.id.as_str().to_string());
                self.visit_import(stmt, &from.names, module.as_deref());
            }
            Stmt::Try(try_stmt) => return self.visit_try(try_stmt),
            Stmt::Assign(assign) => self.visit_assign(&assign.targets, &assign.value, stmt),
            Stmt::AnnAssign(assign) => {
                if let Some(value) = &assign.value {
                    self.visit_assign(std::slice::from_ref(&assign.target), value, stmt);
                }
            }
            Stmt::FunctionDef(def) => {
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
                        self.rewrite_device("PY001", default);
                    }
                }
                for decorator in &def.decorator_list {
                    self.amp_decorator(decorator);
                    if matches!(
                        dotted(&decorator.expression).as_deref(),
                        Some("triton.jit" | "torch.jit.script")
                    ) {
                        self.diag(
                            "PY104",
                            decorator.range(),
                            format!("@{} decorator", self.text(&decorator.expression)),
                        );
                    }
                }
            }
            _ => {}
        }
        visitor::walk_stmt(self, stmt);
    }

    fn visit_expr(&mut self, expr: &'a Expr) {
        match expr {
            Expr::Call(call) => self.visit_call(call),
            Expr::Attribute(attr) => self.visit_attribute(attr),
            Expr::If(ternary) if is_cuda_ternary(ternary) => {
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
                self.fix(Fix::single("PY001", s, e, replacement));
            }
            Expr::Dict(dict) => {
                for item in &dict.items {
                    if let Some(Expr::StringLiteral(key)) = &item.key
                        && key.value.to_str().to_ascii_lowercase().contains("device")
                    {
                        self.rewrite_device("PY001", &item.value);
                    }
                }
            }
            Expr::Compare(cmp) => {
                self.visit_compare(&cmp.left, &cmp.ops, &cmp.comparators, cmp.range())
            }
            Expr::StringLiteral(_)
                if cuda_string(expr).is_some()
                    && !self.handled.contains(&expr.start().to_usize()) =>
            {
                let text = self.text(expr);
                self.diag("PY113", expr.range(), format!("{text} is left unchanged"));
            }
            _ => {}
        }
        visitor::walk_expr(self, expr);
    }
}
