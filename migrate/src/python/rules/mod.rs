//! The Python rules: one walk over the syntax tree collects every fix and diagnostic.
//!
//! Each rule looks at a node in a device position (a call's device argument, a `.cuda()`
//! call, a `torch.cuda` attribute ...) and never at free text, which is why comments,
//! docstrings, log messages and paths are safe. The rules live one family to a file, each
//! with its catalog entries; this walk only decides which rule sees which node, in an
//! order that keeps the output stable.

pub(crate) mod amp;
pub(crate) mod attention;
pub(crate) mod backend_flags;
pub(crate) mod bf16;
mod call_arguments;
mod checker;
pub(crate) mod cuda_method;
pub(crate) mod device_argument;
pub(crate) mod device_index;
pub(crate) mod device_type_check;
pub(crate) mod distributed;
pub(crate) mod environment;
pub(crate) mod float64;
pub(crate) mod generator;
mod generator_draws;
mod guard_scope;
pub(crate) mod guarded_imports;
pub(crate) mod guards;
mod npu_attention;
pub(crate) mod optimizers;
mod own_line;
pub(crate) mod safetensors;
mod shim_table;
mod shims;
mod span;
mod storage;
pub(crate) mod torch_cuda;
pub(crate) mod unresolved;
pub(crate) mod vendor_stacks;

use crate::findings::Findings;
use crate::options::RuleOptions;
use crate::python::bindings::Bindings;
use crate::python::names::{callee_tail, dotted};
use crate::text::SourceText;
use checker::Checker;
use device_argument::DEVICE_ARGUMENT;
use guarded_imports::guarded_root;
use ruff_python_ast::visitor::{self, Visitor};
use ruff_python_ast::{
    Alias, ExceptHandler, Expr, ExprAttribute, ExprCall, ExprCompare, ExprContext, Stmt,
    StmtFunctionDef, StmtTry,
};
use ruff_text_size::Ranged;
use safetensors::{SAFETENSORS_DEVICE, is_safetensors_loader};

pub fn collect(body: &[Stmt], source: &SourceText, options: &RuleOptions) -> Findings {
    let bindings = Bindings::of(body);
    let line_of = |offset| source.line_of(offset);
    let placements =
        generator_draws::placements(body, &bindings, &source.body, &options.helper, &line_of);
    let shimmed = unresolved::shimmed_members(body, &bindings);
    let defines_cuda_method = source.body.contains("def cuda(");
    // A class of the file's own answers is_cuda: its receivers are not known to be tensors.
    let defines_is_cuda = source.body.contains("def is_cuda") || source.body.contains(".is_cuda =");
    let mut checker = Checker::new(source, options, bindings);
    checker.shimmed = shimmed;
    checker.defines_cuda_method = defines_cuda_method;
    checker.defines_is_cuda = defines_is_cuda;
    checker.generator_placements = placements;
    checker.visit_body(body);
    checker.report_unresolved();
    checker.settle_guards();
    checker.report_bf16();
    checker.findings
}

impl Checker<'_> {
    fn visit_call(&mut self, call: &ExprCall) {
        self.remember_name_call(call);
        let name = self.qualified(&call.func);
        let name = name.as_deref();
        let tail = callee_tail(call).unwrap_or_default();
        let args = &call.arguments;
        self.shim_call(call, name);

        if self.generator(call, name) || self.amp_call(call, name) {
            return self.keywords(call, tail);
        }
        match (name, tail) {
            (Some("torch.device"), _) => self.torch_device(args),
            (Some("torch.autocast" | "torch.amp.autocast" | "torch.amp.GradScaler"), _) => {
                self.autocast_call(args)
            }
            (_, "init_process_group" | "new_group") => self.process_group_call(args),
            (_, "init_device_mesh") => self.device_mesh_call(args),
            (_, "to") if matches!(call.func.as_ref(), Expr::Attribute(_)) => self.dot_to_call(call),
            (_, "cuda") => self.cuda_method(call),
            (_, "add_argument") => self.argparse_default(call),
            (_, "enable_xformers_memory_efficient_attention") => self.enable_xformers_call(call),
            (_, "set_use_memory_efficient_attention_xformers")
                if call
                    .arguments
                    .args
                    .first()
                    .is_none_or(|a| self.text(a) != "False") =>
            {
                self.enable_xformers_call(call)
            }
            (_, "DataParallel") => self.data_parallel_call(call),
            (_, "CUDAExtension" | "BuildExtension") => self.cuda_extension_call(call, tail),
            (_, "load" | "load_inline") => self.extension_load_call(call, name),
            (_, "is_nccl_available") => self.is_nccl_available_call(call),
            (_, "BitsAndBytesConfig") => self.bitsandbytes_config_call(call),
            (Some(compiler @ ("torch.compile" | "torch.jit.script")), _) => {
                self.compile_call(call, compiler)
            }
            _ => {}
        }
        self.keywords(call, tail);
        self.float64_on_device(call);
    }

    /// Device-like keyword arguments of any call.
    fn keywords(&mut self, call: &ExprCall, tail: &str) {
        let safetensors = is_safetensors_loader(tail);
        for kw in &call.arguments.keywords {
            let Some(arg) = kw.arg.as_ref().map(|a| a.id.as_str()) else {
                continue;
            };
            match arg {
                "map_location" => {
                    self.remember_storage_param(&kw.value);
                    self.rewrite_device(&DEVICE_ARGUMENT, &kw.value);
                }
                "device" | "location" | "device_map" => {
                    let entry = if safetensors && arg == "device" {
                        &SAFETENSORS_DEVICE
                    } else {
                        &DEVICE_ARGUMENT
                    };
                    if !self.rewrite_device(entry, &kw.value) && arg == "device" {
                        // `device=rank`: torch reads a bare integer as a CUDA index.
                        self.integer_device_index(&kw.value);
                    }
                }
                "device_type" => self.rewrite_device_type(&kw.value),
                "load_in_8bit" | "load_in_4bit" => self.quantized_loading_keyword(arg, &kw.value),
                "backend" => self.rewrite_backend(&kw.value),
                _ => {}
            }
        }
    }

    fn visit_attribute(&mut self, attr: &ExprAttribute) {
        let value = self.qualified(&attr.value);
        let member = attr.attr.id.as_str();
        if value.as_deref() == Some("torch") && member == "bfloat16" {
            self.bf16_use(attr);
        }
        match value.as_deref() {
            Some("torch.cuda") if attr.ctx != ExprContext::Load => {
                self.cuda_shim_assignment(&attr.value)
            }
            Some("torch.cuda") => self.torch_cuda_member(attr, member),
            Some("torch.backends.cuda" | "torch.backends.cuda.matmul") => {
                self.backends_cuda_member(attr, member)
            }
            Some("torch.backends.cudnn") => self.backends_cudnn_member(attr, member),
            _ => {}
        }
        if member == "is_cuda" {
            self.is_cuda_attribute(attr);
        }
    }

    fn visit_import(&mut self, stmt: &Stmt, aliases: &[Alias], module: Option<&str>) {
        let guarded = self.guarded_depth > 0;
        let modules: Vec<String> = match module {
            Some(m) => vec![m.to_string()],
            None => aliases
                .iter()
                .map(|a| a.name.id.as_str().to_string())
                .collect(),
        };
        let root_of = |m: &String| m.split('.').next().unwrap_or_default().to_string();
        // Guarded only when every module of the statement has stand-ins: binding None to a
        // library the helper does not cover would move its failure to an unreported line.
        let guard = !guarded
            && !modules.is_empty()
            && modules.iter().all(|m| guarded_root(&root_of(m)))
            && self.guard_import(stmt);
        for m in modules.iter().filter(|_| !guard) {
            let root = root_of(m);
            match root.as_str() {
                "flash_attn" | "sageattention" | "xformers" => {
                    self.attention_import(stmt, m, guarded)
                }
                _ => self.vendor_import(stmt, &root, m),
            }
        }
        if let Some(m) = module {
            if m == "torch.backends.cuda" {
                self.backends_cuda_import(aliases);
            }
            self.amp_import(stmt, m);
        }
    }

    /// Walks a `try`, counting its body as guarded when a handler catches import failures.
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
            self.device_named_target(target, value);
            self.remember_binding(target, value);
        }
        self.tf32_assignment(targets, stmt);
    }

    fn visit_function_def(&mut self, def: &StmtFunctionDef) {
        self.device_parameter_defaults(def);
        self.skipif_guard(def);
        for decorator in &def.decorator_list {
            self.amp_decorator(decorator);
            self.jit_decorator(decorator);
        }
    }

    /// A comparison with "cuda" (as a whole), else each comparison of a chain
    /// (`a == b != c`) on its own for "nccl".
    fn visit_compare(&mut self, cmp: &ExprCompare) {
        self.remember_none_test(cmp);
        if self.cuda_comparison(cmp) {
            return;
        }
        let operands: Vec<&Expr> = std::iter::once(cmp.left.as_ref())
            .chain(cmp.comparators.iter())
            .collect();
        for (op, pair) in cmp.ops.iter().zip(operands.windows(2)) {
            self.nccl_comparison(*op, pair[0], pair[1], cmp.range());
        }
    }
}

impl<'a> Visitor<'a> for Checker<'_> {
    /// Statements one by one, telling an `if` the code after it (what `if not ...: return`
    /// guards).
    fn visit_body(&mut self, body: &'a [Stmt]) {
        for (i, stmt) in body.iter().enumerate() {
            if let Stmt::If(if_stmt) = stmt {
                let rest = &body[i + 1..];
                let rest = (!rest.is_empty()).then(|| guards::body_range(rest));
                self.if_guard(if_stmt, rest);
            }
            self.visit_stmt(stmt);
        }
    }

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
            Stmt::FunctionDef(def) => self.visit_function_def(def),
            Stmt::Expr(expr) => {
                self.expression_statements
                    .insert(expr.value.start().to_usize());
            }
            Stmt::If(if_stmt) => {
                self.remember_truth_test(&if_stmt.test);
                self.remember_xformers_gate(if_stmt)
            }
            _ => {}
        }
        visitor::walk_stmt(self, stmt);
    }

    fn visit_expr(&mut self, expr: &'a Expr) {
        match expr {
            Expr::Call(call) => self.visit_call(call),
            Expr::Attribute(_) | Expr::Name(_) if self.shim_reference(expr) => {}
            Expr::Attribute(attr) => {
                self.cuda_use(expr);
                self.visit_attribute(attr)
            }
            Expr::Name(name) => {
                self.cuda_use(expr);
                self.torch_cuda_name(name)
            }
            Expr::BoolOp(op) => {
                for value in &op.values {
                    self.remember_truth_test(value);
                }
                self.and_guard(op);
            }
            Expr::UnaryOp(_) => self.remember_truth_test(expr),
            Expr::If(ternary) => {
                self.remember_truth_test(&ternary.test);
                self.ternary_guard(ternary);
                self.backend_ternary(ternary);
                self.cuda_ternary(expr, ternary)
            }
            Expr::Dict(dict) => self.device_dict_values(dict),
            Expr::Compare(cmp) => self.visit_compare(cmp),
            Expr::StringLiteral(_) => self.leftover_cuda_string(expr),
            _ => {}
        }
        visitor::walk_expr(self, expr);
    }
}
