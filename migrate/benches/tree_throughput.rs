//! Throughput of a whole migration run on a large real Python tree, side by side with
//! ruff's parse-only pass (`ruff check --select E9 --no-cache`) on the same tree in the
//! same session, reported as a ratio. Nothing is written to the tree.
//!
//! ```text
//! git clone https://github.com/huggingface/diffusers /tmp/diffusers-tree   # outside this repo
//! python3 -m venv /tmp/ref && /tmp/ref/bin/pip install ruff==0.17.5
//! cargo bench -p migrate --bench tree_throughput -- /tmp/diffusers-tree --ruff /tmp/ref/bin/ruff
//! ```

use migrate::file_result::FileStatus;
use migrate::run::{self, RunConfig};
use std::path::PathBuf;
use std::process::Command;
use std::time::{Duration, Instant};

struct Args {
    tree: PathBuf,
    ruff: String,
    runs: usize,
}

fn parse_args() -> Result<Args, String> {
    let mut tree = None;
    let mut ruff = "ruff".to_string();
    let mut runs = 7;
    let mut it = std::env::args().skip(1);
    while let Some(arg) = it.next() {
        match arg.as_str() {
            "--ruff" => ruff = it.next().ok_or("--ruff needs a path")?,
            "--runs" => {
                runs = it
                    .next()
                    .and_then(|n| n.parse().ok())
                    .ok_or("--runs needs a number")?
            }
            "--bench" => {} // passed by `cargo bench`
            other if !other.starts_with('-') => tree = Some(PathBuf::from(other)),
            other => return Err(format!("unknown argument {other}")),
        }
    }
    let tree = tree.ok_or("usage: tree_throughput TREE [--ruff PATH] [--runs N]")?;
    if !tree.is_dir() {
        return Err(format!("{}: not a directory", tree.display()));
    }
    Ok(Args { tree, ruff, runs })
}

fn median(mut samples: Vec<Duration>) -> Duration {
    samples.sort();
    samples[samples.len() / 2]
}

fn main() {
    let args = match parse_args() {
        Ok(a) => a,
        Err(e) => {
            // `cargo bench` with no tree (e.g. in CI) has nothing to measure.
            eprintln!("tree_throughput: {e}");
            return;
        }
    };
    let config = RunConfig::default();
    let mut ours = Vec::new();
    let mut summary = None;
    for _ in 0..args.runs {
        let start = Instant::now();
        let migration =
            run::migrate_paths(std::slice::from_ref(&args.tree), &config).expect("migration runs");
        ours.push(start.elapsed());
        summary = Some(migration);
    }
    let migration = summary.expect("at least one run");
    let python: Vec<_> = migration
        .files
        .iter()
        .filter(|f| f.kind == Some(migrate::walk::FileKind::Python))
        .collect();
    let bytes: usize = python
        .iter()
        .filter_map(|f| f.original.as_ref())
        .map(String::len)
        .sum();
    let lines: usize = python
        .iter()
        .filter_map(|f| f.original.as_ref())
        .map(|t| t.lines().count())
        .sum();
    let changed = migration
        .files
        .iter()
        .filter(|f| f.status == FileStatus::Changed)
        .count();
    let failed = migration
        .files
        .iter()
        .filter(|f| f.status == FileStatus::Failed)
        .count();

    let mut theirs = Vec::new();
    for _ in 0..args.runs {
        let start = Instant::now();
        let status = Command::new(&args.ruff)
            .args([
                "check",
                "--select",
                "E9",
                "--no-cache",
                "--exit-zero",
                "--quiet",
            ])
            .arg(&args.tree)
            .status();
        match status {
            Ok(s) if s.success() => theirs.push(start.elapsed()),
            Ok(s) => panic!("ruff exited with {s}"),
            Err(e) => {
                eprintln!(
                    "tree_throughput: cannot run {}: {e}; reporting migrate alone",
                    args.ruff
                );
                break;
            }
        }
    }
    let ours = median(ours);
    println!(
        "tree: {} ({} Python files, {:.1} MB, {} lines)",
        args.tree.display(),
        python.len(),
        bytes as f64 / 1e6,
        lines
    );
    println!("migrate: {changed} files would change, {failed} failed");
    println!(
        "migrate (walk + prefilter + parse + rules + patch), median of {}: {:.3} s, {:.0} MB/s",
        args.runs,
        ours.as_secs_f64(),
        bytes as f64 / 1e6 / ours.as_secs_f64()
    );
    if !theirs.is_empty() {
        let theirs = median(theirs);
        println!(
            "ruff check --select E9 --no-cache, median of {}: {:.3} s",
            args.runs,
            theirs.as_secs_f64()
        );
        println!(
            "ratio migrate / ruff: {:.2} (below 1.0 means migrate is faster)",
            ours.as_secs_f64() / theirs.as_secs_f64()
        );
    }
}
