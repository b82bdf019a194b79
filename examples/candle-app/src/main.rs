//! Denoises a batch of random latents with a fixed linear map, on the first GPU.

mod model;

use anyhow::Result;
use candle_core::{DType, Device, Tensor};

fn describe(device: &Device) -> &'static str {
    // A log message that mentions "cuda:0" must stay as it is.
    match device {
        Device::Cuda(_) => "GPU (cuda:0)",
        _ => "CPU",
    }
}

fn main() -> Result<()> {
    let device = Device::new_cuda(0)?;
    println!("running on the {}", describe(&device));
    if device.is_cuda() {
        println!("using TF32 matmuls where the GPU has them");
    }

    let weights = model::Denoiser::new(4, model::device_for_rank(0)?)?;
    let latents = Tensor::randn(0f32, 1.0, (2, 4), &device)?.to_dtype(DType::F32)?;
    let denoised = weights.step(&latents.to_device(weights.device())?)?;
    println!("denoised norm: {:.4}", denoised.sqr()?.sum_all()?.sqrt()?.to_scalar::<f32>()?);
    Ok(())
}
