//! A bounded, seeded sweep of hostile inputs through the loaders a model folder and an
//! image go through: every input is either read or refused with an error; none may
//! panic, abort (an allocation sized from a header or a config) or hang. The seeds are
//! fixed, so a failure reproduces; an input that once broke a loader is kept in
//! `tests/fixtures/hostile/` and replayed by `kept_regressions_are_refused`.

use crate::common::fixtures;
use candle_core::Device;
use pipelines::sd::pipeline::StableDiffusion;
use serde_json::Value;
use std::path::{Path, PathBuf};

/// xorshift64*: small, seeded, good enough to pick mutations.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

fn hostile_dir() -> PathBuf {
    fixtures()
        .parent()
        .expect("fixtures folder")
        .join("hostile")
}

// --- PNG ------------------------------------------------------------------------------

/// CRC-32 (IEEE, reflected), as PNG chunks carry it; written out so the test can forge
/// headers the decoder will believe.
fn crc32(bytes: &[u8]) -> u32 {
    let mut crc = 0xFFFF_FFFFu32;
    for &b in bytes {
        crc ^= u32::from(b);
        for _ in 0..8 {
            crc = if crc & 1 == 1 {
                (crc >> 1) ^ 0xEDB8_8320
            } else {
                crc >> 1
            };
        }
    }
    !crc
}

fn chunk(kind: &[u8; 4], data: &[u8]) -> Vec<u8> {
    let mut out = (data.len() as u32).to_be_bytes().to_vec();
    let mut body = kind.to_vec();
    body.extend_from_slice(data);
    out.extend_from_slice(&body);
    out.extend_from_slice(&crc32(&body).to_be_bytes());
    out
}

/// A PNG that is only a signature, an IHDR claiming `width` x `height` 8-bit RGB, an empty
/// IDAT and IEND: a few dozen bytes.
fn forged_png(width: u32, height: u32) -> Vec<u8> {
    let mut ihdr = width.to_be_bytes().to_vec();
    ihdr.extend_from_slice(&height.to_be_bytes());
    ihdr.extend_from_slice(&[8, 2, 0, 0, 0]);
    let mut png = b"\x89PNG\r\n\x1a\n".to_vec();
    png.extend(chunk(b"IHDR", &ihdr));
    png.extend(chunk(b"IDAT", &[]));
    png.extend(chunk(b"IEND", &[]));
    png
}

fn read_png_bytes(dir: &Path, bytes: &[u8]) -> Result<(), String> {
    let path = dir.join("图像.png");
    std::fs::write(&path, bytes).expect("write");
    pipelines::init_image::read_init_image(&path)
        .map(drop)
        .map_err(|e| e.to_string())
}

#[test]
fn png_headers_claiming_huge_sizes_are_refused_before_allocating() {
    let dir = tempfile::tempdir().expect("tempdir");
    for (w, h) in [
        (100_000, 100_000),
        (16_385, 16),
        (10_000, 10_000),
        (u32::MAX >> 1, 1),
    ] {
        let bytes = forged_png(w, h);
        assert!(bytes.len() < 80, "{} bytes", bytes.len());
        let err = read_png_bytes(dir.path(), &bytes).unwrap_err();
        assert!(err.contains(&format!("{w}x{h}")), "{err}");
    }
}

#[test]
fn an_edit_source_whose_header_claims_a_huge_picture_is_refused_before_allocating() {
    let dir = tempfile::tempdir().expect("tempdir");
    for (w, h) in [
        (100_000, 100_000),
        (40_000, 16),
        (16, 40_000),
        (20_000, 10_000),
    ] {
        let path = dir.path().join("巨大.png");
        std::fs::write(&path, forged_png(w, h)).expect("write");
        let err = pipelines::hidream::edit_image::read_source_image(&path)
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("巨大.png") && err.contains(&format!("{w}x{h}")),
            "{err}"
        );
    }
    // Within the bounds, the same header-only file fails as unreadable, not as too big.
    let path = dir.path().join("small.png");
    std::fs::write(&path, forged_png(64, 64)).expect("write");
    let err = pipelines::hidream::edit_image::read_source_image(&path)
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("not a readable image") && !err.contains("at most"),
        "{err}"
    );
}

#[test]
fn mutated_pngs_are_read_or_refused() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut valid = Vec::new();
    let rgb: Vec<u8> = (0..16 * 16 * 3).map(|i| (i * 7 % 251) as u8).collect();
    pipelines::image::encode_png(
        &mut valid,
        16,
        16,
        &rgb,
        &[("parameters", "参数 parameters")],
    )
    .expect("encode");
    read_png_bytes(dir.path(), &valid).expect("the unmutated image reads");
    let mut rng = Rng(0x5EED_0001);
    let mut refused = 0;
    for case in 0..300 {
        let mut bytes = valid.clone();
        match case % 3 {
            0 => {
                for _ in 0..=rng.below(4) {
                    let i = rng.below(bytes.len());
                    bytes[i] = rng.next() as u8;
                }
            }
            1 => bytes.truncate(rng.below(bytes.len())),
            _ => {
                // A believable header with random dimensions (the CRC recomputed).
                let (w, h) = (
                    rng.next() as u32 >> rng.below(32),
                    rng.next() as u32 >> rng.below(32),
                );
                bytes = forged_png(w, h);
            }
        }
        if read_png_bytes(dir.path(), &bytes).is_err() {
            refused += 1;
        }
    }
    // Most mutations break the file; the point is that none crashed the process.
    assert!(refused > 100, "only {refused} of 300 refused");
}

// --- Model folder configs ------------------------------------------------------------

/// A copy of the tiny SD folder whose files are links to the fixture's, except the
/// config `replaced` (relative path), written with `text`.
fn folder_with(root: &Path, replaced: &str, text: &[u8]) -> PathBuf {
    let source = fixtures().join("tiny-sd2");
    let copy = root.join("model");
    let _ = std::fs::remove_dir_all(&copy);
    for entry in walk(&source) {
        let rel = entry.strip_prefix(&source).expect("inside");
        let target = copy.join(rel);
        std::fs::create_dir_all(target.parent().expect("parent")).expect("mkdir");
        if rel == Path::new(replaced) {
            std::fs::write(&target, text).expect("write");
        } else {
            link_or_copy(&entry, &target);
        }
    }
    copy
}

fn link_or_copy(from: &Path, to: &Path) {
    #[cfg(unix)]
    if std::os::unix::fs::symlink(from, to).is_ok() {
        return;
    }
    std::fs::copy(from, to).expect("copy");
}

fn walk(dir: &Path) -> Vec<PathBuf> {
    let mut files = Vec::new();
    for entry in std::fs::read_dir(dir).expect("read_dir").flatten() {
        let path = entry.path();
        if path.is_dir() {
            files.extend(walk(&path));
        } else {
            files.push(path);
        }
    }
    files.sort();
    files
}

/// Paths (as JSON pointers) of every number in `v`.
fn numbers(v: &Value, at: String, out: &mut Vec<String>) {
    match v {
        Value::Number(_) => out.push(at),
        Value::Array(items) => {
            for (i, item) in items.iter().enumerate() {
                numbers(item, format!("{at}/{i}"), out);
            }
        }
        Value::Object(map) => {
            for (k, item) in map {
                numbers(item, format!("{at}/{k}"), out);
            }
        }
        _ => {}
    }
}

fn load(model: &Path) -> Result<(), String> {
    StableDiffusion::load(model, &Device::Cpu)
        .map(drop)
        .map_err(|e| e.to_string())
}

const CONFIGS: [&str; 4] = [
    "unet/config.json",
    "vae/config.json",
    "text_encoder/config.json",
    "scheduler/scheduler_config.json",
];

#[test]
fn every_number_in_every_config_set_to_a_hostile_value_is_loaded_or_refused() {
    let root = tempfile::tempdir().expect("tempdir");
    let hostile: [Value; 6] = [
        Value::from(0),
        Value::from(-1),
        Value::from(1_000_000_000u64),
        Value::from(u64::MAX),
        Value::from(1e300),
        Value::from(3),
    ];
    let mut rng = Rng(0x5EED_0002);
    let (mut tried, mut refused) = (0, 0);
    for config in CONFIGS {
        let text =
            std::fs::read_to_string(fixtures().join("tiny-sd2").join(config)).expect("config");
        let original: Value = serde_json::from_str(&text).expect("json");
        let mut pointers = Vec::new();
        numbers(&original, String::new(), &mut pointers);
        for pointer in pointers {
            // Zero and a huge count for every number (the values that size allocations),
            // plus one more picked at random: 150 loads of a 4 MB model.
            let picks = [0, 2, 1 + rng.below(hostile.len() - 1)];
            for pick in picks {
                let mut v = original.clone();
                *v.pointer_mut(&pointer).expect("pointer") = hostile[pick].clone();
                let model = folder_with(
                    root.path(),
                    config,
                    serde_json::to_string(&v).expect("json").as_bytes(),
                );
                tried += 1;
                if load(&model).is_err() {
                    refused += 1;
                }
            }
        }
    }
    eprintln!("{tried} hostile configs: {refused} refused, the rest loaded");
    assert!(tried > 100 && refused > 0);
}

#[test]
fn configs_that_are_not_json_objects_are_refused_naming_the_file() {
    let root = tempfile::tempdir().expect("tempdir");
    for config in CONFIGS {
        for text in [
            &b""[..],
            b"[]",
            b"null",
            b"\xff\xfe{}",
            b"{{{{",
            b"{\"a\": 1",
        ] {
            let model = folder_with(root.path(), config, text);
            let err =
                load(&model).expect_err(&format!("{config}: {:?}", String::from_utf8_lossy(text)));
            let dir = Path::new(config).parent().expect("component");
            assert!(err.contains(&dir.display().to_string()), "{config}: {err}");
        }
    }
}

#[cfg(all(target_os = "linux", target_env = "gnu"))]
#[test]
fn a_fifo_in_place_of_a_config_or_weights_is_refused_not_waited_on() {
    let root = tempfile::tempdir().expect("tempdir");
    for replaced in [
        "unet/config.json",
        // The file a folder with both tokenizer layouts is read from.
        "tokenizer/tokenizer.json",
        "vae/diffusion_pytorch_model.fp16.safetensors",
    ] {
        let model = folder_with(root.path(), replaced, b"");
        let target = model.join(replaced);
        std::fs::remove_file(&target).expect("rm");
        let c = std::ffi::CString::new(target.as_os_str().as_encoded_bytes()).expect("cstr");
        assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o644) }, 0);
        let err = load(&model).unwrap_err();
        assert!(err.contains("FIFO"), "{replaced}: {err}");
    }
}

// --- Safetensors headers --------------------------------------------------------------

/// The file split into its JSON header and data.
fn split_safetensors(bytes: &[u8]) -> (Value, &[u8]) {
    let n = u64::from_le_bytes(bytes[..8].try_into().expect("8 bytes")) as usize;
    let header = serde_json::from_slice(&bytes[8..8 + n]).expect("header");
    (header, &bytes[8 + n..])
}

fn join_safetensors(header: &Value, data: &[u8]) -> Vec<u8> {
    let text = serde_json::to_vec(header).expect("json");
    let mut out = (text.len() as u64).to_le_bytes().to_vec();
    out.extend_from_slice(&text);
    out.extend_from_slice(data);
    out
}

#[test]
fn safetensors_headers_that_lie_are_refused() {
    const WEIGHTS: &str = "vae/diffusion_pytorch_model.fp16.safetensors";
    let root = tempfile::tempdir().expect("tempdir");
    let bytes = std::fs::read(fixtures().join("tiny-sd2").join(WEIGHTS)).expect("weights");
    let (header, data) = split_safetensors(&bytes);
    let names: Vec<String> = header
        .as_object()
        .expect("object")
        .keys()
        .filter(|k| *k != "__metadata__")
        .cloned()
        .collect();
    let mut rng = Rng(0x5EED_0003);
    let mut cases: Vec<(String, Vec<u8>)> = vec![
        ("empty file".into(), Vec::new()),
        ("header length u64::MAX".into(), {
            let mut b = bytes.clone();
            b[..8].copy_from_slice(&u64::MAX.to_le_bytes());
            b
        }),
        ("truncated data".into(), bytes[..bytes.len() - 100].to_vec()),
    ];
    for _ in 0..40 {
        let name = &names[rng.below(names.len())];
        let mut h = header.clone();
        let entry = h.get_mut(name).expect("tensor");
        let what = match rng.below(4) {
            0 => {
                entry["dtype"] = Value::from("I32");
                "stored as I32"
            }
            1 => {
                let dims = entry["shape"].as_array_mut().expect("shape");
                if let Some(d) = dims.first_mut() {
                    *d = Value::from(d.as_u64().unwrap_or(1) * 1000);
                }
                "a dimension 1000x larger"
            }
            2 => {
                entry["shape"] = Value::from(vec![u64::MAX, u64::MAX]);
                "an overflowing shape"
            }
            _ => {
                entry["data_offsets"] = Value::from(vec![0u64, u64::MAX]);
                "offsets past the end"
            }
        };
        cases.push((format!("{name} {what}"), join_safetensors(&h, data)));
    }
    for (what, file) in cases {
        let model = folder_with(root.path(), WEIGHTS, &file);
        let err = load(&model).expect_err(&what);
        assert!(err.contains("vae"), "{what}: {err}");
    }
}

#[test]
fn an_integer_weight_is_refused_not_converted() {
    const WEIGHTS: &str = "vae/diffusion_pytorch_model.fp16.safetensors";
    let root = tempfile::tempdir().expect("tempdir");
    let bytes = std::fs::read(fixtures().join("tiny-sd2").join(WEIGHTS)).expect("weights");
    let (mut header, data) = split_safetensors(&bytes);
    // An F16 tensor's bytes read as I16 are the same size: a valid file, the wrong type.
    let name = "decoder.conv_in.bias";
    header[name]["dtype"] = Value::from("I16");
    let model = folder_with(root.path(), WEIGHTS, &join_safetensors(&header, data));
    let err = load(&model).unwrap_err();
    assert!(err.contains(name) && err.contains("I16"), "{err}");
}

// --- Kept regressions -----------------------------------------------------------------

#[test]
fn kept_regressions_are_refused() {
    let dir = hostile_dir();
    let root = tempfile::tempdir().expect("tempdir");
    let mut replayed = 0;
    for file in walk(&dir) {
        let name = file
            .file_name()
            .expect("name")
            .to_string_lossy()
            .into_owned();
        let bytes = std::fs::read(&file).expect("read");
        let outcome = if name.ends_with(".png") {
            read_png_bytes(root.path(), &bytes)
        } else if let Some(config) = CONFIGS
            .iter()
            .find(|c| name.starts_with(&c.replace('/', "--")))
        {
            load(&folder_with(root.path(), config, &bytes))
        } else {
            panic!("{}: no replay rule for this file name", file.display());
        };
        assert!(outcome.is_err(), "{} was accepted", file.display());
        replayed += 1;
    }
    assert!(replayed > 0, "nothing kept in {}", dir.display());
}

// --- Values that stop being numbers -----------------------------------------------------

#[test]
fn nan_weights_stop_the_run_at_the_first_step_instead_of_decoding_a_black_image() {
    const WEIGHTS: &str = "unet/diffusion_pytorch_model.fp16.safetensors";
    let root = tempfile::tempdir().expect("tempdir");
    let bytes = std::fs::read(fixtures().join("tiny-sd2").join(WEIGHTS)).expect("weights");
    let (header, data) = split_safetensors(&bytes);
    let entry = &header["conv_out.bias"];
    assert_eq!(entry["dtype"], "F16");
    let offsets: Vec<usize> = entry["data_offsets"]
        .as_array()
        .expect("offsets")
        .iter()
        .map(|v| v.as_u64().expect("offset") as usize)
        .collect();
    let mut data = data.to_vec();
    for half in data[offsets[0]..offsets[1]].chunks_exact_mut(2) {
        half.copy_from_slice(&0x7E00u16.to_le_bytes()); // f16 NaN
    }
    let model = folder_with(root.path(), WEIGHTS, &join_safetensors(&header, &data));
    let sd = StableDiffusion::load(&model, &Device::Cpu).expect("loads: NaN is a valid f16");
    let generation = pipelines::sd::pipeline::Generation {
        prompt: "一只猫".into(),
        negative_prompt: None,
        guidance: 7.5,
        seed: 0,
        width: 32,
        height: 32,
        batch: 1,
        latents: None,
    };
    let mut scheduler =
        pipelines::schedulers::build("ddim", &sd.scheduler_config, 3).expect("scheduler");
    let err = sd
        .txt2img(&generation, scheduler.as_mut(), &mut |_, _| {})
        .expect_err("NaN latents must not pass");
    assert!(
        matches!(
            err,
            pipelines::error::ModelError::NonFinite { step: 1, steps: 3 }
        ),
        "{err}"
    );
}
