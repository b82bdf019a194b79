//! No two source files of the library import each other, directly or around a loop. A
//! cycle is where a "small module with one concern" quietly stops being one: the files can
//! no longer be read, tested or moved apart.
//!
//! Every path in a file counts, not only `use` lines: `crate::a::b`, `super::x`, `self::y`
//! and paths that start with a child module's name, in `use` trees, expressions and types,
//! test modules included. A path leads to the deepest file along it, so `crate::rust::Needs`
//! depends on `rust/mod.rs` (the re-export), not on the file that defines `Needs`. `mod`
//! declarations are containment, not imports. `main.rs` is its own crate and is skipped.

use std::collections::{BTreeMap, BTreeSet, HashSet};
use std::path::{Path, PathBuf};
use syn::visit::{self, Visit};

/// Module path (`["python", "rules"]`) of every file-backed module, to its file.
type Modules = BTreeMap<Vec<String>, PathBuf>;

/// file -> files it refers to, each with one path that shows why.
type Graph = BTreeMap<PathBuf, BTreeMap<PathBuf, String>>;

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).expect("readable source directory") {
        let path = entry.expect("directory entry").path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// `a/b.rs` and `a/b/mod.rs` are module `a::b`; `lib.rs` is the crate root.
fn module_path(src: &Path, file: &Path) -> Vec<String> {
    let relative = file.strip_prefix(src).expect("file under src");
    let mut parts: Vec<String> = relative
        .components()
        .map(|c| c.as_os_str().to_string_lossy().into_owned())
        .collect();
    let last = parts.pop().expect("a file name");
    match last.as_str() {
        "mod.rs" | "lib.rs" => {}
        name => parts.push(name.trim_end_matches(".rs").to_string()),
    }
    parts
}

fn parse(file: &Path) -> syn::File {
    let text = std::fs::read_to_string(file).expect("readable source file");
    syn::parse_file(&text).unwrap_or_else(|e| panic!("{}: {e}", file.display()))
}

/// The files a crate's source tree is made of, by module path.
fn modules(src: &Path) -> Modules {
    let mut files = Vec::new();
    rust_files(src, &mut files);
    files
        .into_iter()
        .filter(|f| f != &src.join("main.rs") && !f.starts_with(src.join("bin")))
        .map(|f| (module_path(src, &f), f))
        .collect()
}

/// Collects, for one file, the module paths its paths lead to.
struct Refs<'m> {
    /// Every module, file-backed or inline, so a path can start with a child's name.
    known: &'m HashSet<Vec<String>>,
    /// The module the walk is in (inline modules push their name).
    current: Vec<String>,
    /// (absolute module-relative path, how it was written).
    found: Vec<(Vec<String>, String)>,
}

impl Refs<'_> {
    /// `segments` resolved from the current module; None when it leaves the crate.
    fn resolve(&self, segments: &[String]) -> Option<Vec<String>> {
        let first = segments.first()?;
        let mut base = match first.as_str() {
            "crate" => Vec::new(),
            "self" | "super" => self.current.clone(),
            _ => {
                let mut child = self.current.clone();
                child.push(first.clone());
                if !self.known.contains(&child) {
                    return None; // an external crate, a local item or a variable
                }
                self.current.clone()
            }
        };
        let mut rest = segments;
        if first == "crate" || first == "self" {
            rest = &segments[1..];
        }
        while let Some(("super", tail)) = rest.split_first().map(|(h, t)| (h.as_str(), t)) {
            base.pop()?;
            rest = tail;
        }
        base.extend(rest.iter().cloned());
        Some(base)
    }

    fn record(&mut self, segments: Vec<String>) {
        if let Some(target) = self.resolve(&segments) {
            self.found.push((target, segments.join("::")));
        }
    }

    fn use_tree(&mut self, tree: &syn::UseTree, prefix: &mut Vec<String>) {
        match tree {
            syn::UseTree::Path(p) => {
                prefix.push(p.ident.to_string());
                self.use_tree(&p.tree, prefix);
                prefix.pop();
            }
            syn::UseTree::Group(g) => {
                for item in &g.items {
                    self.use_tree(item, prefix);
                }
            }
            syn::UseTree::Name(n) => {
                let mut path = prefix.clone();
                if n.ident != "self" {
                    path.push(n.ident.to_string());
                }
                self.record(path);
            }
            syn::UseTree::Rename(r) => {
                let mut path = prefix.clone();
                if r.ident != "self" {
                    path.push(r.ident.to_string());
                }
                self.record(path);
            }
            syn::UseTree::Glob(_) => self.record(prefix.clone()),
        }
    }
}

impl<'a> Visit<'a> for Refs<'_> {
    fn visit_item_use(&mut self, item: &'a syn::ItemUse) {
        if item.leading_colon.is_none() {
            self.use_tree(&item.tree, &mut Vec::new());
        }
    }

    fn visit_path(&mut self, path: &'a syn::Path) {
        if path.leading_colon.is_none() && path.segments.len() > 1 {
            self.record(path.segments.iter().map(|s| s.ident.to_string()).collect());
        }
        visit::visit_path(self, path);
    }

    fn visit_item_mod(&mut self, item: &'a syn::ItemMod) {
        self.current.push(item.ident.to_string());
        visit::visit_item_mod(self, item);
        self.current.pop();
    }
}

/// Inline modules (`mod tests { ... }`) of a file, as module paths.
fn inline_modules(items: &[syn::Item], current: &mut Vec<String>, out: &mut HashSet<Vec<String>>) {
    for item in items {
        if let syn::Item::Mod(m) = item
            && let Some((_, content)) = &m.content
        {
            current.push(m.ident.to_string());
            out.insert(current.clone());
            inline_modules(content, current, out);
            current.pop();
        }
    }
}

/// The deepest file-backed module along `target`.
fn owning_file<'m>(modules: &'m Modules, target: &[String]) -> Option<&'m PathBuf> {
    (0..=target.len())
        .rev()
        .find_map(|n| modules.get(&target[..n]))
}

fn graph(src: &Path) -> Graph {
    let modules = modules(src);
    let parsed: Vec<(&Vec<String>, &PathBuf, syn::File)> = modules
        .iter()
        .map(|(module, file)| (module, file, parse(file)))
        .collect();
    let mut known: HashSet<Vec<String>> = modules.keys().cloned().collect();
    for (module, _, ast) in &parsed {
        inline_modules(&ast.items, &mut (*module).clone(), &mut known);
    }
    let mut graph = Graph::new();
    for (module, file, ast) in &parsed {
        let mut refs = Refs {
            known: &known,
            current: (*module).clone(),
            found: Vec::new(),
        };
        refs.visit_file(ast);
        let edges = graph.entry((*file).clone()).or_default();
        for (target, written) in refs.found {
            if let Some(to) = owning_file(&modules, &target).filter(|to| to != file) {
                edges.entry(to.clone()).or_insert(written);
            }
        }
    }
    graph
}

/// One cycle per group of files that reach each other, as `a.rs -(path)-> b.rs ...`.
fn cycles(graph: &Graph, src: &Path) -> Vec<String> {
    let reaches = |from: &PathBuf| -> BTreeSet<PathBuf> {
        let mut seen = BTreeSet::new();
        let mut stack = vec![from.clone()];
        while let Some(f) = stack.pop() {
            for to in graph.get(&f).into_iter().flat_map(|e| e.keys()) {
                if seen.insert(to.clone()) {
                    stack.push(to.clone());
                }
            }
        }
        seen
    };
    let name = |f: &Path| f.strip_prefix(src).unwrap_or(f).display().to_string();
    let mut reported: BTreeSet<PathBuf> = BTreeSet::new();
    let mut out = Vec::new();
    for start in graph.keys() {
        if reported.contains(start) || !reaches(start).contains(start) {
            continue;
        }
        // Walk back to the start along edges that stay in the cycle, to show one loop.
        let mut loop_text = name(start);
        let mut at = start.clone();
        let mut visited = BTreeSet::new();
        loop {
            visited.insert(at.clone());
            let Some((next, why)) = graph[&at].iter().find(|(to, _)| {
                *to == start || (!visited.contains(*to) && reaches(to).contains(start))
            }) else {
                break;
            };
            loop_text.push_str(&format!(" -({why})-> {}", name(next)));
            if next == start {
                break;
            }
            at = next.clone();
        }
        reported.extend(visited);
        out.push(loop_text);
    }
    out
}

#[test]
fn the_library_source_files_import_each_other_without_cycles() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let files = graph(&src);
    assert!(files.len() > 20, "the scan found too few files to be real");
    let found = cycles(&files, &src);
    assert!(
        found.is_empty(),
        "import cycles between files (move what both need into a module of its own):\n  {}",
        found.join("\n  ")
    );
}

/// The scan must see a cycle where one is: through a `use` in a folder's `mod.rs`, a
/// `super::` path in a test module, and a path written in an expression.
#[test]
fn a_cycle_in_a_small_tree_is_found() {
    let dir = tempfile::tempdir().expect("temp dir");
    let src = dir.path();
    let write = |path: &str, text: &str| crate::common::write(&src.join(path), text);
    write("lib.rs", "mod a;\nmod rules;\nmod leaf;\n");
    write("leaf.rs", "pub struct Leaf;\n");
    write(
        "rules/mod.rs",
        "mod one;\npub use one::ONE;\npub struct Context;\nfn f() { let _ = crate::leaf::Leaf; }\n",
    );
    write(
        "rules/one.rs",
        "pub const ONE: u8 = 1;\n#[cfg(test)]\nmod tests {\n    use super::super::Context;\n}\n",
    );
    write("a.rs", "fn f() -> u8 { crate::rules::ONE }\n");

    let with_cycle = graph(src);
    let found = cycles(&with_cycle, src);
    assert_eq!(found.len(), 1, "{found:?}");
    assert!(
        found[0].contains("rules/mod.rs") && found[0].contains("rules/one.rs"),
        "{found:?}"
    );
    assert!(
        with_cycle[&src.join("a.rs")].contains_key(&src.join("rules/mod.rs")),
        "an expression path is an edge"
    );

    // Without the test module's `super::super` import the tree has no cycle.
    write("rules/one.rs", "pub const ONE: u8 = 1;\n");
    assert!(cycles(&graph(src), src).is_empty());
}
