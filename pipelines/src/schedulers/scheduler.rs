//! The interface every SD scheduler offers the pipeline.

use candle_core::{Result, Tensor};
use device::TorchRng;

/// The shared interface of every scheduler, as the pipeline drives it.
pub trait Scheduler: std::fmt::Debug {
    fn timesteps(&self) -> &[f64];
    /// The sigmas of a scheduler that steps in sigma space, one more than the timesteps
    /// (the last is where the final step lands); empty for DDIM and PNDM, which step in
    /// alpha space.
    fn sigmas(&self) -> &[f32] {
        &[]
    }
    /// Model evaluations per step: 2 for Heun, whose schedule lists each timestep after the
    /// first twice (img2img cuts the schedule at a multiple of it, as diffusers does).
    fn order(&self) -> usize {
        1
    }
    /// Scale of the initial noise: 1 for DDPM-family schedulers, sigma_max for Euler ones.
    fn init_noise_sigma(&self) -> f64 {
        1.0
    }
    /// DDPM-family schedulers feed the sample to the UNet unchanged; Euler ones rescale it.
    fn scale_model_input(&self, sample: &Tensor, _timestep: f64) -> Result<Tensor> {
        Ok(sample.clone())
    }
    /// One denoising step; `rng` is the pipeline's generator (only ancestral samplers
    /// draw from it).
    fn step(
        &mut self,
        model_output: &Tensor,
        timestep: f64,
        sample: &Tensor,
        rng: &mut TorchRng,
    ) -> Result<Tensor>;
    /// Starts the schedule at position `index` (img2img; diffusers' `set_begin_index`):
    /// the noising and the first step take it rather than looking their timestep up,
    /// which a timestep listed twice would make ambiguous. DDIM and PNDM step by the
    /// timestep's value and need no position.
    fn begin_at(&mut self, _index: usize) {}
    /// Forward diffusion of clean latents to `timestep` (img2img).
    fn add_noise(&self, original: &Tensor, noise: &Tensor, timestep: f64) -> Result<Tensor>;
}
