//! diffusers' AutoencoderKL tiling (`vae.enable_tiling()`): the image or latents are cut into
//! overlapping square tiles, each tile runs through the encoder or decoder alone, and
//! neighbouring results are cross-faded over the overlap. Peak activation memory then depends
//! on the tile, not on the image; the result differs a little from an untiled pass.
//!
//! Geometry, as diffusers 0.42.1 sets it: the image tile is the config's `sample_size`, the
//! latent tile that over the VAE's downscale, tiles start every 75% of a tile, the blend
//! spans 25% of an output tile, and each output tile keeps its first 75%. Blending happens
//! in place, in reading order, so a tile blended into its lower and right neighbours has
//! itself already been blended with its upper and left ones.

use super::config::VaeConfig;
use crate::model_tensor::Tensor;
use candle_core::Result;

const OVERLAP_FACTOR: f64 = 0.25;

/// The tile sizes of one VAE.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Tiling {
    /// Tile side in image pixels.
    pub sample: usize,
    /// Tile side in latent cells.
    pub latent: usize,
}

/// How one direction (encode or decode) walks its input and assembles its output.
struct Walk {
    tile: usize,
    stride: usize,
    blend: usize,
    keep: usize,
}

impl Tiling {
    pub fn of(config: &VaeConfig) -> Result<Self> {
        let sample = config.sample_size.side().unwrap_or(0);
        let latent = sample / config.scale_factor();
        // A tile must advance: at least 2 latent cells, so 75% of it is at least 1.
        if latent < 2 {
            candle_core::bail!(
                "VAE tiling needs sample_size ({sample}) of at least twice the VAE's scale \
                 factor ({})",
                config.scale_factor()
            );
        }
        Ok(Self { sample, latent })
    }

    /// Whether diffusers tiles this decode: latents wider or taller than a latent tile.
    pub fn tiles_latents(&self, latents: &Tensor) -> Result<bool> {
        let (_, _, h, w) = latents.dims4()?;
        Ok(h > self.latent || w > self.latent)
    }

    /// Whether diffusers tiles this encode: an image wider or taller than an image tile.
    pub fn tiles_image(&self, image: &Tensor) -> Result<bool> {
        let (_, _, h, w) = image.dims4()?;
        Ok(h > self.sample || w > self.sample)
    }

    /// `decode` over latent tiles.
    pub fn decode(
        &self,
        latents: &Tensor,
        decode: impl Fn(&Tensor) -> Result<Tensor>,
    ) -> Result<Tensor> {
        self.walk(self.latent, self.sample).run(latents, decode)
    }

    /// `encode` (to moments) over image tiles.
    pub fn encode(
        &self,
        image: &Tensor,
        encode: impl Fn(&Tensor) -> Result<Tensor>,
    ) -> Result<Tensor> {
        self.walk(self.sample, self.latent).run(image, encode)
    }

    fn walk(&self, tile: usize, out_tile: usize) -> Walk {
        let blend = (out_tile as f64 * OVERLAP_FACTOR) as usize;
        Walk {
            tile,
            stride: (tile as f64 * (1.0 - OVERLAP_FACTOR)) as usize,
            blend,
            keep: out_tile - blend,
        }
    }
}

impl Walk {
    fn run(&self, input: &Tensor, f: impl Fn(&Tensor) -> Result<Tensor>) -> Result<Tensor> {
        let (_, _, h, w) = input.dims4()?;
        let mut rows: Vec<Vec<Tensor>> = Vec::new();
        for top in (0..h).step_by(self.stride) {
            let mut row = Vec::new();
            for left in (0..w).step_by(self.stride) {
                let tile = input.narrow(2, top, self.tile.min(h - top))?.narrow(
                    3,
                    left,
                    self.tile.min(w - left),
                )?;
                row.push(f(&tile)?);
            }
            rows.push(row);
        }
        let mut assembled = Vec::with_capacity(rows.len());
        for i in 0..rows.len() {
            let mut kept = Vec::with_capacity(rows[i].len());
            for j in 0..rows[i].len() {
                let mut tile = rows[i][j].clone();
                if i > 0 {
                    tile = blend(&rows[i - 1][j], &tile, self.blend, 2)?;
                }
                if j > 0 {
                    tile = blend(&rows[i][j - 1], &tile, self.blend, 3)?;
                }
                let (_, _, th, tw) = tile.dims4()?;
                kept.push(
                    tile.narrow(2, 0, self.keep.min(th))?
                        .narrow(3, 0, self.keep.min(tw))?,
                );
                rows[i][j] = tile;
            }
            assembled.push(Tensor::cat(&kept, 3)?);
        }
        Tensor::cat(&assembled, 2)
    }
}

/// `next` with its first rows (dim 2) or columns (dim 3) cross-faded from the end of `before`:
/// position y of the fade is `before * (1 - y / extent) + next * (y / extent)`.
fn blend(before: &Tensor, next: &Tensor, extent: usize, dim: usize) -> Result<Tensor> {
    let extent = extent.min(before.dim(dim)?).min(next.dim(dim)?);
    if extent == 0 {
        return Ok(next.clone());
    }
    // torch computes each weight in double and multiplies an f32 tensor by it in f32.
    let weights: Vec<f32> = (0..extent)
        .map(|y| (y as f64 / extent as f64) as f32)
        .collect();
    let rest: Vec<f32> = (0..extent)
        .map(|y| (1.0 - y as f64 / extent as f64) as f32)
        .collect();
    let mut shape = [1usize; 4];
    shape[dim] = extent;
    let weights = Tensor::from_vec(weights, &shape[..], next.device())?.to_dtype(next.dtype())?;
    let rest = Tensor::from_vec(rest, &shape[..], next.device())?.to_dtype(next.dtype())?;
    let tail = before.narrow(dim, before.dim(dim)? - extent, extent)?;
    let head = next.narrow(dim, 0, extent)?;
    let faded = (tail.broadcast_mul(&rest)? + head.broadcast_mul(&weights)?)?;
    let remainder = next.dim(dim)? - extent;
    if remainder == 0 {
        return Ok(faded);
    }
    Tensor::cat(&[&faded, &next.narrow(dim, extent, remainder)?], dim)
}

#[cfg(test)]
mod tests {
    use super::*;
    use candle_core::{DType, Device};

    #[test]
    fn a_blend_fades_linearly_from_the_tail_of_the_first_tile() {
        let before = Tensor::full(10f32, (1, 1, 4, 1), &Device::Cpu).unwrap();
        let next = Tensor::zeros((1, 1, 3, 1), DType::F32, &Device::Cpu).unwrap();
        let out = blend(&before, &next, 2, 2).unwrap();
        let values: Vec<f32> = out.flatten_all().unwrap().to_vec1().unwrap();
        // y = 0 takes all of `before`, y = 1 half of it; the rest of `next` is untouched.
        assert_eq!(values, [10.0, 5.0, 0.0]);
    }
}
