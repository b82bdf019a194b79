//! HiDream's feed-forwards: the SwiGLU MLP and the mixture of experts built from it
//! (softmax gate, top-k experts weighted by their raw gate probabilities, i.e. without
//! renormalising the k weights, plus an always-on shared expert).

use crate::layers::Linear;
use crate::model_tensor::{Tensor, VarBuilder};
use candle_core::{D, DType, Result};

/// diffusers' hidden width for a requested `hidden`: two thirds, rounded up to 256.
pub fn swiglu_hidden(hidden: usize) -> usize {
    const MULTIPLE_OF: usize = 256;
    (2 * hidden / 3).div_ceil(MULTIPLE_OF) * MULTIPLE_OF
}

/// `w2(silu(w1 x) * w3 x)`, with w1 and w3 stacked into one GEMM.
#[derive(Debug, Clone)]
pub struct SwiGlu {
    gate_up: Linear,
    down: Linear,
}

impl SwiGlu {
    /// `hidden` as diffusers' constructor receives it (before `swiglu_hidden`).
    pub fn new(vb: VarBuilder, dim: usize, hidden: usize) -> Result<Self> {
        let inner = swiglu_hidden(hidden);
        let w1 = vb.get((inner, dim), "w1.weight")?;
        let w3 = vb.get((inner, dim), "w3.weight")?;
        let w2 = vb.get((dim, inner), "w2.weight")?;
        Ok(Self {
            gate_up: Linear::from_parts(&Tensor::cat(&[&w1, &w3], 0)?, None)?,
            down: Linear::from_parts(&w2, None)?,
        })
    }

    pub fn forward(&self, x: &Tensor) -> Result<Tensor> {
        self.down
            .forward(&crate::layers::swiglu(&self.gate_up.forward(x)?)?)
    }
}

#[derive(Debug, Clone)]
pub struct MixtureOfExperts {
    gate: Tensor,
    experts: Vec<SwiGlu>,
    shared: SwiGlu,
    top_k: usize,
}

impl MixtureOfExperts {
    /// diffusers builds it with `hidden_dim = 4 * dim` (the shared expert with half).
    pub fn new(vb: VarBuilder, dim: usize, routed: usize, top_k: usize) -> Result<Self> {
        let hidden = 4 * dim;
        let experts = (0..routed)
            .map(|i| SwiGlu::new(vb.pp(format!("experts.{i}")), dim, hidden))
            .collect::<Result<_>>()?;
        Ok(Self {
            gate: vb.get((routed, dim), "gate.weight")?,
            experts,
            shared: SwiGlu::new(vb.pp("shared_experts"), dim, hidden / 2)?,
            top_k,
        })
    }

    /// x `[b, s, dim]`. Each expert runs only on the tokens routed to it.
    pub fn forward(&self, x: &Tensor) -> Result<Tensor> {
        let shape = x.shape().clone();
        let dim = x.dim(D::Minus1)?;
        let tokens = x.reshape(((), dim))?;
        let scores = tokens.matmul(&self.gate.t()?)?.softmax_last_dim()?;
        // The top-k runs on the host: on an NPU that is one download of the [tokens,
        // experts] scores (one synchronisation per MoE layer), and every expert's index and
        // weight tensor is uploaded before the next launch so that no upload waits.
        let routes = top_k_routes(&scores.to_dtype(DType::F32)?.to_vec2()?, self.top_k);
        let device = x.device();
        let placed = routes
            .into_iter()
            .map(|(rows, weights)| {
                let count = rows.len();
                if count == 0 {
                    return Ok(None);
                }
                let rows = Tensor::from_vec(rows, count, &device)?;
                let weights = Tensor::from_vec(weights, (count, 1), &device)?;
                Ok(Some((rows, weights)))
            })
            .collect::<Result<Vec<_>>>()?;
        let mut out = tokens.zeros_like()?;
        for (expert, routed) in self.experts.iter().zip(placed) {
            let Some((rows, weights)) = routed else {
                continue;
            };
            let weights = weights.to_dtype(x.dtype())?;
            let y = expert
                .forward(&tokens.index_select(&rows, 0)?)?
                .broadcast_mul(&weights)?;
            out = out.index_add(&rows, &y, 0)?;
        }
        (out + self.shared.forward(&tokens)?)?.reshape(shape)
    }
}

/// For each expert, the tokens routed to it and their gate probabilities: every token goes
/// to its `k` highest-scoring experts (the lower index first among equal scores).
fn top_k_routes(scores: &[Vec<f32>], k: usize) -> Vec<(Vec<u32>, Vec<f32>)> {
    let experts = scores.first().map_or(0, Vec::len);
    let mut routes = vec![(Vec::new(), Vec::new()); experts];
    for (token, row) in scores.iter().enumerate() {
        let mut order: Vec<usize> = (0..row.len()).collect();
        order.sort_by(|&a, &b| row[b].total_cmp(&row[a]).then(a.cmp(&b)));
        for &expert in order.iter().take(k) {
            routes[expert].0.push(token as u32);
            routes[expert].1.push(row[expert]);
        }
    }
    routes
}

/// The image stream's feed-forward: routed experts, or a plain SwiGLU when the config
/// has none (`num_routed_experts == 0`).
#[derive(Debug, Clone)]
pub enum ImageFeedForward {
    Experts(MixtureOfExperts),
    Dense(SwiGlu),
}

impl ImageFeedForward {
    pub fn new(vb: VarBuilder, dim: usize, routed: usize, top_k: usize) -> Result<Self> {
        if routed > 0 {
            Ok(Self::Experts(MixtureOfExperts::new(
                vb, dim, routed, top_k,
            )?))
        } else {
            Ok(Self::Dense(SwiGlu::new(vb, dim, 4 * dim)?))
        }
    }

    pub fn forward(&self, x: &Tensor) -> Result<Tensor> {
        match self {
            Self::Experts(moe) => moe.forward(x),
            Self::Dense(mlp) => mlp.forward(x),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hidden_width_follows_diffusers_rounding() {
        // HiDream-I1: dim 2560 -> experts 4 * 2560 -> 6912, shared 2 * 2560 -> 3584.
        assert_eq!(swiglu_hidden(4 * 2560), 6912);
        assert_eq!(swiglu_hidden(2 * 2560), 3584);
        assert_eq!(swiglu_hidden(128), 256);
    }

    #[test]
    fn routes_pick_the_top_k_with_raw_weights() {
        let scores = vec![vec![0.1, 0.5, 0.15, 0.25], vec![0.4, 0.3, 0.2, 0.1]];
        let routes = top_k_routes(&scores, 2);
        assert_eq!(routes[0], (vec![1], vec![0.4]));
        assert_eq!(routes[1], (vec![0, 1], vec![0.5, 0.3]));
        assert_eq!(routes[2], (vec![], vec![]));
        assert_eq!(routes[3], (vec![0], vec![0.25]));
    }
}
