//! Token and position lookup tables.

use crate::model_tensor::{Tensor, VarBuilder};
use candle_core::Result;

/// The sizes of an [`Embedding`] (torch's `nn.Embedding(num_embeddings, embedding_dim)`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EmbeddingConfig {
    /// Rows of the table: the vocabulary size, or the number of positions.
    pub num_embeddings: usize,
    pub embedding_dim: usize,
}

/// A lookup table: row `i` of `weight` for id `i` (aclnnEmbedding on the NPU).
#[derive(Debug, Clone)]
pub struct Embedding {
    weight: Tensor,
}

impl Embedding {
    /// `weight` under `vb`.
    pub fn load(vb: VarBuilder, config: EmbeddingConfig) -> Result<Embedding> {
        Ok(Embedding {
            weight: vb.get((config.num_embeddings, config.embedding_dim), "weight")?,
        })
    }

    /// The rows for `ids` (any shape), with a trailing embedding dimension.
    pub fn forward(&self, ids: &Tensor) -> Result<Tensor> {
        self.weight.embedding(ids)
    }

    pub fn weight(&self) -> &Tensor {
        &self.weight
    }
}
