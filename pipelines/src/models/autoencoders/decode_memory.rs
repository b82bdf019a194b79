//! How much memory an untiled VAE decode takes, so a caller can turn tiling on before a
//! decode would run the machine out of memory.
//!
//! The figure is measured, not derived: `vae-bench` (SD 2.x VAE, random weights, CPU, fused
//! kernels, f32) peaks at 2.78 GB above the built model for a 512x512 decode and 11.13 GB
//! for 1024x1024, 10.6 KB per output pixel both times (the full-resolution convolutions'
//! im2col buffers dominate, so the cost grows with the pixels and the channel width).

use super::config::VaeConfig;
use candle_core::DType;

/// Measured bytes per output pixel of an f32 decode through a VAE whose full-resolution
/// blocks have 128 channels.
const F32_BYTES_PER_PIXEL_AT_128_CHANNELS: f64 = 10_600.0;

/// Bytes an untiled decode of `batch` images of `height` x `width` needs beyond the
/// weights. Other channel widths scale linearly from the measured 128; f16/bf16 by the
/// element size (not measured).
pub fn untiled_decode_bytes(
    config: &VaeConfig,
    dtype: DType,
    batch: usize,
    height: usize,
    width: usize,
) -> u64 {
    let channels = config.block_out_channels.first().copied().unwrap_or(128) as f64;
    let element = dtype.size_in_bytes() as f64 / 4.0;
    let pixels = (batch as f64) * (height as f64) * (width as f64);
    (F32_BYTES_PER_PIXEL_AT_128_CHANNELS * channels / 128.0 * element * pixels) as u64
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(channels: usize) -> VaeConfig {
        serde_json::from_value(serde_json::json!({
            "block_out_channels": [channels, 256, 512, 512],
            "down_block_types": ["DownEncoderBlock2D"],
            "up_block_types": ["UpDecoderBlock2D"],
        }))
        .unwrap()
    }

    #[test]
    fn the_estimate_is_the_measured_rate_scaled_by_pixels_width_and_dtype() {
        let sd = config(128);
        let one = untiled_decode_bytes(&sd, DType::F32, 1, 1024, 1024);
        // vae-bench measured 11.13 GB above the model at 1024x1024.
        assert!((11.0e9..11.3e9).contains(&(one as f64)), "{one}");
        assert_eq!(
            untiled_decode_bytes(&sd, DType::F32, 2, 1024, 1024),
            2 * one
        );
        assert_eq!(
            untiled_decode_bytes(&sd, DType::F16, 1, 1024, 1024),
            one / 2
        );
        assert_eq!(
            untiled_decode_bytes(&config(64), DType::F32, 1, 1024, 1024),
            one / 2
        );
    }
}
