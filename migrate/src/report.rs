//! The run's report: per file, the edits with rule and lines, the diagnostics with fixes,
//! and statistics the way HIPIFY prints them; as JSON for tools or Markdown for a PR.

use crate::catalog;
use crate::code::{Code, Severity};
use crate::diagnostic::Diagnostic;
use crate::edit::AppliedEdit;
use crate::file_result::FileStatus;
use crate::patch;
use crate::run::Migration;
use crate::test_paths;
use crate::walk::FileKind;
use serde::Serialize;
use std::collections::BTreeMap;
use std::fmt::Write;

/// 2: tests and fixtures are counted apart (`totals.tests`, `files[].test_or_fixture`).
pub const SCHEMA_VERSION: u32 = 2;

#[derive(Debug, Serialize)]
pub struct Report {
    pub schema_version: u32,
    pub tool: &'static str,
    pub version: &'static str,
    pub style: &'static str,
    pub root: String,
    pub helper_module: Option<String>,
    pub files: Vec<FileReport>,
    pub totals: Totals,
}

#[derive(Debug, Serialize)]
pub struct FileReport {
    pub path: String,
    pub kind: Option<FileKind>,
    pub status: FileStatus,
    /// A test or fixture file, counted in `totals.tests` instead of the main figures.
    pub test_or_fixture: bool,
    pub reason: Option<String>,
    pub edits: Vec<AppliedEdit>,
    pub diagnostics: Vec<Diagnostic>,
    pub stats: FileStats,
}

/// HIPIFY-style counts: every CUDA reference found is either converted (an edit) or
/// unconverted (a warning or error left for a human).
#[derive(Debug, Default, Serialize, Clone)]
pub struct FileStats {
    pub lines: usize,
    pub lines_changed: usize,
    pub cuda_references: usize,
    pub converted: usize,
    pub unconverted: usize,
    pub percent_converted: f64,
}

#[derive(Debug, Default, Serialize)]
pub struct Totals {
    pub files_scanned: usize,
    pub files_changed: usize,
    pub files_added: usize,
    pub files_skipped: usize,
    pub files_failed: usize,
    pub edits_by_rule: BTreeMap<Code, usize>,
    pub diagnostics_by_severity: BTreeMap<&'static str, usize>,
    pub diagnostics_by_code: BTreeMap<Code, usize>,
    pub lines_changed: usize,
    pub cuda_references: usize,
    pub converted: usize,
    pub unconverted: usize,
    pub percent_converted: f64,
    /// Tests and fixtures, counted apart: their references are not in the figures above.
    pub tests: TestTotals,
    pub duration_ms: u128,
}

#[derive(Debug, Default, Serialize)]
pub struct TestTotals {
    pub files: usize,
    pub converted: usize,
    pub unconverted: usize,
    pub diagnostics_by_severity: BTreeMap<&'static str, usize>,
}

fn percent(converted: usize, references: usize) -> f64 {
    if references == 0 {
        100.0
    } else {
        (converted as f64 * 1000.0 / references as f64).round() / 10.0
    }
}

pub fn build(run: &Migration) -> Report {
    let mut totals = Totals {
        duration_ms: run.duration.as_millis(),
        ..Totals::default()
    };
    let mut files = Vec::new();
    for f in &run.files {
        let original = f.original.as_deref().unwrap_or("");
        let output = f.output.as_deref().unwrap_or(original);
        let converted = f.edits.len();
        let unconverted = f
            .diagnostics
            .iter()
            .filter(|d| d.severity >= Severity::Warning)
            .count();
        let stats = FileStats {
            lines: output.lines().count(),
            lines_changed: if original == output {
                0
            } else {
                patch::changed_lines(original, output)
            },
            cuda_references: converted + unconverted,
            converted,
            unconverted,
            percent_converted: percent(converted, converted + unconverted),
        };
        match f.status {
            FileStatus::Changed => totals.files_changed += 1,
            FileStatus::Added => totals.files_added += 1,
            FileStatus::Skipped => totals.files_skipped += 1,
            FileStatus::Failed => totals.files_failed += 1,
            FileStatus::Unchanged => {}
        }
        if f.status != FileStatus::Added {
            totals.files_scanned += 1;
        }
        for e in &f.edits {
            *totals.edits_by_rule.entry(e.rule).or_default() += 1;
        }
        let test_or_fixture = test_paths::is_test_or_fixture(&f.relative);
        for d in &f.diagnostics {
            let by_severity = if test_or_fixture {
                &mut totals.tests.diagnostics_by_severity
            } else {
                &mut totals.diagnostics_by_severity
            };
            *by_severity.entry(d.severity.as_str()).or_default() += 1;
            *totals.diagnostics_by_code.entry(d.code).or_default() += 1;
        }
        totals.lines_changed += stats.lines_changed;
        if test_or_fixture {
            totals.tests.files += 1;
            totals.tests.converted += converted;
            totals.tests.unconverted += unconverted;
        } else {
            totals.converted += converted;
            totals.unconverted += unconverted;
        }
        files.push(FileReport {
            path: f.relative.clone(),
            kind: f.kind,
            status: f.status,
            test_or_fixture,
            reason: f.reason.clone(),
            edits: f.edits.clone(),
            diagnostics: f.diagnostics.clone(),
            stats,
        });
    }
    totals.cuda_references = totals.converted + totals.unconverted;
    totals.percent_converted = percent(totals.converted, totals.cuda_references);
    Report {
        schema_version: SCHEMA_VERSION,
        tool: "migrate",
        version: env!("CARGO_PKG_VERSION"),
        style: match run.style {
            crate::Style::Portable => "portable",
            crate::Style::Npu => "npu",
        },
        root: run.root.display().to_string(),
        helper_module: run.helper_module.clone(),
        files,
        totals,
    }
}

pub fn to_json(report: &Report) -> String {
    serde_json::to_string_pretty(report).unwrap_or_else(|e| format!("{{\"error\":\"{e}\"}}")) + "\n"
}

fn md_cell(text: &str) -> String {
    text.replace('|', "\\|").replace('\n', " ")
}

/// A Markdown summary to paste into a pull request description.
pub fn to_markdown(report: &Report) -> String {
    let t = &report.totals;
    let mut out = String::new();
    let _ = writeln!(
        out,
        "## CUDA -> Ascend NPU migration ({} style)\n",
        report.style
    );
    let _ = writeln!(
        out,
        "{} files scanned: {} changed, {} added, {} skipped, {} failed. {} of {} CUDA references converted ({}%), {} lines changed.\n",
        t.files_scanned,
        t.files_changed,
        t.files_added,
        t.files_skipped,
        t.files_failed,
        t.converted,
        t.cuda_references,
        t.percent_converted,
        t.lines_changed
    );
    if t.tests.files > 0 {
        let _ = writeln!(
            out,
            "Tests and fixtures, counted apart: {} files, {} converted, {} left for a human.\n",
            t.tests.files, t.tests.converted, t.tests.unconverted
        );
    }
    if let Some(helper) = &report.helper_module {
        let _ = writeln!(
            out,
            "Device selection goes through `{helper}.py` (NPU, then CUDA, then CPU; `PREFERRED_DEVICE` / `PREFERRED_DTYPE` override).\n"
        );
    }
    if !t.edits_by_rule.is_empty() {
        out.push_str("### Rewrites\n\n| rule | name | count |\n|---|---|---|\n");
        for (code, n) in &t.edits_by_rule {
            let _ = writeln!(out, "| {code} | {} | {n} |", catalog::entry(*code).name);
        }
        out.push('\n');
    }
    let needs_human: Vec<_> = report
        .files
        .iter()
        .flat_map(|f| f.diagnostics.iter().map(move |d| (f, d)))
        .filter(|(_, d)| d.severity >= Severity::Warning)
        .collect();
    if !needs_human.is_empty() {
        out.push_str("### Needs a human\n\n| file | line | code | message | suggested fix |\n|---|---|---|---|---|\n");
        for (f, d) in needs_human {
            let _ = writeln!(
                out,
                "| {} | {} | {} {} | {} | {} |",
                md_cell(&f.path),
                d.line,
                d.severity.as_str(),
                d.code,
                md_cell(&d.message),
                md_cell(&d.suggested_fix)
            );
        }
        out.push('\n');
    }
    let problems: Vec<_> = report
        .files
        .iter()
        .filter(|f| matches!(f.status, FileStatus::Failed | FileStatus::Skipped))
        .collect();
    if !problems.is_empty() {
        out.push_str("### Not migrated\n\n| file | status | reason |\n|---|---|---|\n");
        for f in problems {
            let status = if f.status == FileStatus::Failed {
                "failed"
            } else {
                "skipped"
            };
            let _ = writeln!(
                out,
                "| {} | {status} | {} |",
                md_cell(&f.path),
                md_cell(f.reason.as_deref().unwrap_or(""))
            );
        }
        out.push('\n');
    }
    out.push_str("### Per file\n\n| file | status | edits | left for a human | lines changed |\n|---|---|---|---|---|\n");
    for f in report
        .files
        .iter()
        .filter(|f| f.stats.cuda_references > 0 || f.status == FileStatus::Added)
    {
        let status = serde_json::to_value(f.status)
            .ok()
            .and_then(|v| v.as_str().map(String::from))
            .unwrap_or_default();
        let _ = writeln!(
            out,
            "| {} | {status} | {} | {} | {} |",
            md_cell(&f.path),
            f.stats.converted,
            f.stats.unconverted,
            f.stats.lines_changed
        );
    }
    out
}
