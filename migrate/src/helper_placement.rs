//! Where the helper goes for each file, so that the import the file gains works once the
//! project is installed: a module of a package (its directory and every one above it up to
//! the package's top hold `__init__.py`) imports a helper placed inside its top package,
//! relatively; a loose script imports the one at the tree root. Each place gets its own name
//! check, so a module of the user's is never shadowed.

use crate::helper::{self, HelperChoice};
use std::collections::BTreeMap;
use std::path::Path;

/// The package a Python file belongs to: its top directory (relative to the tree root, `/`
/// separated) and how many directories below that top the file sits.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Package {
    pub top: String,
    pub depth: usize,
}

/// The package of `relative` under `root`, or None for a file outside any package. The tree
/// root itself is never taken as a package: the root helper serves it.
pub fn package_of(root: &Path, relative: &str) -> Option<Package> {
    let dirs: Vec<&str> = relative.split('/').collect();
    let dirs = &dirs[..dirs.len().saturating_sub(1)];
    let mut top = None;
    for end in (1..=dirs.len()).rev() {
        let dir = root.join(dirs[..end].join("/"));
        if dir.join("__init__.py").is_file() {
            top = Some(end);
        } else {
            break;
        }
    }
    let top = top?;
    Some(Package {
        top: dirs[..top].join("/"),
        depth: dirs.len() - top,
    })
}

/// The helper each package gets, chosen once per package.
#[derive(Debug, Default)]
pub struct PackageHelpers {
    pub by_top: BTreeMap<String, HelperChoice>,
}

impl PackageHelpers {
    pub fn choose(&mut self, root: &Path, package: &Package, requested: &str) -> &HelperChoice {
        self.by_top
            .entry(package.top.clone())
            .or_insert_with(|| helper::choose_name(&root.join(&package.top), requested))
    }
}

/// `from . import device_utils` for a module right in the top package, one more dot per level.
/// A module of a package can also be run as a script (`python scripts/sample.py`), where a
/// relative import has no parent package: then the package's copy is imported by its name.
/// Lines are separated by `\n`; the caller writes the file's own line breaks.
pub fn relative_import(package: &Package, name: &str) -> String {
    let relative = format!("from {} import {name}", ".".repeat(package.depth + 1));
    let top = package.top.rsplit('/').next().unwrap_or_default();
    if !is_identifier(top) {
        return relative;
    }
    format!(
        "try:\n    {relative}\nexcept ImportError:  # run as a script, outside its package\n    from {top} import {name}"
    )
}

fn is_identifier(name: &str) -> bool {
    let mut chars = name.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn packages_are_found_up_to_their_top() {
        let dir = tempfile::tempdir().expect("temp dir");
        let root = dir.path();
        for d in ["pkg/sub", "scripts", "src/lib"] {
            std::fs::create_dir_all(root.join(d)).expect("mkdir");
        }
        for init in [
            "pkg/__init__.py",
            "pkg/sub/__init__.py",
            "src/lib/__init__.py",
        ] {
            std::fs::write(root.join(init), "").expect("write");
        }
        let pkg = |top: &str, depth| {
            Some(Package {
                top: top.into(),
                depth,
            })
        };
        assert_eq!(package_of(root, "pkg/model.py"), pkg("pkg", 0));
        assert_eq!(package_of(root, "pkg/sub/模型.py"), pkg("pkg", 1));
        assert_eq!(package_of(root, "src/lib/a.py"), pkg("src/lib", 0));
        assert_eq!(package_of(root, "scripts/train.py"), None);
        assert_eq!(package_of(root, "train.py"), None);
        let p = package_of(root, "pkg/sub/模型.py").expect("in a package");
        assert_eq!(
            relative_import(&p, "device_utils"),
            "try:\n    from .. import device_utils\nexcept ImportError:  # run as a script, outside its package\n    from pkg import device_utils"
        );
    }
}
