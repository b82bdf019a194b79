//! What the user chose, and the replacement text each choice implies.

/// Which code the rewrites produce.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Style {
    /// Call sites use a helper module that picks NPU, then CUDA, then CPU at run time.
    #[default]
    Portable,
    /// Straight to torch_npu names and "npu" strings, like the vendor tool (NPU only).
    Npu,
}

/// Options shared by every rule.
#[derive(Debug, Clone)]
pub struct RuleOptions {
    pub style: Style,
    /// Module name of the helper (no `.py`), e.g. `device_utils`.
    pub helper: String,
    /// How the file imports the helper when not `import <helper>`: a module of a package
    /// imports the package's own copy relatively (`from .. import device_utils`).
    pub helper_import: Option<String>,
}

impl Default for RuleOptions {
    fn default() -> Self {
        RuleOptions {
            style: Style::Portable,
            helper: DEFAULT_HELPER.to_string(),
            helper_import: None,
        }
    }
}

pub const DEFAULT_HELPER: &str = "device_utils";

impl RuleOptions {
    pub fn npu() -> Self {
        RuleOptions {
            style: Style::Npu,
            ..Self::default()
        }
    }

    /// The selected device, as an expression.
    pub fn device(&self) -> String {
        match self.style {
            Style::Portable => format!("{}.DEVICE", self.helper),
            Style::Npu => "\"npu\"".to_string(),
        }
    }

    /// The selected device kind with an explicit index, as an expression.
    pub fn device_with_index(&self, index_expr: &str) -> String {
        match self.style {
            Style::Portable => format!("{}.device({index_expr})", self.helper),
            Style::Npu => match index_expr.parse::<u32>() {
                Ok(n) => format!("\"npu:{n}\""),
                Err(_) => format!("f\"npu:{{{index_expr}}}\""),
            },
        }
    }

    /// The device type string ("npu", "cuda", "cpu") for autocast and GradScaler.
    pub fn device_type(&self) -> String {
        match self.style {
            Style::Portable => format!("{}.DEVICE_TYPE", self.helper),
            Style::Npu => "\"npu\"".to_string(),
        }
    }

    /// The device type autocast and GradScaler get: the selected accelerator's, and "cuda"
    /// on a CPU-only host, where CUDA autocast is off exactly as it was before migration
    /// (CPU autocast would compute in bf16 instead).
    pub fn amp_device_type(&self) -> String {
        match self.style {
            Style::Portable => format!("{}.AMP_DEVICE_TYPE", self.helper),
            Style::Npu => "\"npu\"".to_string(),
        }
    }

    /// The module that replaces `torch.cuda`.
    pub fn device_module(&self) -> String {
        match self.style {
            Style::Portable => format!("{}.DEVICE_MODULE", self.helper),
            Style::Npu => "torch.npu".to_string(),
        }
    }

    pub fn dist_backend(&self) -> String {
        match self.style {
            Style::Portable => format!("{}.DIST_BACKEND", self.helper),
            Style::Npu => "\"hccl\"".to_string(),
        }
    }

    /// Whether replacement text refers to what `required_import` provides.
    pub fn needs_import(&self, replacement: &str) -> bool {
        match self.style {
            Style::Portable => replacement.contains(&format!("{}.", self.helper)),
            Style::Npu => replacement.contains("npu"),
        }
    }

    /// The statement that imports what `required_import` names.
    pub fn import_statement(&self) -> String {
        match (self.style, &self.helper_import) {
            (Style::Portable, Some(statement)) => statement.clone(),
            _ => format!("import {}", self.required_import()),
        }
    }

    /// The module every rewritten file must import.
    pub fn required_import(&self) -> &str {
        match self.style {
            Style::Portable => &self.helper,
            Style::Npu => "torch_npu",
        }
    }
}
