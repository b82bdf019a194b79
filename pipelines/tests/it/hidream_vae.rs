//! HiDream's Flux-style VAE (16 latent channels, no quant convs) against diffusers'
//! AutoencoderKL on a tiny random-weight model (scripts/fixtures/hidream_vae_reference.py),
//! with both kernel choices.

use crate::common::{h, m};
use candle_core::{DType, Device};
use candle_nn::VarBuilder;
use pipelines::layers::Kernels;
use pipelines::models::autoencoders::AutoencoderKL;
use pipelines::models::autoencoders::VaeConfig;
use std::path::PathBuf;

use crate::common::{assert_close, assert_within_rounding};

fn dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/hidream/vae")
}

#[test]
fn flux_style_vae_encodes_and_decodes_like_diffusers() {
    let config: VaeConfig = serde_json::from_str(
        &std::fs::read_to_string(dir().join("config.json")).expect("config.json"),
    )
    .expect("parse config.json");
    assert_eq!(config.latent_channels, 16);
    assert!(!config.use_quant_conv && !config.use_post_quant_conv);
    let device = Device::Cpu;
    let reference =
        candle_core::safetensors::load(dir().join("reference.safetensors"), &device).expect("ref");
    for kernels in [Kernels::Fused, Kernels::Naive] {
        // SAFETY: the fixture file is not modified while mapped.
        let vb = unsafe {
            VarBuilder::from_mmaped_safetensors(
                &[dir().join("diffusion_pytorch_model.safetensors")],
                DType::F32,
                &device,
            )
        }
        .expect("weights");
        let vae = AutoencoderKL::with_kernels(vb.into(), &config, kernels).expect("vae");
        let dist = vae.encode(&m(&reference["image"])).expect("encode");
        let decoded = vae.decode(&m(&reference["latents"])).expect("decode");
        // f32 through a dozen convolutions and a mid-block attention with O(1)
        // activations: summation order (Winograd, im2col GEMM, torch's conv) differs.
        for (name, got, want, tol) in [
            ("mean", &dist.mean, &reference["mean"], 1e-4),
            ("std", &dist.std, &reference["std"], 1e-4),
            ("decoded", &decoded, &reference["decoded"], 1e-4),
        ] {
            assert_close(&format!("{kernels:?} {name}"), &h(got), want, tol);
        }
    }
}

/// `hidream::vae::load_vae` in bf16 and f16 (weights converted as they load) against the f32
/// reference, in units of the dtype's rounding times the reference's largest magnitude.
/// Measured (--no-capture): largest differences 2.5-4.9 units, means 0.47-1.15; bounds 12 and
/// 3 (as SD's VAE at reduced precision, sd_variants.rs, measures 3-8 units).
#[test]
fn reduced_precision_vae_stays_within_its_rounding_bounds() {
    let device = Device::Cpu;
    let reference =
        candle_core::safetensors::load(dir().join("reference.safetensors"), &device).expect("ref");
    for dtype in [DType::BF16, DType::F16] {
        let vae = pipelines::hidream::vae::load_vae(&dir(), &device, dtype).expect("vae");
        assert_eq!(vae.dtype(), dtype);
        let dist = vae
            .encode(&m(&reference["image"].to_dtype(dtype).expect("cast")))
            .expect("encode");
        let decoded = vae
            .decode(&m(&reference["latents"].to_dtype(dtype).expect("cast")))
            .expect("decode");
        for (name, got, want) in [
            ("mean", &dist.mean, &reference["mean"]),
            ("std", &dist.std, &reference["std"]),
            ("decoded", &decoded, &reference["decoded"]),
        ] {
            assert_within_rounding(
                &format!("{dtype:?} {name}"),
                &h(got),
                want,
                dtype,
                12.0,
                3.0,
            );
        }
    }
}
