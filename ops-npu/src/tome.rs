//! Token merging for Stable Diffusion (tomesd's `bipartite_soft_matching_random2d`):
//! one destination token per sx x sy cell, every other token a source; the r sources most
//! cosine-similar to some destination are merged into it by mean, and `unmerge` copies
//! merged values back to every original position.
//!
//! Output order: kept sources in decreasing similarity (as tomesd), then destinations in
//! raster order. tomesd orders destinations by torch's unstable argsort instead; the
//! merged rows are the same set and `unmerge` restores identical tensors.
//!
//! Index bookkeeping is the expensive-to-get-wrong part, so it lives here in plain Rust;
//! the similarity is a dot product per (source, destination) pair, split across rayon.

use crate::error::{OpsError, Result};
use crate::tensor::{Element, Tensor, TensorView};
use rayon::prelude::*;

/// Which token of each cell is the destination.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Destinations {
    /// The top-left token of every cell (tomesd with use_rand=False).
    TopLeft,
    /// One choice in 0..sx*sy per cell, row-major over the [h/sy, w/sx] cell grid, where
    /// choice c is the token at (c / sx, c % sx) inside the cell (tomesd's layout).
    Chosen(Vec<usize>),
}

impl Destinations {
    /// A random choice per cell from an injected generator: `next(n)` returns a value in
    /// 0..n. Passing torch's `randint(sy*sx, (h/sy, w/sx))` values reproduces tomesd.
    pub fn random(
        cells_y: usize,
        cells_x: usize,
        per_cell: usize,
        mut next: impl FnMut(usize) -> usize,
    ) -> Self {
        Destinations::Chosen(
            (0..cells_y * cells_x)
                .map(|_| next(per_cell) % per_cell.max(1))
                .collect(),
        )
    }
}

/// Geometry and budget of one merge.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TomeConfig {
    /// Image width and height in tokens (w * h = tokens).
    pub w: usize,
    pub h: usize,
    /// Cell stride (tomesd default 2 x 2).
    pub sx: usize,
    pub sy: usize,
    /// Tokens to remove by merging (capped at the number of sources).
    pub r: usize,
}

/// Which tokens are destinations (one per cell) and which are sources, each ascending
/// (torch's argsort order in tomesd).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Partition {
    pub tokens: usize,
    pub src_tokens: Vec<usize>,
    pub dst_tokens: Vec<usize>,
}

impl Partition {
    pub fn new(cfg: TomeConfig, dst: &Destinations, tokens: usize) -> Result<Self> {
        if cfg.w * cfg.h != tokens {
            return Err(OpsError::shape(
                "metric",
                format!("{tokens} tokens are not a {}x{} image", cfg.w, cfg.h),
            ));
        }
        if cfg.sx == 0 || cfg.sy == 0 {
            return Err(OpsError::shape("stride", "sx and sy must be at least 1"));
        }
        let (cells_y, cells_x) = (cfg.h / cfg.sy, cfg.w / cfg.sx);
        let choices = match dst {
            Destinations::TopLeft => vec![0; cells_y * cells_x],
            Destinations::Chosen(c) => {
                if c.len() != cells_y * cells_x {
                    return Err(OpsError::shape(
                        "destinations",
                        format!("{} choices for {} cells", c.len(), cells_y * cells_x),
                    ));
                }
                if let Some(bad) = c.iter().find(|&&c| c >= cfg.sx * cfg.sy) {
                    return Err(OpsError::shape(
                        "destinations",
                        format!("choice {bad} is outside a {}x{} cell", cfg.sx, cfg.sy),
                    ));
                }
                c.clone()
            }
        };
        // Tokens outside the last full cell row/column (image not divisible) are sources.
        let mut is_dst = vec![false; tokens];
        for cy in 0..cells_y {
            for cx in 0..cells_x {
                let c = choices[cy * cells_x + cx];
                let (y, x) = (cy * cfg.sy + c / cfg.sx, cx * cfg.sx + c % cfg.sx);
                is_dst[y * cfg.w + x] = true;
            }
        }
        Ok(Self {
            tokens,
            dst_tokens: (0..tokens).filter(|&t| is_dst[t]).collect(),
            src_tokens: (0..tokens).filter(|&t| !is_dst[t]).collect(),
        })
    }
}

/// The matching computed from a metric; applies to any tensor with the same tokens.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MergePlan {
    batch: usize,
    tokens: usize,
    r: usize,
    /// Source and destination token indices, each ascending (torch's argsort order).
    src_tokens: Vec<usize>,
    dst_tokens: Vec<usize>,
    /// Per batch: sources kept (indices into src_tokens), sources merged (same), and the
    /// destination each merged source joins (index into dst_tokens).
    unm_idx: Vec<Vec<usize>>,
    src_idx: Vec<Vec<usize>>,
    dst_idx: Vec<Vec<usize>>,
}

impl MergePlan {
    /// Matches on `metric` [batch, tokens, channels] (tomesd: the block's input).
    pub fn new<T: Element>(
        metric: TensorView<'_, T>,
        cfg: TomeConfig,
        dst: &Destinations,
    ) -> Result<Self> {
        let [batch, tokens, channels] = metric.dims::<3>("metric")?;
        let partition = Partition::new(cfg, dst, tokens)?;
        let (src_tokens, dst_tokens) = (&partition.src_tokens, &partition.dst_tokens);

        let m = T::widen(metric.data());
        let normed: Vec<f32> = m
            .chunks(channels.max(1))
            .flat_map(|row| {
                let norm = row.iter().map(|x| x * x).sum::<f32>().sqrt();
                row.iter().map(move |x| x / norm)
            })
            .collect();

        let best = (0..batch)
            .map(|b| {
                let row = |t: usize| &normed[(b * tokens + t) * channels..][..channels];
                // Best destination (first on ties, like torch.max) and its score per source.
                src_tokens
                    .par_iter()
                    .map(|&s| {
                        let a = row(s);
                        let mut best = (f32::NEG_INFINITY, 0);
                        for (j, &d) in dst_tokens.iter().enumerate() {
                            let score: f32 = a.iter().zip(row(d)).map(|(x, y)| x * y).sum();
                            if score > best.0 {
                                best = (score, j);
                            }
                        }
                        best
                    })
                    .collect()
            })
            .collect();
        Self::from_best(partition, cfg.r, best)
    }

    /// The plan from each source's best match, computed elsewhere (e.g. by a matrix
    /// multiply on the tensors' device): `best[b][i]` is (highest cosine similarity,
    /// index into [`Partition::dst_tokens`]) of source `partition.src_tokens[i]` in batch
    /// item b.
    pub fn from_best(partition: Partition, r: usize, best: Vec<Vec<(f32, usize)>>) -> Result<Self> {
        let Partition {
            tokens,
            src_tokens,
            dst_tokens,
        } = partition;
        let r = r.min(src_tokens.len());
        let batch = best.len();
        let mut unm_idx = Vec::with_capacity(batch);
        let mut src_idx = Vec::with_capacity(batch);
        let mut dst_idx = Vec::with_capacity(batch);
        for best in &best {
            if best.len() != src_tokens.len() {
                return Err(OpsError::shape(
                    "best",
                    format!("{} matches for {} sources", best.len(), src_tokens.len()),
                ));
            }
            if let Some(&(_, j)) = best.iter().find(|(_, j)| *j >= dst_tokens.len()) {
                return Err(OpsError::shape(
                    "best",
                    format!("destination {j} of {}", dst_tokens.len()),
                ));
            }
            let mut order: Vec<usize> = (0..src_tokens.len()).collect();
            // Most similar first; stable, so ties keep source order.
            order.sort_by(|&i, &j| best[j].0.total_cmp(&best[i].0));
            dst_idx.push(order[..r].iter().map(|&i| best[i].1).collect());
            src_idx.push(order[..r].to_vec());
            unm_idx.push(order[r..].to_vec());
        }
        Ok(Self {
            batch,
            tokens,
            r,
            src_tokens,
            dst_tokens,
            unm_idx,
            src_idx,
            dst_idx,
        })
    }

    /// Destination tokens (the last rows of `merge`'s output, in raster order).
    pub fn destinations(&self) -> usize {
        self.dst_tokens.len()
    }

    /// Tokens removed by `merge`.
    pub fn removed(&self) -> usize {
        self.r
    }

    fn check(&self, x: &TensorView<'_, impl Copy>, tokens: usize) -> Result<usize> {
        let [b, n, c] = x.dims::<3>("x")?;
        if b != self.batch || n != tokens {
            return Err(OpsError::shape(
                "x",
                format!(
                    "shape {:?} does not match the plan's [{}, {tokens}, _]",
                    x.shape(),
                    self.batch
                ),
            ));
        }
        Ok(c)
    }

    /// [batch, tokens, c] -> [batch, tokens - r, c]: kept sources, then destinations
    /// averaged with the sources merged into them (scatter_reduce "mean", self included).
    pub fn merge<T: Element>(&self, x: TensorView<'_, T>) -> Result<Tensor<T>> {
        let c = self.check(&x, self.tokens)?;
        let xf = T::widen(x.data());
        let kept = self.src_tokens.len() - self.r;
        let out_tokens = kept + self.dst_tokens.len();
        let mut out = vec![0f32; self.batch * out_tokens * c];
        for b in 0..self.batch {
            let tok = |t: usize| &xf[(b * self.tokens + t) * c..][..c];
            let ob = &mut out[b * out_tokens * c..][..out_tokens * c];
            for (i, &u) in self.unm_idx[b].iter().enumerate() {
                ob[i * c..][..c].copy_from_slice(tok(self.src_tokens[u]));
            }
            let mut count = vec![1f32; self.dst_tokens.len()];
            for (j, &d) in self.dst_tokens.iter().enumerate() {
                ob[(kept + j) * c..][..c].copy_from_slice(tok(d));
            }
            for (&s, &d) in self.src_idx[b].iter().zip(&self.dst_idx[b]) {
                count[d] += 1.0;
                let src = tok(self.src_tokens[s]);
                for (o, v) in ob[(kept + d) * c..][..c].iter_mut().zip(src) {
                    *o += v;
                }
            }
            for (j, n) in count.iter().enumerate() {
                for o in &mut ob[(kept + j) * c..][..c] {
                    *o /= n;
                }
            }
        }
        Ok(Tensor {
            data: T::narrow(out),
            shape: vec![self.batch, out_tokens, c],
        })
    }

    /// [batch, tokens - r, c] -> [batch, tokens, c]: every merged source takes its
    /// destination's value.
    pub fn unmerge<T: Element>(&self, x: TensorView<'_, T>) -> Result<Tensor<T>> {
        let kept = self.src_tokens.len() - self.r;
        let merged_tokens = kept + self.dst_tokens.len();
        let c = self.check(&x, merged_tokens)?;
        let data = x.data();
        let zero = T::narrow(vec![0.0])[0];
        let mut out = vec![zero; self.batch * self.tokens * c];
        for b in 0..self.batch {
            let row = |i: usize| &data[(b * merged_tokens + i) * c..][..c];
            let ob = &mut out[b * self.tokens * c..][..self.tokens * c];
            for (j, &d) in self.dst_tokens.iter().enumerate() {
                ob[d * c..][..c].copy_from_slice(row(kept + j));
            }
            for (i, &u) in self.unm_idx[b].iter().enumerate() {
                ob[self.src_tokens[u] * c..][..c].copy_from_slice(row(i));
            }
            for (&s, &d) in self.src_idx[b].iter().zip(&self.dst_idx[b]) {
                ob[self.src_tokens[s] * c..][..c].copy_from_slice(row(kept + d));
            }
        }
        Ok(Tensor {
            data: out,
            shape: vec![self.batch, self.tokens, c],
        })
    }
}
