//! Fixture access and comparisons shared by the SD test binaries. Each binary uses a
//! subset, hence the dead-code allowance.
#![allow(dead_code)]

use candle_core::{DType, Device, Tensor};
use serde_json::Value;
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::Output;
use std::sync::OnceLock;

/// Root of the SD 2.x fixtures written by scripts/fixtures/sd_reference.py.
pub fn fixtures() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/sd2")
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

pub fn max_abs_diff(a: &Tensor, b: &Tensor) -> f32 {
    assert_eq!(a.dims(), b.dims(), "shapes differ");
    let a = a.to_dtype(DType::F32).expect("f32");
    let b = b.to_dtype(DType::F32).expect("f32");
    max_abs(&(a - b).expect("difference"))
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
