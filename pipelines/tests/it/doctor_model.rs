//! `doctor --model`: diffusers folder recognition, per-component validation and the
//! memory verdict, on small synthetic folders (`folders`, which the `doctor` binary's own
//! test in the cli crate writes too).

use crate::folders::{sd2, tensors_file, write};
use device::doctor::{Check, Selected, Status};
use device::{DType, Device, DeviceInfo, DeviceKind};
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
    let checks = run(dir.path(), 1 << 20);
    assert_eq!(find(&checks, "model.layout").status, Status::Pass);
    assert!(find(&checks, "model.layout").detail.contains("2.x"));
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

#[test]
fn memory_verdicts_fits_offload_and_does_not_fit() {
    let dir = tempfile::tempdir().unwrap();
    sd2(dir.path());
    // 5200 bytes of weights, largest component 4000; 20% headroom for activations.
    let fits = run(dir.path(), 6240);
    assert_eq!(find(&fits, "model.memory").status, Status::Pass);
    assert!(find(&fits, "model.memory").detail.starts_with("fits"));
    let offload = run(dir.path(), 6000);
    let m = find(&offload, "model.memory");
    assert_eq!(m.status, Status::Warn);
    assert!(m.detail.starts_with("needs offload"), "{}", m.detail);
    let too_small = run(dir.path(), 4500);
    let m = find(&too_small, "model.memory");
    assert_eq!(m.status, Status::Fail);
    assert!(m.detail.starts_with("does not fit"), "{}", m.detail);
}

#[test]
fn corrupt_or_missing_components_fail_with_the_file_named() {
    let dir = tempfile::tempdir().unwrap();
    sd2(dir.path());
    let vae = dir.path().join("vae/diffusion_pytorch_model.safetensors");
    let mut bytes = std::fs::read(&vae).unwrap();
    bytes.truncate(bytes.len() - 10);
    std::fs::write(&vae, bytes).unwrap();
    std::fs::remove_dir_all(dir.path().join("text_encoder")).unwrap();
    let checks = run(dir.path(), 1 << 20);
    let v = find(&checks, "model.vae");
    assert_eq!(v.status, Status::Fail);
    assert!(
        v.detail.contains("diffusion_pytorch_model.safetensors"),
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
    write(
        &dir.path().join("unet/config.json"),
        r#"{"cross_attention_dim":768}"#,
    );
    assert_eq!(
        find(&run(dir.path(), 1 << 20), "model.layout").status,
        Status::Warn
    );

    let hd = tempfile::tempdir().unwrap();
    write(
        &hd.path().join("model_index.json"),
        r#"{"_class_name":"HiDreamImagePipeline",
            "transformer":["diffusers","HiDreamImageTransformer2DModel"]}"#,
    );
    write(&hd.path().join("transformer/config.json"), "{}");
    tensors_file(
        &hd.path()
            .join("transformer/diffusion_pytorch_model.safetensors"),
        10,
    );
    let checks = run(hd.path(), 1 << 20);
    assert!(find(&checks, "model.layout").detail.contains("HiDream-I1"));
    assert_eq!(find(&checks, "model.transformer").status, Status::Pass);
}
