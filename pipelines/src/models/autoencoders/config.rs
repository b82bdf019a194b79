//! `vae/config.json` of an AutoencoderKL. Missing keys take diffusers' constructor
//! defaults; the block lists have none there worth guessing, so they are required.

use crate::config::ConfigError;
use serde::Deserialize;

/// The most down/up blocks a VAE config may declare (diffusers' have 4).
const MAX_BLOCKS: usize = 8;

#[derive(Debug, Clone, Deserialize)]
pub struct VaeConfig {
    #[serde(default = "d_three")]
    pub in_channels: usize,
    #[serde(default = "d_three")]
    pub out_channels: usize,
    pub down_block_types: Vec<String>,
    pub up_block_types: Vec<String>,
    pub block_out_channels: Vec<usize>,
    #[serde(default = "d_one_usize")]
    pub layers_per_block: usize,
    #[serde(default = "d_silu")]
    pub act_fn: String,
    #[serde(default = "d_four")]
    pub latent_channels: usize,
    #[serde(default = "d_groups")]
    pub norm_num_groups: usize,
    #[serde(default = "d_scaling")]
    pub scaling_factor: f64,
    #[serde(default)]
    pub shift_factor: Option<f64>,
    #[serde(default = "d_true")]
    pub use_quant_conv: bool,
    #[serde(default = "d_true")]
    pub use_post_quant_conv: bool,
    #[serde(default = "d_true")]
    pub mid_block_add_attention: bool,
    /// The image side the VAE was trained on; diffusers' tiling uses it as the tile size.
    #[serde(default)]
    pub sample_size: SampleSize,
}

/// `sample_size` as diffusers writes it: one side, or `[height, width]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
pub enum SampleSize {
    Square(usize),
    Sides(Vec<usize>),
}

impl Default for SampleSize {
    /// AutoencoderKL's constructor default.
    fn default() -> Self {
        Self::Square(32)
    }
}

impl SampleSize {
    /// The side diffusers tiles with: the first of a list, as its AutoencoderKL takes it.
    pub fn side(&self) -> Option<usize> {
        match self {
            Self::Square(side) => Some(*side),
            Self::Sides(sides) => sides.first().copied(),
        }
    }
}

impl VaeConfig {
    pub fn check_supported(&self) -> Result<(), ConfigError> {
        if self.act_fn != "silu" {
            return Err(ConfigError::unsupported(format!(
                "VAE act_fn {:?}",
                self.act_fn
            )));
        }
        if self.block_out_channels.is_empty()
            || self.norm_num_groups == 0
            || self.layers_per_block == 0
        {
            return Err(ConfigError::invalid(
                "VAE config needs block_out_channels, layers_per_block and norm_num_groups",
            ));
        }
        // Latents are divided by the scaling factor before decoding: zero or a non-number
        // turns every image black (or NaN) without an error.
        if !(self.scaling_factor.is_finite() && self.scaling_factor != 0.0) {
            return Err(ConfigError::invalid(format!(
                "VAE scaling_factor {} must be a finite, non-zero number",
                self.scaling_factor
            )));
        }
        if self.shift_factor.is_some_and(|s| !s.is_finite()) {
            return Err(ConfigError::invalid("VAE shift_factor must be finite"));
        }
        // The pixel-per-latent factor is 2^(blocks - 1); no VAE has more than a handful.
        if self.block_out_channels.len() > MAX_BLOCKS {
            return Err(ConfigError::invalid(format!(
                "VAE has {} blocks; at most {MAX_BLOCKS} are supported",
                self.block_out_channels.len()
            )));
        }
        if let Some(t) = self
            .down_block_types
            .iter()
            .find(|t| *t != "DownEncoderBlock2D")
        {
            return Err(ConfigError::unsupported(format!("VAE down block type {t}")));
        }
        if let Some(t) = self
            .up_block_types
            .iter()
            .find(|t| *t != "UpDecoderBlock2D")
        {
            return Err(ConfigError::unsupported(format!("VAE up block type {t}")));
        }
        if self.down_block_types.len() != self.block_out_channels.len()
            || self.up_block_types.len() != self.block_out_channels.len()
        {
            return Err(ConfigError::invalid(
                "VAE block types and block_out_channels differ in length",
            ));
        }
        Ok(())
    }

    /// Pixels per latent cell along each axis, as diffusers' `vae_scale_factor`.
    pub fn scale_factor(&self) -> usize {
        1 << self.block_out_channels.len().saturating_sub(1)
    }
}

fn d_four() -> usize {
    4
}
fn d_three() -> usize {
    3
}
fn d_true() -> bool {
    true
}
fn d_one_usize() -> usize {
    1
}
fn d_silu() -> String {
    "silu".into()
}
fn d_groups() -> usize {
    32
}
fn d_scaling() -> f64 {
    0.18215
}
