//! Storages are not tensors: `map_location=lambda storage, loc: storage.cuda(i)` hands the
//! lambda a storage, whose `to()` takes its device by keyword only, so a `.cuda()` on one is
//! rewritten with `device=`.

use super::checker::Checker;
use ruff_python_ast::Expr;
use ruff_text_size::Ranged;

impl Checker<'_> {
    /// The first parameter of a lambda given as `map_location`.
    pub fn remember_storage_param(&mut self, value: &Expr) {
        if let Expr::Lambda(lambda) = value
            && let Some(params) = &lambda.parameters
            && let Some(first) = params.posonlyargs.iter().chain(&params.args).next()
        {
            let name = first.parameter.name.id.as_str().to_string();
            self.storage_params.push((name, lambda.range()));
        }
    }

    /// Whether the receiver of a call at `at` is a storage: a map_location lambda's storage
    /// parameter, or a name that says so.
    pub fn is_storage(&self, receiver: &Expr, at: usize) -> bool {
        let Expr::Name(name) = receiver else {
            return false;
        };
        let id = name.id.as_str();
        id.to_ascii_lowercase().contains("storage")
            || self.storage_params.iter().any(|(param, range)| {
                param == id && range.start().to_usize() <= at && at < range.end().to_usize()
            })
    }
}
