//! One migration run: walk the tree, process every file in parallel, and decide on the
//! helper module. Nothing is written here; see `apply` for that.

use crate::diagnostic::Diagnostic;
use crate::edit::{self, AppliedEdit};
use crate::file_result::{FileResult, FileStatus};
use crate::findings::Findings;
use crate::helper::HelperChoice;
use crate::helper_placement::{self, Package, PackageHelpers};
use crate::options::{RuleOptions, Style};
use crate::requirements::Flavor;
use crate::rust::{self, DeviceCrate};
use crate::text::SourceText;
use crate::walk::{self, FileKind};
use crate::{
    cuda_source, docs, helper, nesting, notebook, python, requirements, rust_crates, shell,
};
use rayon::prelude::*;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// Files larger than this are skipped (and reported) unless --max-file-size says otherwise.
pub const DEFAULT_MAX_FILE_BYTES: u64 = 4 * 1024 * 1024;

#[derive(Debug, Clone)]
pub struct RunConfig {
    pub options: RuleOptions,
    pub excludes: Vec<String>,
    pub max_file_bytes: u64,
    /// The toolkit's `device` crate, for the dependency rewritten Rust code needs.
    pub device_crate: Option<DeviceCrate>,
}

impl Default for RunConfig {
    fn default() -> Self {
        RunConfig {
            options: RuleOptions::default(),
            excludes: Vec::new(),
            max_file_bytes: DEFAULT_MAX_FILE_BYTES,
            device_crate: DeviceCrate::beside_this_checkout(),
        }
    }
}

#[derive(Debug)]
pub struct Migration {
    pub root: PathBuf,
    pub style: Style,
    pub helper_module: Option<String>,
    pub files: Vec<FileResult>,
    pub duration: Duration,
}

#[derive(Debug, thiserror::Error)]
pub enum RunError {
    #[error("{path}: no such file or directory")]
    MissingPath { path: String },
    #[error("{path}: cannot resolve: {source}")]
    Resolve {
        path: String,
        source: std::io::Error,
    },
    #[error(transparent)]
    Walk(#[from] walk::WalkError),
    #[error("--helper-module {0:?} is not a valid Python module name")]
    BadHelperName(String),
    #[error("no path to migrate was given")]
    NoPaths,
    #[error("cannot start worker threads: {0}")]
    Threads(#[from] rayon::ThreadPoolBuildError),
}

/// The directory patches are relative to: the path itself, a file's parent, or the common
/// ancestor of several paths.
fn tree_root(paths: &[PathBuf]) -> Result<(PathBuf, Vec<PathBuf>), RunError> {
    let mut resolved = Vec::new();
    for path in paths {
        if !path.exists() {
            return Err(RunError::MissingPath {
                path: path.display().to_string(),
            });
        }
        let canonical = path.canonicalize().map_err(|source| RunError::Resolve {
            path: path.display().to_string(),
            source,
        })?;
        resolved.push(canonical);
    }
    let base = |p: &Path| {
        if p.is_dir() {
            p.to_path_buf()
        } else {
            p.parent().map(Path::to_path_buf).unwrap_or_default()
        }
    };
    let Some((first, rest)) = resolved.split_first() else {
        return Err(RunError::NoPaths);
    };
    let mut root = base(first);
    for p in rest {
        while !p.starts_with(&root) {
            if !root.pop() {
                break;
            }
        }
    }
    Ok((root, resolved))
}

fn is_module_name(name: &str) -> bool {
    let mut chars = name.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

pub fn migrate_paths(paths: &[PathBuf], config: &RunConfig) -> Result<Migration, RunError> {
    let started = Instant::now();
    if !is_module_name(&config.options.helper) {
        return Err(RunError::BadHelperName(config.options.helper.clone()));
    }
    let (root, starts) = tree_root(paths)?;
    let excludes = walk::build_excludes(&config.excludes)?;
    let mut found = walk::WalkResult::default();
    for start in &starts {
        let part = walk::walk(&root, start, &excludes);
        found.files.extend(part.files);
        found.skipped.extend(part.skipped);
        found.errors.extend(part.errors);
    }
    found.files.sort_by(|a, b| a.relative.cmp(&b.relative));
    found.files.dedup_by(|a, b| a.relative == b.relative);

    let mut options = config.options.clone();
    let helper_choice = match options.style {
        Style::Portable => Some(helper::choose_name(&root, &options.helper)),
        Style::Npu => None,
    };
    if let Some(choice) = &helper_choice {
        options.helper = choice.name.clone();
    }

    // Modules of a package import a copy of the helper inside their top package.
    let mut package_helpers = PackageHelpers::default();
    let packages: Vec<Option<Package>> = found
        .files
        .iter()
        .map(|f| {
            let portable_python = f.kind == FileKind::Python && helper_choice.is_some();
            portable_python
                .then(|| helper_placement::package_of(&root, &f.relative))
                .flatten()
        })
        .collect();
    let file_options: Vec<RuleOptions> = packages
        .iter()
        .map(|package| match package {
            Some(p) => {
                let name = package_helpers
                    .choose(&root, p, &options.helper)
                    .name
                    .clone();
                RuleOptions {
                    helper_import: Some(helper_placement::relative_import(p, &name)),
                    helper: name,
                    ..options.clone()
                }
            }
            None => options.clone(),
        })
        .collect();

    // Parsers and visitors recurse; the nesting pre-scan bounds how deep, and these threads
    // have the stack that bound needs (the default 2 MiB does not hold it).
    let pool = rayon::ThreadPoolBuilder::new()
        .stack_size(nesting::STACK_BYTES)
        .build()?;
    let mut files: Vec<FileResult> = pool.install(|| {
        found
            .files
            .par_iter()
            .zip(&file_options)
            .map(|(f, o)| process(f, o, config.max_file_bytes))
            .collect()
    });
    let package_needs: Vec<(String, HelperChoice)> = package_helpers
        .by_top
        .into_iter()
        .filter(|(top, choice)| {
            files.iter().zip(&packages).any(|(f, p)| {
                p.as_ref().is_some_and(|p| &p.top == top) && uses_helper(f, &choice.name)
            })
        })
        .collect();
    let root_files_need_helper = files.iter().zip(&packages).any(|(f, p)| {
        p.is_none()
            && helper_choice
                .as_ref()
                .is_some_and(|c| uses_helper(f, &c.name))
    });
    for (relative, reason) in found.skipped {
        files.push(FileResult::refused(relative, FileStatus::Skipped, reason));
    }
    for (path, reason) in found.errors {
        files.push(FileResult::refused(path, FileStatus::Failed, reason));
    }
    rust_crates::link(&mut files, &root, config.device_crate.as_ref());

    let mut helper_module = None;
    if let Some(choice) = helper_choice {
        let needed = root_files_need_helper;
        if needed || choice.existing || !package_needs.is_empty() {
            helper_module = Some(choice.name.clone());
        }
        if needed && !choice.existing {
            files.push(helper::added_file(&root, "", &choice));
        }
    }
    for (top, choice) in &package_needs {
        if !choice.existing {
            files.push(helper::added_file(&root, top, choice));
        }
    }
    files.sort_by(|a, b| a.relative.cmp(&b.relative));
    Ok(Migration {
        root,
        style: options.style,
        helper_module,
        files,
        duration: started.elapsed(),
    })
}

/// Whether a migrated Python file or notebook refers to the helper module `name`.
fn uses_helper(f: &FileResult, name: &str) -> bool {
    f.status == FileStatus::Changed
        && matches!(f.kind, Some(FileKind::Python | FileKind::Notebook))
        && f.output
            .as_deref()
            .is_some_and(|o| o.contains(&format!("{name}.")))
}

/// Text that makes a file worth parsing; files without any are reported unchanged unparsed.
/// `torch` only matters in requirements, where torch-npu is added next to it.
const TRIGGERS: &[&str] = &[
    "cuda",
    "CUDA",
    "nccl",
    "NCCL",
    "flash_attn",
    "flash-attn",
    "xformers",
    "sageattention",
    "tensorrt",
    "polygraphy",
    "cupy",
    "apex",
    "amp_C",
    "bitsandbytes",
    "triton",
    "DataParallel",
    "torch.compile",
    "jit.script",
    "float64",
    "torch.double",
    "nvidia",
    "/whl/cu",
];

/// The trigger matcher; None only if the automaton could not be built, in which case every
/// file is parsed (slower, never wrong).
fn triggers(with_torch: bool) -> Option<&'static aho_corasick::AhoCorasick> {
    use std::sync::OnceLock;
    type Cell = OnceLock<Option<aho_corasick::AhoCorasick>>;
    static CODE: Cell = OnceLock::new();
    static REQUIREMENTS: Cell = OnceLock::new();
    let cell = if with_torch { &REQUIREMENTS } else { &CODE };
    cell.get_or_init(|| {
        let extra: &[&str] = if with_torch { &["torch"] } else { &[] };
        aho_corasick::AhoCorasick::new(TRIGGERS.iter().chain(extra)).ok()
    })
    .as_ref()
}

/// One pass over the text, however many triggers there are.
fn worth_parsing(kind: FileKind, text: &str) -> bool {
    if kind == FileKind::CargoManifest {
        return true; // small, and its diagnostics do not depend on a trigger word
    }
    let with_torch = matches!(kind, FileKind::Requirements | FileKind::CondaEnvironment);
    triggers(with_torch).is_none_or(|t| t.is_match(text))
}

fn process(found: &walk::Found, options: &RuleOptions, max_bytes: u64) -> FileResult {
    let size = match std::fs::metadata(&found.absolute) {
        Ok(meta) => meta.len(),
        Err(err) => return FileResult::failed(found, format!("cannot read: {err}")),
    };
    if size > max_bytes {
        return FileResult {
            reason: Some(format!(
                "{size} bytes is over the {max_bytes}-byte limit (--max-file-size)"
            )),
            ..FileResult::found(found, FileStatus::Skipped)
        };
    }
    if found.kind == FileKind::CudaSource {
        // Reported whole; its content is not needed (and need not be UTF-8).
        let mut result = FileResult::found(found, FileStatus::Unchanged);
        result
            .diagnostics
            .push(cuda_source::report(&found.relative));
        return result;
    }
    let bytes = match std::fs::read(&found.absolute) {
        Ok(bytes) => bytes,
        Err(err) => return FileResult::failed(found, format!("cannot read: {err}")),
    };
    if memchr::memchr(0, &bytes).is_some() {
        return FileResult::failed(found, "binary content (NUL bytes), not a text file");
    }
    let text = match String::from_utf8(bytes) {
        Ok(text) => text,
        Err(err) => {
            let offset = err.utf8_error().valid_up_to();
            return FileResult::failed(
                found,
                format!("not UTF-8 (invalid byte at offset {offset})"),
            );
        }
    };
    let mut result = FileResult::found(found, FileStatus::Unchanged);
    // The helper an earlier run added is ours and correct as it is; rewriting its
    // torch.cuda checks would break it.
    let generated_helper = found.kind == FileKind::Python && text.starts_with(helper::MARKER);
    if generated_helper || !worth_parsing(found.kind, &text) {
        result.original = Some(text);
        return result;
    }
    let source = SourceText::new(&text);
    let (output, edits, diagnostics) = match found.kind {
        FileKind::Python => match python::migrate(&source, options) {
            Ok(outcome) => {
                result.held_back = outcome.held_back;
                (
                    outcome.output.map(|o| o.to_file_text()),
                    outcome.edits,
                    outcome.diagnostics,
                )
            }
            Err(err) => {
                let deep = match &err {
                    python::PythonError::TooDeep(deep) => Some(deep.clone()),
                    _ => None,
                };
                return failed_with(found, err.to_string(), deep, text);
            }
        },
        FileKind::Shell => line_fixes(&source, shell::collect(&source, options), &mut result),
        FileKind::Requirements | FileKind::CondaEnvironment => {
            let flavor = if found.kind == FileKind::Requirements {
                Flavor::Pip
            } else {
                Flavor::Conda
            };
            line_fixes(&source, requirements::collect(&source, flavor), &mut result)
        }
        FileKind::Markdown => (None, Vec::new(), docs::collect(&source)),
        FileKind::Notebook => {
            let is_trigger = |t: &str| worth_parsing(FileKind::Python, t);
            match notebook::migrate(&source.body, options, is_trigger) {
                Ok(outcome) => {
                    result.held_back = outcome.held_back;
                    (
                        outcome.output.map(|o| source.with_body(o).to_file_text()),
                        outcome.edits,
                        outcome.diagnostics,
                    )
                }
                Err(reason) => return failed_with(found, reason, None, text),
            }
        }
        FileKind::Rust => match rust::migrate(&source) {
            Ok(outcome) => {
                result.rust_needs = outcome.needs;
                let changed = !outcome.edits.is_empty();
                let output = changed.then(|| outcome.output.to_file_text());
                (output, outcome.edits, outcome.diagnostics)
            }
            Err(err) => {
                let deep = match &err {
                    rust::RustError::TooDeep(deep) => Some(deep.clone()),
                    _ => None,
                };
                return failed_with(found, err.to_string(), deep, text);
            }
        },
        FileKind::CargoManifest => match rust::manifest_findings(&source) {
            Ok(findings) => (None, Vec::new(), findings.diagnostics),
            Err(err) => {
                let mut failed = FileResult::failed(found, err);
                failed.original = Some(text);
                return failed;
            }
        },
        // Reported whole before its content is read; kept here so the match stays exhaustive.
        FileKind::CudaSource => (None, Vec::new(), vec![cuda_source::report(&found.relative)]),
    };
    if let Some(output) = output.filter(|o| *o != text) {
        result.status = FileStatus::Changed;
        result.output = Some(output);
    }
    result.original = Some(text);
    result.edits = edits;
    result.diagnostics = diagnostics;
    result
}

/// A file left unchanged because it could not be processed; a refusal for depth also
/// becomes a diagnostic (MG003), so reports list it with the other things for a human.
fn failed_with(
    found: &walk::Found,
    reason: String,
    deep: Option<nesting::TooDeep>,
    text: String,
) -> FileResult {
    let mut failed = FileResult::failed(found, reason);
    if let Some(deep) = deep {
        failed.diagnostics.push(crate::diagnostic::Diagnostic::new(
            &nesting::TOO_DEEP,
            deep.line,
            1,
            deep.message,
        ));
    }
    failed.original = Some(text);
    failed
}

/// Applies line-based fixes (shell, requirements) in one pass; these rules never nest.
/// Fixes on a line whose suppression comment covers them are held back (and recorded).
fn line_fixes(
    source: &SourceText,
    mut findings: Findings,
    result: &mut FileResult,
) -> (Option<String>, Vec<AppliedEdit>, Vec<Diagnostic>) {
    result.held_back = crate::suppression::hold_back(source, &mut findings.fixes);
    let (fixes, _) = edit::resolve_overlaps(findings.fixes);
    let edits = fixes.iter().map(|f| edit::describe(source, f)).collect();
    let output = source
        .with_body(edit::apply(&source.body, &fixes))
        .to_file_text();
    (Some(output), edits, findings.diagnostics)
}
