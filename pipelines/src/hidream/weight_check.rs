//! Every weight file a run will load, checked before any model work: its safetensors
//! header parsed and every tensor's offsets within the file's length. Loading happens
//! stage by stage, so without this a truncated VAE is found only after the prompts are
//! encoded and every step denoised; with it, a bad download costs a fraction of a second.
//! Only headers are read (the files are memory-mapped), whatever their size.

use super::HiDreamError;
use super::memory::TEXT_ENCODERS;
use device::TensorsFile;
use std::path::{Path, PathBuf};

/// The component folders a generate or edit run loads from `model` (its text encoders,
/// transformer and VAE) and the Llama folder.
pub fn run_components(model: &Path, llama: &Path) -> Vec<PathBuf> {
    let mut dirs: Vec<PathBuf> = TEXT_ENCODERS.iter().map(|n| model.join(n)).collect();
    dirs.push(llama.to_path_buf());
    dirs.push(model.join("transformer"));
    dirs.push(model.join("vae"));
    dirs
}

/// Checks the weight files of every folder in `components` (the files a loader would
/// pick) and each file in `files` (a LoRA). The first bad one is an error naming it.
pub fn check_weight_files(components: &[PathBuf], files: &[&Path]) -> Result<(), HiDreamError> {
    for dir in components {
        let picked = crate::weights::weight_files(dir).map_err(|e| HiDreamError::Config {
            path: dir.clone(),
            message: e.to_string(),
        })?;
        for file in &picked {
            check_file(file)?;
        }
    }
    files.iter().try_for_each(|file| check_file(file))
}

fn check_file(path: &Path) -> Result<(), HiDreamError> {
    TensorsFile::open(path)
        .map(drop)
        .map_err(|e| HiDreamError::Config {
            path: path.to_path_buf(),
            message: e.to_string(),
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_truncated_file_is_named_and_a_whole_one_passes() {
        let dir = tempfile::tempdir().expect("tempdir");
        let component = dir.path().join("vae");
        std::fs::create_dir(&component).expect("mkdir");
        let file = component.join("diffusion_pytorch_model.safetensors");
        let t = candle_core::Tensor::zeros(64, candle_core::DType::F32, &candle_core::Device::Cpu)
            .expect("zeros");
        candle_core::safetensors::save(&std::collections::HashMap::from([("w", t)]), &file)
            .expect("save");
        check_weight_files(std::slice::from_ref(&component), &[&file]).expect("whole");
        let bytes = std::fs::read(&file).expect("read");
        std::fs::write(&file, &bytes[..bytes.len() - 10]).expect("truncate");
        for err in [
            check_weight_files(std::slice::from_ref(&component), &[]),
            check_weight_files(&[], &[&file]),
        ] {
            let text = err.unwrap_err().to_string();
            assert!(
                text.contains("diffusion_pytorch_model.safetensors"),
                "{text}"
            );
        }
        let empty = dir.path().join("transformer");
        std::fs::create_dir(&empty).expect("mkdir");
        let text = check_weight_files(&[empty], &[]).unwrap_err().to_string();
        assert!(text.contains("transformer"), "{text}");
    }
}
