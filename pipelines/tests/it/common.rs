//! Fixture access and comparisons shared by the modules of this test binary, and by the cli
//! crate's tests of the programs through `#[path]`, which use a subset, hence the dead-code
//! allowance.
#![allow(dead_code)]

use candle_core::{DType, Device, Tensor};
use serde_json::Value;
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::Output;
use std::sync::OnceLock;

/// Root of the SD 2.x fixtures written by scripts/fixtures/sd_reference.py.
/// Reached through the workspace root, so the path holds in whichever crate compiles this.
pub fn fixtures() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../pipelines/tests/fixtures/sd2")
}

pub type Reference = (HashMap<String, Tensor>, Value);

/// A fixture folder's reference.safetensors and reference.json.
pub fn load_reference(dir: &Path) -> Reference {
    let tensors = candle_core::safetensors::load(dir.join("reference.safetensors"), &Device::Cpu)
        .unwrap_or_else(|e| panic!("{}/reference.safetensors: {e}", dir.display()));
    let json = std::fs::read_to_string(dir.join("reference.json"))
        .unwrap_or_else(|e| panic!("{}/reference.json: {e}", dir.display()));
    let value = serde_json::from_str(&json)
        .unwrap_or_else(|e| panic!("{}/reference.json: {e}", dir.display()));
    (tensors, value)
}

/// The main SD 2.x reference, loaded once per test binary.
pub fn reference() -> &'static Reference {
    static REF: OnceLock<Reference> = OnceLock::new();
    REF.get_or_init(|| load_reference(&fixtures()))
}

/// A tensor of a loaded reference, named in the panic when it is missing.
pub fn reference_tensor(reference: &Reference, name: &str) -> Tensor {
    reference
        .0
        .get(name)
        .unwrap_or_else(|| panic!("fixture tensor {name}"))
        .clone()
}

/// A run a fixture script recorded (`guidance_scale`, `seed`, `width`, `height`) as one
/// image of `prompt`.
pub fn recorded_generation(
    run: &Value,
    prompt: &str,
    negative_prompt: Option<&str>,
) -> pipelines::sd::pipeline::Generation {
    let number = |key: &str| run[key].as_u64().unwrap_or_else(|| panic!("run.{key}"));
    pipelines::sd::pipeline::Generation {
        prompt: prompt.to_string(),
        negative_prompt: negative_prompt.map(str::to_string),
        guidance: run["guidance_scale"].as_f64().expect("run.guidance_scale"),
        seed: number("seed"),
        width: number("width") as usize,
        height: number("height") as usize,
        batch: 1,
        latents: None,
    }
}

/// txt2img latents with the model folder's own scheduler for `run.num_inference_steps`.
pub fn txt2img_with_folder_scheduler(
    sd: &pipelines::sd::pipeline::StableDiffusion,
    g: &pipelines::sd::pipeline::Generation,
    run: &Value,
) -> Tensor {
    let steps = run["num_inference_steps"].as_u64().expect("steps") as usize;
    let class = sd.scheduler_config.class_name().expect("class").to_string();
    let mut scheduler =
        pipelines::schedulers::build(&class, &sd.scheduler_config, steps).expect("scheduler");
    sd.txt2img(g, scheduler.as_mut(), &mut |_, _| {})
        .expect("txt2img")
        .0
}

pub fn tensor(name: &str) -> Tensor {
    reference()
        .0
        .get(name)
        .unwrap_or_else(|| panic!("fixture tensor {name}"))
        .clone()
}

pub fn json() -> &'static Value {
    &reference().1
}

/// Largest magnitude of a tensor of any float dtype.
pub fn max_abs(t: &Tensor) -> f32 {
    t.to_dtype(DType::F32)
        .and_then(|t| t.abs())
        .and_then(|d| d.flatten_all())
        .and_then(|d| d.max(0))
        .and_then(|d| d.to_scalar::<f32>())
        .expect("max")
}

/// The relative rounding step of a reduced float dtype: 2^-11 for f16, 2^-8 for bf16 (0 for
/// f32, whose bounds are set per test).
pub fn rounding_unit(dtype: DType) -> f32 {
    match dtype {
        DType::F16 => 2f32.powi(-11),
        DType::BF16 => 2f32.powi(-8),
        _ => 0.0,
    }
}

/// `k` units of `dtype`'s rounding times the largest magnitude of `reference`: the bound for
/// a reduced-precision run compared with an f32 reference.
pub fn rounding_bound(dtype: DType, reference: &Tensor, k: f32) -> f32 {
    k * rounding_unit(dtype) * max_abs(reference)
}

/// A reduced-precision result against its f32 reference: the largest difference within
/// `largest_units` and the mean within `mean_units` of [`rounding_bound`]'s unit. Both are
/// printed in those units (--no-capture) for the measured figures quoted beside the bounds.
pub fn assert_within_rounding(
    what: &str,
    ours: &Tensor,
    reference: &Tensor,
    dtype: DType,
    largest_units: f32,
    mean_units: f32,
) {
    assert_eq!(ours.dims(), reference.dims(), "{what}: shapes differ");
    let unit = rounding_bound(dtype, reference, 1.0);
    let largest = max_abs_diff(ours, reference) / unit;
    let mean = mean_abs_diff(ours, reference) / unit;
    eprintln!("{what}: largest difference {largest:.2} units, mean {mean:.3} units");
    assert!(
        largest <= largest_units,
        "{what}: largest difference {largest:.2} units of {dtype:?} rounding exceeds {largest_units}"
    );
    assert!(
        mean <= mean_units,
        "{what}: mean difference {mean:.3} units of {dtype:?} rounding exceeds {mean_units}"
    );
}

pub fn max_abs_diff(a: &Tensor, b: &Tensor) -> f32 {
    assert_eq!(a.dims(), b.dims(), "shapes differ");
    let a = a.to_dtype(DType::F32).expect("f32");
    let b = b.to_dtype(DType::F32).expect("f32");
    max_abs(&(a - b).expect("difference"))
}

/// Mean absolute difference, for errors that a few outliers dominate at their maximum.
pub fn mean_abs_diff(a: &Tensor, b: &Tensor) -> f32 {
    assert_eq!(a.dims(), b.dims(), "shapes differ");
    let a = a.to_dtype(DType::F32).expect("f32");
    let b = b.to_dtype(DType::F32).expect("f32");
    (a - b)
        .and_then(|d| d.abs())
        .and_then(|d| d.mean_all())
        .and_then(|d| d.to_scalar::<f32>())
        .expect("mean")
}

pub fn assert_close(what: &str, ours: &Tensor, theirs: &Tensor, tol: f32) {
    assert_eq!(ours.dims(), theirs.dims(), "{what}: shapes differ");
    let diff = max_abs_diff(ours, theirs);
    // Shown with --no-capture: the measured margins quoted in the README.
    eprintln!("{what}: max abs difference {diff:e} (bound {tol:e})");
    assert!(
        diff <= tol,
        "{what}: max abs difference {diff:e} exceeds {tol:e}"
    );
}

pub fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).expect("mkdir");
    for entry in std::fs::read_dir(from).expect("read_dir") {
        let entry = entry.expect("entry");
        std::fs::copy(entry.path(), to.join(entry.file_name())).expect("copy");
    }
}

pub fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// The RGB bytes of a PNG written by `sd`.
pub fn png_rgb(path: &Path) -> Vec<u8> {
    let decoder = png::Decoder::new(std::io::BufReader::new(
        std::fs::File::open(path).unwrap_or_else(|e| panic!("{}: {e}", path.display())),
    ));
    let mut reader = decoder.read_info().expect("png header");
    let mut buf = vec![0; reader.output_buffer_size().expect("size")];
    let info = reader.next_frame(&mut buf).expect("frame");
    buf.truncate(info.buffer_size());
    buf
}

/// diffusers' uint8 image `index` of a recorded image tensor: numpy_to_pil's
/// round(x * 255) of the NHWC float image.
pub fn reference_image_u8(name: &str, index: usize) -> Vec<u8> {
    tensor(name)
        .get(index)
        .and_then(|t| t.flatten_all())
        .and_then(|t| t.to_vec1::<f32>())
        .expect("image")
        .iter()
        .map(|v| (v * 255.0).round() as u8)
        .collect()
}

/// A fixture (host candle tensor) as a model input on the CPU.
pub fn m(t: &Tensor) -> pipelines::model_tensor::Tensor {
    t.clone().into()
}

/// A model output as a host candle tensor.
pub fn h(t: &pipelines::model_tensor::Tensor) -> Tensor {
    t.to_host().expect("model output to the host")
}
