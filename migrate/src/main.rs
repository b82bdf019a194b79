//! `migrate`: a thin command-line shell over the library.

use clap::{Args, Parser, Subcommand, ValueEnum};
use migrate::apply;
use migrate::catalog;
use migrate::config;
use migrate::file_result::FileStatus;
use migrate::output::{self, OutputFormat};
use migrate::output_file;
use migrate::policy;
use migrate::report;
use migrate::run::{self, Migration, RunConfig};
use migrate::settings;
use migrate::{Kind, Severity};
use migrate::{RuleOptions, Style};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

const AFTER_HELP: &str = "\
Examples:
  migrate examples/cuda-project > npu.patch        print the patch, then review it
  (cd examples/cuda-project && git apply ../../npu.patch)
  migrate --apply .                                rewrite the tree in place
  migrate --check .                                exit 1 if anything would change (CI)
  migrate --check --fail-on error .                ... or if a blocker is left for a human
  migrate --check --output-format github .         annotations on the pull request's lines
  migrate --output-format sarif --output-file migrate.sarif .
                                                   SARIF 2.1.0 for code scanning (patch on stdout)
  migrate --select PY1 --ignore PY112 .            report only PY1xx diagnostics, not PY112
  migrate --report report.md --report-format md .  a summary for the pull request
  migrate --style npu .                            torch_npu names, NPU only
  migrate rules                                    every rule and diagnostic code
  migrate rules --markdown                         the code tables of MIGRATION.md
  migrate explain PY101                            what a code means and how to fix it

What it changes: Python sources and the code cells of Jupyter notebooks (device strings,
.cuda(), torch.cuda.*, amp, generators, nccl, safetensors device args), requirements / conda
files and shell scripts. Comments, docstrings, log messages and paths are never touched;
Markdown is only reported. Notebook magics and `!` escapes are kept (`!nvidia-smi` gets the
shell rule). The portable style adds a helper module (device_utils.py: at the tree root, and
inside each package whose modules use it) that picks NPU, then CUDA, then CPU at run time;
PREFERRED_DEVICE=npu:1 / PREFERRED_DTYPE=bf16 override it.

Reviewed sites: `# migrate: ignore[PY101]` at the end of a line keeps that code quiet there
(and a rewrite code's edit off the line), `# migrate: ignore` every code (`//` in Rust); a
comment that suppresses nothing is reported as MG004. Settings can live in pyproject.toml under [tool.migrate] (select, ignore, style,
fail-on, exclude, helper-module, output-format), found by walking up from the first PATH;
options given here override them.

Exit status: 0 success; 1 with --check when changes are pending, or when a diagnostic at or
above --fail-on is left; 2 on errors (a file that could not be read or parsed, a bad option,
setting or code, a failed write).";

#[derive(Parser)]
#[command(
    name = "migrate",
    version,
    about = "Turn a CUDA-only PyTorch project into device-portable code (Ascend NPU, CUDA, CPU), as a patch and a report",
    after_help = AFTER_HELP,
    args_conflicts_with_subcommands = true,
    subcommand_negates_reqs = true
)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
    #[command(flatten)]
    run: RunArgs,
}

#[derive(Subcommand)]
enum Command {
    /// List every rewrite rule and diagnostic code.
    Rules {
        /// Print the catalog as JSON.
        #[arg(long, conflicts_with = "markdown")]
        json: bool,
        /// Print the code tables MIGRATION.md holds between its `codes:start` / `codes:end`
        /// markers.
        #[arg(long)]
        markdown: bool,
    },
    /// Explain one rule or diagnostic code (e.g. PY101): what, why, and the fix.
    Explain { code: String },
}

#[derive(Args)]
struct RunArgs {
    /// Directories or files to migrate; patch paths are relative to the directory given
    /// (or to the common parent of several paths).
    #[arg(required = true, value_name = "PATH")]
    paths: Vec<PathBuf>,
    /// Write the changes in place (atomically per file) instead of printing a patch.
    #[arg(long, conflicts_with = "check")]
    apply: bool,
    /// Print no patch; exit 1 when changes would be made (or, with --fail-on, when a
    /// diagnostic at that level is left).
    #[arg(long)]
    check: bool,
    /// portable: call sites use a helper that picks NPU, CUDA or CPU at run time.
    /// npu: rewrite straight to torch_npu / "npu" (runs on NPU only). [default: portable]
    #[arg(long, value_enum)]
    style: Option<StyleArg>,
    /// Name of the helper module the portable style adds (tree root and packages).
    /// [default: device_utils]
    #[arg(long, value_name = "NAME")]
    helper_module: Option<String>,
    /// Skip paths matching this glob (relative to the tree root; repeatable). Replaces the
    /// config's `exclude`.
    #[arg(long, value_name = "GLOB")]
    exclude: Vec<String>,
    /// How diagnostics are written: text (stderr, one line each), json, json-lines,
    /// github (workflow annotations) or sarif (SARIF 2.1.0). The machine formats go to
    /// stdout in place of the patch, or to --output-file. [default: text]
    #[arg(long, value_enum, value_name = "FORMAT")]
    output_format: Option<OutputFormatArg>,
    /// Write the --output-format document to FILE instead of stdout (the patch then stays
    /// on stdout).
    #[arg(long, value_name = "FILE")]
    output_file: Option<PathBuf>,
    /// Report only diagnostics with these codes or prefixes (PY1, PY101; comma-separated
    /// or repeated). Rewrites always run.
    #[arg(long, value_name = "CODES", value_delimiter = ',')]
    select: Option<Vec<String>>,
    /// Do not report diagnostics with these codes or prefixes.
    #[arg(long, value_name = "CODES", value_delimiter = ',')]
    ignore: Option<Vec<String>>,
    /// Exit 1 when a reported diagnostic of this severity or worse is left.
    #[arg(long, value_enum, value_name = "LEVEL")]
    fail_on: Option<FailOnArg>,
    /// Read settings from this pyproject.toml instead of the nearest one above PATH.
    #[arg(long, value_name = "FILE", conflicts_with = "isolated")]
    config: Option<PathBuf>,
    /// Ignore every pyproject.toml.
    #[arg(long)]
    isolated: bool,
    /// Write a report of every edit and diagnostic to FILE.
    #[arg(long, value_name = "FILE")]
    report: Option<PathBuf>,
    /// Format of --report: json for tools, md for a pull-request description.
    #[arg(long, value_enum, default_value_t = ReportFormat::Json, requires = "report")]
    report_format: ReportFormat,
    /// Skip files larger than this many bytes (they are reported as skipped).
    #[arg(long, default_value_t = run::DEFAULT_MAX_FILE_BYTES, value_name = "BYTES")]
    max_file_size: u64,
    /// The toolkit's device/ crate directory, for the dependency rewritten Rust code needs
    /// (default: the one beside this migrate checkout).
    #[arg(long, value_name = "DIR")]
    device_crate: Option<PathBuf>,
    /// Only print the summary on stderr, not each diagnostic.
    #[arg(long, short)]
    quiet: bool,
}

#[derive(Clone, Copy, ValueEnum)]
enum OutputFormatArg {
    Text,
    Json,
    JsonLines,
    Github,
    Sarif,
}

#[derive(Clone, Copy, ValueEnum)]
enum FailOnArg {
    Error,
    Warning,
}

#[derive(Clone, Copy, ValueEnum)]
enum StyleArg {
    Portable,
    Npu,
}

#[derive(Clone, Copy, ValueEnum, PartialEq)]
enum ReportFormat {
    Json,
    Md,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Some(Command::Rules { json, markdown }) => list_rules(json, markdown),
        Some(Command::Explain { code }) => explain(&code),
        None => run_migration(cli.run),
    }
}

fn list_rules(json: bool, markdown: bool) -> ExitCode {
    if json {
        let entries: Vec<_> = catalog::entries().collect();
        println!(
            "{}",
            serde_json::to_string_pretty(&entries).unwrap_or_default()
        );
        return ExitCode::SUCCESS;
    }
    if markdown {
        print!("{}", catalog::markdown::code_tables());
        return ExitCode::SUCCESS;
    }
    for (title, kind) in [
        ("Rewrites", Kind::Rewrite),
        ("Diagnostics", Kind::Diagnostic),
    ] {
        println!("{title}:");
        for c in catalog::entries().filter(|c| c.kind == kind) {
            let severity = if kind == Kind::Diagnostic {
                format!(" [{}]", c.severity.as_str())
            } else {
                String::new()
            };
            println!("  {}  {:<24}{severity} {}", c.code, c.name, c.summary);
        }
        println!();
    }
    println!("`migrate explain CODE` prints what a code means and how to fix it.");
    ExitCode::SUCCESS
}

fn explain(code: &str) -> ExitCode {
    let Some(c) = catalog::lookup(code) else {
        eprintln!("error: unknown code {code:?}; `migrate rules` lists them all");
        return ExitCode::from(2);
    };
    let kind = match c.kind {
        Kind::Rewrite => "rewrite".to_string(),
        Kind::Diagnostic => format!("diagnostic, {}", c.severity.as_str()),
    };
    println!("{} ({}): {}\n", c.code, c.name, kind);
    println!("{}\n", c.summary);
    println!("Why:\n  {}\n", c.explanation);
    let label = if c.kind == Kind::Rewrite {
        "What migrate does"
    } else {
        "How to fix it"
    };
    println!("{label}:\n  {}", c.fix);
    ExitCode::SUCCESS
}

fn run_migration(args: RunArgs) -> ExitCode {
    // Before any work: an output path that is a link, FIFO or device is refused, not replaced.
    for (flag, path) in [
        ("--report", &args.report),
        ("--output-file", &args.output_file),
    ] {
        if let Some(path) = path
            && let Err(err) = output_file::check(path)
        {
            eprintln!("error: {flag} {err}");
            return ExitCode::from(2);
        }
    }
    let settings = match resolve_settings(&args) {
        Ok(settings) => settings,
        Err(err) => {
            eprintln!("error: {err}");
            return ExitCode::from(2);
        }
    };
    let config = RunConfig {
        options: RuleOptions {
            style: settings.style,
            helper: settings.helper_module.clone(),
            helper_import: None,
        },
        excludes: settings.exclude.clone(),
        max_file_bytes: args.max_file_size,
        device_crate: match &args.device_crate {
            Some(dir) => match dir.canonicalize() {
                Ok(dir) if dir.join("Cargo.toml").is_file() => {
                    Some(migrate::rust::DeviceCrate { dir })
                }
                _ => {
                    eprintln!(
                        "error: --device-crate {}: not a crate directory (no Cargo.toml)",
                        dir.display()
                    );
                    return ExitCode::from(2);
                }
            },
            None => migrate::rust::DeviceCrate::beside_this_checkout(),
        },
    };
    let mut migration = match run::migrate_paths(&args.paths, &config) {
        Ok(m) => m,
        Err(err) => {
            eprintln!("error: {err}");
            return ExitCode::from(2);
        }
    };
    // Suppressions and --select/--ignore first, so every output and count agrees.
    let policy_errors = policy::apply(&mut migration, &settings.selection);
    for err in &policy_errors {
        eprintln!("error: {err}");
    }
    let mut failed = !policy_errors.is_empty()
        || migration
            .files
            .iter()
            .any(|f| f.status == FileStatus::Failed);
    let pending = migration
        .files
        .iter()
        .any(|f| matches!(f.status, FileStatus::Changed | FileStatus::Added));
    let format = settings.output_format;
    let document_on_stdout = format != OutputFormat::Text && args.output_file.is_none();

    let mut applied = None;
    if args.apply {
        let (written, errors) = apply::apply(&migration);
        // Each is reported at its file below (skipped or failed, with the reason).
        failed |= !errors.is_empty();
        apply::record(&mut migration, &errors);
        applied = Some(written);
    } else if args.check {
        for f in migration
            .files
            .iter()
            .filter(|f| matches!(f.status, FileStatus::Changed | FileStatus::Added))
        {
            eprintln!(
                "would {}: {}",
                if f.status == FileStatus::Added {
                    "add"
                } else {
                    "change"
                },
                f.relative
            );
        }
    } else if !document_on_stdout {
        print!("{}", migrate::patch::for_migration(&migration));
    }
    if format == OutputFormat::Text {
        if !args.quiet {
            print_diagnostics(&migration);
        }
    } else if let Some(document) = output::render(format, &migration, &cwd_prefix(&migration)) {
        match &args.output_file {
            None => print!("{document}"),
            Some(path) => {
                if let Err(err) = write_report(path, &document) {
                    eprintln!("error: --output-file: {err}");
                    failed = true;
                }
            }
        }
    }
    // Built after --apply, so files it could not write are reported as they are on disk.
    let report = report::build(&migration);
    if let Some(path) = &args.report {
        let text = match args.report_format {
            ReportFormat::Json => report::to_json(&report),
            ReportFormat::Md => report::to_markdown(&report),
        };
        if let Err(err) = write_report(path, &text) {
            eprintln!("error: report: {err}");
            failed = true;
        }
    }
    print_summary(&report, applied);
    let blocked = settings
        .fail_on
        .is_some_and(|level| policy::worst(&migration) >= Some(level));
    if blocked && let Some(level) = settings.fail_on {
        eprintln!(
            "  --fail-on {}: diagnostics at that level or above are left",
            level.as_str()
        );
    }
    if failed {
        ExitCode::from(2)
    } else if (args.check && pending) || blocked {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    }
}

/// The command line over `[tool.migrate]` (unless --isolated) over the defaults.
fn resolve_settings(args: &RunArgs) -> Result<settings::Settings, String> {
    let file = if args.isolated {
        None
    } else if let Some(path) = &args.config {
        config::load(path).map_err(|e| format!("--config {e}"))?
    } else {
        match args.paths.first().map(|p| p.canonicalize()) {
            Some(Ok(start)) => config::discover(&start).map_err(|e| e.to_string())?,
            // A missing path is reported by the run itself, with the others.
            _ => None,
        }
    };
    let cli = settings::CommandLine {
        style: args.style.map(|s| match s {
            StyleArg::Portable => Style::Portable,
            StyleArg::Npu => Style::Npu,
        }),
        helper_module: args.helper_module.clone(),
        exclude: args.exclude.clone(),
        output_format: args.output_format.map(|f| match f {
            OutputFormatArg::Text => OutputFormat::Text,
            OutputFormatArg::Json => OutputFormat::Json,
            OutputFormatArg::JsonLines => OutputFormat::JsonLines,
            OutputFormatArg::Github => OutputFormat::Github,
            OutputFormatArg::Sarif => OutputFormat::Sarif,
        }),
        select: args.select.clone(),
        ignore: args.ignore.clone(),
        fail_on: args.fail_on.map(|f| match f {
            FailOnArg::Error => Severity::Error,
            FailOnArg::Warning => Severity::Warning,
        }),
    };
    settings::resolve(cli, file.as_ref())
}

/// The tree root as seen from the working directory ("" when they are the same), which
/// GitHub and editors resolve the machine formats' paths from.
fn cwd_prefix(migration: &Migration) -> String {
    let cwd = std::env::current_dir().and_then(|d| d.canonicalize());
    match cwd.as_deref().map(|cwd| migration.root.strip_prefix(cwd)) {
        Ok(Ok(rel)) if rel.as_os_str().is_empty() => String::new(),
        Ok(Ok(rel)) => format!("{}/", rel.display()),
        _ => format!("{}/", migration.root.display()),
    }
}

/// Writes the report atomically; the path is checked again right before the rename, so a
/// link or FIFO created there since the first check is not replaced either.
fn write_report(path: &Path, text: &str) -> Result<(), apply::ApplyError> {
    let label = path.display().to_string();
    let not_ours = |err: output_file::OutputFileError| apply::ApplyError::Io {
        path: label.clone(),
        source: std::io::Error::other(err.to_string()),
    };
    let permissions = output_file::check(path).map_err(not_ours)?;
    let recheck = || output_file::check(path).map(|_| ()).map_err(not_ours);
    apply::write_atomically(
        path,
        text,
        permissions,
        &label,
        apply::Persist::ReplaceIf(&recheck),
    )
}

fn print_diagnostics(migration: &Migration) {
    for f in &migration.files {
        if let Some(reason) = &f.reason {
            let what = if f.status == FileStatus::Failed {
                "error"
            } else {
                "skipped"
            };
            eprintln!("{}: {what}: {reason}", f.relative);
        }
        for d in &f.diagnostics {
            eprintln!(
                "{}:{}:{}: {}[{}] {}",
                f.relative,
                d.line,
                d.column,
                d.severity.as_str(),
                d.code,
                d.message
            );
        }
    }
}

fn print_summary(report: &report::Report, applied: Option<usize>) {
    let t = &report.totals;
    if t.files_scanned == 0 {
        eprintln!(
            "warning: no Python, requirements, shell, Markdown or CUDA files found under {}",
            report.root
        );
    }
    let added = report
        .files
        .iter()
        .filter(|f| f.status == FileStatus::Added)
        .map(|f| f.path.as_str())
        .collect::<Vec<_>>();
    let added = if added.is_empty() {
        String::new()
    } else {
        format!(", {} added ({})", added.len(), added.join(", "))
    };
    eprintln!(
        "migrate: {} files scanned: {} changed{added}, {} skipped, {} failed in {:.2} s",
        t.files_scanned,
        t.files_changed,
        t.files_skipped,
        t.files_failed,
        t.duration_ms as f64 / 1000.0
    );
    if !t.edits_by_rule.is_empty() {
        let rules: Vec<String> = t
            .edits_by_rule
            .iter()
            .map(|(code, n)| format!("{code} {} x{n}", catalog::entry(*code).name))
            .collect();
        eprintln!("  edits by rule: {}", rules.join(", "));
    }
    let by_severity: BTreeMap<Severity, usize> =
        [Severity::Error, Severity::Warning, Severity::Info]
            .into_iter()
            .map(|s| {
                (
                    s,
                    t.diagnostics_by_severity
                        .get(s.as_str())
                        .copied()
                        .unwrap_or(0),
                )
            })
            .collect();
    eprintln!(
        "  diagnostics: {} error, {} warning, {} info; {} of {} CUDA references converted ({}%), {} lines changed",
        by_severity[&Severity::Error],
        by_severity[&Severity::Warning],
        by_severity[&Severity::Info],
        t.converted,
        t.cuda_references,
        t.percent_converted,
        t.lines_changed
    );
    if t.tests.files > 0 {
        let count = |s: Severity| {
            t.tests
                .diagnostics_by_severity
                .get(s.as_str())
                .copied()
                .unwrap_or(0)
        };
        eprintln!(
            "  tests and fixtures (counted apart): {} files, {} converted, {} left; {} error, {} warning, {} info",
            t.tests.files,
            t.tests.converted,
            t.tests.unconverted,
            count(Severity::Error),
            count(Severity::Warning),
            count(Severity::Info)
        );
    }
    if let Some(n) = applied {
        eprintln!("  applied: {n} files written");
    }
}
