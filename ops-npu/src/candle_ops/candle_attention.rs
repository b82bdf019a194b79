//! How a caller asks [`super::attention()`] for attention over candle tensors.

use crate::attention::Layout;
use candle_core::Tensor;

/// Options for [`super::attention()`]; bias (f32) and mask (u8, non-zero = attend) broadcast to
/// [batch, heads_q, seq_q, seq_kv].
#[derive(Debug, Clone, Copy, Default)]
pub struct CandleAttention<'a> {
    pub layout: Layout,
    pub scale: Option<f32>,
    pub bias: Option<&'a Tensor>,
    pub mask: Option<&'a Tensor>,
}
