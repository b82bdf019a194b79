//! A changed cell's new `source` value, laid out as the file lays it out: a list stays a
//! list of lines (unchanged lines keep their exact bytes, the file's separator and
//! indentation between items), a string stays a string.

use super::json_spans::{SourceSpan, StringToken};
use super::json_string::{self, Style};
use crate::edit::Edit;

/// The edit that replaces `span` in `raw` with `new_text`.
pub fn rewrite(raw: &str, span: &SourceSpan, new_text: &str, style: Style) -> Edit {
    match span {
        SourceSpan::Text(token) => {
            Edit::replace(token.start, token.end, json_string::encode(new_text, style))
        }
        SourceSpan::Lines { open, close, items } => {
            let interior = list_interior(raw, *open, *close, items, new_text, style);
            Edit::replace(open + 1, *close, interior)
        }
    }
}

/// The text between `[` and `]` for the new lines.
fn list_interior(
    raw: &str,
    open: usize,
    close: usize,
    items: &[StringToken],
    new_text: &str,
    style: Style,
) -> String {
    let new_lines: Vec<&str> = new_text.split_inclusive('\n').collect();
    if new_lines.is_empty() {
        return String::new();
    }
    let (prefix, separator, suffix) = match items {
        [] => (String::new(), ", ".to_string(), String::new()),
        [only] => {
            let prefix = &raw[open + 1..only.start];
            (
                prefix.to_string(),
                format!(",{prefix}"),
                raw[only.end..close].to_string(),
            )
        }
        [first, second, ..] => (
            raw[open + 1..first.start].to_string(),
            raw[first.end..second.start].to_string(),
            raw[items[items.len() - 1].end..close].to_string(),
        ),
    };
    let old_lines: Vec<&str> = items.iter().map(|t| t.value.as_str()).collect();
    let mut elements: Vec<String> = Vec::with_capacity(new_lines.len());
    // An unchanged line keeps its bytes (escapes as the file wrote them); only the lines
    // the rules changed or added are encoded anew.
    for op in similar::capture_diff_slices(similar::Algorithm::Myers, &old_lines, &new_lines) {
        match op {
            similar::DiffOp::Equal { old_index, len, .. } => {
                for t in &items[old_index..old_index + len] {
                    elements.push(raw[t.start..t.end].to_string());
                }
            }
            similar::DiffOp::Delete { .. } => {}
            similar::DiffOp::Insert {
                new_index, new_len, ..
            }
            | similar::DiffOp::Replace {
                new_index, new_len, ..
            } => {
                for line in &new_lines[new_index..new_index + new_len] {
                    elements.push(json_string::encode(line, style));
                }
            }
        }
    }
    format!("{prefix}{}{suffix}", elements.join(&separator))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::edit::{Fix, apply};

    fn rewritten(raw: &str, new_text: &str) -> String {
        let cells = super::super::json_spans::cells(raw).unwrap();
        let span = cells[0].source.as_ref().unwrap();
        let edit = rewrite(raw, span, new_text, Style::of(raw));
        apply(raw, &[Fix::new(crate::Code::PY002, vec![edit])])
    }

    #[test]
    fn a_list_keeps_its_layout_and_unchanged_items_their_bytes() {
        let raw = "{\"cells\": [{\"source\": [\n    \"import torch\\n\",\n    \"x = 1 # \\u6a21\\n\",\n    \"y.cuda()\"\n   ]}]}";
        assert_eq!(
            rewritten(raw, "import torch\nimport m\nx = 1 # 模\ny.to(m.DEVICE)"),
            "{\"cells\": [{\"source\": [\n    \"import torch\\n\",\n    \"import m\\n\",\n    \"x = 1 # \\u6a21\\n\",\n    \"y.to(m.DEVICE)\"\n   ]}]}"
        );
    }

    #[test]
    fn a_one_line_list_and_a_string_stay_what_they_were() {
        assert_eq!(
            rewritten(
                r#"{"cells": [{"source": ["y.cuda()"]}]}"#,
                "import m\ny.to(m.D)"
            ),
            r#"{"cells": [{"source": ["import m\n","y.to(m.D)"]}]}"#
        );
        assert_eq!(
            rewritten(
                r#"{"cells": [{"source": "y.cuda() # 模"}]}"#,
                "y.npu() # 模"
            ),
            r#"{"cells": [{"source": "y.npu() # 模"}]}"#
        );
    }
}
