//! Running the Python rewriter on a snippet, as the rule tests do: the output text, the
//! rules that fired and the diagnostics, with every run checked for idempotence.

use migrate::python;
use migrate::text::SourceText;
use migrate::{RuleOptions, Severity};

pub struct Outcome {
    pub text: String,
    pub rules: Vec<&'static str>,
    pub codes: Vec<&'static str>,
    /// (code, severity, line) of every diagnostic.
    pub diagnostics: Vec<(&'static str, Severity, usize)>,
}

pub fn run_with(src: &str, options: &RuleOptions) -> Outcome {
    let input = SourceText::new(src);
    let out = python::migrate(&input, options).expect("input parses");
    let mut rules: Vec<_> = out.edits.iter().map(|e| e.rule.as_str()).collect();
    rules.sort();
    rules.dedup();
    Outcome {
        text: out.text(&input).to_file_text(),
        rules,
        codes: out.diagnostics.iter().map(|d| d.code.as_str()).collect(),
        diagnostics: out
            .diagnostics
            .iter()
            .map(|d| (d.code.as_str(), d.severity, d.line))
            .collect(),
    }
}

pub fn portable(src: &str) -> Outcome {
    let out = run_with(src, &RuleOptions::default());
    // Every case doubles as an idempotence check: a second run changes nothing.
    let again = run_with(&out.text, &RuleOptions::default());
    assert_eq!(
        again.text, out.text,
        "second run changed the output of:\n{src}"
    );
    out
}

pub fn npu(src: &str) -> Outcome {
    let out = run_with(src, &RuleOptions::npu());
    let again = run_with(&out.text, &RuleOptions::npu());
    assert_eq!(
        again.text, out.text,
        "second NPU-style run changed the output of:\n{src}"
    );
    out
}

pub fn unchanged(src: &str) {
    let out = portable(src);
    assert_eq!(out.text, src, "expected no change");
}
