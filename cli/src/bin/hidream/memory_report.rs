//! The memory report printed before a run loads any model: what each stage needs (from the
//! safetensors headers) against what the selected device has free.

use crate::args::{EditArgs, GenerateArgs};
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
        dtype: device_dtype(plan.dtype),
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

/// The edit's report, once the source is sized: three guidance conditions over latents twice
/// as wide (the source sits beside the edit), and a note when the refine stage swaps in its
/// own transformer (never beside the editor).
pub fn print_edit(args: &EditArgs, plan: &Plan, width: usize, height: usize, refiner: bool) {
    let request = Request {
        model_dir: &args.models.model,
        llama_dir: Some(&args.models.llama),
        dtype: device_dtype(plan.dtype),
        encoder_dtype: device_dtype(plan.dtype),
        width: 2 * width,
        height,
        batch: 3,
        cfg: false,
        offload: false,
        on_cpu: plan.device == Device::Cpu,
        scores_materialised: false,
    };
    // The decode stage sees one image at the edit's own width.
    let decode = Request {
        width,
        batch: 1,
        ..request
    };
    match estimate(&request).and_then(|est| Ok((est, estimate(&decode)?))) {
        Ok((mut est, decode)) => {
            let is_decode = |s: &pipelines::hidream::memory::Stage| s.name.starts_with("decode");
            est.stages.retain(|s| !is_decode(s));
            est.stages
                .extend(decode.stages.into_iter().filter(|s| is_decode(s)));
            let memory = DeviceManager::new().memory(plan.device);
            eprint!("{}", est.report(&plan.device.to_string(), memory));
            let transformer = est
                .components
                .iter()
                .find(|c| c.name == "transformer")
                .map_or(0, |c| c.bytes);
            if refiner && transformer > 0 {
                eprintln!(
                    "  the refine stage's transformer ({:.1} GiB) replaces the editor when \
                     refining starts: one transformer in memory at a time",
                    transformer as f64 / (1u64 << 30) as f64
                );
            }
            eprintln!(
                "  (edit: the transformer runs 3 guidance conditions over {}x{height}, the source \
                 beside the edit; the VAE decodes one {width}x{height} image)",
                2 * width
            );
        }
        Err(e) => eprintln!("memory estimate unavailable: {e}"),
    }
}
