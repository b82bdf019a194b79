//! Token merging on candle tensors. The similarity search (a [sources x destinations]
//! matrix per batch item) runs as a candle matmul on the tensors' own device, which is
//! what makes merging cheaper than the attention it shortens; only the per-source best
//! scores and the token rows move to the host, where [`MergePlan`] does the bookkeeping.

use crate::tensor::TensorView;
use crate::tome::{Destinations, MergePlan, Partition, TomeConfig};
use candle_core::{D, DType, Result, Tensor};

/// A merge computed from one metric, applicable to any `[batch, tokens, c]` tensor with
/// the same tokens (tomesd's `merge`/`unmerge` closure pair).
#[derive(Debug, Clone)]
pub struct TokenMerge {
    plan: MergePlan,
}

fn ops_err(e: crate::OpsError) -> candle_core::Error {
    candle_core::Error::msg(format!("token merging: {e}"))
}

impl TokenMerge {
    /// Matches on `metric` `[batch, tokens, channels]` (tomesd: the block's input).
    pub fn new(metric: &Tensor, cfg: TomeConfig, dst: &Destinations) -> Result<Self> {
        let (batch, tokens, _) = metric.dims3()?;
        let partition = Partition::new(cfg, dst, tokens).map_err(ops_err)?;
        let device = metric.device();
        let index = |t: &[usize]| {
            let t: Vec<u32> = t.iter().map(|&i| i as u32).collect();
            let n = t.len();
            Tensor::from_vec(t, n, device)
        };
        let metric = metric.to_dtype(DType::F32)?;
        let norm = metric.sqr()?.sum_keepdim(D::Minus1)?.sqrt()?;
        let normed = metric.broadcast_div(&norm)?;
        let src = normed
            .index_select(&index(&partition.src_tokens)?, 1)?
            .contiguous()?;
        let dst_rows = normed.index_select(&index(&partition.dst_tokens)?, 1)?;
        // f32 on the CPU: the crate's packed GEMM (2 GFLOP per SD 64x64 block at batch 2).
        let scores = super::matmul::matmul(&src, &dst_rows.t()?.contiguous()?, None)?;
        let best_score = scores.max(D::Minus1)?.to_vec2::<f32>()?;
        let best_dst = scores.argmax(D::Minus1)?.to_vec2::<u32>()?;
        let best = best_score
            .into_iter()
            .zip(best_dst)
            .map(|(s, d)| {
                s.into_iter()
                    .zip(d.into_iter().map(|d| d as usize))
                    .collect()
            })
            .collect::<Vec<Vec<_>>>();
        debug_assert_eq!(best.len(), batch);
        let plan = MergePlan::from_best(partition, cfg.r, best).map_err(ops_err)?;
        Ok(Self { plan })
    }

    /// Tokens `merge` removes.
    pub fn removed(&self) -> usize {
        self.plan.removed()
    }

    /// `[batch, tokens, c]` -> `[batch, tokens - removed, c]`.
    pub fn merge(&self, x: &Tensor) -> Result<Tensor> {
        self.apply(x, |plan, view| plan.merge(view))
    }

    /// `[batch, tokens - removed, c]` -> `[batch, tokens, c]`.
    pub fn unmerge(&self, x: &Tensor) -> Result<Tensor> {
        self.apply(x, |plan, view| plan.unmerge(view))
    }

    fn apply(
        &self,
        x: &Tensor,
        op: impl Fn(&MergePlan, TensorView<'_, f32>) -> crate::Result<crate::Tensor<f32>>,
    ) -> Result<Tensor> {
        let dtype = x.dtype();
        let data = x.to_dtype(DType::F32)?.flatten_all()?.to_vec1::<f32>()?;
        let shape = x.dims().to_vec();
        let view = TensorView::new(&data, &shape).map_err(ops_err)?;
        let out = op(&self.plan, view).map_err(ops_err)?;
        Tensor::from_vec(out.data, out.shape, x.device())?.to_dtype(dtype)
    }
}
