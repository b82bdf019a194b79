//! `if torch.cuda.is_available():` decides whether a block runs. Converting the test makes
//! the block run on an NPU host, which is only right when the block itself was converted:
//! a guard whose block still holds CUDA code that no rule rewrote keeps its test as written
//! (the block stays skipped off CUDA) and is reported.

use super::checker::Checker;
use super::guard_scope::Guard;
use crate::code::{Code, Entry, Kind, Severity};
use ruff_python_ast::{BoolOp, Expr, ExprBoolOp, ExprIf, Stmt, StmtFunctionDef, StmtIf, UnaryOp};
use ruff_text_size::{Ranged, TextRange};

pub(crate) static GUARD_KEPT: Entry = Entry {
    code: Code::PY116,
    name: "guard-kept",
    kind: Kind::Diagnostic,
    severity: Severity::Warning,
    summary: "An is_available() guard is kept because the code it guards is not converted",
    explanation: "Converting `torch.cuda.is_available()` to the selected device's check makes the guarded \
code run on an NPU host. That code still has CUDA uses no rule rewrote, so it would fail there; \
the test is left as written, and the block keeps being skipped off CUDA.",
    fix: "Convert the guarded block by hand (the diagnostics inside it say what), then replace the \
test with `device_utils.DEVICE_MODULE.is_available()`.",
    guide: "convert the guarded block by hand, then use `device_utils.DEVICE_MODULE.is_available()`",
    severities: None,
};

impl Checker<'_> {
    /// The `is_available()` calls in a test, and whether the test is negated (`not ...`).
    fn availability_tests(&self, test: &Expr) -> (Vec<TextRange>, bool) {
        let (inner, negated) = match test {
            Expr::UnaryOp(op) if op.op == UnaryOp::Not => (op.operand.as_ref(), true),
            other => (other, false),
        };
        let mut calls = Vec::new();
        self.collect_availability_calls(inner, &mut calls);
        (calls, negated)
    }

    fn collect_availability_calls(&self, expr: &Expr, out: &mut Vec<TextRange>) {
        if let Some(range) = self.accelerator_test(expr) {
            out.push(range);
            return;
        }
        match expr {
            Expr::Call(call)
                if self.qualified(&call.func).as_deref() == Some("torch.cuda.is_available") =>
            {
                out.push(call.range());
            }
            Expr::BoolOp(op) => {
                for value in &op.values {
                    self.collect_availability_calls(value, out);
                }
            }
            Expr::UnaryOp(op) => self.collect_availability_calls(&op.operand, out),
            Expr::Compare(cmp) => self.collect_availability_calls(&cmp.left, out),
            _ => {}
        }
    }

    /// `if torch.cuda.is_available(): ...` (`rest` is the code after the statement in its
    /// block, which a negated test guards: `if not ...: return`).
    pub fn if_guard(&mut self, stmt: &StmtIf, rest: Option<TextRange>) {
        let (tests, negated) = self.availability_tests(&stmt.test);
        if tests.is_empty() {
            return;
        }
        let guarded = if negated {
            stmt.elif_else_clauses
                .iter()
                .map(Ranged::range)
                .chain(rest)
                .collect()
        } else {
            vec![body_range(&stmt.body)]
        };
        self.guards.push(Guard { tests, guarded });
    }

    /// `a if torch.cuda.is_available() else b`.
    pub fn ternary_guard(&mut self, ternary: &ExprIf) {
        let (tests, negated) = self.availability_tests(&ternary.test);
        if tests.is_empty() {
            return;
        }
        let guarded = if negated {
            &ternary.orelse
        } else {
            &ternary.body
        };
        self.guards.push(Guard {
            tests,
            guarded: vec![guarded.range()],
        });
    }

    /// `torch.cuda.is_available() and <uses>`: what follows the test runs only when it holds.
    pub fn and_guard(&mut self, op: &ExprBoolOp) {
        if op.op != BoolOp::And {
            return;
        }
        for (i, value) in op.values.iter().enumerate() {
            let (tests, negated) = self.availability_tests(value);
            if tests.is_empty() || negated {
                continue;
            }
            if let (Some(next), Some(last)) = (op.values.get(i + 1), op.values.last()) {
                self.guards.push(Guard {
                    tests,
                    guarded: vec![TextRange::new(next.start(), last.end())],
                });
            }
        }
    }

    /// `@pytest.mark.skipif(not torch.cuda.is_available(), ...)`: the test body runs only with
    /// CUDA, so it is what the decorator guards.
    pub fn skipif_guard(&mut self, def: &StmtFunctionDef) {
        for decorator in &def.decorator_list {
            let Expr::Call(call) = &decorator.expression else {
                continue;
            };
            let is_skipif =
                matches!(call.func.as_ref(), Expr::Attribute(a) if a.attr.id.as_str() == "skipif");
            let Some(condition) = call.arguments.args.first().filter(|_| is_skipif) else {
                continue;
            };
            let (tests, negated) = self.availability_tests(condition);
            if !tests.is_empty() && negated {
                self.guards.push(Guard {
                    tests,
                    guarded: vec![body_range(&def.body)],
                });
            }
        }
    }

    /// Withdraws the conversion of every guard whose guarded code holds something left for a
    /// human, and says so.
    pub fn settle_guards(&mut self) {
        let guards = std::mem::take(&mut self.guards);
        // One test can guard twice (`if avail() and x:` is an if and an and-chain).
        let mut kept = std::collections::HashSet::new();
        for guard in guards {
            let Some(line) = self.first_blocker(&guard.guarded) else {
                continue;
            };
            let touches_test = |start: usize, end: usize| {
                guard.tests.iter().any(|t| {
                    let (s, e) = (t.start().to_usize(), t.end().to_usize());
                    start < e && s < end.max(start + 1)
                })
            };
            self.findings
                .fixes
                .retain(|f| !f.edits.iter().any(|e| touches_test(e.start, e.end)));
            let Some(&first) = guard.tests.first() else {
                continue;
            };
            if !kept.insert(first.start()) {
                continue;
            }
            let text = self.text(&first).to_string();
            self.diag(
                &GUARD_KEPT,
                first,
                format!("`{text}` is kept: the code it guards is not converted (line {line})"),
            );
        }
    }

    /// The line of the first diagnostic inside `ranges` that leaves CUDA code in place.
    fn first_blocker(&self, ranges: &[TextRange]) -> Option<usize> {
        self.reported
            .iter()
            .filter_map(|(range, index)| Some((range, (*index)?)))
            .filter(|(range, _)| ranges.iter().any(|g| g.contains_range(**range)))
            .filter_map(|(_, index)| self.findings.diagnostics.get(index))
            .filter(|d| d.severity >= Severity::Warning || d.code == Code::PY113)
            .map(|d| d.line)
            .min()
    }
}

/// From the first statement of a block to the end of its last.
pub fn body_range(body: &[Stmt]) -> TextRange {
    match (body.first(), body.last()) {
        (Some(first), Some(last)) => TextRange::new(first.start(), last.end()),
        _ => TextRange::default(),
    }
}
