//! `hidream`: HiDream-I1 generation, HiDream-E1 editing and prompt encoding. A thin shell
//! over `pipelines::hidream`: flags are checked and folders probed before any model is
//! loaded, so a typo costs seconds rather than a 30 GB load.

mod cli;
mod edit;
mod encode;
mod failure;
mod generate;
mod memory_report;
mod settings;

use clap::Parser;
use cli::{Cli, Command};
use failure::Failure;
use std::process::ExitCode;

fn run(cli: &Cli) -> Result<(), Failure> {
    match &cli.command {
        Command::Generate(args) => {
            let plan = settings::generate(args)?;
            plan.report(args.models.json, args.dry_run);
            memory_report::print(args, &plan);
            if args.dry_run {
                return Ok(());
            }
            generate::run(args, &plan)
        }
        Command::Edit(args) => {
            let plan = settings::edit(args)?;
            plan.report(args.models.json, args.dry_run);
            if args.dry_run {
                return Ok(());
            }
            edit::run(args, &plan)
        }
        Command::Encode(args) => encode::run(args),
    }
}

fn main() -> ExitCode {
    // Before anything large is allocated: reuse freed activation buffers (host_memory).
    pipelines::host_memory::keep_freed_memory();
    let cli = Cli::parse();
    match run(&cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(Failure(code, message)) => {
            eprintln!("error: {message}");
            ExitCode::from(code)
        }
    }
}
