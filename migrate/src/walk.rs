//! Which files a run looks at: a tree walk that honours .gitignore and --exclude, never
//! follows symbolic links, and sorts files by what the tool does with them.

use globset::{Glob, GlobSet, GlobSetBuilder};
use std::path::{Path, PathBuf};

#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum FileKind {
    Python,
    Requirements,
    CondaEnvironment,
    Shell,
    Markdown,
    Notebook,
    CudaSource,
    Rust,
    CargoManifest,
}

impl FileKind {
    pub fn of(path: &Path) -> Option<FileKind> {
        // Lossy: a name that is not UTF-8 still has a kind, so the walk can report it.
        let original = path.file_name()?.to_string_lossy();
        if original == "Cargo.toml" {
            return Some(FileKind::CargoManifest);
        }
        let name = original.to_ascii_lowercase();
        let ext = name.rsplit_once('.').map(|(_, e)| e).unwrap_or_default();
        match ext {
            "py" => Some(FileKind::Python),
            "sh" | "bash" => Some(FileKind::Shell),
            "md" | "markdown" => Some(FileKind::Markdown),
            "ipynb" => Some(FileKind::Notebook),
            "cu" | "cuh" => Some(FileKind::CudaSource),
            "rs" => Some(FileKind::Rust),
            "txt" | "in" if name.contains("requirements") || name.starts_with("constraints") => {
                Some(FileKind::Requirements)
            }
            "yml" | "yaml" if name.starts_with("environment") || name.starts_with("conda") => {
                Some(FileKind::CondaEnvironment)
            }
            _ => None,
        }
    }
}

/// A file found by the walk, relative to the tree root for reports and patches.
#[derive(Debug, Clone)]
pub struct Found {
    pub absolute: PathBuf,
    pub relative: String,
    pub kind: FileKind,
}

/// What the walk found and what it refused, with reasons.
#[derive(Debug, Default)]
pub struct WalkResult {
    pub files: Vec<Found>,
    /// (relative path, reason) for entries that were not read.
    pub skipped: Vec<(String, String)>,
    /// (path, reason) for entries the walk could not read at all.
    pub errors: Vec<(String, String)>,
}

#[derive(Debug, thiserror::Error)]
pub enum WalkError {
    #[error("--exclude {pattern}: {source}")]
    BadGlob {
        pattern: String,
        source: globset::Error,
    },
}

pub fn build_excludes(patterns: &[String]) -> Result<GlobSet, WalkError> {
    let mut builder = GlobSetBuilder::new();
    for pattern in patterns {
        let glob = Glob::new(pattern).map_err(|source| WalkError::BadGlob {
            pattern: pattern.clone(),
            source,
        })?;
        builder.add(glob);
        // `--exclude build` should also exclude everything below `build/`.
        if !pattern.ends_with("/**")
            && let Ok(below) = Glob::new(&format!("{}/**", pattern.trim_end_matches('/')))
        {
            builder.add(below);
        }
    }
    builder.build().map_err(|source| WalkError::BadGlob {
        pattern: patterns.join(","),
        source,
    })
}

fn relative(root: &Path, path: &Path) -> String {
    let rel = path.strip_prefix(root).unwrap_or(path);
    rel.components()
        .map(|c| c.as_os_str().to_string_lossy())
        .collect::<Vec<_>>()
        .join("/")
}

/// Walks `root` (a directory, or a single file whose parent is the root).
pub fn walk(root: &Path, start: &Path, excludes: &GlobSet) -> WalkResult {
    let mut result = WalkResult::default();
    let mut builder = ignore::WalkBuilder::new(start);
    builder
        .follow_links(false)
        .require_git(false)
        .hidden(true)
        .sort_by_file_name(|a, b| a.cmp(b));
    let root_owned = root.to_path_buf();
    let filter = excludes.clone();
    builder.filter_entry(move |entry| {
        let rel = relative(&root_owned, entry.path());
        rel.is_empty() || !filter.is_match(&rel)
    });
    for entry in builder.build() {
        let entry = match entry {
            Ok(entry) => entry,
            Err(err) => {
                result
                    .errors
                    .push((root.display().to_string(), err.to_string()));
                continue;
            }
        };
        let path = entry.path();
        let Some(file_type) = entry.file_type() else {
            continue;
        };
        let rel = relative(root, path);
        if file_type.is_symlink() {
            if FileKind::of(path).is_some() {
                result
                    .skipped
                    .push((rel, "symbolic link (never followed)".to_string()));
            }
            continue;
        }
        if !file_type.is_file() {
            continue;
        }
        let kind = FileKind::of(path);
        if kind.is_some() && path.strip_prefix(root).unwrap_or(path).to_str().is_none() {
            result.skipped.push((
                rel,
                "file name is not UTF-8, so a patch or report cannot name it".to_string(),
            ));
            continue;
        }
        if let Some(kind) = kind {
            result.files.push(Found {
                absolute: path.to_path_buf(),
                relative: rel,
                kind,
            });
        }
    }
    result
}
