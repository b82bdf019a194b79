//! The file-level import graph of a crate's sources, to hold the layout to its design:
//! no two files importing each other (directly or round a circle), and rooms such as a
//! pipeline that nothing outside them imports.
//!
//! Modules are found the way rustc finds them (`mod name;` -> `name.rs` or `name/mod.rs`
//! from each crate root: `src/lib.rs`, `src/main.rs`, `src/bin/*.rs`, `src/bin/*/main.rs`).
//! An import is any `use` path or written path that resolves into another module file:
//! `crate::..`, `super::..`, `self::..` and paths through a child module. A module's
//! re-export of its own descendants (`pub use child::Item`) counts only when the module's
//! own code uses the name too: a parent that only re-exports its children is their public
//! face, not a dependency of its code on them. Re-exporting anything else (`pub use
//! crate::sibling::Item`) is counted.

mod source;

use source::{WrittenPath, code_only, file_modules, names};
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// One file importing from another.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Import {
    /// Paths relative to the crate directory.
    pub from: PathBuf,
    pub to: PathBuf,
    pub line: usize,
    /// The path as written, e.g. `crate::sd::unet::UNet`.
    pub written: String,
}

impl std::fmt::Display for Import {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{}:{} imports {} (`{}`)",
            self.from.display(),
            self.line,
            self.to.display(),
            self.written
        )
    }
}

#[derive(Debug)]
pub struct ModuleGraph {
    pub imports: Vec<Import>,
}

/// A module file of one crate tree.
struct ModuleFile {
    path: PathBuf,
    module: Vec<String>,
    code: String,
}

impl ModuleGraph {
    /// The graph of every crate root under `crate_dir/src`.
    pub fn of_crate(crate_dir: &Path) -> Result<Self, String> {
        let mut imports = BTreeSet::new();
        for root in crate_roots(&crate_dir.join("src"))? {
            let files = module_tree(&root)?;
            let modules: BTreeMap<&[String], &Path> = files
                .iter()
                .map(|f| (f.module.as_slice(), f.path.as_path()))
                .collect();
            for file in &files {
                let found = names(&file.code);
                for (written, reexport) in imports_of(&found) {
                    let Some((target, target_module)) = resolve(&file.module, &written, &modules)
                    else {
                        continue;
                    };
                    let only_republished = reexport
                        && target_module.starts_with(&file.module)
                        && !written
                            .binding
                            .as_ref()
                            .is_some_and(|name| found.identifiers.contains(name));
                    if target == file.path || only_republished {
                        continue;
                    }
                    let relative = |p: &Path| p.strip_prefix(crate_dir).unwrap_or(p).to_path_buf();
                    imports.insert(Import {
                        from: relative(&file.path),
                        to: relative(target),
                        line: written.line,
                        written: written.segments.join("::"),
                    });
                }
            }
        }
        Ok(Self {
            imports: imports.into_iter().collect(),
        })
    }

    /// Every set of files that import each other round a circle, each as the imports
    /// that make it (strongly connected components of more than one file).
    pub fn cycles(&self) -> Vec<Vec<&Import>> {
        let mut edges: BTreeMap<&Path, BTreeSet<&Path>> = BTreeMap::new();
        for import in &self.imports {
            edges
                .entry(&import.from)
                .or_default()
                .insert(import.to.as_path());
            edges.entry(&import.to).or_default();
        }
        strongly_connected(&edges)
            .into_iter()
            .filter(|component| component.len() > 1)
            .map(|component| {
                self.imports
                    .iter()
                    .filter(|i| {
                        component.contains(i.from.as_path()) && component.contains(i.to.as_path())
                    })
                    .collect()
            })
            .collect()
    }

    /// Imports into `room` (a file or folder, relative to the crate directory) from
    /// files outside it.
    pub fn imports_into(&self, room: &Path) -> Vec<&Import> {
        let inside = |p: &Path| p == room || p.starts_with(room) || p.with_extension("") == room;
        self.imports
            .iter()
            .filter(|i| inside(&i.to) && !inside(&i.from))
            .collect()
    }
}

fn crate_roots(src: &Path) -> Result<Vec<PathBuf>, String> {
    let mut roots: Vec<PathBuf> = ["lib.rs", "main.rs"]
        .iter()
        .map(|name| src.join(name))
        .filter(|p| p.is_file())
        .collect();
    let bin = src.join("bin");
    if bin.is_dir() {
        let entries = std::fs::read_dir(&bin).map_err(|e| format!("{}: {e}", bin.display()))?;
        let mut bins: Vec<PathBuf> = entries
            .flatten()
            .map(|e| e.path())
            .filter_map(|p| {
                if p.extension().is_some_and(|e| e == "rs") {
                    Some(p)
                } else if p.join("main.rs").is_file() {
                    Some(p.join("main.rs"))
                } else {
                    None
                }
            })
            .collect();
        bins.sort();
        roots.extend(bins);
    }
    if roots.is_empty() {
        return Err(format!(
            "{}: no crate root (lib.rs, main.rs, bin/)",
            src.display()
        ));
    }
    Ok(roots)
}

/// The files of the crate rooted at `root`, with their module paths.
fn module_tree(root: &Path) -> Result<Vec<ModuleFile>, String> {
    let mut files = Vec::new();
    let mut pending = vec![(root.to_path_buf(), Vec::<String>::new(), true)];
    while let Some((path, module, is_root)) = pending.pop() {
        let text =
            std::fs::read_to_string(&path).map_err(|e| format!("{}: {e}", path.display()))?;
        let code = code_only(&text);
        // Children of a crate root or a mod.rs sit beside it; those of `a.rs` in `a/`.
        let dir = if is_root || path.file_name().is_some_and(|n| n == "mod.rs") {
            path.parent().map(Path::to_path_buf)
        } else {
            path.file_stem()
                .and_then(|stem| path.parent().map(|p| p.join(stem)))
        }
        .ok_or_else(|| format!("{}: no parent folder", path.display()))?;
        for child in file_modules(&code) {
            let flat = dir.join(format!("{child}.rs"));
            let nested = dir.join(&child).join("mod.rs");
            let child_path = if flat.is_file() {
                flat
            } else if nested.is_file() {
                nested
            } else {
                return Err(format!(
                    "{}: `mod {child};` has neither {} nor {}",
                    path.display(),
                    flat.display(),
                    nested.display()
                ));
            };
            let mut child_module = module.clone();
            child_module.push(child);
            pending.push((child_path, child_module, false));
        }
        files.push(ModuleFile { path, module, code });
    }
    Ok(files)
}

/// Written paths that may name another module, each with whether it is a re-export.
fn imports_of(found: &source::Names) -> Vec<(WrittenPath, bool)> {
    found
        .uses
        .iter()
        .flat_map(|u| u.paths.iter().map(move |p| (p.clone(), u.reexport)))
        .chain(found.inline.iter().map(|p| (p.clone(), false)))
        .collect()
}

/// The module file (and its module path) a written path lands in, if it names one of
/// this crate's modules.
fn resolve<'a, 'm>(
    file_module: &[String],
    written: &WrittenPath,
    modules: &BTreeMap<&'m [String], &'a Path>,
) -> Option<(&'a Path, &'m [String])> {
    let mut here: Vec<String> = file_module.to_vec();
    here.extend(written.scope.iter().cloned());
    let segments = &written.segments;
    let absolute: Vec<String> = match segments.first()?.as_str() {
        "crate" => segments[1..].to_vec(),
        "self" => here.iter().chain(&segments[1..]).cloned().collect(),
        "super" => {
            let ups = segments.iter().take_while(|s| *s == "super").count();
            let base = here.len().checked_sub(ups)?;
            here[..base]
                .iter()
                .chain(&segments[ups..])
                .cloned()
                .collect()
        }
        _ => {
            // A relative path is an import only when it starts with a child module.
            let mut child = file_module.to_vec();
            child.push(segments[0].clone());
            if !modules.contains_key(child.as_slice()) {
                return None;
            }
            file_module.iter().chain(segments).cloned().collect()
        }
    };
    (0..=absolute.len()).rev().find_map(|n| {
        modules
            .get_key_value(&absolute[..n])
            .map(|(module, path)| (*path, *module))
    })
}

/// Tarjan's strongly connected components.
fn strongly_connected<'a>(
    edges: &BTreeMap<&'a Path, BTreeSet<&'a Path>>,
) -> Vec<BTreeSet<&'a Path>> {
    struct State<'a> {
        index: BTreeMap<&'a Path, usize>,
        low: BTreeMap<&'a Path, usize>,
        stack: Vec<&'a Path>,
        on_stack: BTreeSet<&'a Path>,
        components: Vec<BTreeSet<&'a Path>>,
    }
    fn visit<'a>(
        node: &'a Path,
        edges: &BTreeMap<&'a Path, BTreeSet<&'a Path>>,
        s: &mut State<'a>,
    ) {
        let n = s.index.len();
        s.index.insert(node, n);
        s.low.insert(node, n);
        s.stack.push(node);
        s.on_stack.insert(node);
        for &next in edges.get(node).into_iter().flatten() {
            if !s.index.contains_key(next) {
                visit(next, edges, s);
                let low = s.low[node].min(s.low[next]);
                s.low.insert(node, low);
            } else if s.on_stack.contains(next) {
                let low = s.low[node].min(s.index[next]);
                s.low.insert(node, low);
            }
        }
        if s.low[node] == s.index[node] {
            let mut component = BTreeSet::new();
            while let Some(top) = s.stack.pop() {
                s.on_stack.remove(top);
                component.insert(top);
                if top == node {
                    break;
                }
            }
            s.components.push(component);
        }
    }
    let mut state = State {
        index: BTreeMap::new(),
        low: BTreeMap::new(),
        stack: Vec::new(),
        on_stack: BTreeSet::new(),
        components: Vec::new(),
    };
    for &node in edges.keys() {
        if !state.index.contains_key(node) {
            visit(node, edges, &mut state);
        }
    }
    state.components
}

#[cfg(test)]
mod tests {
    use super::*;

    fn crate_with(files: &[(&str, &str)]) -> tempfile::TempDir {
        let dir = tempfile::tempdir().expect("temp dir");
        for (path, text) in files {
            let path = dir.path().join(path);
            std::fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
            std::fs::write(path, text).expect("write");
        }
        dir
    }

    fn import_pairs(graph: &ModuleGraph) -> Vec<(String, String)> {
        graph
            .imports
            .iter()
            .map(|i| (i.from.display().to_string(), i.to.display().to_string()))
            .collect()
    }

    #[test]
    fn two_files_importing_each_other_are_a_cycle() {
        let dir = crate_with(&[
            ("src/lib.rs", "pub mod a;\npub mod b;\npub mod c;\n"),
            ("src/a.rs", "use crate::b::B;\npub struct A;\n"),
            (
                "src/b.rs",
                "pub struct B;\nfn f() -> crate::a::A { crate::a::A }\n",
            ),
            ("src/c.rs", "use crate::a::A;\n"),
        ]);
        let graph = ModuleGraph::of_crate(dir.path()).expect("graph");
        let cycles = graph.cycles();
        assert_eq!(cycles.len(), 1, "{cycles:?}");
        let files: BTreeSet<String> = cycles[0]
            .iter()
            .map(|i| i.from.display().to_string())
            .collect();
        assert_eq!(
            files,
            BTreeSet::from(["src/a.rs".into(), "src/b.rs".into()])
        );
    }

    #[test]
    fn a_circle_of_three_through_super_and_child_paths_is_found() {
        let dir = crate_with(&[
            ("src/main.rs", "mod x;\n"),
            ("src/x/mod.rs", "mod y;\nmod z;\nfn f() { y::g(); }\n"),
            ("src/x/y.rs", "use super::z::Z;\n"),
            ("src/x/z.rs", "pub struct Z;\nfn h() { super::f() }\n"),
        ]);
        let graph = ModuleGraph::of_crate(dir.path()).expect("graph");
        assert_eq!(
            import_pairs(&graph),
            [
                ("src/x/mod.rs".into(), "src/x/y.rs".into()),
                ("src/x/y.rs".into(), "src/x/z.rs".into()),
                ("src/x/z.rs".into(), "src/x/mod.rs".into()),
            ]
        );
        assert_eq!(graph.cycles().len(), 1);
    }

    #[test]
    fn reexports_test_modules_and_comments_make_no_cycle() {
        let dir = crate_with(&[
            (
                "src/lib.rs",
                "mod error;\npub mod a;\npub use a::A;\npub(crate) use error::E;\n",
            ),
            ("src/error.rs", "pub struct E;\n"),
            (
                "src/a.rs",
                "//! See [crate::A].\nuse crate::error::E;\npub struct A;\n#[cfg(test)]\nmod tests {\n    use super::*;\n}\nconst S: &str = \"crate::lib\";\n",
            ),
        ]);
        let graph = ModuleGraph::of_crate(dir.path()).expect("graph");
        assert!(graph.cycles().is_empty(), "{:?}", graph.imports);
        assert_eq!(
            import_pairs(&graph),
            [("src/a.rs".into(), "src/error.rs".into())]
        );
    }

    #[test]
    fn a_parent_using_what_it_re_exports_depends_on_that_child() {
        let dir = crate_with(&[
            ("src/lib.rs", "pub mod accel;\n"),
            (
                "src/accel/mod.rs",
                "pub mod tome;\npub use tome::TomeOptions;\npub enum AccelError {}\nfn parse() { TomeOptions::new(); }\n",
            ),
            (
                "src/accel/tome.rs",
                "use super::AccelError;\npub struct TomeOptions;\n",
            ),
        ]);
        let graph = ModuleGraph::of_crate(dir.path()).expect("graph");
        assert_eq!(graph.cycles().len(), 1, "{:?}", graph.imports);
    }

    #[test]
    fn re_exporting_a_sibling_is_an_import() {
        let dir = crate_with(&[
            ("src/lib.rs", "pub mod layers;\npub mod conv;\n"),
            (
                "src/layers.rs",
                "pub use crate::conv::Conv2d;\npub struct Kernels;\n",
            ),
            (
                "src/conv.rs",
                "use crate::layers::Kernels;\npub struct Conv2d;\n",
            ),
        ]);
        let graph = ModuleGraph::of_crate(dir.path()).expect("graph");
        assert_eq!(graph.cycles().len(), 1, "{:?}", graph.imports);
    }

    #[test]
    fn imports_into_a_room_from_outside_are_listed() {
        let dir = crate_with(&[
            ("src/lib.rs", "pub mod sd;\npub mod hidream;\n"),
            ("src/sd/mod.rs", "pub mod vae;\nuse self::vae::Vae;\n"),
            ("src/sd/vae.rs", "pub struct Vae;\n"),
            ("src/hidream.rs", "use crate::sd::vae::Vae;\n"),
        ]);
        let graph = ModuleGraph::of_crate(dir.path()).expect("graph");
        let into: Vec<String> = graph
            .imports_into(Path::new("src/sd"))
            .iter()
            .map(|i| i.to_string())
            .collect();
        assert_eq!(
            into,
            ["src/hidream.rs:1 imports src/sd/vae.rs (`crate::sd::vae::Vae`)"]
        );
    }

    #[test]
    fn a_missing_module_file_is_an_error_naming_it() {
        let dir = crate_with(&[("src/lib.rs", "mod gone;\n")]);
        let err = ModuleGraph::of_crate(dir.path()).expect_err("missing file");
        assert!(err.contains("mod gone;"), "{err}");
    }
}
