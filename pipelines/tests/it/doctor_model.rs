//! `doctor --model`: diffusers folder recognition, per-component validation and the
//! memory verdict, on small synthetic folders (`folders`, which the `doctor` binary's own
//! test in the cli crate writes too).

use crate::folders::{SD2_WEIGHTS, hidream_transformer_only, sd2, write};
use device::doctor::{Check, Selected, Status};
use device::{DType, Device, DeviceInfo, DeviceKind, TensorsFile};
use pipelines::doctor::model;
use std::path::Path;

fn device(id: Device, free: u64) -> DeviceInfo {
    DeviceInfo {
        id,
        kind: id.kind(),
        name: "test".into(),
        capability: None,
        memory_total_bytes: Some(free * 2),
        memory_free_bytes: Some(free),
        dtypes: vec![DType::F32, DType::F16],
        best_dtype: DType::F16,
        dtype_source: "test".into(),
        driver_version: None,
        runtime_version: None,
        cores: None,
    }
}

fn run(root: &Path, npu_free: u64) -> Vec<Check> {
    let npu = device(Device::Npu(0), npu_free);
    let host = DeviceInfo {
        kind: DeviceKind::Cpu,
        ..device(Device::Cpu, 1 << 30)
    };
    let selected = Selected {
        device: Device::Npu(0),
        dtype: DType::F32,
    };
    model::checks(root, Some(selected), &[npu, host.clone()], &host)
}

fn find<'a>(checks: &'a [Check], id: &str) -> &'a Check {
    checks
        .iter()
        .find(|c| c.id == id)
        .unwrap_or_else(|| panic!("no {id} in {checks:#?}"))
}

#[test]
fn an_sd2_folder_is_recognised_and_validated() {
    let dir = tempfile::tempdir().unwrap();
    sd2(dir.path());
    let checks = run(dir.path(), 1 << 30);
    // The tiny pipeline is SD 2.x-shaped but 32 wide, not OpenCLIP's 1024.
    let layout = find(&checks, "model.layout");
    assert!(
        layout.detail.contains("StableDiffusionPipeline") && layout.detail.contains("32"),
        "{layout:?}"
    );
    for id in [
        "model.unet",
        "model.vae",
        "model.text_encoder",
        "model.tokenizer",
        "model.scheduler",
    ] {
        assert_eq!(find(&checks, id).status, Status::Pass, "{id}: {checks:#?}");
    }
    assert!(
        checks.iter().all(|c| c.id != "model.safety_checker"),
        "null components are skipped"
    );
    // The plain file is what loads; the fp16 variant beside it is not counted.
    assert!(find(&checks, "model.unet").detail.contains("1 file(s)"));
}

/// (all, largest component) bytes of `sd2`'s weights as f32, read from the files.
fn sd2_bytes(root: &Path) -> (u64, u64) {
    let sizes: Vec<u64> = SD2_WEIGHTS
        .iter()
        .map(|(component, file)| {
            TensorsFile::open(root.join(component).join(file))
                .unwrap()
                .loaded_bytes(DType::F32)
        })
        .collect();
    (sizes.iter().sum(), sizes.iter().copied().max().unwrap())
}

#[test]
fn memory_verdicts_fits_offload_and_does_not_fit() {
    let dir = tempfile::tempdir().unwrap();
    sd2(dir.path());
    // 20% headroom for activations on top of the weights.
    let (all, largest) = sd2_bytes(dir.path());
    let with_headroom = |b: u64| b + b / 5 + 1;
    let fits = run(dir.path(), with_headroom(all));
    assert_eq!(find(&fits, "model.memory").status, Status::Pass);
    assert!(find(&fits, "model.memory").detail.starts_with("fits"));
    let offload = run(dir.path(), with_headroom(largest));
    let m = find(&offload, "model.memory");
    assert_eq!(m.status, Status::Warn);
    assert!(m.detail.starts_with("needs offload"), "{}", m.detail);
    let too_small = run(dir.path(), largest);
    let m = find(&too_small, "model.memory");
    assert_eq!(m.status, Status::Fail);
    assert!(m.detail.starts_with("does not fit"), "{}", m.detail);
}

#[test]
fn corrupt_or_missing_components_fail_with_the_file_named() {
    let dir = tempfile::tempdir().unwrap();
    sd2(dir.path());
    let vae = dir
        .path()
        .join("vae/diffusion_pytorch_model.fp16.safetensors");
    let mut bytes = std::fs::read(&vae).unwrap();
    bytes.truncate(bytes.len() - 10);
    std::fs::write(&vae, bytes).unwrap();
    std::fs::remove_dir_all(dir.path().join("text_encoder")).unwrap();
    let checks = run(dir.path(), 1 << 20);
    let v = find(&checks, "model.vae");
    assert_eq!(v.status, Status::Fail);
    assert!(
        v.detail
            .contains("diffusion_pytorch_model.fp16.safetensors"),
        "{}",
        v.detail
    );
    assert!(v.fix.as_deref().unwrap().contains("download"));
    assert_eq!(find(&checks, "model.text_encoder").status, Status::Fail);
}

#[test]
fn a_missing_shard_fails() {
    let dir = tempfile::tempdir().unwrap();
    sd2(dir.path());
    write(
        &dir.path()
            .join("unet/diffusion_pytorch_model.safetensors.index.json"),
        r#"{"weight_map":{"a":"diffusion_pytorch_model-00001-of-00002.safetensors"}}"#,
    );
    let checks = run(dir.path(), 1 << 20);
    let u = find(&checks, "model.unet");
    assert_eq!(u.status, Status::Fail);
    assert!(u.detail.contains("00001-of-00002"), "{}", u.detail);
}

#[test]
fn other_layouts() {
    let dir = tempfile::tempdir().unwrap();
    let checks = run(dir.path(), 1 << 20);
    assert_eq!(find(&checks, "model.layout").status, Status::Fail);

    sd2(dir.path());
    let unet = dir.path().join("unet/config.json");
    write(&unet, r#"{"cross_attention_dim":768}"#);
    assert_eq!(
        find(&run(dir.path(), 1 << 20), "model.layout").status,
        Status::Warn
    );
    write(&unet, r#"{"cross_attention_dim":1024}"#);
    let layout = find(&run(dir.path(), 1 << 20), "model.layout").clone();
    assert_eq!(layout.status, Status::Pass);
    assert!(layout.detail.contains("2.x"));

    let hd = tempfile::tempdir().unwrap();
    hidream_transformer_only(hd.path());
    let checks = run(hd.path(), 1 << 30);
    assert!(find(&checks, "model.layout").detail.contains("HiDream-I1"));
    assert_eq!(
        find(&checks, "model.transformer").status,
        Status::Pass,
        "{checks:#?}"
    );
}

/// `model.<id>` fails and its detail contains `needle`.
fn fails_with(root: &Path, id: &str, needle: &str) {
    let checks = run(root, 1 << 30);
    let c = find(&checks, id);
    assert_eq!(c.status, Status::Fail, "{c:#?}");
    assert!(c.detail.contains(needle), "{id}: {}", c.detail);
    assert!(c.fix.is_some());
}

fn fresh_sd2() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    sd2(dir.path());
    dir
}

#[test]
fn a_scheduler_class_sd_does_not_implement_fails() {
    let root = fresh_sd2();
    let config = root.path().join("scheduler/scheduler_config.json");
    let text = std::fs::read_to_string(&config).unwrap();
    write(&config, &text.replace("DDIMScheduler", "LCMScheduler"));
    fails_with(root.path(), "model.scheduler", "LCMScheduler");
}

#[test]
fn an_empty_vocabulary_fails() {
    // Without tokenizer.json, which transformers (and we) would read instead.
    let root = fresh_sd2();
    std::fs::remove_file(root.path().join("tokenizer/tokenizer.json")).unwrap();
    write(&root.path().join("tokenizer/vocab.json"), "{}");
    fails_with(root.path(), "model.tokenizer", "vocab.json");
}

#[test]
fn unreadable_merges_fail() {
    let root = fresh_sd2();
    std::fs::remove_file(root.path().join("tokenizer/tokenizer.json")).unwrap();
    let merges = root.path().join("tokenizer/merges.txt");
    std::fs::write(merges, b"#version: 0.2\n\xff\xfe a\n").unwrap();
    fails_with(root.path(), "model.tokenizer", "merges.txt");
}

#[test]
fn a_weight_stored_with_swapped_dimensions_fails() {
    // The UNet's first convolution with its in/out channels swapped.
    let root = fresh_sd2();
    swap_first_two_dims(
        &root.path().join("unet/diffusion_pytorch_model.safetensors"),
        "conv_in.weight",
    );
    fails_with(root.path(), "model.unet", "conv_in.weight");
}

#[test]
fn a_component_sd_needs_missing_from_the_index_fails() {
    let root = fresh_sd2();
    let index = root.path().join("model_index.json");
    let text = std::fs::read_to_string(&index).unwrap();
    write(&index, &text.replace("\"scheduler\"", "\"no_scheduler\""));
    fails_with(root.path(), "model.scheduler", "does not list scheduler");
}

/// Rewrites a safetensors header so tensor `name` has its first two dimensions swapped
/// (same byte size, so the file stays valid).
fn swap_first_two_dims(path: &Path, name: &str) {
    let bytes = std::fs::read(path).unwrap();
    let len = u64::from_le_bytes(bytes[..8].try_into().unwrap()) as usize;
    let mut header: serde_json::Value = serde_json::from_slice(&bytes[8..8 + len]).unwrap();
    let shape = header[name]["shape"].as_array_mut().unwrap();
    assert_ne!(shape[0], shape[1], "a swap must change the shape");
    shape.swap(0, 1);
    let mut text = serde_json::to_string(&header).unwrap();
    // Keep the header length, so the data offsets stay right.
    while text.len() < len {
        text.push(' ');
    }
    assert_eq!(text.len(), len);
    let mut out = (len as u64).to_le_bytes().to_vec();
    out.extend_from_slice(text.as_bytes());
    out.extend_from_slice(&bytes[8 + len..]);
    std::fs::write(path, out).unwrap();
}

#[test]
fn hidream_transformer_configs_the_model_cannot_run_fail() {
    for (key, value) in [("num_attention_heads", "0"), ("patch_size", "0")] {
        let root = tempfile::tempdir().unwrap();
        hidream_transformer_only(root.path());
        let config = root.path().join("transformer/config.json");
        let mut json: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(&config).unwrap()).unwrap();
        json[key] = serde_json::from_str(value).unwrap();
        write(&config, &json.to_string());
        fails_with(root.path(), "model.transformer", key);
    }
}

#[test]
fn a_fifo_in_the_folder_fails_instead_of_hanging() {
    let root = tempfile::tempdir().unwrap();
    sd2(root.path());
    let config = root.path().join("unet/config.json");
    std::fs::remove_file(&config).unwrap();
    let made = std::process::Command::new("mkfifo")
        .arg(&config)
        .status()
        .unwrap();
    assert!(made.success());
    // A FIFO in place of the index too: nothing may open one.
    let checks = run(root.path(), 1 << 30);
    assert_eq!(find(&checks, "model.unet").status, Status::Fail);
    assert!(
        find(&checks, "model.unet")
            .detail
            .contains("not a regular file"),
        "{checks:#?}"
    );

    let index = root.path().join("model_index.json");
    std::fs::remove_file(&index).unwrap();
    let made = std::process::Command::new("mkfifo")
        .arg(&index)
        .status()
        .unwrap();
    assert!(made.success());
    let checks = run(root.path(), 1 << 30);
    assert_eq!(find(&checks, "model.layout").status, Status::Fail);
}

#[test]
fn a_model_too_large_to_build_shape_only_says_its_shapes_were_not_checked() {
    let root = fresh_sd2();
    let host = DeviceInfo {
        kind: DeviceKind::Cpu,
        ..device(Device::Cpu, 1024)
    };
    let selected = Selected {
        device: Device::Cpu,
        dtype: DType::F32,
    };
    let checks = model::checks(
        root.path(),
        Some(selected),
        std::slice::from_ref(&host),
        &host,
    );
    let unet = find(&checks, "model.unet");
    assert!(
        unet.detail.contains("not checked against the model"),
        "{unet:?}"
    );
    // Configs are still the loader's to judge.
    assert_eq!(find(&checks, "model.scheduler").status, Status::Pass);
}
