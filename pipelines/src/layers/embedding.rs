//! Token and position lookup tables.

use candle_core::{Module, Result, Tensor};
use candle_nn::VarBuilder;

/// The sizes of an [`Embedding`] (torch's `nn.Embedding(num_embeddings, embedding_dim)`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EmbeddingConfig {
    /// Rows of the table: the vocabulary size, or the number of positions.
    pub num_embeddings: usize,
    pub embedding_dim: usize,
}

#[derive(Debug, Clone)]
pub struct Embedding(candle_nn::Embedding);

impl Embedding {
    pub fn load(vb: VarBuilder, config: EmbeddingConfig) -> Result<Embedding> {
        Ok(Embedding(candle_nn::embedding(
            config.num_embeddings,
            config.embedding_dim,
            vb,
        )?))
    }

    pub fn forward(&self, ids: &Tensor) -> Result<Tensor> {
        self.0.forward(ids)
    }
}
