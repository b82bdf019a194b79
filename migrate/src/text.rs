//! Source text as the rules see it: BOM split off, the file's newline style, and byte
//! offsets mapped to 1-based line numbers.

/// A file's text without its BOM, plus what is needed to write it back byte-identically.
#[derive(Debug, Clone)]
pub struct SourceText {
    pub bom: bool,
    /// Text after the BOM; every offset the rules use is into this string.
    pub body: String,
    pub newline: &'static str,
    line_starts: Vec<usize>,
}

const BOM: &str = "\u{feff}";

impl SourceText {
    pub fn new(text: &str) -> Self {
        let (bom, body) = match text.strip_prefix(BOM) {
            Some(rest) => (true, rest),
            None => (false, text),
        };
        Self::from_parts(bom, body.to_string())
    }

    fn from_parts(bom: bool, body: String) -> Self {
        // One pass finds line starts and counts each kind of break: Python ends a line at
        // \n, \r\n or a lone \r, and line numbers must agree with it.
        let bytes = body.as_bytes();
        let mut line_starts = vec![0];
        let (mut lf, mut crlf, mut cr) = (0usize, 0usize, 0usize);
        for i in memchr::memchr2_iter(b'\n', b'\r', bytes) {
            if bytes[i] == b'\n' {
                if i > 0 && bytes[i - 1] == b'\r' {
                    crlf += 1;
                } else {
                    lf += 1;
                }
                line_starts.push(i + 1);
            } else if bytes.get(i + 1) != Some(&b'\n') {
                cr += 1;
                line_starts.push(i + 1);
            }
        }
        // The most common break; LF on a tie with it, and for files with no break. Lines
        // migrate adds use it, so an old-Mac (\r) file stays all \r.
        let newline = if cr > crlf && cr > lf {
            "\r"
        } else if crlf > lf {
            "\r\n"
        } else {
            "\n"
        };
        SourceText {
            bom,
            body,
            newline,
            line_starts,
        }
    }

    /// The same file with a new body (BOM kept).
    pub fn with_body(&self, body: String) -> Self {
        Self::from_parts(self.bom, body)
    }

    /// The full file text, BOM included.
    pub fn to_file_text(&self) -> String {
        if self.bom {
            format!("{BOM}{}", self.body)
        } else {
            self.body.clone()
        }
    }

    /// 1-based line of a byte offset into `body`.
    pub fn line_of(&self, offset: usize) -> usize {
        self.line_starts.partition_point(|&start| start <= offset)
    }

    /// 1-based column (in characters) of a byte offset.
    pub fn column_of(&self, offset: usize) -> usize {
        let line_start = self.line_starts[self.line_of(offset) - 1];
        self.body[line_start..offset].chars().count() + 1
    }

    /// Byte range of the whole lines covering `start..end`, newline excluded.
    pub fn line_span(&self, start: usize, end: usize) -> (usize, usize) {
        let first = self.line_starts[self.line_of(start) - 1];
        let end = end.max(start);
        let stop = self.body[end..]
            .find(['\r', '\n'])
            .map_or(self.body.len(), |i| end + i);
        (first, stop)
    }

    /// Byte offset of a 1-based line and a 0-based column counted in characters (the
    /// convention of proc-macro2's span locations).
    pub fn offset_of_line_column(&self, line: usize, column: usize) -> usize {
        let Some(&start) = self.line_starts.get(line.saturating_sub(1)) else {
            return self.body.len();
        };
        self.body[start..]
            .char_indices()
            .nth(column)
            .map_or(self.body.len(), |(i, _)| start + i)
    }

    pub fn line_count(&self) -> usize {
        if self.body.is_empty() {
            0
        } else {
            self.line_starts.len() - usize::from(self.body.ends_with(['\n', '\r']))
        }
    }
}

/// One line of a line-oriented file (shell script, requirements), where the rules for those
/// files look for commands and package names.
#[derive(Debug, Clone, Copy)]
pub struct Line<'a> {
    /// The line without its line break.
    pub text: &'a str,
    /// Byte offset of the line's start in the body.
    pub offset: usize,
    /// 1-based line number, counted as `SourceText::line_of` counts.
    pub number: usize,
    /// Whether a `\n` ends the line (the last line may have none).
    pub ends_with_newline: bool,
}

impl<'a> Line<'a> {
    /// The line without leading whitespace.
    pub fn trimmed(&self) -> &'a str {
        self.text.trim_start()
    }

    /// The leading whitespace, which a replacement line keeps.
    pub fn indent(&self) -> &'a str {
        &self.text[..self.text.len() - self.trimmed().len()]
    }

    /// Byte offset of the line's end (before its line break) in the body.
    pub fn end(&self) -> usize {
        self.offset + self.text.len()
    }

    /// Blank lines and `#` comments, which line-oriented rules never touch.
    pub fn is_blank_or_comment(&self) -> bool {
        let trimmed = self.trimmed();
        trimmed.is_empty() || trimmed.starts_with('#')
    }
}

impl SourceText {
    /// The body's lines split at `\n`, each with its offset and number.
    pub fn numbered_lines(&self) -> impl Iterator<Item = Line<'_>> {
        let mut offset = 0;
        self.body.split_inclusive('\n').map(move |raw| {
            let line = Line {
                text: raw.trim_end_matches(['\n', '\r']),
                offset,
                number: self.line_of(offset),
                ends_with_newline: raw.ends_with('\n'),
            };
            offset += raw.len();
            line
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bom_is_split_off_and_restored() {
        let s = SourceText::new("\u{feff}x = 1\n");
        assert!(s.bom);
        assert_eq!(s.body, "x = 1\n");
        assert_eq!(s.to_file_text(), "\u{feff}x = 1\n");
    }

    #[test]
    fn lines_and_columns_are_one_based() {
        let s = SourceText::new("ab\ncd\r\nef");
        assert_eq!(s.line_of(0), 1);
        assert_eq!(s.line_of(3), 2);
        assert_eq!(s.line_of(8), 3);
        assert_eq!(s.column_of(4), 2);
        assert_eq!(s.line_span(3, 4), (3, 5));
        assert_eq!(s.line_count(), 3);
    }

    #[test]
    fn a_lone_carriage_return_ends_a_line_as_in_python() {
        let s = SourceText::new("a\rbc\r\nd");
        assert_eq!(s.line_of(2), 2);
        assert_eq!(s.line_of(6), 3);
        assert_eq!(s.line_span(3, 3), (2, 4));
    }

    #[test]
    fn newline_style_follows_the_majority() {
        assert_eq!(SourceText::new("a\r\nb\r\nc\n").newline, "\r\n");
        assert_eq!(SourceText::new("a\nb\r\n").newline, "\n");
        assert_eq!(SourceText::new("a").newline, "\n");
        assert_eq!(SourceText::new("a\rb\rc\n").newline, "\r");
        assert_eq!(SourceText::new("a\rb\r\nc\r\n").newline, "\r\n");
    }
}
