//! A changed cell line written back as Jupyter writes strings (Python's `json.dump`): the
//! same escapes, non-ASCII text literal unless the file escapes it (`ensure_ascii`), so
//! the patch shows only the lines that changed and not a re-encoding of the whole file.

use std::fmt::Write;

/// How the notebook writes non-ASCII text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Style {
    /// Literal UTF-8 (nbformat's default, `ensure_ascii=False`).
    Literal,
    /// `\u4e2d` escapes (a file written with `ensure_ascii=True`).
    AsciiEscaped,
}

impl Style {
    /// An all-ASCII file that holds `\u` escapes of non-ASCII characters escapes them;
    /// any other file writes them literally (for an all-ASCII file without any, both agree).
    pub fn of(raw: &str) -> Style {
        if raw.is_ascii() && raw.contains("\\u") {
            Style::AsciiEscaped
        } else {
            Style::Literal
        }
    }
}

/// `text` as a JSON string literal, quotes included.
pub fn encode(text: &str, style: Style) -> String {
    let mut out = String::with_capacity(text.len() + 2);
    out.push('"');
    for c in text.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            c if (c as u32) < 0x20 => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            // Python's ensure_ascii escapes everything outside space..tilde.
            c if style == Style::AsciiEscaped && (c as u32) >= 0x7f => {
                let mut units = [0u16; 2];
                for unit in c.encode_utf16(&mut units) {
                    let _ = write!(out, "\\u{unit:04x}");
                }
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_match_pythons_json_dump() {
        // Expected strings as Python's json.dumps writes them (ensure_ascii False / True).
        let text = "a\"b\\c\n\t\u{1}模型😀\u{7f}";
        assert_eq!(
            encode(text, Style::Literal),
            "\"a\\\"b\\\\c\\n\\t\\u0001模型😀\u{7f}\""
        );
        assert_eq!(
            encode(text, Style::AsciiEscaped),
            "\"a\\\"b\\\\c\\n\\t\\u0001\\u6a21\\u578b\\ud83d\\ude00\\u007f\""
        );
    }

    #[test]
    fn the_files_own_style_is_kept() {
        assert_eq!(Style::of(r#"{"s": "\u6a21"}"#), Style::AsciiEscaped);
        assert_eq!(Style::of(r#"{"s": "模"}"#), Style::Literal);
    }
}
