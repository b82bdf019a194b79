//! IPython syntax in code cells: line magics (`%time`), shell escapes (`!pip`), help
//! (`x?`) and captures (`files = !ls`) are not Python, so the parser would reject the cell.
//! Each such line (with its `\` continuations) is masked as a `pass` statement at its
//! indentation, the cell is migrated, and the original lines are put back unchanged.

/// Marks a masked line; a cell that already contains it is not masked (and so not migrated).
const MARK: &str = "pass  # migrate: ipython line";

/// Cell magics whose body is Python (the body is migrated, the first line kept first). Any
/// other cell magic (`%%bash`, `%%writefile`, ...) makes the cell something else.
const PYTHON_BODY_CELL_MAGICS: &[&str] = &["time", "timeit", "capture", "prun", "debug"];

/// A cell with its IPython lines masked.
#[derive(Debug)]
pub struct Masked {
    /// The cell as Python.
    pub python: String,
    /// The masked lines (without line breaks), in order.
    pub originals: Vec<String>,
    /// Their 1-based line numbers in the cell.
    pub lines: Vec<usize>,
}

/// What a cell is, for migration.
#[derive(Debug)]
pub enum Cell {
    Python(Masked),
    /// A cell magic whose body is not Python, with its name.
    Other(String),
}

/// The cell's first line when it is a cell magic (`%%bash`), with the magic's name.
fn cell_magic(text: &str) -> Option<&str> {
    let first = text.lines().next()?.trim_start();
    let rest = first.strip_prefix("%%")?;
    Some(rest.split_whitespace().next().unwrap_or(""))
}

/// Whether a line (without its break) is IPython syntax rather than Python.
pub fn is_ipython_line(line: &str) -> bool {
    let body = line.trim();
    if body.starts_with(['%', '!', '?']) || (body.ends_with('?') && !body.starts_with('#')) {
        return true;
    }
    // `name = !cmd` and `name = %magic` capture a command's output.
    if let Some((target, value)) = body.split_once('=') {
        let value = value.trim_start();
        let simple_target = !target.trim().is_empty()
            && target
                .trim()
                .chars()
                .all(|c| c.is_alphanumeric() || matches!(c, '_' | ',' | ' ' | '.'));
        return simple_target && value.starts_with(['!', '%']) && !value.starts_with("%=");
    }
    false
}

/// Masks a cell, or says what kind of cell it is when it is not Python.
pub fn mask(text: &str) -> Cell {
    if let Some(name) = cell_magic(text)
        && !PYTHON_BODY_CELL_MAGICS.contains(&name)
    {
        return Cell::Other(name.to_string());
    }
    let mut python = String::with_capacity(text.len());
    let mut originals = Vec::new();
    let mut lines = Vec::new();
    let mut continuation_indent: Option<String> = None;
    for (index, raw) in text.split_inclusive('\n').enumerate() {
        let line = raw.trim_end_matches(['\n', '\r']);
        let newline = &raw[line.len()..];
        let masked_indent = match continuation_indent.take() {
            Some(indent) => Some(indent),
            None if is_ipython_line(line) => {
                Some(line[..line.len() - line.trim_start().len()].to_string())
            }
            None => None,
        };
        match masked_indent {
            Some(indent) => {
                python.push_str(&indent);
                python.push_str(MARK);
                python.push_str(newline);
                if line.ends_with('\\') {
                    continuation_indent = Some(indent);
                }
                originals.push(line.to_string());
                lines.push(index + 1);
            }
            None => python.push_str(raw),
        }
    }
    Cell::Python(Masked {
        python,
        originals,
        lines,
    })
}

/// The length of a Python-body cell magic's first line (`%%time\n`), which must stay the
/// cell's first line, so the body is migrated apart from it; 0 for other cells.
pub fn header_len(text: &str) -> usize {
    match cell_magic(text) {
        Some(name) if PYTHON_BODY_CELL_MAGICS.contains(&name) => {
            text.find('\n').map_or(text.len(), |i| i + 1)
        }
        _ => 0,
    }
}

/// Whether masking could be undone: the cell did not already hold the mark.
pub fn can_mask(text: &str) -> bool {
    !text.contains(MARK)
}

/// Puts the masked lines back into migrated text; Err when the marks are no longer one per
/// masked line (a rewrite touched one), so the caller keeps the cell as it was.
pub fn unmask(migrated: &str, originals: &[String]) -> Result<(String, Vec<usize>), ()> {
    let mut out = String::with_capacity(migrated.len());
    let mut next = originals.iter();
    let mut lines_at = Vec::new();
    for (index, raw) in migrated.split_inclusive('\n').enumerate() {
        let line = raw.trim_end_matches(['\n', '\r']);
        if line.trim_start() == MARK {
            out.push_str(next.next().ok_or(())?);
            out.push_str(&raw[line.len()..]);
            lines_at.push(index + 1);
        } else {
            out.push_str(raw);
        }
    }
    if next.next().is_some() {
        return Err(());
    }
    Ok((out, lines_at))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn magics_escapes_help_and_captures_are_ipython() {
        for line in [
            "%matplotlib inline",
            "  !nvidia-smi",
            "files = !ls",
            "t = %timeit -o f()",
            "torch.cuda?",
            "??torch",
        ] {
            assert!(is_ipython_line(line), "{line}");
        }
        for line in [
            "x = 1 % 2",
            "y = a != b",
            "# what?",
            "d['k'] = !x",
            "x %= 3",
        ] {
            assert!(!is_ipython_line(line), "{line}");
        }
    }

    #[test]
    fn masking_keeps_lines_and_indentation_and_unmasking_restores_them() {
        let cell = "%time\nfor i in r:\n    !pip install \\\n        a\n    x.cuda()";
        assert_eq!(header_len("%%time\nx = 1\n"), 7, "%%time has a Python body");
        assert_eq!(header_len("x = 1\n"), 0);
        let Cell::Python(masked) = mask(cell) else {
            panic!()
        };
        assert_eq!(
            masked.python,
            format!("{MARK}\nfor i in r:\n    {MARK}\n    {MARK}\n    x.cuda()")
        );
        let migrated = masked.python.replace("x.cuda()", "x.to(d)");
        let (back, at) = unmask(&migrated, &masked.originals).unwrap();
        assert_eq!(back, cell.replace("x.cuda()", "x.to(d)"));
        assert_eq!(at, vec![1, 3, 4]);
        assert_eq!(masked.lines, vec![1, 3, 4]);
        assert!(unmask("x = 1\n", &masked.originals).is_err());
    }

    #[test]
    fn other_cell_magics_are_not_python() {
        assert!(matches!(mask("%%bash\nnvidia-smi\n"), Cell::Other(n) if n == "bash"));
    }
}
