//! How far an acceleration moves a generation from the plain pipeline: the same prompt,
//! seed and scheduler with and without it, compared on the final latents and on the
//! decoded image.

use super::Accelerations;
use crate::error::ModelError;
use crate::schedulers::Scheduler;
use crate::sd::pipeline::{Generation, StableDiffusion};
use candle_core::{DType, Tensor};

#[derive(Debug, Clone, PartialEq)]
pub struct Deviation {
    /// Largest absolute difference of the final latents.
    pub max_abs_latents: f64,
    /// PSNR of the accelerated image against the baseline image, both in [0, 1], in dB
    /// (infinite when identical).
    pub psnr_db: f64,
}

/// Peak signal-to-noise ratio of two images in [0, 1].
pub fn psnr(a: &Tensor, b: &Tensor) -> Result<f64, ModelError> {
    let mse = (a.to_dtype(DType::F64)? - b.to_dtype(DType::F64)?)?
        .sqr()?
        .mean_all()?
        .to_scalar::<f64>()?;
    Ok(if mse == 0.0 {
        f64::INFINITY
    } else {
        10.0 * (1.0 / mse).log10()
    })
}

pub fn max_abs_diff(a: &Tensor, b: &Tensor) -> Result<f64, ModelError> {
    Ok((a.to_dtype(DType::F64)? - b.to_dtype(DType::F64)?)?
        .abs()?
        .flatten_all()?
        .max(0)?
        .to_scalar::<f64>()?)
}

/// Runs txt2img twice, plain and with `accel`, each with a fresh scheduler from
/// `scheduler`, and compares. Also returns both final latents (baseline, accelerated).
pub fn deviation(
    sd: &StableDiffusion,
    g: &Generation,
    accel: &Accelerations,
    scheduler: &dyn Fn() -> Result<Box<dyn Scheduler>, ModelError>,
) -> Result<(Deviation, Tensor, Tensor), ModelError> {
    let (base, _) = sd.txt2img(g, scheduler()?.as_mut(), &mut |_, _| {})?;
    let (fast, _) = sd.txt2img_with(g, accel, scheduler()?.as_mut(), &mut |_, _| {})?;
    let report = Deviation {
        max_abs_latents: max_abs_diff(&base, &fast)?,
        psnr_db: psnr(&sd.decode(&base)?, &sd.decode(&fast)?)?,
    };
    Ok((report, base, fast))
}
