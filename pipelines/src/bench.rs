//! What the model benchmarks need besides the models: seeded random weights with torch's
//! default-initialisation scale (so no download and no denormal-heavy zero weights), peak
//! memory, and the median of timings.

use candle_core::{DType, Device, Shape, Tensor};
use candle_nn::VarBuilder;
use candle_nn::var_builder::SimpleBackend;
use rayon::prelude::*;

/// A VarBuilder backend that invents every parameter it is asked for: norm weights 1 and
/// biases 0 (torch's defaults); other tensors uniform in +-1/sqrt(fan_in) (torch's default
/// Linear/Conv bound), from a generator seeded by `seed` and the parameter's name, so the
/// same seed gives the same model in any construction order.
#[derive(Debug, Clone, Copy)]
pub struct RandomWeights {
    pub seed: u64,
}

impl RandomWeights {
    pub fn var_builder(self, dtype: DType, device: &Device) -> VarBuilder<'static> {
        VarBuilder::from_backend(Box::new(self), dtype, device.clone())
    }

    fn values(&self, name: &str, dims: &[usize]) -> Vec<f32> {
        let count: usize = dims.iter().product();
        let is_norm = name.contains("norm");
        if is_norm && dims.len() == 1 {
            let value = if name.ends_with("weight") { 1.0 } else { 0.0 };
            return vec![value; count];
        }
        let fan_in: usize = if dims.len() > 1 {
            dims[1..].iter().product()
        } else {
            dims.first().copied().unwrap_or(1)
        };
        let bound = 1.0 / (fan_in.max(1) as f32).sqrt();
        let base = self.seed ^ fnv1a(name);
        const CHUNK: usize = 1 << 16;
        let mut out = vec![0f32; count];
        out.par_chunks_mut(CHUNK)
            .enumerate()
            .for_each(|(i, chunk)| {
                let mut state = base.wrapping_add((i as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15));
                for v in chunk {
                    let bits = splitmix64(&mut state) >> 40;
                    let unit = bits as f32 / (1u64 << 24) as f32;
                    *v = (2.0 * unit - 1.0) * bound;
                }
            });
        out
    }
}

fn fnv1a(text: &str) -> u64 {
    text.bytes().fold(0xcbf2_9ce4_8422_2325, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    })
}

fn splitmix64(state: &mut u64) -> u64 {
    *state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
    let mut z = *state;
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

impl SimpleBackend for RandomWeights {
    fn get(
        &self,
        shape: Shape,
        name: &str,
        _: candle_nn::Init,
        dtype: DType,
        dev: &Device,
    ) -> candle_core::Result<Tensor> {
        let data = self.values(name, shape.dims());
        Tensor::from_vec(data, shape, dev)?.to_dtype(dtype)
    }

    fn get_unchecked(&self, name: &str, _: DType, _: &Device) -> candle_core::Result<Tensor> {
        candle_core::bail!("random weights need a shape for {name}")
    }

    fn contains_tensor(&self, _: &str) -> bool {
        true
    }
}

/// Peak resident memory of this process so far (Linux `VmHWM`), if the platform reports it.
pub fn peak_rss_bytes() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    parse_vm_hwm(&status)
}

fn parse_vm_hwm(status: &str) -> Option<u64> {
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let mut parts = line.split_whitespace().skip(1);
    let value: u64 = parts.next()?.parse().ok()?;
    match parts.next() {
        Some("kB") => Some(value * 1024),
        _ => None,
    }
}

/// Median of the samples (mean of the middle two for an even count); None when empty.
pub fn median(samples: &[f64]) -> Option<f64> {
    let mut s: Vec<f64> = samples.iter().copied().filter(|v| v.is_finite()).collect();
    if s.is_empty() {
        return None;
    }
    s.sort_by(f64::total_cmp);
    let mid = s.len() / 2;
    Some(if s.len() % 2 == 1 {
        s[mid]
    } else {
        (s[mid - 1] + s[mid]) / 2.0
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn random_weights_are_seeded_and_torch_scaled() {
        let a = RandomWeights { seed: 7 }.values("x.weight", &[64, 32, 3, 3]);
        let b = RandomWeights { seed: 7 }.values("x.weight", &[64, 32, 3, 3]);
        let c = RandomWeights { seed: 8 }.values("x.weight", &[64, 32, 3, 3]);
        assert_eq!(a, b);
        assert_ne!(a, c);
        let bound = 1.0 / (32.0f32 * 9.0).sqrt();
        assert!(a.iter().all(|v| v.abs() <= bound));
        let mean_abs = a.iter().map(|v| v.abs()).sum::<f32>() / a.len() as f32;
        assert!((mean_abs - bound / 2.0).abs() < 0.05 * bound, "{mean_abs}");
        let norm = RandomWeights { seed: 7 }.values("norm1.weight", &[4]);
        assert_eq!(norm, [1.0; 4]);
        assert_eq!(
            RandomWeights { seed: 7 }.values("norm1.bias", &[2]),
            [0.0; 2]
        );
    }

    #[test]
    fn vm_hwm_is_read_in_bytes() {
        let status = "Name:\tx\nVmHWM:\t  2048 kB\nVmRSS:\t 1 kB\n";
        assert_eq!(parse_vm_hwm(status), Some(2 * 1024 * 1024));
        assert_eq!(parse_vm_hwm("Name: x\n"), None);
    }

    #[test]
    fn median_of_odd_even_and_empty() {
        assert_eq!(median(&[3.0, 1.0, 2.0]), Some(2.0));
        assert_eq!(median(&[4.0, 1.0, 2.0, 3.0]), Some(2.5));
        assert_eq!(median(&[]), None);
    }
}
