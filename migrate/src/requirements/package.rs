//! Reading a requirement line: which package it names, in pip or conda syntax.

/// Which syntax the file uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Flavor {
    Pip,
    Conda,
}

/// Normalised name (PEP 503) of a requirement line's package, and where the line's
/// requirement text starts; None for options, comments and blank lines.
pub fn package(line: &str, flavor: Flavor) -> Option<(String, usize)> {
    let trimmed = line.trim_start();
    let mut start = line.len() - trimmed.len();
    let mut spec = trimmed;
    if flavor == Flavor::Conda {
        spec = spec.strip_prefix('-')?.trim_start();
        start = line.len() - spec.len();
        // `channel::name`
        if let Some((_, name)) = spec.split_once("::") {
            spec = name;
        }
    }
    let end = spec
        .find(|c: char| !(c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.')))
        .unwrap_or(spec.len());
    let name = &spec[..end];
    if name.is_empty() || spec.starts_with('-') {
        return None;
    }
    Some((name.to_ascii_lowercase().replace(['_', '.'], "-"), start))
}
