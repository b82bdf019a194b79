//! Rust source reduced to what imports are made of: comments, string and char literals
//! blanked out (so a path inside a doc comment or a message is not an import), line
//! numbers kept so a finding can point at its line.

/// `text` with every comment and literal replaced by spaces (newlines kept).
pub fn code_only(text: &str) -> String {
    let chars: Vec<char> = text.chars().collect();
    let mut out = String::with_capacity(text.len());
    let mut i = 0;
    let blank = |out: &mut String, c: char| out.push(if c == '\n' { '\n' } else { ' ' });
    while i < chars.len() {
        let c = chars[i];
        let next = chars.get(i + 1).copied();
        if c == '/' && next == Some('/') {
            while i < chars.len() && chars[i] != '\n' {
                blank(&mut out, chars[i]);
                i += 1;
            }
        } else if c == '/' && next == Some('*') {
            i = skip_block_comment(&chars, i, &mut out);
        } else if c == '"' {
            i = skip_string(&chars, i, &mut out);
        } else if c == 'r' && is_raw_string_start(&chars, i) {
            i = skip_raw_string(&chars, i, &mut out);
        } else if c == '\'' {
            i = skip_char_literal(&chars, i, &mut out);
        } else {
            out.push(c);
            i += 1;
        }
    }
    out
}

fn blank_range(chars: &[char], from: usize, to: usize, out: &mut String) {
    for &c in &chars[from..to.min(chars.len())] {
        out.push(if c == '\n' { '\n' } else { ' ' });
    }
}

// Block comments nest in Rust.
fn skip_block_comment(chars: &[char], start: usize, out: &mut String) -> usize {
    let mut depth = 0usize;
    let mut i = start;
    while i < chars.len() {
        if chars[i] == '/' && chars.get(i + 1) == Some(&'*') {
            depth += 1;
            i += 2;
        } else if chars[i] == '*' && chars.get(i + 1) == Some(&'/') {
            depth -= 1;
            i += 2;
            if depth == 0 {
                break;
            }
        } else {
            i += 1;
        }
    }
    blank_range(chars, start, i, out);
    i
}

fn skip_string(chars: &[char], start: usize, out: &mut String) -> usize {
    let mut i = start + 1;
    while i < chars.len() && chars[i] != '"' {
        i += if chars[i] == '\\' { 2 } else { 1 };
    }
    let end = (i + 1).min(chars.len());
    blank_range(chars, start, end, out);
    end
}

fn is_raw_string_start(chars: &[char], i: usize) -> bool {
    // `r"` or `r#..#"`, and not the end of an identifier such as `for"`.
    let after_ident = i > 0 && (chars[i - 1].is_alphanumeric() || chars[i - 1] == '_');
    if after_ident {
        return false;
    }
    let mut j = i + 1;
    while chars.get(j) == Some(&'#') {
        j += 1;
    }
    chars.get(j) == Some(&'"')
}

fn skip_raw_string(chars: &[char], start: usize, out: &mut String) -> usize {
    let mut i = start + 1;
    let mut hashes = 0;
    while chars.get(i) == Some(&'#') {
        hashes += 1;
        i += 1;
    }
    i += 1; // the opening quote
    while i < chars.len() {
        if chars[i] == '"' && (1..=hashes).all(|k| chars.get(i + k) == Some(&'#')) {
            i += 1 + hashes;
            break;
        }
        i += 1;
    }
    blank_range(chars, start, i, out);
    i
}

// A quote starts either a char literal ('a', '\n', '\u{1F600}') or a lifetime ('a).
fn skip_char_literal(chars: &[char], start: usize, out: &mut String) -> usize {
    let end = if chars.get(start + 1) == Some(&'\\') {
        let mut j = start + 2;
        while j < chars.len() && chars[j] != '\'' && chars[j] != '\n' {
            j += 1;
        }
        j + 1
    } else if chars.get(start + 2) == Some(&'\'') {
        start + 3
    } else {
        out.push('\'');
        return start + 1;
    };
    blank_range(chars, start, end, out);
    end.min(chars.len())
}

/// A path as written, split into segments, with the line it starts on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WrittenPath {
    pub segments: Vec<String>,
    pub line: usize,
    /// The inline modules (`mod tests { .. }`) the path is written in, outermost first:
    /// `super` inside them is relative to them, not to the file.
    pub scope: Vec<String>,
    /// For a `use` path, the name it brings into scope (its alias, or its last segment);
    /// none for a glob or a path written in code.
    pub binding: Option<String>,
}

/// One `use` item: whether it is a re-export (`pub use`, `pub(crate) use`), and the
/// paths its tree expands to (`use a::{b, c::d as e}` gives `a::b` and `a::c::d`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UseItem {
    pub reexport: bool,
    pub paths: Vec<WrittenPath>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Token {
    Ident(String),
    PathSep,
    Open,
    Close,
    Comma,
    Star,
    Semicolon,
    OpenParen,
    CloseParen,
    Other,
}

fn tokens(code: &str) -> Vec<(Token, usize)> {
    let chars: Vec<char> = code.chars().collect();
    let mut out = Vec::new();
    let mut line = 1;
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if c == '\n' {
            line += 1;
            i += 1;
        } else if c.is_whitespace() {
            i += 1;
        } else if c.is_alphabetic() || c == '_' {
            let start = i;
            while i < chars.len() && (chars[i].is_alphanumeric() || chars[i] == '_') {
                i += 1;
            }
            let word: String = chars[start..i].iter().collect();
            // A raw identifier `r#type` names the same thing as `type`.
            out.push((Token::Ident(word), line));
        } else if c == ':' && chars.get(i + 1) == Some(&':') {
            out.push((Token::PathSep, line));
            i += 2;
        } else {
            let token = match c {
                '{' => Token::Open,
                '}' => Token::Close,
                ',' => Token::Comma,
                '*' => Token::Star,
                ';' => Token::Semicolon,
                '(' => Token::OpenParen,
                ')' => Token::CloseParen,
                _ => Token::Other,
            };
            out.push((token, line));
            i += 1;
        }
    }
    out
}

/// What a file's code says about names: its `use` items, every other path of two or more
/// segments (`crate::a::f()`, `super::Error`, `child::Type`), and every identifier written
/// outside `use` items (to tell whether a re-exported name is also used by the file).
#[derive(Debug, Default)]
pub struct Names {
    pub uses: Vec<UseItem>,
    pub inline: Vec<WrittenPath>,
    pub identifiers: std::collections::BTreeSet<String>,
}

/// The [`Names`] of comment- and literal-free code.
pub fn names(code: &str) -> Names {
    let toks = tokens(code);
    let mut uses = Vec::new();
    let mut inline = Vec::new();
    let mut identifiers = std::collections::BTreeSet::new();
    // (inline module name, brace depth inside it)
    let mut scopes: Vec<(String, usize)> = Vec::new();
    let mut depth = 0usize;
    let mut i = 0;
    while i < toks.len() {
        match &toks[i].0 {
            Token::Open => depth += 1,
            Token::Close => {
                if scopes.last().is_some_and(|(_, d)| *d == depth) {
                    scopes.pop();
                }
                depth = depth.saturating_sub(1);
            }
            Token::Ident(m) if m == "mod" => {
                if let (Some((Token::Ident(name), _)), Some((Token::Open, _))) =
                    (toks.get(i + 1), toks.get(i + 2))
                {
                    depth += 1;
                    scopes.push((name.clone(), depth));
                    i += 3;
                    continue;
                }
            }
            _ => {}
        }
        let scope = || scopes.iter().map(|(n, _)| n.clone()).collect::<Vec<_>>();
        if toks[i].0 == Token::Ident("use".into()) {
            let reexport = is_reexport(&toks, i);
            let mut paths = Vec::new();
            let mut j = i + 1;
            if toks.get(j).map(|t| &t.0) == Some(&Token::PathSep) {
                j += 1; // `use ::std::x` names an external crate
                skip_use_tree(&toks, &mut j);
            } else {
                parse_use_tree(&toks, &mut j, &[], &mut paths);
            }
            // `a::{self, *}` names `a` twice.
            let mut seen = Vec::new();
            paths.retain(|p| {
                let new = !seen.contains(&p.segments);
                seen.push(p.segments.clone());
                new
            });
            for p in &mut paths {
                p.scope = scope();
            }
            uses.push(UseItem { reexport, paths });
            i = j;
            continue;
        }
        let preceded_by_sep = i > 0 && toks[i - 1].0 == Token::PathSep;
        if let (Token::Ident(first), line) = &toks[i]
            && !preceded_by_sep
            && toks.get(i + 1).map(|t| &t.0) == Some(&Token::PathSep)
        {
            let mut segments = vec![first.clone()];
            let mut j = i + 1;
            while toks.get(j).map(|t| &t.0) == Some(&Token::PathSep) {
                match toks.get(j + 1) {
                    Some((Token::Ident(s), _)) => {
                        segments.push(s.clone());
                        j += 2;
                    }
                    _ => break,
                }
            }
            if segments.len() >= 2 {
                inline.push(WrittenPath {
                    segments,
                    line: *line,
                    scope: scope(),
                    binding: None,
                });
            }
            identifiers.insert(first.clone());
            i = j;
            continue;
        }
        // A module's name in its own `mod name;` declaration is not a use of it.
        let declares_module = i > 0 && toks[i - 1].0 == Token::Ident("mod".into());
        if let Token::Ident(word) = &toks[i].0
            && !declares_module
        {
            identifiers.insert(word.clone());
        }
        i += 1;
    }
    Names {
        uses,
        inline,
        identifiers,
    }
}

fn is_reexport(toks: &[(Token, usize)], use_at: usize) -> bool {
    let Some(before) = use_at.checked_sub(1) else {
        return false;
    };
    match &toks[before].0 {
        Token::Ident(w) if w == "pub" => true,
        // `pub(crate) use`, `pub(super) use`, `pub(in path) use`
        Token::CloseParen => {
            let mut j = before;
            while j > 0 && toks[j].0 != Token::OpenParen {
                j -= 1;
            }
            j > 0 && toks[j - 1].0 == Token::Ident("pub".into())
        }
        _ => false,
    }
}

fn skip_use_tree(toks: &[(Token, usize)], j: &mut usize) {
    while *j < toks.len() && toks[*j].0 != Token::Semicolon {
        *j += 1;
    }
    *j += 1;
}

// use_tree := path ( "::" ( "*" | "{" use_tree ("," use_tree)* "}" ) )? ( "as" ident )?
fn parse_use_tree(
    toks: &[(Token, usize)],
    j: &mut usize,
    prefix: &[String],
    out: &mut Vec<WrittenPath>,
) {
    let line = toks.get(*j).map_or(0, |t| t.1);
    let mut segments = prefix.to_vec();
    let mut alias = None;
    let mut glob = false;
    loop {
        match toks.get(*j).map(|t| &t.0) {
            Some(Token::Ident(s)) if s == "as" => {
                if let Some((Token::Ident(name), _)) = toks.get(*j + 1) {
                    alias = Some(name.clone());
                }
                *j += 2;
            }
            Some(Token::Ident(s)) if s == "self" && !segments.is_empty() => {
                *j += 1; // `a::{self}` is `a` itself
            }
            Some(Token::Ident(s)) => {
                segments.push(s.clone());
                *j += 1;
            }
            Some(Token::PathSep) => *j += 1,
            Some(Token::Star) => {
                glob = true;
                *j += 1;
            }
            Some(Token::Open) => {
                *j += 1;
                loop {
                    match toks.get(*j).map(|t| &t.0) {
                        Some(Token::Close) => {
                            *j += 1;
                            break;
                        }
                        Some(Token::Comma) => *j += 1,
                        None => return,
                        _ => parse_use_tree(toks, j, &segments, out),
                    }
                }
                // The group's members are the paths; the prefix alone is not imported.
                if toks.get(*j).map(|t| &t.0) == Some(&Token::Semicolon) {
                    *j += 1;
                }
                return;
            }
            Some(Token::Semicolon) => {
                *j += 1;
                break;
            }
            Some(Token::Comma) | Some(Token::Close) | None => break,
            Some(_) => *j += 1,
        }
    }
    if !segments.is_empty() {
        let binding = if glob {
            None
        } else {
            alias.or_else(|| segments.last().cloned())
        };
        out.push(WrittenPath {
            segments,
            line,
            scope: Vec::new(),
            binding,
        });
    }
}

/// Names of the `mod name;` declarations (file modules, not inline `mod name { }`).
pub fn file_modules(code: &str) -> Vec<String> {
    let toks = tokens(code);
    toks.windows(3)
        .filter_map(|w| match (&w[0].0, &w[1].0, &w[2].0) {
            (Token::Ident(m), Token::Ident(name), Token::Semicolon) if m == "mod" => {
                Some(name.clone())
            }
            _ => None,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn seg(p: &WrittenPath) -> String {
        p.segments.join("::")
    }

    #[test]
    fn comments_and_literals_are_blanked_but_lines_survive() {
        let code = code_only(
            "// use crate::a;\nlet s = \"crate::b\";\n/* crate::c /* nested */ */ let x = r#\"crate::d\"#;\nfn f<'a>(c: char) { '\\'' ; 'x'; crate::e::f() }",
        );
        assert!(!code.contains("crate::a") && !code.contains("crate::b"));
        assert!(!code.contains("crate::c") && !code.contains("crate::d"));
        assert!(code.contains("<'a>") && code.contains("crate::e::f()"));
        assert_eq!(code.lines().count(), 4);
    }

    #[test]
    fn use_trees_expand_to_every_leaf() {
        let uses = names(
            "use crate::a::{self, b::C, d::{e, f as g}, *};\npub use super::h;\npub(crate) use child::I;\nuse ::std::io;",
        )
        .uses;
        let all: Vec<Vec<String>> = uses
            .iter()
            .map(|u| u.paths.iter().map(seg).collect())
            .collect();
        assert_eq!(
            all,
            vec![
                vec![
                    "crate::a",
                    "crate::a::b::C",
                    "crate::a::d::e",
                    "crate::a::d::f"
                ]
                .into_iter()
                .map(String::from)
                .collect::<Vec<_>>(),
                vec!["super::h".to_string()],
                vec!["child::I".to_string()],
                vec![],
            ]
        );
        assert_eq!(
            uses.iter().map(|u| u.reexport).collect::<Vec<_>>(),
            [false, true, true, false]
        );
        let bindings: Vec<Option<&str>> =
            uses[0].paths.iter().map(|p| p.binding.as_deref()).collect();
        assert_eq!(bindings, [Some("a"), Some("C"), Some("e"), Some("g")]);
    }

    #[test]
    fn inline_paths_start_at_their_first_segment() {
        let found = names("use a::Z;\nlet x = crate::weights::load(a::b)?;\nfoo.bar::<T>();");
        let inline = found.inline;
        assert!(found.identifiers.contains("foo") && found.identifiers.contains("crate"));
        assert!(!found.identifiers.contains("Z"));
        assert!(
            !names("pub mod tome;\npub use tome::TomeRun;")
                .identifiers
                .contains("tome")
        );
        let found: Vec<String> = inline.iter().map(seg).collect();
        assert_eq!(found, ["crate::weights::load", "a::b"]);
        assert_eq!(inline[0].line, 2);
    }

    #[test]
    fn paths_know_the_inline_module_they_are_written_in() {
        let Names { uses, inline, .. } = names(
            "use a::b;\nmod tests {\n    use super::c;\n    fn f() { super::d::e(); }\n}\nuse x::y;",
        );
        let scopes: Vec<&[String]> = uses.iter().map(|u| u.paths[0].scope.as_slice()).collect();
        assert_eq!(scopes, [&[][..], &["tests".to_string()][..], &[][..]]);
        assert_eq!(inline[0].scope, ["tests"]);
    }

    #[test]
    fn file_modules_skip_inline_modules() {
        let mods = file_modules("pub mod a;\nmod b;\n#[cfg(test)]\nmod tests {\n}\nmod c { }");
        assert_eq!(mods, ["a", "b"]);
    }
}
