//! Where each cell's `source` sits in a notebook's text. serde_json gives values without
//! positions; rewriting a cell in place (so indentation, key order, outputs and metadata stay
//! byte-identical) needs the byte span of that one value, which this small scanner finds.
//! It runs only on text serde_json has already accepted, so it need not diagnose bad JSON.

/// A JSON string token: `start` at its opening quote, `end` just past its closing quote.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StringToken {
    pub start: usize,
    pub end: usize,
    /// The decoded value.
    pub value: String,
}

/// A cell's `source` value: one string, or a list of strings (nbformat's list of lines).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SourceSpan {
    Text(StringToken),
    /// `open` is the `[`, `close` the `]`.
    Lines {
        open: usize,
        close: usize,
        items: Vec<StringToken>,
    },
}

/// One entry of the notebook's `cells` list.
#[derive(Debug, Clone, Default)]
pub struct CellSpans {
    pub cell_type: Option<String>,
    /// None when the cell has no `source`, or one that is neither a string nor a list of
    /// strings (left alone).
    pub source: Option<SourceSpan>,
}

/// The cells of a notebook, in order; Err when there is no `cells` list.
pub fn cells(raw: &str) -> Result<Vec<CellSpans>, String> {
    let mut s = Scanner { raw, pos: 0 };
    s.ws();
    let mut found = None;
    s.object(|s, key| {
        if key == "cells" && s.peek() == Some(b'[') {
            let mut cells = Vec::new();
            s.array(|s| {
                if s.peek() == Some(b'{') {
                    cells.push(s.cell());
                } else {
                    s.skip_value();
                    cells.push(CellSpans::default());
                }
            });
            found = Some(cells);
        } else {
            s.skip_value();
        }
    });
    found.ok_or_else(|| "not a notebook (no \"cells\" list)".to_string())
}

struct Scanner<'a> {
    raw: &'a str,
    pos: usize,
}

impl Scanner<'_> {
    fn peek(&self) -> Option<u8> {
        self.raw.as_bytes().get(self.pos).copied()
    }

    fn ws(&mut self) {
        while matches!(self.peek(), Some(b' ' | b'\t' | b'\n' | b'\r')) {
            self.pos += 1;
        }
    }

    /// Calls `field` with the scanner on each value (after the colon); it must consume it.
    fn object(&mut self, mut field: impl FnMut(&mut Self, &str)) {
        if self.peek() != Some(b'{') {
            self.skip_value();
            return;
        }
        self.pos += 1;
        loop {
            self.ws();
            match self.peek() {
                Some(b'"') => {}
                Some(b'}') => {
                    self.pos += 1;
                    return;
                }
                Some(b',') => {
                    self.pos += 1;
                    continue;
                }
                _ => return, // not reached on valid JSON
            }
            let key = self.string().value;
            self.ws();
            if self.peek() == Some(b':') {
                self.pos += 1;
            }
            self.ws();
            field(self, &key);
        }
    }

    /// Calls `item` with the scanner on each element; it must consume it.
    fn array(&mut self, mut item: impl FnMut(&mut Self)) {
        self.pos += 1; // '['
        loop {
            self.ws();
            match self.peek() {
                Some(b']') => {
                    self.pos += 1;
                    return;
                }
                Some(b',') => self.pos += 1,
                None => return,
                Some(_) => item(self),
            }
        }
    }

    fn cell(&mut self) -> CellSpans {
        let mut cell = CellSpans::default();
        self.object(|s, key| match (key, s.peek()) {
            ("cell_type", Some(b'"')) => cell.cell_type = Some(s.string().value),
            ("source", Some(b'"')) => cell.source = Some(SourceSpan::Text(s.string())),
            ("source", Some(b'[')) => cell.source = s.lines(),
            _ => s.skip_value(),
        });
        cell
    }

    /// A list of strings; None (after consuming it) when any element is not a string.
    fn lines(&mut self) -> Option<SourceSpan> {
        let open = self.pos;
        let mut items = Vec::new();
        let mut all_strings = true;
        self.array(|s| {
            if s.peek() == Some(b'"') {
                items.push(s.string());
            } else {
                all_strings = false;
                s.skip_value();
            }
        });
        let close = self.pos - 1;
        all_strings.then_some(SourceSpan::Lines { open, close, items })
    }

    fn string(&mut self) -> StringToken {
        let start = self.pos;
        self.pos += 1;
        let bytes = self.raw.as_bytes();
        while let Some(&b) = bytes.get(self.pos) {
            self.pos += 1;
            match b {
                b'\\' => self.pos += 1,
                b'"' => break,
                _ => {}
            }
        }
        let end = self.pos.min(self.raw.len());
        let value = serde_json::from_str(&self.raw[start..end]).unwrap_or_default();
        StringToken { start, end, value }
    }

    /// Skips any value without recursing, so deeply nested outputs cost no stack.
    fn skip_value(&mut self) {
        let bytes = self.raw.as_bytes();
        let mut depth = 0usize;
        while let Some(&b) = bytes.get(self.pos) {
            match b {
                b'"' => {
                    self.string_end();
                    if depth == 0 {
                        return;
                    }
                    continue;
                }
                b'{' | b'[' => depth += 1,
                b'}' | b']' => {
                    if depth == 0 {
                        return; // the end of the enclosing container
                    }
                    depth -= 1;
                    if depth == 0 {
                        self.pos += 1;
                        return;
                    }
                }
                b',' if depth == 0 => return,
                _ => {}
            }
            self.pos += 1;
        }
    }

    /// Moves past a string without decoding it.
    fn string_end(&mut self) {
        let bytes = self.raw.as_bytes();
        self.pos += 1;
        while let Some(&b) = bytes.get(self.pos) {
            self.pos += 1;
            match b {
                b'\\' => self.pos += 1,
                b'"' => return,
                _ => {}
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_list_and_string_sources_past_nested_outputs() {
        let raw = r#"{"metadata": {"a": [1, {"b": "]"}]}, "cells": [
  {"cell_type": "code", "outputs": [{"text": ["x\"]"]}], "source": ["a\n", "b"]},
  {"source": "s\u00e9", "cell_type": "markdown"},
  {"cell_type": "raw", "source": [1]}
], "nbformat": 4}"#;
        let cells = cells(raw).unwrap();
        assert_eq!(cells.len(), 3);
        assert_eq!(cells[0].cell_type.as_deref(), Some("code"));
        let Some(SourceSpan::Lines { open, close, items }) = &cells[0].source else {
            panic!("{:?}", cells[0].source)
        };
        assert_eq!(&raw[*open..=*close], r#"["a\n", "b"]"#);
        assert_eq!(items[0].value, "a\n");
        assert_eq!(&raw[items[1].start..items[1].end], "\"b\"");
        assert_eq!(cells[1].cell_type.as_deref(), Some("markdown"));
        let Some(SourceSpan::Text(t)) = &cells[1].source else {
            panic!()
        };
        assert_eq!(t.value, "sé");
        assert_eq!(&raw[t.start..t.end], r#""s\u00e9""#);
        assert!(
            cells[2].source.is_none(),
            "a list of non-strings is left alone"
        );
    }

    #[test]
    fn a_document_without_cells_is_refused() {
        assert!(cells(r#"{"nbformat": 4}"#).is_err());
        assert!(cells("[]").is_err());
    }
}
