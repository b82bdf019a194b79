//! The rewriter's safety properties as one check, shared by the fuzz target and the
//! regression tests: any input must not panic; input that parses must still parse after
//! the rewrite; a second pass must change nothing.

use super::{PythonError, migrate};
use crate::options::RuleOptions;
use crate::text::SourceText;

/// Runs both styles over `data`; an error describes the first broken property.
pub fn check(data: &[u8]) -> Result<(), String> {
    let Ok(text) = std::str::from_utf8(data) else {
        return Ok(());
    };
    for options in [RuleOptions::default(), RuleOptions::npu()] {
        let input = SourceText::new(text);
        let first = match migrate(&input, &options) {
            Ok(outcome) => outcome,
            Err(PythonError::Syntax { .. } | PythonError::TooDeep(_)) => return Ok(()),
            Err(err @ PythonError::InvalidRewrite { .. }) => return Err(err.to_string()),
        };
        let output = first.text(&input);
        if ruff_python_parser::parse_module(&output.body).is_err() {
            return Err(format!("{:?}: output does not parse", options.style));
        }
        let second = migrate(output, &options).map_err(|e| format!("second pass failed: {e}"))?;
        if second.output.is_some() {
            return Err(format!(
                "{:?}: second pass changed the output",
                options.style
            ));
        }
    }
    Ok(())
}
