//! A pre-scan that bounds how deep a file's syntax tree can be before a recursive parser
//! (ruff's for Python, syn for Rust) and our recursive visitors see it. A tree deep enough
//! to exhaust the stack aborts the whole process (no patch, no report for any file), so
//! such a file is refused here, at that file, with the line where the limit was crossed.
//!
//! The estimate is an upper bound on the tree's depth, computed in one pass without
//! recursion: the bracket nesting, plus for every open bracket (and the statement itself)
//! the number of tokens since the last comma at that level. Tokens between commas are what
//! can chain (`a + b + ...`, `not not ...`, `f()()...`, `a.b.c...`); comma-separated items
//! are siblings. Indentation counts as depth too (nested blocks). String contents are
//! skipped, except in f-strings, whose replacement fields are code.

use crate::code::{Code, Entry, Kind, Severity};

/// CPython's tokenizer refuses deeper bracket nesting ("too many nested parentheses"), so
/// no runnable Python file is refused for this (nor, in practice, any Rust file).
pub const MAX_BRACKET_DEPTH: usize = 200;

/// The depth estimate a file may reach. Ordinary code stays below a hundred; a file at the
/// limit still fits `STACK_BYTES` with a wide margin (a test holds it to that).
pub const MAX_DEPTH_ESTIMATE: usize = 5_000;

/// The stack each file is processed with (`run` sizes its worker threads with it).
pub const STACK_BYTES: usize = 256 * 1024 * 1024;

pub(crate) static TOO_DEEP: Entry = Entry {
    code: Code::MG003,
    name: "too-deeply-nested",
    kind: Kind::Diagnostic,
    severity: Severity::Error,
    summary: "A file nests brackets or chains operators too deeply to parse safely",
    explanation: "Parsers and rewriters recurse once per level of nesting; a file nested tens of thousands \
of levels deep (usually generated) would exhaust the stack and abort the whole run, so it is refused \
on its own and every other file is still migrated.",
    fix: "Split the expression (intermediate variables), or exclude the generated file with --exclude.",
    guide: "split the expression, or `--exclude` the generated file; it was left unchanged",
    severities: None,
};

/// Why a file was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TooDeep {
    pub line: usize,
    pub message: String,
}

impl std::fmt::Display for TooDeep {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "line {}: {}", self.line, self.message)
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Syntax {
    Python,
    Rust,
}

/// The running estimate: one token count per open bracket, over the statement's own.
struct Depth {
    segments: Vec<usize>,
    total: usize,
    line: usize,
}

impl Depth {
    fn token(&mut self) -> Result<(), TooDeep> {
        if let Some(last) = self.segments.last_mut() {
            *last += 1;
        }
        self.total += 1;
        self.check()
    }

    fn open(&mut self) -> Result<(), TooDeep> {
        self.token()?;
        self.segments.push(0);
        if self.segments.len() - 1 > MAX_BRACKET_DEPTH {
            return Err(TooDeep {
                line: self.line,
                message: format!(
                    "brackets nested more than {MAX_BRACKET_DEPTH} deep; file left unchanged"
                ),
            });
        }
        Ok(())
    }

    fn close(&mut self) {
        if self.segments.len() > 1
            && let Some(n) = self.segments.pop()
        {
            self.total -= n;
        }
    }

    /// A comma (or a statement end at the outer level): what follows is a sibling.
    fn separate(&mut self) {
        if let Some(last) = self.segments.last_mut() {
            self.total -= *last;
            *last = 0;
        }
    }

    fn check(&self) -> Result<(), TooDeep> {
        let depth = self.total + self.segments.len() - 1;
        if depth > MAX_DEPTH_ESTIMATE {
            return Err(TooDeep {
                line: self.line,
                message: format!(
                    "an expression nested or chained more than {MAX_DEPTH_ESTIMATE} levels deep; file left unchanged"
                ),
            });
        }
        Ok(())
    }
}

/// Ok when the file's syntax tree cannot be deeper than the limits.
pub fn check(text: &str, syntax: Syntax) -> Result<(), TooDeep> {
    let bytes = text.as_bytes();
    let mut depth = Depth {
        segments: vec![0],
        total: 0,
        line: 1,
    };
    let mut at_line_start = true;
    let mut i = 0;
    while i < bytes.len() {
        let b = bytes[i];
        if at_line_start {
            // Indentation is block nesting; each whitespace byte may be a level.
            let indent = bytes[i..]
                .iter()
                .take_while(|&&c| c == b' ' || c == b'\t' || c == b'\x0c')
                .count();
            depth.separate();
            for _ in 0..indent {
                depth.token()?;
            }
            i += indent;
            at_line_start = false;
            continue;
        }
        match b {
            b'\n' | b'\r' => {
                if !(b == b'\r' && bytes.get(i + 1) == Some(&b'\n')) {
                    depth.line += 1;
                }
                // A new statement starts only outside brackets.
                at_line_start = syntax == Syntax::Python && depth.segments.len() == 1;
                i += 1;
            }
            b'\\' if syntax == Syntax::Python => {
                // A line continuation: the statement goes on, so nothing is reset.
                let skip = match (bytes.get(i + 1), bytes.get(i + 2)) {
                    (Some(b'\r'), Some(b'\n')) => 3,
                    _ => 2,
                };
                if matches!(bytes.get(i + 1), Some(b'\n' | b'\r')) {
                    depth.line += 1;
                }
                i += skip;
            }
            b'#' if syntax == Syntax::Python => i = line_end(bytes, i),
            b'/' if syntax == Syntax::Rust && bytes.get(i + 1) == Some(&b'/') => {
                i = line_end(bytes, i)
            }
            b'/' if syntax == Syntax::Rust && bytes.get(i + 1) == Some(&b'*') => {
                i = block_comment_end(bytes, i, &mut depth.line)
            }
            b'"' | b'\'' => {
                if syntax == Syntax::Python && is_f_string(bytes, i) {
                    i = f_string_end(bytes, i, &mut depth)?;
                    depth.token()?;
                } else if syntax == Syntax::Rust && b == b'\'' {
                    // Rust's ' is also a lifetime. Scanning its text as code only over-counts.
                    depth.token()?;
                    i += 1;
                } else {
                    i = string_end(bytes, i, syntax, &mut depth.line);
                    depth.token()?;
                }
            }
            b'(' | b'[' | b'{' => {
                depth.open()?;
                i += 1;
            }
            b')' | b']' | b'}' => {
                depth.close();
                i += 1;
                if syntax == Syntax::Rust && b == b'}' && ends_an_item(&bytes[i..]) {
                    depth.separate();
                }
            }
            b',' => {
                depth.separate();
                i += 1;
            }
            b';' => {
                depth.separate();
                i += 1;
            }
            b' ' | b'\t' | b'\x0c' => i += 1,
            _ if b.is_ascii_alphanumeric() || b == b'_' || b >= 0x80 => {
                // One word (identifier, keyword, number) is one token.
                i += bytes[i..]
                    .iter()
                    .take_while(|&&c| c.is_ascii_alphanumeric() || c == b'_' || c >= 0x80)
                    .count();
                depth.token()?;
            }
            _ => {
                // Every operator byte counts: `**` or `==` as two over-counts, never under.
                depth.token()?;
                i += 1;
            }
        }
    }
    Ok(())
}

/// After a Rust `}`: whether what follows starts a sibling (another item, statement or
/// arm) rather than continuing an expression (`{1} + {1}`, `.method()`, `else if`).
fn ends_an_item(rest: &[u8]) -> bool {
    let next = rest
        .iter()
        .position(|c| !c.is_ascii_whitespace())
        .map(|n| &rest[n..]);
    match next {
        None => true,
        Some(text) => {
            let c = text[0];
            (c.is_ascii_alphabetic() || c == b'_' || c == b'#' || c == b'}')
                && !text.starts_with(b"else")
                && !text.starts_with(b"as ")
        }
    }
}

fn line_end(bytes: &[u8], from: usize) -> usize {
    memchr::memchr2(b'\n', b'\r', &bytes[from..]).map_or(bytes.len(), |n| from + n)
}

fn block_comment_end(bytes: &[u8], from: usize, line: &mut usize) -> usize {
    // Rust block comments nest; counted, not recursed.
    let mut open = 0usize;
    let mut i = from;
    while i < bytes.len() {
        match (bytes[i], bytes.get(i + 1)) {
            (b'/', Some(b'*')) => {
                open += 1;
                i += 2;
            }
            (b'*', Some(b'/')) => {
                open -= 1;
                i += 2;
                if open == 0 {
                    return i;
                }
            }
            (b'\n', _) => {
                *line += 1;
                i += 1;
            }
            _ => i += 1,
        }
    }
    bytes.len()
}

/// Whether the quote at `quote` opens an f-string (or a t-string): a prefix with f or t.
fn is_f_string(bytes: &[u8], quote: usize) -> bool {
    let prefix = bytes[..quote]
        .iter()
        .rev()
        .take_while(|c| c.is_ascii_alphabetic())
        .take(3)
        .copied()
        .collect::<Vec<_>>();
    prefix.len() < 3
        && prefix
            .iter()
            .any(|c| matches!(c.to_ascii_lowercase(), b'f' | b't'))
}

/// The offset after the f-string opening at `quote`. Its text is skipped like a string's (an
/// apostrophe in it starts nothing); its replacement fields are code, counted as such. A
/// quote of the f-string's own kind inside a field ends it, as before Python 3.12.
fn f_string_end(bytes: &[u8], quote: usize, depth: &mut Depth) -> Result<usize, TooDeep> {
    let q = bytes[quote];
    let triple = bytes.get(quote + 1) == Some(&q) && bytes.get(quote + 2) == Some(&q);
    let mut i = quote + if triple { 3 } else { 1 };
    let mut fields = 0usize;
    let end = |depth: &mut Depth, fields: usize, at: usize| {
        for _ in 0..fields {
            depth.close();
        }
        at
    };
    while i < bytes.len() {
        let b = bytes[i];
        match b {
            b'\\' => i += 2,
            b'\n' => {
                depth.line += 1;
                if !triple {
                    return Ok(end(depth, fields, i)); // unterminated; the parser reports it
                }
                i += 1;
            }
            c if c == q => {
                if !triple {
                    return Ok(end(depth, fields, i + 1));
                }
                if bytes.get(i + 1) == Some(&q) && bytes.get(i + 2) == Some(&q) {
                    return Ok(end(depth, fields, i + 3));
                }
                i += 1;
            }
            b'{' | b'}' if fields == 0 && bytes.get(i + 1) == Some(&b) => i += 2,
            b'{' => {
                fields += 1;
                depth.open()?;
                i += 1;
            }
            b'}' if fields > 0 => {
                fields -= 1;
                depth.close();
                i += 1;
            }
            _ if fields == 0 => i += 1,
            b'(' | b'[' => {
                depth.open()?;
                i += 1;
            }
            b')' | b']' => {
                depth.close();
                i += 1;
            }
            b'"' | b'\'' => {
                i = string_end(bytes, i, Syntax::Python, &mut depth.line);
                depth.token()?;
            }
            _ => {
                depth.token()?;
                i += 1;
            }
        }
    }
    Ok(end(depth, fields, bytes.len()))
}

/// The offset after the string literal opening at `quote` (triple-quoted in Python).
fn string_end(bytes: &[u8], quote: usize, syntax: Syntax, line: &mut usize) -> usize {
    let q = bytes[quote];
    let triple = syntax == Syntax::Python
        && bytes.get(quote + 1) == Some(&q)
        && bytes.get(quote + 2) == Some(&q);
    let mut i = quote + if triple { 3 } else { 1 };
    while i < bytes.len() {
        match bytes[i] {
            b'\\' => i += 2,
            b'\n' => {
                *line += 1;
                if !triple && syntax == Syntax::Python {
                    return i; // an unterminated string; the parser reports it
                }
                i += 1;
            }
            c if c == q => {
                if !triple {
                    return i + 1;
                }
                if bytes.get(i + 1) == Some(&q) && bytes.get(i + 2) == Some(&q) {
                    return i + 3;
                }
                i += 1;
            }
            _ => i += 1,
        }
    }
    bytes.len()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ordinary_code_is_far_below_the_limits() {
        let text = "import os\n\nclass A:\n    def f(self, x):\n        return {'a': [1, (2, 3)], 'b': f\"{x + 1}\"}\n";
        assert!(check(text, Syntax::Python).is_ok());
        let long_list = format!("X = [{}]\n", vec!["1 + 2"; 50_000].join(", "));
        assert!(check(&long_list, Syntax::Python).is_ok());
        let base64 = format!("DATA = '{}'\n", "+/+=".repeat(100_000));
        assert!(check(&base64, Syntax::Python).is_ok());
        let rust = "fn a() {}\n".repeat(10_000);
        assert!(check(&rust, Syntax::Rust).is_ok());
    }

    #[test]
    fn chains_that_hide_from_a_per_line_count_are_still_counted() {
        // Across backslash continuations and across lines inside brackets.
        let continued = format!("x = {}\n", vec!["a"; 6_000].join(" + \\\n"));
        assert!(check(&continued, Syntax::Python).unwrap_err().line > 2_000);
        let bracketed = format!("x = {}\n", vec!["(a\n)"; 6_000].join(" + "));
        assert!(check(&bracketed, Syntax::Python).is_err());
        let fstring = format!("x = f'{{{}1{}}}'\n", "(".repeat(300), ")".repeat(300));
        assert!(check(&fstring, Syntax::Python).is_err());
        // The text of an f-string is text: quotes and brackets there are not code, and a
        // file of many such lines (sd-scripts' messages) stays far below the limit.
        let message = "logger.error(f\"it's wrong? / 指定したモデル(が見つかりません: {name_or_path} {{x}}\")\nx = (1, 2)\n";
        assert!(check(&message.repeat(2_000), Syntax::Python).is_ok());
        let blocks = format!("fn f() {{ {}1; }}\n", "{1} + ".repeat(6_000));
        assert!(check(&blocks, Syntax::Rust).is_err());
    }

    #[test]
    fn brackets_in_strings_and_comments_do_not_count() {
        let text = format!(
            "# {}\nx = '{}'\ny = \"\"\"{}\"\"\"\n",
            "(".repeat(500),
            "[".repeat(500),
            "{".repeat(500)
        );
        assert!(check(&text, Syntax::Python).is_ok());
    }
}
