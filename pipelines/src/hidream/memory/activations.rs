//! Rough activation peaks per stage, from the model configs and the image size. These are
//! estimates, not measurements: each counts the largest tensors a stage holds at once
//! (with a small multiple for temporaries) so that the report can say "will not fit" for
//! the sizes where that is clear. They have not been checked against a real-weight run.

use crate::hidream::transformer::TransformerConfig;
use crate::hidream::transformer::feed_forward::swiglu_hidden;
use crate::models::autoencoders::VaeConfig;

/// Text tokens the transformer sees per block: T5 (128), the last Llama layer (128) and
/// the block's own Llama layer (128), at HiDream's max_sequence_length.
pub const TEXT_TOKENS: u64 = 3 * 128;

/// One transformer forward on `model_batch` latents of `latent_h x latent_w`.
/// `scores_materialised`: the attention kernel keeps `[b, heads, s, s]` scores (the naive
/// kernel; the fused one streams them).
pub fn transformer(
    cfg: &TransformerConfig,
    model_batch: u64,
    latent_h: u64,
    latent_w: u64,
    dtype_bytes: u64,
    scores_materialised: bool,
) -> u64 {
    let patch = cfg.patch().max(1) as u64;
    let mut image_tokens = (latent_h / patch) * (latent_w / patch);
    if latent_h != latent_w {
        // Non-square inputs are padded to max_seq, as diffusers does.
        image_tokens = image_tokens.max(cfg.max_seq() as u64);
    }
    let seq = image_tokens + TEXT_TOKENS;
    let dim = cfg.inner_dim() as u64;
    let heads = cfg.num_attention_heads as u64;
    let ffn = swiglu_hidden(4 * cfg.inner_dim()) as u64;
    let top_k = cfg.num_activated_experts as u64;
    // Residual stream, norms, q/k/v, attention output, projections and the block's
    // modulated copies: about ten [s, dim] tensors alive around the attention.
    let stream = 10 * seq * dim;
    let scores = if scores_materialised {
        2 * heads * seq * seq
    } else {
        0
    };
    // MoE on image tokens: each routed expert's gate/up/activation on its share (top_k
    // copies in all), plus the shared expert at half width.
    let moe = image_tokens * ffn * (3 * top_k + 2);
    model_batch * dtype_bytes * (stream + scores + moe)
}

/// One VAE decode of `batch` latents to `width x height` pixels: three full-resolution
/// feature maps of the widest top-level channels, plus the mid-block attention scores at
/// the lowest resolution.
pub fn vae_decode(cfg: &VaeConfig, batch: u64, width: u64, height: u64, dtype_bytes: u64) -> u64 {
    let top_channels = cfg.block_out_channels.first().copied().unwrap_or(0) as u64;
    let levels = cfg.block_out_channels.len().max(1) as u32;
    let down = 2u64.pow(levels - 1);
    let low_tokens = (width / down) * (height / down);
    let maps = 3 * top_channels * width * height;
    let scores = if cfg.mid_block_add_attention {
        low_tokens * low_tokens
    } else {
        0
    };
    batch * dtype_bytes * (maps + scores)
}

/// A text encoder over `prompts` x `tokens`, keeping every layer's hidden state (Llama does;
/// the others are counted the same way, which over-counts them slightly).
pub fn text_encoder(hidden: u64, layers: u64, tokens: u64, prompts: u64, dtype_bytes: u64) -> u64 {
    prompts * dtype_bytes * tokens * hidden * (layers + 4)
}
