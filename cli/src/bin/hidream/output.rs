//! The end of a generate or edit run: the PNG written with its settings, then one line
//! saying so, or with --json the run's summary on stdout, timed to the same moment.

use cli::exit::Failure;
use pipelines::generation_info::GenerationInfo;
use pipelines::output_file::StagedFile;
use serde_json::{Value, json};
use std::path::Path;
use std::time::Instant;

/// An RGB image and the settings stored in its PNG text chunks.
pub struct Image<'a> {
    pub width: u32,
    pub height: u32,
    pub rgb: &'a [u8],
    pub info: GenerationInfo,
}

/// Writes the PNG and commits it with `staged` (the run's other outputs, such as
/// --save-latents), all or none. `summary` is printed (with the run's seconds) when
/// --json asked for it.
pub fn write(
    output: &Path,
    image: &Image<'_>,
    staged: Vec<StagedFile>,
    started: Instant,
    summary: Option<Value>,
) -> Result<(), Failure> {
    let png = pipelines::image::stage_png(
        output,
        image.width,
        image.height,
        image.rgb,
        &image.info.png_text(),
    )?;
    cli::interrupt::commit(std::iter::once(png).chain(staged).collect())?;
    let seconds = started.elapsed().as_secs_f64();
    match summary {
        Some(mut summary) => {
            summary["seconds"] = json!(seconds);
            println!("{summary}");
        }
        None => eprintln!(
            "wrote {} ({}x{}) in {seconds:.1} s",
            output.display(),
            image.width,
            image.height
        ),
    }
    Ok(())
}
