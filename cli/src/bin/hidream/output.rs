//! The end of a generate or edit run: the PNG written with its parameters, then one line
//! saying so, or with --json the run's summary on stdout, timed to the same moment.

use cli::exit::{Failure, failed};
use serde_json::{Value, json};
use std::path::Path;
use std::time::Instant;

/// An RGB image and the text stored in its PNG "parameters" chunk.
pub struct Image<'a> {
    pub width: u32,
    pub height: u32,
    pub rgb: &'a [u8],
    pub parameters: String,
}

/// `summary` is printed (with the run's seconds) when --json asked for it.
pub fn write(
    output: &Path,
    image: &Image<'_>,
    started: Instant,
    summary: Option<Value>,
) -> Result<(), Failure> {
    pipelines::image::write_png(
        output,
        image.width,
        image.height,
        image.rgb,
        &image.parameters,
    )
    .map_err(|e| failed(e.to_string()))?;
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
