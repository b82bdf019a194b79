//! `hidream encode`: prompts through the four text encoders into a safetensors file.

use crate::args::EncodeArgs;
use crate::settings::check_models;
use candle_core::Tensor;
use cli::exit::Failure;
use cli::values::model_device;
use indicatif::{ProgressBar, ProgressStyle};
use pipelines::hidream::prompt_embeds::PromptEmbeds;
use pipelines::hidream::prompt_encoding::{
    EncodeOptions, EncodedPrompts, EncoderFolders, Prompts, encode_prompts,
};
use pipelines::hidream::tokenize::DEFAULT_MAX_SEQUENCE_LENGTH;
use serde_json::json;
use std::time::Instant;

fn named(encoded: &EncodedPrompts) -> Vec<(String, Tensor)> {
    let mut out = Vec::new();
    let mut add = |prefix: &str, e: &PromptEmbeds| {
        for (name, t) in [("t5", &e.t5), ("llama", &e.llama), ("pooled", &e.pooled)] {
            out.push((format!("{prefix}{name}"), t.clone()));
        }
    };
    add("", &encoded.positive);
    if let Some(negative) = &encoded.negative {
        add("negative.", negative);
    }
    out
}

pub fn run(args: &EncodeArgs) -> Result<(), Failure> {
    cli::output_paths::check_outputs(&[("--output", &args.output)])?;
    let (dtype, device) = check_models(&args.models)?;
    let device = model_device(device, dtype)?;
    let folders = EncoderFolders {
        model: args.models.model.clone(),
        llama: args.models.llama.clone(),
    };
    let prompts = Prompts {
        negative_prompt: args.negative_prompt.clone(),
        ..Prompts::new(args.prompt.clone())
    };
    let options = EncodeOptions {
        max_sequence_length: DEFAULT_MAX_SEQUENCE_LENGTH,
        with_negative: !args.no_negative,
        dtype,
        device,
    };
    let started = Instant::now();
    let bar = ProgressBar::new(4);
    bar.set_style(
        ProgressStyle::with_template("{bar:20} {pos}/{len} encoders, {msg} [{elapsed_precise}]")
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    let mut first = true;
    let encoded = encode_prompts(&folders, &prompts, &options, |stage| {
        if !first {
            bar.inc(1);
        }
        first = false;
        bar.set_message(stage.to_string());
    });
    bar.finish_and_clear();
    let encoded = encoded?;
    for warning in &encoded.warnings {
        eprintln!("warning: {warning}");
    }
    let tensors = named(&encoded);
    let _staged_on_interrupt = cli::interrupt::outputs_on_interrupt(&[&args.output]);
    let staged = pipelines::tensor_file::stage_safetensors(&args.output, &tensors)?;
    cli::interrupt::commit(vec![staged])?;
    let seconds = started.elapsed().as_secs_f64();
    if args.models.json {
        let shapes: serde_json::Map<String, serde_json::Value> = tensors
            .iter()
            .map(|(name, t)| (name.clone(), json!(t.dims())))
            .collect();
        println!(
            "{}",
            json!({
                "subcommand": "encode",
                "models": cli::model_arg::to_json(&args.models.sources),
                "output": args.output,
                "tensors": shapes,
                "dtype": dtype.as_str(),
                "warnings": encoded.warnings,
                "seconds": seconds,
            })
        );
    } else {
        eprintln!(
            "wrote {} ({} tensors) in {seconds:.1} s",
            args.output.display(),
            tensors.len()
        );
    }
    Ok(())
}
