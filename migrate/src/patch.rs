//! One unified diff for the whole run, in the form `git apply` and `patch -p1` accept from
//! the tree root: `a/` and `b/` prefixes, and new-file headers for added files.

use similar::TextDiff;
use std::fmt::Write;
use std::time::{Duration, Instant};

/// How long one file's line diff may search for the smallest diff. Myers' algorithm costs
/// lines x differences, so a file where every line changed (50,000 rewritten calls) takes
/// minutes; past this, the rest of the file is diffed as whole removed and added blocks.
/// The patch is correct either way; only its hunks may be larger than the minimum.
const DIFF_DEADLINE: Duration = Duration::from_secs(1);

fn line_diff<'a>(old: &'a str, new: &'a str) -> TextDiff<'a, 'a, 'a, str> {
    TextDiff::configure()
        .deadline(Instant::now() + DIFF_DEADLINE)
        .diff_lines(old, new)
}

/// Stands in for a lone `\r` while diffing: similar ends a line there, git and `patch` do
/// not, and hunks split at one are rejected as corrupt. A private-use character, used only
/// when neither text contains it.
const LONE_CR: char = '\u{e000}';

fn hide_lone_cr(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '\r' && chars.peek() != Some(&'\n') {
            out.push(LONE_CR);
        } else {
            out.push(c);
        }
    }
    out
}

/// Both texts with lone `\r` hidden, or None when there is none (or no safe stand-in).
fn git_line_texts(old: &str, new: &str) -> Option<(String, String)> {
    let has_lone_cr = |t: &str| {
        t.as_bytes()
            .windows(2)
            .any(|w| w[0] == b'\r' && w[1] != b'\n')
            || t.ends_with('\r')
    };
    if !(has_lone_cr(old) || has_lone_cr(new)) || old.contains(LONE_CR) || new.contains(LONE_CR) {
        return None;
    }
    Some((hide_lone_cr(old), hide_lone_cr(new)))
}

/// A file's change: `old` is None for a file the patch adds.
pub struct FileChange<'a> {
    pub path: &'a str,
    pub old: Option<&'a str>,
    pub new: &'a str,
}

/// Lines added and removed by a change, as `git diff --stat` counts them.
pub fn changed_lines(old: &str, new: &str) -> usize {
    let hidden = git_line_texts(old, new);
    let (old, new) = hidden
        .as_ref()
        .map_or((old, new), |(o, n)| (o.as_str(), n.as_str()));
    let diff = line_diff(old, new);
    diff.iter_all_changes()
        .filter(|c| c.tag() != similar::ChangeTag::Equal)
        .count()
}

pub fn render(changes: &[FileChange<'_>]) -> String {
    let mut out = String::new();
    for change in changes {
        let old = change.old.unwrap_or("");
        if change.old == Some(change.new) {
            continue;
        }
        let (a, b) = (git_path("a/", change.path), git_path("b/", change.path));
        let _ = writeln!(out, "diff --git {a} {b}");
        let (from, to) = match change.old {
            Some(_) => (a, b),
            None => {
                out.push_str("new file mode 100644\n");
                ("/dev/null".to_string(), b)
            }
        };
        let hidden = git_line_texts(old, change.new);
        let (old, new) = hidden
            .as_ref()
            .map_or((old, change.new), |(o, n)| (o.as_str(), n.as_str()));
        let diff = line_diff(old, new);
        let unified = diff
            .unified_diff()
            .context_radius(3)
            .header(&from, &to)
            .to_string();
        if hidden.is_some() {
            out.push_str(&unified.replace(LONE_CR, "\r"));
        } else {
            out.push_str(&unified);
        }
    }
    out
}

/// A path as git writes it in a patch header: as is, or C-quoted ("a/x\ny.py") when it
/// holds a control character, a quote or a backslash, which would otherwise end the header
/// line or be misread. Other non-ASCII text (a Chinese name) stays literal; `git apply`
/// and `patch` read both forms.
fn git_path(prefix: &str, path: &str) -> String {
    let needs_quotes = path
        .chars()
        .any(|c| c.is_control() || c == '"' || c == '\\');
    if !needs_quotes {
        return format!("{prefix}{path}");
    }
    let mut out = String::from("\"");
    out.push_str(prefix);
    for c in path.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            '\r' => out.push_str("\\r"),
            c if c.is_control() => {
                let mut buf = [0u8; 4];
                for byte in c.encode_utf8(&mut buf).bytes() {
                    let _ = write!(out, "\\{byte:03o}");
                }
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// The whole run's patch: every changed and added file.
pub fn for_migration(migration: &crate::run::Migration) -> String {
    use crate::file_result::FileStatus;
    let changes: Vec<FileChange<'_>> = migration
        .files
        .iter()
        .filter(|f| matches!(f.status, FileStatus::Changed | FileStatus::Added))
        .map(|f| FileChange {
            path: &f.relative,
            old: if f.status == FileStatus::Added {
                None
            } else {
                f.original.as_deref()
            },
            new: f.output.as_deref().unwrap_or_default(),
        })
        .collect();
    render(&changes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn modified_and_added_files_have_git_headers() {
        let patch = render(&[
            FileChange {
                path: "a.py",
                old: Some("x = 1\ny = 2\n"),
                new: "x = 1\ny = 3\n",
            },
            FileChange {
                path: "new.py",
                old: None,
                new: "z = 0\n",
            },
            FileChange {
                path: "same.py",
                old: Some("s\n"),
                new: "s\n",
            },
        ]);
        assert!(patch.starts_with("diff --git a/a.py b/a.py\n--- a/a.py\n+++ b/a.py\n@@ -1,2 +1,2 @@\n x = 1\n-y = 2\n+y = 3\n"));
        assert!(patch.contains("diff --git a/new.py b/new.py\nnew file mode 100644\n--- /dev/null\n+++ b/new.py\n@@ -0,0 +1 @@\n+z = 0\n"));
        assert!(!patch.contains("same.py"));
    }

    #[test]
    fn missing_final_newline_is_marked() {
        let patch = render(&[FileChange {
            path: "a",
            old: Some("x"),
            new: "y",
        }]);
        assert!(
            patch.contains("-x\n\\ No newline at end of file\n+y\n\\ No newline at end of file\n"),
            "{patch}"
        );
    }
}
