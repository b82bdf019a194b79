//! Safetensors reading: valid files load; every kind of corruption is a clean error that
//! names the file. Files are written byte by byte here, independently of the reader.

use device::weights::{TensorsFile, WeightsError};
use safetensors::Dtype;
use std::path::PathBuf;

fn file_bytes(header: &str, data: &[u8]) -> Vec<u8> {
    let mut bytes = (header.len() as u64).to_le_bytes().to_vec();
    bytes.extend_from_slice(header.as_bytes());
    bytes.extend_from_slice(data);
    bytes
}

fn write(dir: &tempfile::TempDir, name: &str, bytes: &[u8]) -> PathBuf {
    let path = dir.path().join(name);
    std::fs::write(&path, bytes).unwrap();
    path
}

fn valid() -> Vec<u8> {
    let header = r#"{"__metadata__":{"format":"pt"},"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"F16","shape":[2],"data_offsets":[8,12]},"c":{"dtype":"BF16","shape":[1],"data_offsets":[12,14]}}"#;
    let mut data = Vec::new();
    data.extend_from_slice(&1.5f32.to_le_bytes());
    data.extend_from_slice(&(-2.0f32).to_le_bytes());
    data.extend_from_slice(&0x3c00u16.to_le_bytes()); // 1.0 in binary16
    data.extend_from_slice(&0xc400u16.to_le_bytes()); // -4.0 in binary16
    data.extend_from_slice(&0x4040u16.to_le_bytes()); // 3.0 in bfloat16
    file_bytes(header, &data)
}

#[test]
fn reads_a_valid_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = write(&dir, "ok.safetensors", &valid());
    let file = TensorsFile::open(&path).unwrap();
    assert_eq!(file.names(), ["a", "b", "c"]);
    assert_eq!(file.data_bytes(), 14);
    assert_eq!(file.tensor_f32("a").unwrap(), [1.5, -2.0]);
    assert_eq!(file.tensor_f32("b").unwrap(), [1.0, -4.0]);
    assert_eq!(file.tensor_f32("c").unwrap(), [3.0]);
    assert_eq!(file.dtype_counts()["F16"], 1);
    // 5 floating-point elements: 20 bytes as f32, 10 as bf16.
    assert_eq!(file.loaded_bytes(device::DType::F32), 20);
    assert_eq!(file.loaded_bytes(device::DType::BF16), 10);
    assert_eq!(file.user_metadata().unwrap()["format"], "pt");
    assert!(file.expect("a", &[Dtype::F32], Some(&[2])).is_ok());
}

fn invalid_detail(bytes: &[u8]) -> String {
    let dir = tempfile::tempdir().unwrap();
    let path = write(&dir, "bad.safetensors", bytes);
    match TensorsFile::open(&path) {
        Err(e @ WeightsError::Invalid { .. }) => {
            let text = e.to_string();
            assert!(text.contains("bad.safetensors"), "{text}");
            text
        }
        other => panic!("expected an invalid-file error, got {other:?}"),
    }
}

#[test]
fn header_length_beyond_the_file_is_an_error() {
    let mut bytes = valid();
    bytes[..8].copy_from_slice(&10_000u64.to_le_bytes());
    assert!(invalid_detail(&bytes).contains("beyond the end"));
    assert!(invalid_detail(&[1, 2, 3]).contains("shorter"));
}

#[test]
fn bad_json_is_an_error() {
    let text = invalid_detail(&file_bytes("{not json", &[]));
    assert!(text.contains("JSON"), "{text}");
}

#[test]
fn out_of_range_offsets_are_an_error() {
    let header = r#"{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}"#;
    // Only 4 data bytes for an 8-byte tensor.
    let text = invalid_detail(&file_bytes(header, &[0; 4]));
    assert!(text.contains("truncated"), "{text}");
    let header = r#"{"a":{"dtype":"F32","shape":[2],"data_offsets":[4,12]}}"#;
    let text = invalid_detail(&file_bytes(header, &[0; 12]));
    assert!(text.contains("`a`"), "{text}");
    let header = r#"{"a":{"dtype":"F32","shape":[3],"data_offsets":[0,8]}}"#;
    assert!(invalid_detail(&file_bytes(header, &[0; 8])).contains("shape and dtype"));
}

#[test]
fn unknown_dtypes_are_an_error() {
    let header = r#"{"a":{"dtype":"Q4","shape":[2],"data_offsets":[0,8]}}"#;
    let text = invalid_detail(&file_bytes(header, &[0; 8]));
    assert!(text.contains("Q4"), "{text}");
}

#[test]
fn wrong_dtype_shape_and_missing_tensors_name_the_tensor() {
    let dir = tempfile::tempdir().unwrap();
    let path = write(&dir, "ok.safetensors", &valid());
    let file = TensorsFile::open(&path).unwrap();
    let err = file.expect("b", &[Dtype::F32], None).unwrap_err();
    assert!(matches!(err, WeightsError::WrongDType { .. }));
    assert!(err.to_string().contains("`b`"));
    let err = file.expect("a", &[Dtype::F32], Some(&[1, 2])).unwrap_err();
    assert!(matches!(err, WeightsError::WrongShape { .. }));
    assert!(matches!(
        file.tensor("zz"),
        Err(WeightsError::NotFound { .. })
    ));
    let missing = TensorsFile::open(dir.path().join("nope.safetensors")).unwrap_err();
    assert!(matches!(missing, WeightsError::Io { .. }));
}

#[test]
fn a_fifo_is_refused_without_being_opened() {
    // Opening a FIFO for reading blocks until a writer comes; none ever does here.
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("model.safetensors");
    let made = std::process::Command::new("mkfifo")
        .arg(&path)
        .status()
        .unwrap();
    assert!(made.success());
    let error = device::TensorsFile::open(&path).unwrap_err().to_string();
    assert!(error.contains("not a regular file"), "{error}");
    assert!(error.contains("model.safetensors"), "{error}");
}
