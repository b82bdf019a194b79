//! Shared by the integration tests: fixture decoding, comparison with stated tolerances,
//! and a small deterministic generator for random inputs.

use half::{bf16, f16};
use serde_json::Value;

pub fn fixture(name: &str) -> Value {
    let path = format!("{}/tests/fixtures/{name}.json", env!("CARGO_MANIFEST_DIR"));
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    serde_json::from_str(&text).unwrap()
}

pub fn shape(t: &Value) -> Vec<usize> {
    t["shape"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d.as_u64().unwrap() as usize)
        .collect()
}

fn words(t: &Value, digits: usize) -> Vec<u32> {
    let hex = t["hex"].as_str().unwrap();
    (0..hex.len() / digits)
        .map(|i| u32::from_str_radix(&hex[i * digits..(i + 1) * digits], 16).unwrap())
        .collect()
}

pub fn f32s(t: &Value) -> Vec<f32> {
    assert_eq!(t["dtype"], "f32");
    words(t, 8).into_iter().map(f32::from_bits).collect()
}

pub fn f16s(t: &Value) -> Vec<f16> {
    assert_eq!(t["dtype"], "f16");
    words(t, 4)
        .into_iter()
        .map(|w| f16::from_bits(w as u16))
        .collect()
}

pub fn bf16s(t: &Value) -> Vec<bf16> {
    assert_eq!(t["dtype"], "bf16");
    words(t, 4)
        .into_iter()
        .map(|w| bf16::from_bits(w as u16))
        .collect()
}

pub fn bools(t: &Value) -> Vec<bool> {
    t["hex"]
        .as_str()
        .unwrap()
        .bytes()
        .map(|b| b == b'1')
        .collect()
}

/// Tolerance per dtype: |got - want| <= atol + rtol * |want|. f16/bf16 allow about two
/// units in the last place of their mantissa (10 and 7 bits), since our f32 result and
/// torch's are rounded to the half type independently.
#[derive(Debug, Clone, Copy)]
pub struct Tol {
    pub atol: f32,
    pub rtol: f32,
}

pub const F32: Tol = Tol {
    atol: 1e-5,
    rtol: 1e-4,
};
pub const F16: Tol = Tol {
    atol: 2e-3,
    rtol: 2e-3,
};
pub const BF16: Tol = Tol {
    atol: 1.6e-2,
    rtol: 1.6e-2,
};

#[track_caller]
pub fn assert_close(what: &str, got: &[f32], want: &[f32], tol: Tol) {
    assert_eq!(got.len(), want.len(), "{what}: length");
    let mut worst = (0.0f32, 0usize);
    for (i, (g, w)) in got.iter().zip(want).enumerate() {
        assert!(!g.is_nan() || w.is_nan(), "{what}: NaN at {i}");
        let excess = (g - w).abs() - (tol.atol + tol.rtol * w.abs());
        if excess > worst.0 {
            worst = (excess, i);
        }
    }
    let i = worst.1;
    assert!(
        worst.0 <= 0.0,
        "{what}: element {i} is {} but the reference says {} (tolerance {tol:?})",
        got[i],
        want[i]
    );
}

/// A candle tensor's values as f32, in row-major order.
pub fn host(t: &candle_core::Tensor) -> Vec<f32> {
    t.to_dtype(candle_core::DType::F32)
        .unwrap()
        .flatten_all()
        .unwrap()
        .to_vec1()
        .unwrap()
}

pub fn widen<T: ops_npu::Element>(x: &[T]) -> Vec<f32> {
    T::widen(x).into_owned()
}

/// xorshift64* normal-ish values (sum of uniforms); deterministic, no dependencies.
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Self {
        Self(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1)
    }

    pub fn uniform(&mut self) -> f32 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        ((self.0.wrapping_mul(0x2545_F491_4F6C_DD1D) >> 40) as f32) / (1u64 << 24) as f32
    }

    pub fn normal(&mut self) -> f32 {
        (0..4).map(|_| self.uniform()).sum::<f32>() * 1.7320508 - 3.4641016
    }

    pub fn vec(&mut self, n: usize) -> Vec<f32> {
        (0..n).map(|_| self.normal()).collect()
    }
}
