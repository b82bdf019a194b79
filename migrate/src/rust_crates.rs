//! The crates of rewritten Rust files: each gains the `device` dependency its rewritten code
//! calls, or, where that is impossible, its rewrites are withdrawn so the patch never
//! leaves code that does not compile.

use crate::code::{Code, Entry, Kind, Severity};
use crate::diagnostic::Diagnostic;
use crate::edit::AppliedEdit;
use crate::file_result::{FileResult, FileStatus};
use crate::rust::device_dependency::DEVICE_DEPENDENCY;
use crate::rust::{self, DeviceCrate, Needs};
use crate::walk::FileKind;
use std::path::{Path, PathBuf};

pub(crate) static DEVICE_CRATE_LOCATION: Entry = Entry {
    code: Code::CG103,
    name: "device-crate-location",
    kind: Kind::Diagnostic,
    severity: Severity::Error,
    summary: "Rewritten Rust code needs the device crate, but its location is unknown",
    explanation: "The rewrite would not compile without the dependency, so the Rust files were left unchanged.",
    fix: "Pass --device-crate PATH (the toolkit's device/ directory), or run migrate from the toolkit checkout.",
    guide: "pass `--device-crate DIR`, or give the files a Cargo.toml; the Rust rewrites were \
withdrawn",
    severities: None,
};

/// The manifest of the crate a file belongs to: the nearest Cargo.toml at or above its
/// directory, inside the tree.
fn owning_manifest(root: &Path, file: &Path) -> Option<PathBuf> {
    let mut dir = file.parent()?;
    loop {
        let candidate = dir.join("Cargo.toml");
        if candidate.is_file() {
            return Some(candidate);
        }
        if dir == root {
            return None;
        }
        dir = dir.parent()?;
    }
}

/// Adds the `device` dependency to each crate whose Rust files were rewritten; where that
/// is impossible, the crate's rewrites are withdrawn (they would not compile) and CG103 says
/// why.
pub fn link(files: &mut Vec<FileResult>, root: &Path, device_crate: Option<&DeviceCrate>) {
    let mut by_manifest: Vec<(Option<PathBuf>, Needs, Vec<usize>)> = Vec::new();
    for (i, f) in files.iter().enumerate() {
        if f.kind != Some(FileKind::Rust) || f.status != FileStatus::Changed {
            continue;
        }
        let manifest = owning_manifest(root, &f.absolute);
        match by_manifest.iter_mut().find(|(m, _, _)| *m == manifest) {
            Some((_, needs, members)) => {
                needs.candle |= f.rust_needs.candle;
                needs.framework |= f.rust_needs.framework;
                members.push(i);
            }
            None => by_manifest.push((manifest, f.rust_needs, vec![i])),
        }
    }
    for (manifest, needs, members) in by_manifest {
        let updated = match (&manifest, device_crate) {
            (Some(path), Some(device)) => manifest_with_device(files, root, path, device, needs),
            (None, _) => {
                Err("these Rust files belong to no Cargo.toml inside the tree".to_string())
            }
            (Some(_), None) => Err(
                "the toolkit's device crate was not found; pass --device-crate PATH".to_string(),
            ),
        };
        if let Err(why) = updated {
            for i in members {
                let f = &mut files[i];
                f.status = FileStatus::Unchanged;
                f.output = None;
                f.edits.clear();
                f.diagnostics.push(Diagnostic::new(
                    &DEVICE_CRATE_LOCATION,
                    1,
                    1,
                    format!("rewrites withdrawn: {why}"),
                ));
            }
        }
    }
}

fn manifest_with_device(
    files: &mut Vec<FileResult>,
    root: &Path,
    path: &Path,
    device: &DeviceCrate,
    needs: Needs,
) -> Result<(), String> {
    let index = match files.iter().position(|f| f.absolute == path) {
        Some(i) => i,
        None => {
            // Excluded or unreadable during the walk: bring it in now.
            let text =
                std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
            let relative = path
                .strip_prefix(root)
                .unwrap_or(path)
                .to_string_lossy()
                .replace('\\', "/");
            files.push(FileResult {
                original: Some(text),
                ..FileResult::empty(
                    relative,
                    path.to_path_buf(),
                    Some(FileKind::CargoManifest),
                    FileStatus::Unchanged,
                )
            });
            files.len() - 1
        }
    };
    let f = &mut files[index];
    let current = f
        .output
        .clone()
        .or_else(|| f.original.clone())
        .ok_or_else(|| format!("{} could not be read", f.relative))?;
    let dir = path.parent().unwrap_or(root);
    let Some(updated) = rust::add_device_dependency(&current, dir, device, needs)
        .map_err(|e| format!("{}: {e}", f.relative))?
    else {
        return Ok(());
    };
    let changed_line = current
        .lines()
        .zip(updated.lines())
        .position(|(a, b)| a != b)
        .unwrap_or(current.lines().count());
    f.edits.push(AppliedEdit {
        rule: DEVICE_DEPENDENCY.code,
        line_start: changed_line + 1,
        line_end: changed_line + 1,
        before: current
            .lines()
            .nth(changed_line)
            .unwrap_or_default()
            .to_string(),
        after: updated
            .lines()
            .nth(changed_line)
            .unwrap_or_default()
            .to_string(),
    });
    f.status = FileStatus::Changed;
    f.output = Some(updated);
    Ok(())
}
