//! Latent <-> token conversion. A square latent becomes `(h/p) * (w/p)` tokens; a
//! non-square one is zero-padded to the model's `max_seq` tokens with a mask (1 for real
//! tokens, 0 for padding) and zero position ids for the padding, as diffusers does.

use crate::model_tensor::Tensor;
use candle_core::Result;

/// A patchified latent.
#[derive(Debug, Clone)]
pub struct Patches {
    /// `[b, seq, p * p * c]`, features ordered (row in patch, column in patch, channel).
    pub tokens: Tensor,
    /// `[b, seq]` for padded (non-square) inputs.
    pub mask: Option<Tensor>,
    /// (0, row, col) per token; zeros for padding.
    pub ids: Vec<[f64; 3]>,
    /// Patch grid (rows, columns).
    pub grid: (usize, usize),
}

/// The position ids of the tokens [`patchify`] makes from an `h x w` latent: (0, row, col)
/// per patch, then zeros for the padding of a non-square latent.
pub fn token_ids(h: usize, w: usize, patch: usize, max_seq: usize) -> Vec<[f64; 3]> {
    let (rows, cols) = (h / patch, w / patch);
    let seq = rows * cols;
    let mut ids: Vec<[f64; 3]> = (0..rows)
        .flat_map(|r| (0..cols).map(move |col| [0.0, r as f64, col as f64]))
        .collect();
    if h != w {
        ids.resize(seq + max_seq.saturating_sub(seq), [0.0; 3]);
    }
    ids
}

/// x `[b, c, h, w]` with h and w multiples of `patch` (checked by the caller).
pub fn patchify(x: &Tensor, patch: usize, max_seq: usize) -> Result<Patches> {
    let (b, c, h, w) = x.dims4()?;
    let (rows, cols) = (h / patch, w / patch);
    let seq = rows * cols;
    let ids = token_ids(h, w, patch, max_seq);
    // Padding and mask are made (on an NPU: uploaded) before the reshape's copy launches.
    let padded = if h == w {
        None
    } else {
        let pad = max_seq.saturating_sub(seq);
        let padding = Tensor::zeros((b, pad, patch * patch * c), x.dtype(), x.device())?;
        let mask = Tensor::cat(
            &[
                Tensor::ones((b, seq), x.dtype(), x.device())?,
                Tensor::zeros((b, pad), x.dtype(), x.device())?,
            ],
            1,
        )?;
        Some((padding, mask))
    };
    let tokens = x
        .reshape((b, c, rows, patch, cols, patch))?
        .permute((0, 2, 4, 3, 5, 1))?
        .reshape((b, seq, patch * patch * c))?;
    let (tokens, mask) = match padded {
        None => (tokens, None),
        Some((padding, mask)) => (Tensor::cat(&[&tokens, &padding], 1)?, Some(mask)),
    };
    Ok(Patches {
        tokens,
        mask,
        ids,
        grid: (rows, cols),
    })
}

/// The first `rows * cols` tokens of x `[b, seq, p * p * c]` back to `[b, c, h, w]`.
pub fn unpatchify(x: &Tensor, grid: (usize, usize), patch: usize) -> Result<Tensor> {
    let (b, _, features) = x.dims3()?;
    let (rows, cols) = grid;
    let c = features / (patch * patch);
    x.narrow(1, 0, rows * cols)?
        .reshape((b, rows, cols, patch, patch, c))?
        .permute((0, 5, 1, 3, 2, 4))?
        .reshape((b, c, rows * patch, cols * patch))
}

/// A mask of ones, to extend the image mask over text tokens.
pub fn ones_mask(batch: usize, len: usize, like: &Tensor) -> Result<Tensor> {
    Tensor::ones((batch, len), like.dtype(), like.device())
}

#[cfg(test)]
mod tests {
    use super::*;
    use candle_core::Device;

    #[test]
    fn unpatchify_inverts_patchify() -> Result<()> {
        let x = Tensor::arange(0f32, 2.0 * 3.0 * 4.0 * 6.0, &Device::Cpu)?.reshape((2, 3, 4, 6))?;
        let p = patchify(&x, 2, 16)?;
        assert_eq!(p.tokens.dims(), &[2, 16, 12]);
        assert_eq!(p.ids[5], [0.0, 1.0, 2.0]);
        assert_eq!(p.ids[6], [0.0; 3]);
        let mask = p.mask.as_ref().map(|m| m.to_vec2::<f32>()).transpose()?;
        assert_eq!(mask.map(|m| m[1].iter().sum::<f32>()), Some(6.0));
        let back = unpatchify(&p.tokens, p.grid, 2)?;
        let diff = (back - &x)?
            .to_host()?
            .abs()?
            .flatten_all()?
            .max(0)?
            .to_scalar::<f32>()?;
        assert_eq!(diff, 0.0);
        Ok(())
    }
}
