//! Tensors a user asked for (latents, prompt embeddings) written as a safetensors file,
//! through `output_file`, so a failed write leaves nothing and replaces nothing it must not.

use crate::output_file::{self, OutputFileError, StagedFile};
use candle_core::{Device, Tensor};
use std::path::Path;

/// Serialises `tensors` (moved to the host as they are) under a temporary name beside
/// `path`, to be committed with the run's other outputs.
pub fn stage_safetensors(
    path: &Path,
    tensors: &[(String, Tensor)],
) -> Result<StagedFile, OutputFileError> {
    output_file::stage(path, |out| {
        let other = |e: &dyn std::fmt::Display| std::io::Error::other(e.to_string());
        // On the host and contiguous first: candle's serialiser unwraps a failed copy.
        let host = tensors
            .iter()
            .map(|(k, t)| Ok((k.as_str(), t.to_device(&Device::Cpu)?.contiguous()?)))
            .collect::<candle_core::Result<Vec<_>>>()
            .map_err(|e| other(&e))?;
        let bytes = safetensors::serialize(host, None).map_err(|e| other(&e))?;
        std::io::Write::write_all(out, &bytes)
    })
}

/// [`stage_safetensors`] committed at once.
pub fn save_safetensors(path: &Path, tensors: &[(String, Tensor)]) -> Result<(), OutputFileError> {
    output_file::commit(vec![stage_safetensors(path, tensors)?])
}

#[cfg(test)]
mod tests {
    use super::*;
    use candle_core::DType;

    #[test]
    fn what_is_saved_loads_back() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("潜变量.safetensors");
        let t = Tensor::arange(0f32, 6.0, &Device::Cpu)
            .unwrap()
            .reshape((1, 2, 3))
            .unwrap();
        save_safetensors(&path, &[("latents".into(), t.clone())]).unwrap();
        let back = candle_core::safetensors::load(&path, &Device::Cpu).unwrap();
        let got = back["latents"].to_dtype(DType::F32).unwrap();
        assert_eq!(got.dims(), &[1, 2, 3]);
        assert_eq!(
            got.flatten_all().unwrap().to_vec1::<f32>().unwrap(),
            t.flatten_all().unwrap().to_vec1::<f32>().unwrap()
        );
    }
}
