//! The memory report printed before a generate run loads anything: what each stage needs
//! (from the safetensors headers) against what the selected device has free.

use crate::cli::GenerateArgs;
use crate::settings::Plan;
use device::{DType, Device, DeviceManager};
use pipelines::hidream::memory::{Request, estimate};

fn device_dtype(dtype: candle_core::DType) -> DType {
    match dtype {
        candle_core::DType::F16 => DType::F16,
        candle_core::DType::BF16 => DType::BF16,
        _ => DType::F32,
    }
}

/// On stderr; an estimate that cannot be made is reported, never fatal (the run's own
/// loaders give the precise error).
pub fn print(args: &GenerateArgs, plan: &Plan) {
    let Ok((width, height)) = plan.size_rule.output_size(args.width, args.height) else {
        return;
    };
    let request = Request {
        model_dir: &args.models.model,
        llama_dir: Some(&args.models.llama),
        // The transformer and VAE load at f32 whatever --dtype says.
        dtype: DType::F32,
        encoder_dtype: device_dtype(plan.dtype),
        width,
        height,
        batch: 1,
        cfg: plan.guidance > 1.0,
        offload: args.offload,
        on_cpu: plan.device == Device::Cpu,
        scores_materialised: false,
    };
    match estimate(&request) {
        Ok(est) => {
            let memory = DeviceManager::new().memory(plan.device);
            eprint!("{}", est.report(&plan.device.to_string(), memory));
        }
        Err(e) => eprintln!("memory estimate unavailable: {e}"),
    }
}
