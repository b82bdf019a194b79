//! The files a program was asked to write, checked before any work: each may only be
//! missing or a regular file (see `pipelines::output_file`), and no two flags may name the
//! same file, so a bad path costs seconds, not a whole run, and never replaces anything
//! else.

use crate::exit::{Failure, bad};
use std::path::{Path, PathBuf};

/// Fails, naming the flag, unless every `(flag, path)` may be written and the paths are
/// distinct.
pub fn check_outputs(outputs: &[(&str, &Path)]) -> Result<(), Failure> {
    let mut seen: Vec<(&str, PathBuf)> = Vec::with_capacity(outputs.len());
    for (flag, path) in outputs {
        pipelines::output_file::check_target(path).map_err(|e| bad(format!("{flag} {e}")))?;
        let key = std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf());
        if let Some((other, _)) = seen.iter().find(|(_, p)| *p == key) {
            return Err(bad(format!(
                "{flag} and {other} both name {}; give each its own file",
                path.display()
            )));
        }
        seen.push((flag, key));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn two_flags_may_not_name_one_file() {
        let dir = tempfile::tempdir().unwrap();
        let png = dir.path().join("输出.png");
        let err = check_outputs(&[("--output", &png), ("--save-latents", &png)]).unwrap_err();
        assert_eq!(err.code, crate::exit::BAD_INPUT);
        assert!(err.message.contains("--save-latents and --output"), "{err}");
    }

    #[test]
    fn a_folder_is_refused_naming_the_flag() {
        let dir = tempfile::tempdir().unwrap();
        let err = check_outputs(&[("--output", dir.path())]).unwrap_err();
        assert!(err.message.starts_with("--output "), "{err}");
        assert!(err.message.contains("a folder"), "{err}");
    }
}
