//! TorchRng against values recorded from real torch by scripts/fixtures/torch_rng.py.

use device::TorchRng;
use serde_json::Value;

/// torch's vectorised log/sin/cos differ from libm by an ULP or two between CPUs.
const TOLERANCE: f32 = 2e-6;

fn fixture() -> Value {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/torch_randn.json"
    );
    let text = std::fs::read_to_string(path).expect("fixture present");
    serde_json::from_str(&text).expect("fixture is JSON")
}

fn expected(case: &Value) -> Vec<f32> {
    case["bits"]
        .as_array()
        .expect("bits array")
        .iter()
        .map(|b| f32::from_bits(u32::from_str_radix(b.as_str().unwrap(), 16).unwrap()))
        .collect()
}

fn assert_close(got: &[f32], want: &[f32], what: &str) {
    assert_eq!(got.len(), want.len(), "{what}: length");
    for (i, (g, w)) in got.iter().zip(want).enumerate() {
        assert!(
            (g - w).abs() <= TOLERANCE,
            "{what}: element {i}: got {g}, torch gave {w} (diff {})",
            (g - w).abs()
        );
    }
}

#[test]
fn fresh_generators_match_torch_for_every_seed_and_size() {
    let doc = fixture();
    let cases = doc["cases"].as_array().unwrap();
    assert!(cases.len() >= 40, "fixture should cover seeds x sizes");
    for case in cases {
        let seed = case["seed"].as_u64().unwrap();
        let numel = case["numel"].as_u64().unwrap() as usize;
        let got = TorchRng::new(seed).randn_f32(numel);
        assert_close(
            &got,
            &expected(case),
            &format!("seed {seed}, numel {numel}"),
        );
    }
}

#[test]
fn consecutive_calls_continue_the_stream_like_torch() {
    let doc = fixture();
    for stream in doc["streams"].as_array().unwrap() {
        let seed = stream["seed"].as_u64().unwrap();
        let mut rng = TorchRng::new(seed);
        for (call, case) in stream["calls"].as_array().unwrap().iter().enumerate() {
            let numel = case["numel"].as_u64().unwrap() as usize;
            let got = rng.randn_f32(numel);
            assert_close(
                &got,
                &expected(case),
                &format!("seed {seed}, call {call} (numel {numel})"),
            );
        }
    }
}

#[test]
fn shape_only_matters_through_the_element_count() {
    let doc = fixture();
    for case in doc["shapes"].as_array().unwrap() {
        let seed = case["seed"].as_u64().unwrap();
        let shape: Vec<usize> = case["shape"]
            .as_array()
            .unwrap()
            .iter()
            .map(|d| d.as_u64().unwrap() as usize)
            .collect();
        let got = TorchRng::new(seed).randn_shape(&shape);
        assert_close(&got, &expected(case), &format!("shape {shape:?}"));
    }
}

#[test]
fn a_64_bit_seed_uses_its_low_32_bits_like_torch() {
    let big = TorchRng::new((1u64 << 32) + 5).randn_f32(17);
    let small = TorchRng::new(5).randn_f32(17);
    assert_eq!(big, small);
    assert_eq!(TorchRng::new((1 << 32) + 5).initial_seed(), (1 << 32) + 5);
}

#[test]
fn manual_seed_drops_the_cached_sample() {
    let mut rng = TorchRng::new(9);
    rng.randn_f32(1); // leaves a cached second sample
    rng.manual_seed(9);
    assert_eq!(rng.randn_f32(3), TorchRng::new(9).randn_f32(3));
}
