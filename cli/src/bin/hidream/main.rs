//! `hidream`: HiDream-I1 generation, HiDream-E1 editing and prompt encoding. A thin shell
//! over `pipelines::hidream`: flags are checked and folders probed before any model is
//! loaded, so a typo costs seconds rather than a 30 GB load.
//!
//! `args`: the flags. `settings`: what they mean, checked (the plan a run reports before it
//! starts). `memory_report`: what the plan needs against what the device has.
//! `generate`, `edit`, `encode`: one subcommand each, from the plan to the written file;
//! `output`: how generate and edit end (the PNG, then a line or the JSON summary).

mod args;
mod edit;
mod encode;
mod generate;
mod memory_report;
mod output;
mod settings;

use args::{Cli, Command};
use clap::Parser;
use cli::exit::{Failure, finish};
use cli::model_arg::resolve_in_place;
use std::process::ExitCode;

/// --model, --llama and --refine-model as folders: an id is looked up in the Hugging Face
/// cache once, here, so everything after sees only folders.
fn resolve_models(command: &mut Command) -> Result<(), Failure> {
    let (models, refine) = match command {
        Command::Generate(a) => (&mut a.models, None),
        Command::Edit(a) => (&mut a.models, a.refine_model.as_mut()),
        Command::Encode(a) => (&mut a.models, None),
    };
    let revision = models.revision.clone();
    let log = &mut models.sources;
    resolve_in_place("--model", &mut models.model, revision.as_deref(), log)?;
    resolve_in_place("--llama", &mut models.llama, None, log)?;
    if let Some(refine) = refine {
        resolve_in_place("--refine-model", refine, None, log)?;
    }
    Ok(())
}

fn run(mut command_line: Cli) -> Result<(), Failure> {
    resolve_models(&mut command_line.command)?;
    match &command_line.command {
        Command::Generate(args) => {
            let plan = settings::generate(args)?;
            plan.report(args.models.json, args.dry_run);
            // A dry run loads nothing and reads no weight file beyond the estimate's.
            let prepared = match args.dry_run {
                true => None,
                false => Some(generate::prepare(args, &plan)?),
            };
            memory_report::print(args, &plan);
            match prepared {
                Some(prepared) => generate::run(args, &plan, prepared),
                None => Ok(()),
            }
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
    // First, before any thread exists (see cli::interrupt).
    cli::interrupt::install();
    // Before anything large is allocated: reuse freed activation buffers (host_memory).
    pipelines::host_memory::keep_freed_memory();
    finish(run(Cli::parse()))
}
