//! Where each image of a run is written, from `--output`:
//! - a file, `out.png`: image 0 there, image k at `out-k.png` beside it;
//! - a pattern, `out_%03d.png` (printf's `%d` / `%0Nd`, `%%` for a percent sign): image k
//!   at `out_000.png`, `out_001.png`, ... counting from 0;
//! - a folder, an existing one or a path ending in `/`: A1111's `NNNNN-SEED.png`, numbered
//!   on from the highest `NNNNN-` name already there, so earlier runs are never replaced.

use std::path::{Path, PathBuf};

/// The widest zero padding a pattern may ask for.
const MAX_WIDTH: usize = 20;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ImageNames {
    File(PathBuf),
    Pattern {
        folder: PathBuf,
        before: String,
        width: usize,
        after: String,
    },
    Folder {
        folder: PathBuf,
        first_number: u64,
    },
}

impl ImageNames {
    /// Reads `--output`; `Err` says what is wrong with a pattern.
    pub fn new(output: &Path) -> Result<Self, String> {
        let text = output.to_string_lossy();
        if output.is_dir() || text.ends_with('/') {
            return Ok(Self::Folder {
                folder: output.to_path_buf(),
                first_number: next_number(output),
            });
        }
        let Some(name) = output.file_name().map(|n| n.to_string_lossy().into_owned()) else {
            return Ok(Self::File(output.to_path_buf()));
        };
        match parse_pattern(&name)? {
            Some((before, width, after)) => Ok(Self::Pattern {
                folder: output.parent().map(Path::to_path_buf).unwrap_or_default(),
                before,
                width,
                after,
            }),
            None => Ok(Self::File(output.to_path_buf())),
        }
    }

    /// Image `index` of the run, drawn from `seed`.
    pub fn path(&self, index: usize, seed: u64) -> PathBuf {
        match self {
            Self::File(output) => numbered_beside(output, index),
            Self::Pattern {
                folder,
                before,
                width,
                after,
            } => folder.join(format!("{before}{index:0width$}{after}")),
            Self::Folder {
                folder,
                first_number,
            } => folder.join(format!("{:05}-{seed}.png", first_number + index as u64)),
        }
    }
}

/// `out.png` for image 0, `out-k.png` for image k.
fn numbered_beside(output: &Path, index: usize) -> PathBuf {
    if index == 0 {
        return output.to_path_buf();
    }
    let stem = output
        .file_stem()
        .map_or_else(|| "image".to_string(), |s| s.to_string_lossy().into_owned());
    let name = match output.extension() {
        Some(ext) => format!("{stem}-{index}.{}", ext.to_string_lossy()),
        None => format!("{stem}-{index}"),
    };
    output.with_file_name(name)
}

/// The text around one `%d` / `%0Nd` and its width; `None` without a placeholder.
fn parse_pattern(name: &str) -> Result<Option<(String, usize, String)>, String> {
    let mut before = String::new();
    let mut found: Option<usize> = None;
    let mut after = String::new();
    let mut chars = name.chars().peekable();
    while let Some(c) = chars.next() {
        let out = if found.is_some() {
            &mut after
        } else {
            &mut before
        };
        if c != '%' {
            out.push(c);
            continue;
        }
        if chars.peek() == Some(&'%') {
            chars.next();
            out.push('%');
            continue;
        }
        let mut digits = String::new();
        while let Some(d) = chars.peek().filter(|d| d.is_ascii_digit()) {
            digits.push(*d);
            chars.next();
        }
        if chars.next() != Some('d') || (!digits.is_empty() && !digits.starts_with('0')) {
            return Err(format!(
                "{name:?}: a pattern takes %d or %0Nd (e.g. out_%03d.png), and %% for a percent sign"
            ));
        }
        if found.is_some() {
            return Err(format!("{name:?}: more than one %d"));
        }
        let width = digits.parse::<usize>().unwrap_or(0);
        if width > MAX_WIDTH {
            return Err(format!(
                "{name:?}: %0{width}d is wider than {MAX_WIDTH} digits"
            ));
        }
        found = Some(width);
    }
    Ok(found.map(|width| (before, width, after)))
}

/// One past the highest `NNNNN-...` name in `folder` (0 when there is none or the folder
/// does not exist yet).
fn next_number(folder: &Path) -> u64 {
    let Ok(entries) = std::fs::read_dir(folder) else {
        return 0;
    };
    entries
        .filter_map(|e| e.ok())
        .filter_map(|e| {
            let name = e.file_name().to_string_lossy().into_owned();
            let (number, _) = name.split_once('-')?;
            (number.len() >= 5).then_some(())?;
            number.parse::<u64>().ok()
        })
        .max()
        .map_or(0, |n| n.saturating_add(1))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_file_numbers_the_rest_of_the_run_beside_it() {
        let names = ImageNames::new(Path::new("dir/猫.png")).unwrap();
        assert_eq!(names.path(0, 7), Path::new("dir/猫.png"));
        assert_eq!(names.path(2, 7), Path::new("dir/猫-2.png"));
    }

    #[test]
    fn a_pattern_is_filled_with_the_image_index() {
        let names = ImageNames::new(Path::new("out/img_%03d_100%%.png")).unwrap();
        assert_eq!(names.path(0, 1), Path::new("out/img_000_100%.png"));
        assert_eq!(names.path(12, 1), Path::new("out/img_012_100%.png"));
        let plain = ImageNames::new(Path::new("%d.png")).unwrap();
        assert_eq!(plain.path(1234, 1), Path::new("1234.png"));
    }

    #[test]
    fn a_bad_pattern_says_what_is_accepted() {
        for bad in [
            "out_%s.png",
            "out_%3d.png",
            "%d_%d.png",
            "out_%099d.png",
            "out_%",
        ] {
            let err = ImageNames::new(Path::new(bad)).unwrap_err();
            assert!(err.contains(&format!("{bad:?}")), "{err}");
        }
    }

    #[test]
    fn a_folder_numbers_on_after_what_is_there_with_the_seed() {
        let dir = tempfile::tempdir().unwrap();
        for existing in ["00007-42.png", "00003-1.png", "notes.txt", "12-x.png"] {
            std::fs::write(dir.path().join(existing), b"").unwrap();
        }
        let names = ImageNames::new(dir.path()).unwrap();
        assert_eq!(names.path(0, 99), dir.path().join("00008-99.png"));
        assert_eq!(names.path(1, 100), dir.path().join("00009-100.png"));
        let fresh = ImageNames::new(&dir.path().join("new/")).unwrap();
        assert_eq!(fresh.path(0, 5), dir.path().join("new/00000-5.png"));
    }
}
