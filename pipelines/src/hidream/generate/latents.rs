//! The starting latents: drawn as diffusers' `prepare_latents` draws them with a CPU
//! generator (so a seed gives diffusers' image), or supplied, and saved/loaded as
//! safetensors under the name `latents` so a run can be resumed or compared.

use crate::hidream::HiDreamError;
use crate::hidream::size::SizeRule;
use crate::output_file::StagedFile;
use candle_core::{DType, Device, Tensor};
use device::TorchRng;
use std::path::Path;

/// `[batch, channels, h, w]` for an output of `width x height` pixels (already through the
/// size rule): each side is `2 * (side // (2 * vae_scale_factor))`, as `prepare_latents`.
pub fn latent_shape(
    rule: &SizeRule,
    batch: usize,
    channels: usize,
    width: usize,
    height: usize,
) -> [usize; 4] {
    let division = rule.multiple();
    [
        batch,
        channels,
        2 * (height / division),
        2 * (width / division),
    ]
}

/// `torch.randn(shape, generator=torch.Generator().manual_seed(seed))`, moved to `device`.
pub fn initial_latents(
    shape: [usize; 4],
    seed: u64,
    device: &Device,
) -> Result<Tensor, HiDreamError> {
    let values = TorchRng::new(seed).randn_shape(&shape);
    Ok(Tensor::from_vec(values, &shape[..], device)?)
}

/// `{"latents": latents}` (f32) staged beside `path`, to be committed with the image, so
/// a run that fails later leaves no latents behind.
pub fn stage_latents(path: &Path, latents: &Tensor) -> Result<StagedFile, HiDreamError> {
    let latents = latents.to_dtype(DType::F32)?.to_device(&Device::Cpu)?;
    crate::tensor_file::stage_safetensors(path, &[("latents".to_string(), latents)])
        .map_err(|e| HiDreamError::InvalidInput(e.to_string()))
}

/// Reads the tensor `latents` from a safetensors file as f32 on `device`.
pub fn load_latents(path: &Path, device: &Device) -> Result<Tensor, HiDreamError> {
    let bad = |message: String| {
        HiDreamError::InvalidInput(format!("--latents {}: {message}", path.display()))
    };
    let mut tensors =
        candle_core::safetensors::load(path, device).map_err(|e| bad(e.to_string()))?;
    let latents = tensors
        .remove("latents")
        .ok_or_else(|| bad("no tensor named \"latents\"".into()))?;
    if latents.rank() != 4 {
        return Err(bad(format!(
            "latents must be [batch, channels, height, width], got {:?}",
            latents.dims()
        )));
    }
    Ok(latents.to_dtype(DType::F32)?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn latent_shape_follows_prepare_latents() {
        // HiDream-I1 at 1024 x 1024 and 1360 x 768: 128 x 128 and 96 x 170 latents
        // (2 * (768 // 16) = 96, 2 * (1360 // 16) = 170).
        let rule = SizeRule::HIDREAM_I1;
        assert_eq!(latent_shape(&rule, 1, 16, 1024, 1024), [1, 16, 128, 128]);
        assert_eq!(latent_shape(&rule, 2, 16, 1360, 768), [2, 16, 96, 170]);
    }

    #[test]
    fn latents_round_trip_and_bad_files_name_the_flag() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("l.safetensors");
        let t = Tensor::arange(0f32, 24.0, &Device::Cpu)
            .and_then(|t| t.reshape((1, 2, 3, 4)))
            .expect("tensor");
        crate::output_file::commit(vec![stage_latents(&path, &t).expect("stage")]).expect("save");
        let back = load_latents(&path, &Device::Cpu).expect("load");
        assert_eq!(
            back.flatten_all()
                .and_then(|t| t.to_vec1::<f32>())
                .expect("v"),
            (0..24).map(|v| v as f32).collect::<Vec<_>>()
        );
        assert_eq!(std::fs::read_dir(dir.path()).expect("ls").count(), 1);

        std::fs::write(&path, b"not safetensors").expect("write");
        let err = load_latents(&path, &Device::Cpu).unwrap_err().to_string();
        assert!(
            err.contains("--latents") && err.contains("l.safetensors"),
            "{err}"
        );
        let missing = dir.path().join("nope").join("x.safetensors");
        assert!(stage_latents(&missing, &t).is_err());
    }
}
