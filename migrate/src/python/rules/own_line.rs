//! Where a statement sits in its lines, for rules that add lines around it (wrap an import
//! in `try`, add a line after an assignment): only a statement that has its lines to
//! itself can be wrapped or followed without touching its neighbours.

use crate::text::SourceText;
use ruff_text_size::TextRange;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OwnLines {
    /// Offset of the first line's start.
    pub start: usize,
    /// Offset just past the last line's break (or the end of the file).
    pub end: usize,
    /// The first line's leading whitespace.
    pub indent: String,
    /// Whether the last line ends with a line break.
    pub has_break: bool,
}

/// The lines of `range` when nothing but whitespace precedes it on its first line and
/// nothing but whitespace or a comment follows it on its last.
pub fn own_lines(source: &SourceText, range: TextRange) -> Option<OwnLines> {
    let body = source.body.as_str();
    let (s, e) = (range.start().to_usize(), range.end().to_usize());
    let start = body[..s].rfind(['\n', '\r']).map_or(0, |i| i + 1);
    let indent = &body[start..s];
    if !indent.chars().all(|c| c == ' ' || c == '\t') {
        return None;
    }
    let rest = &body[e..];
    let line_end = rest.find(['\n', '\r']).map_or(body.len(), |i| e + i);
    let tail = body[e..line_end].trim_start_matches([' ', '\t']);
    if !(tail.is_empty() || tail.starts_with('#')) {
        return None;
    }
    let break_len = match &body[line_end..] {
        r if r.starts_with("\r\n") => 2,
        r if r.starts_with(['\n', '\r']) => 1,
        _ => 0,
    };
    Some(OwnLines {
        start,
        end: line_end + break_len,
        indent: indent.to_string(),
        has_break: break_len > 0,
    })
}

/// `text` with `prefix` added at the start of every line after the first (continuation
/// lines of a bracketed or backslash-continued statement, whose indentation is free).
pub fn indent_continuations(text: &str, prefix: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut chars = text.char_indices().peekable();
    while let Some((_, c)) = chars.next() {
        out.push(c);
        let ends_line = c == '\n' || (c == '\r' && chars.peek().map(|(_, n)| *n) != Some('\n'));
        if ends_line && chars.peek().is_some() {
            out.push_str(prefix);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use ruff_text_size::TextSize;

    fn range(text: &str, needle: &str) -> TextRange {
        let at = text.find(needle).expect("needle");
        TextRange::new(
            TextSize::try_from(at).expect("fits"),
            TextSize::try_from(at + needle.len()).expect("fits"),
        )
    }

    #[test]
    fn a_statement_alone_on_its_line_is_found_with_its_indent_and_comment() {
        let text = "if x:\n    import a  # note\ny = 1\n";
        let source = SourceText::new(text);
        let lines = own_lines(&source, range(text, "import a")).expect("own line");
        assert_eq!(&text[lines.start..lines.end], "    import a  # note\n");
        assert_eq!(lines.indent, "    ");
    }

    #[test]
    fn statements_sharing_a_line_are_not() {
        let text = "import a; import b\nif x: import c\n";
        let source = SourceText::new(text);
        assert_eq!(own_lines(&source, range(text, "import a")), None);
        assert_eq!(own_lines(&source, range(text, "import b")), None);
        assert_eq!(own_lines(&source, range(text, "import c")), None);
    }

    #[test]
    fn continuation_lines_gain_the_prefix_whatever_the_line_break() {
        assert_eq!(
            indent_continuations("a(\r\nb,\r\n)", "  "),
            "a(\r\n  b,\r\n  )"
        );
        assert_eq!(indent_continuations("a(\rb)", "  "), "a(\r  b)");
        assert_eq!(indent_continuations("one line", "  "), "one line");
    }
}
