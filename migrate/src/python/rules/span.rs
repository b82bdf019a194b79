//! Byte ranges of syntax nodes, as the edits and diagnostics address the file.

use ruff_text_size::Ranged;

/// A node's byte range in the file body.
pub fn span(node: &impl Ranged) -> (usize, usize) {
    (node.start().to_usize(), node.end().to_usize())
}
