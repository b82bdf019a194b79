//! The memory estimate (`pipelines::hidream::memory`) on a tiny model folder whose byte
//! counts this test computes on its own: hand-made encoder weights with known shapes, and
//! the generate fixture's transformer and VAE, whose safetensors headers are parsed here
//! independently of the code under test.

use candle_core::{DType, Device, Tensor};
use device::MemoryInfo;
use pipelines::hidream::memory::{Request, estimate};
use std::collections::HashMap;
use std::path::{Path, PathBuf};

fn fixture(component: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/hidream/generate")
        .join(component)
}

/// Per tensor name: (element count, stored bytes, is float), from the raw header.
fn header(path: &Path) -> HashMap<String, (u64, u64, bool)> {
    let bytes = std::fs::read(path).expect("read safetensors");
    let n = u64::from_le_bytes(bytes[..8].try_into().expect("8 bytes")) as usize;
    let json: serde_json::Value = serde_json::from_slice(&bytes[8..8 + n]).expect("header json");
    json.as_object()
        .expect("object")
        .iter()
        .filter(|(k, _)| *k != "__metadata__")
        .map(|(k, v)| {
            let numel = v["shape"]
                .as_array()
                .expect("shape")
                .iter()
                .map(|d| d.as_u64().expect("dim"))
                .product();
            let offsets = v["data_offsets"].as_array().expect("offsets");
            let stored = offsets[1].as_u64().expect("end") - offsets[0].as_u64().expect("start");
            let float = matches!(v["dtype"].as_str(), Some("F16" | "BF16" | "F32" | "F64"));
            (k.clone(), (numel, stored, float))
        })
        .collect()
}

fn loaded(entries: &HashMap<String, (u64, u64, bool)>, prefix: &str, bytes: u64) -> u64 {
    entries
        .iter()
        .filter(|(k, _)| k.starts_with(prefix))
        .map(|(_, &(numel, stored, float))| if float { numel * bytes } else { stored })
        .sum()
}

fn write_component(dir: &Path, config: &str, tensors: Vec<(&str, Tensor)>) {
    std::fs::create_dir_all(dir).expect("mkdir");
    std::fs::write(dir.join("config.json"), config).expect("config");
    let map: HashMap<String, Tensor> = tensors
        .into_iter()
        .map(|(k, v)| (k.to_string(), v))
        .collect();
    candle_core::safetensors::save(&map, dir.join("model.safetensors")).expect("save");
}

/// transformer + vae from the fixture, CLIP-L and T5 hand-made, CLIP-G absent.
fn model_folder() -> tempfile::TempDir {
    let root = tempfile::tempdir().expect("tempdir");
    for component in ["transformer", "vae"] {
        crate::common::copy_dir(&fixture(component), &root.path().join(component));
    }
    let cpu = Device::Cpu;
    write_component(
        &root.path().join("text_encoder"),
        r#"{"hidden_size": 8, "num_hidden_layers": 2}"#,
        vec![
            (
                "a.weight",
                Tensor::zeros((3, 5), DType::F16, &cpu).expect("t"),
            ),
            ("b", Tensor::zeros(7, DType::F32, &cpu).expect("t")),
            ("ids", Tensor::new(&[1i64, 2, 3, 4], &cpu).expect("t")),
        ],
    );
    write_component(
        &root.path().join("text_encoder_3"),
        r#"{"d_model": 8, "num_layers": 1}"#,
        vec![("w", Tensor::zeros((2, 2), DType::F32, &cpu).expect("t"))],
    );
    root
}

fn request(dir: &Path, dtype: device::DType, offload: bool, on_cpu: bool) -> Request<'_> {
    Request {
        model_dir: dir,
        llama_dir: None,
        dtype,
        encoder_dtype: dtype,
        width: 24,
        height: 24,
        batch: 1,
        cfg: true,
        offload,
        on_cpu,
        scores_materialised: false,
    }
}

#[test]
fn parameter_bytes_match_the_headers() {
    let root = model_folder();
    let transformer = header(&fixture("transformer/diffusion_pytorch_model.safetensors"));
    let vae = header(&fixture("vae/diffusion_pytorch_model.safetensors"));
    for (dtype, bytes) in [(device::DType::F32, 4), (device::DType::BF16, 2)] {
        let est = estimate(&request(root.path(), dtype, false, false)).expect("estimate");
        let by_name: HashMap<&str, u64> = est
            .components
            .iter()
            .map(|c| (c.name.as_str(), c.bytes))
            .collect();
        // CLIP-L: 15 f16 + 7 f32 elements at the chosen width, 4 int64 ids as stored (32 B).
        assert_eq!(by_name["text_encoder"], 22 * bytes + 32, "{dtype:?}");
        assert_eq!(by_name["text_encoder_3"], 4 * bytes, "{dtype:?}");
        assert_eq!(by_name["transformer"], loaded(&transformer, "", bytes));
        assert_eq!(by_name["vae"], loaded(&vae, "", bytes));
        assert_eq!(est.missing, vec!["text_encoder_2".to_string()]);
        let t = est
            .components
            .iter()
            .find(|c| c.name == "transformer")
            .expect("transformer");
        assert_eq!(
            t.block_bytes,
            vec![
                loaded(&transformer, "double_stream_blocks.0.", bytes),
                loaded(&transformer, "single_stream_blocks.0.", bytes)
            ]
        );
        // Each stage's weights are its component's; the peak is the largest stage.
        let stage = |name: &str| {
            est.stages
                .iter()
                .find(|s| s.name == name)
                .unwrap_or_else(|| panic!("stage {name}"))
                .clone()
        };
        assert_eq!(
            stage("denoise: transformer").weights,
            by_name["transformer"]
        );
        assert_eq!(stage("decode: vae").weights, by_name["vae"]);
        let max = est.stages.iter().map(|s| s.total()).max().expect("stages");
        assert_eq!(est.peak_bytes(), max);
    }
}

#[test]
fn offload_keeps_one_block_on_the_device_and_is_a_no_op_on_cpu() {
    let root = model_folder();
    let transformer = header(&fixture("transformer/diffusion_pytorch_model.safetensors"));
    let total = loaded(&transformer, "", 4);
    let double = loaded(&transformer, "double_stream_blocks.", 4);
    let single = loaded(&transformer, "single_stream_blocks.", 4);
    let denoise_weights = |offload, on_cpu| {
        let est = estimate(&request(root.path(), device::DType::F32, offload, on_cpu)).expect("e");
        let weights = est
            .stages
            .iter()
            .find(|s| s.name.starts_with("denoise"))
            .expect("denoise")
            .weights;
        (weights, est)
    };
    let (on_gpu, est) = denoise_weights(true, false);
    assert_eq!(on_gpu, total - double - single + double.max(single));
    assert_eq!(est.host_blocks, double + single);
    let (on_cpu, est) = denoise_weights(true, true);
    assert_eq!(on_cpu, total);
    let report = est.report("cpu", None);
    assert!(report.contains("no effect on the CPU"), "{report}");
    assert!(report.contains("free memory unknown"), "{report}");
}

#[test]
fn report_says_whether_it_fits_and_suggests_offload() {
    let root = model_folder();
    let est = estimate(&request(root.path(), device::DType::F32, false, false)).expect("e");
    let peak = est.peak_bytes();
    let enough = MemoryInfo {
        free: peak,
        total: 2 * peak,
    };
    let short = MemoryInfo {
        free: peak - 1,
        total: 2 * peak,
    };
    assert_eq!(est.fits(Some(enough)), Some(true));
    assert_eq!(est.fits(Some(short)), Some(false));
    assert_eq!(est.fits(None), None);
    let report = est.report("cuda:0", Some(short));
    eprintln!("{report}");
    assert!(report.contains("does NOT fit"), "{report}");
    assert!(report.contains("cuda:0"), "{report}");
    assert!(est.report("cuda:0", Some(enough)).contains("-> fits"));
    // The denoising stage is the peak here and offloading its blocks brings it under the
    // free memory, so the report suggests it.
    assert_eq!(
        est.peak().map(|s| s.name.as_str()),
        Some("denoise: transformer")
    );
    assert!(est.denoise_offloaded <= short.free);
    assert!(report.contains("try --offload"), "{report}");
}

#[test]
fn a_broken_folder_is_an_error_naming_the_file() {
    let root = model_folder();
    std::fs::write(
        root.path()
            .join("transformer/diffusion_pytorch_model.safetensors"),
        b"garbage",
    )
    .expect("write");
    let err = estimate(&request(root.path(), device::DType::F32, false, false))
        .expect_err("broken")
        .to_string();
    assert!(err.contains("diffusion_pytorch_model.safetensors"), "{err}");
    let err = estimate(&request(
        &root.path().join("nope"),
        device::DType::F32,
        false,
        false,
    ))
    .expect_err("absent")
    .to_string();
    assert!(err.contains("config.json"), "{err}");
}
