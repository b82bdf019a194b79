//! Token Merging for the UNet's transformer blocks with tomesd 0.1.3's semantics.
//!
//! tomesd's defaults, which these options reproduce: merging happens only in blocks whose
//! token grid is downsampled at most `max_downsample` times from the latent (1: the
//! highest-resolution blocks), one destination per `sx` x `sy` cell, `ratio` of a block's
//! tokens merged away, and only around self-attention (`merge_attn`; cross-attention and
//! the MLP see every token). The similarity metric is the block's input. Random
//! destinations (`use_rand`) draw one choice per cell per block call from a seeded
//! generator, in tomesd's order, and are forced off when the batch is odd because then the
//! unconditional and conditional halves cannot share them.

use super::error::AccelError;
use crate::model_tensor::Tensor;
use candle_core::Result;
use device::TorchRng;
use ops_npu::candle_ops::tome::TokenMerge;
use ops_npu::tome::{Destinations, TomeConfig};

/// The largest ratio tomesd allows with 2 x 2 cells: every token but the destinations.
pub const MAX_RATIO: f64 = 0.75;

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct TomeOptions {
    /// Fraction of a block's tokens merged away, in [0, 0.75] (0 merges nothing).
    pub ratio: f64,
    /// Merge in blocks downsampled at most this many times (1, 2, 4 or 8).
    pub max_downsample: usize,
    pub sx: usize,
    pub sy: usize,
    /// Random destination per cell (tomesd's default) instead of the top-left token.
    pub use_rand: bool,
    /// Seed of the generator behind `use_rand`; the same seed gives the same choices as
    /// tomesd with `_tome_info["args"]["generator"] = torch.Generator().manual_seed(seed)`.
    pub seed: u64,
}

impl TomeOptions {
    /// tomesd's defaults at `ratio`, with top-left destinations (reproducible, and what
    /// the parity fixtures use); set `use_rand` for tomesd's random default.
    pub fn new(ratio: f64) -> std::result::Result<Self, AccelError> {
        if !(0.0..=MAX_RATIO).contains(&ratio) {
            return Err(AccelError::TomeRatio {
                ratio,
                max: MAX_RATIO,
            });
        }
        Ok(Self {
            ratio,
            max_downsample: 1,
            sx: 2,
            sy: 2,
            use_rand: false,
            seed: 0,
        })
    }
}

/// One generation's merging state: the latent size the block grids are measured against
/// and the destination generator, advanced once per merging block call.
#[derive(Debug, Clone)]
pub struct TomeRun {
    options: TomeOptions,
    latent: (usize, usize),
    rng: TorchRng,
    /// The batch tomesd would see: with CFG split across devices each half is a batch of
    /// one, but the sequential run it stands in for had both halves in one batch.
    logical_batch: Option<usize>,
}

impl TomeRun {
    pub fn new(options: TomeOptions, logical_batch: Option<usize>) -> Self {
        Self {
            options,
            latent: (0, 0),
            rng: TorchRng::new(options.seed),
            logical_batch,
        }
    }

    /// tomesd's forward pre-hook: block grids are measured against the UNet input.
    pub fn set_latent_size(&mut self, height: usize, width: usize) {
        self.latent = (height, width);
    }

    /// tomesd's `compute_merge` for one transformer block: `None` where it does nothing.
    pub fn plan(&mut self, x: &Tensor) -> Result<Option<TokenMerge>> {
        let (batch, tokens, _) = x.dims3()?;
        let (h0, w0) = self.latent;
        let o = self.options;
        if o.sx == 0 || o.sy == 0 {
            candle_core::bail!(
                "token merging cell stride must be at least 1, got {}x{}",
                o.sx,
                o.sy
            );
        }
        if tokens == 0 || h0 * w0 == 0 {
            return Ok(None);
        }
        let downsample = ((h0 * w0 / tokens) as f64).sqrt().ceil() as usize;
        if downsample > o.max_downsample {
            return Ok(None);
        }
        let (w, h) = (w0.div_ceil(downsample), h0.div_ceil(downsample));
        let r = (tokens as f64 * o.ratio) as usize;
        if r == 0 {
            return Ok(None);
        }
        let use_rand = o.use_rand && self.logical_batch.unwrap_or(batch).is_multiple_of(2);
        let (cells_y, cells_x) = (h / o.sy, w / o.sx);
        let dst = if use_rand {
            let per_cell = (o.sx * o.sy) as u32;
            let draws = self.rng.randint_below(per_cell, cells_y * cells_x);
            Destinations::Chosen(draws.into_iter().map(|c| c as usize).collect())
        } else {
            Destinations::TopLeft
        };
        let cfg = TomeConfig {
            w,
            h,
            sx: o.sx,
            sy: o.sy,
            r,
        };
        let x = x
            .as_candle()
            .map_err(|_| crate::model_tensor::no_npu_route("token merging"))?;
        TokenMerge::new(x, cfg, &dst).map(Some)
    }
}
