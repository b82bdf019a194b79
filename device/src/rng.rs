//! Seeded normal noise identical to PyTorch's CPU generator.
//!
//! `TorchRng::new(seed).randn_f32(n)` returns what
//! `torch.randn(n, generator=torch.Generator("cpu").manual_seed(seed))` returns, so a
//! pipeline seeded here draws the same initial latents as diffusers (whose docs recommend
//! a CPU generator for exactly this reason), whatever device then runs the model.
//!
//! torch's construction, reproduced here (facts from ATen's CPU generator and
//! distribution kernels, checked against fixtures recorded from torch 2.15):
//! - the engine is mt19937 seeded with the low 32 bits of the seed (2**32+5 == 5);
//! - a float uniform takes the low 24 bits of one 32-bit draw times 2^-24; a double
//!   uniform takes the low 53 bits of two draws (first draw high) times 2^-53;
//! - 16 or more elements: fill every element with a float uniform, then Box-Muller each
//!   block of 16 pairing element i with i+8, in f32; when the count is not a multiple of
//!   16, draw 16 fresh uniforms for the last 16 elements and transform them again;
//! - fewer than 16 elements: a double Box-Muller per pair whose second sample is cached in
//!   the generator and returned by the next small draw, even in a later call.

const N: usize = 624;
const M: usize = 397;

/// The 32-bit Mersenne Twister, as std::mt19937 and torch's CPU generator.
#[derive(Clone)]
struct Mt19937 {
    state: [u32; N],
    next: usize,
}

impl Mt19937 {
    fn new(seed: u32) -> Self {
        let mut state = [0u32; N];
        state[0] = seed;
        for i in 1..N {
            let prev = state[i - 1];
            state[i] = 1_812_433_253u32
                .wrapping_mul(prev ^ (prev >> 30))
                .wrapping_add(i as u32);
        }
        Self { state, next: N }
    }

    fn twist(&mut self) {
        const UPPER: u32 = 0x8000_0000;
        const LOWER: u32 = 0x7fff_ffff;
        const MATRIX_A: u32 = 0x9908_b0df;
        for i in 0..N {
            let y = (self.state[i] & UPPER) | (self.state[(i + 1) % N] & LOWER);
            let mut value = self.state[(i + M) % N] ^ (y >> 1);
            if y & 1 != 0 {
                value ^= MATRIX_A;
            }
            self.state[i] = value;
        }
        self.next = 0;
    }

    fn next_u32(&mut self) -> u32 {
        if self.next >= N {
            self.twist();
        }
        let mut y = self.state[self.next];
        self.next += 1;
        y ^= y >> 11;
        y ^= (y << 7) & 0x9d2c_5680;
        y ^= (y << 15) & 0xefc6_0000;
        y ^ (y >> 18)
    }
}

/// torch's CPU generator state: the engine and the cached second normal sample.
#[derive(Clone)]
pub struct TorchRng {
    engine: Mt19937,
    seed: u64,
    cached_normal: Option<f64>,
}

impl std::fmt::Debug for TorchRng {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TorchRng")
            .field("seed", &self.seed)
            .field("cached_normal", &self.cached_normal)
            .finish_non_exhaustive()
    }
}

/// Below this many elements torch takes the scalar (double, cached) path.
const VECTOR_MIN: usize = 16;

impl TorchRng {
    /// Like `torch.Generator("cpu").manual_seed(seed)`.
    pub fn new(seed: u64) -> Self {
        Self {
            // torch keeps the full seed for initial_seed() but seeds the engine with its
            // low 32 bits.
            engine: Mt19937::new(seed as u32),
            seed,
            cached_normal: None,
        }
    }

    /// Re-seeds, dropping any cached normal sample (as torch's manual_seed does).
    pub fn manual_seed(&mut self, seed: u64) -> &mut Self {
        *self = Self::new(seed);
        self
    }

    /// The seed given to `new`/`manual_seed`.
    pub fn initial_seed(&self) -> u64 {
        self.seed
    }

    fn uniform_f32(&mut self) -> f32 {
        (self.engine.next_u32() & 0x00ff_ffff) as f32 * (1.0 / (1u32 << 24) as f32)
    }

    fn uniform_f64(&mut self) -> f64 {
        let hi = u64::from(self.engine.next_u32());
        let lo = u64::from(self.engine.next_u32());
        (((hi << 32) | lo) & ((1u64 << 53) - 1)) as f64 * (1.0 / (1u64 << 53) as f64)
    }

    /// One standard normal sample from torch's scalar path.
    fn normal_f64(&mut self) -> f64 {
        if let Some(cached) = self.cached_normal.take() {
            return cached;
        }
        let u1 = self.uniform_f64();
        let u2 = self.uniform_f64();
        let r = (-2.0 * (-u2).ln_1p()).sqrt();
        let theta = 2.0 * std::f64::consts::PI * u1;
        self.cached_normal = Some(r * theta.sin());
        r * theta.cos()
    }

    /// `torch.randn(numel, generator=g)` for float32, advancing the generator as torch does.
    pub fn randn_f32(&mut self, numel: usize) -> Vec<f32> {
        if numel < VECTOR_MIN {
            return (0..numel).map(|_| self.normal_f64() as f32).collect();
        }
        let mut data: Vec<f32> = (0..numel).map(|_| self.uniform_f32()).collect();
        for block in data.chunks_exact_mut(16) {
            box_muller_16(block);
        }
        if !numel.is_multiple_of(16) {
            let tail = &mut data[numel - 16..];
            for value in tail.iter_mut() {
                *value = self.uniform_f32();
            }
            box_muller_16(tail);
        }
        data
    }

    /// `torch.randint(high, (n,), generator=g)` for `0 < high < 2**32`: ATen draws one
    /// 32-bit value per element, in order, and reduces it modulo `high`.
    pub fn randint_below(&mut self, high: u32, n: usize) -> Vec<u32> {
        let high = high.max(1);
        (0..n).map(|_| self.engine.next_u32() % high).collect()
    }

    /// `torch.randn(shape, generator=g)`: only the element count matters, in row-major
    /// order. An empty shape is a scalar (one element), as in torch.
    pub fn randn_shape(&mut self, shape: &[usize]) -> Vec<f32> {
        self.randn_f32(shape.iter().product())
    }
}

/// Box-Muller on 16 uniforms, element i paired with i+8, in f32 like torch's vectorised
/// kernel (its log/sin/cos may differ from ours by an ULP or two).
fn box_muller_16(block: &mut [f32]) {
    let two_pi = (2.0 * std::f64::consts::PI) as f32;
    for i in 0..8 {
        // 1 - u maps [0, 1) to (0, 1] so the log is finite.
        let u1 = 1.0f32 - block[i];
        let u2 = block[i + 8];
        let radius = (-2.0f32 * u1.ln()).sqrt();
        let theta = two_pi * u2;
        block[i] = radius * theta.cos();
        block[i + 8] = radius * theta.sin();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn engine_matches_the_mt19937_reference_value() {
        // The C++ standard fixes the 10000th output of a default-seeded (5489) mt19937.
        let mut mt = Mt19937::new(5489);
        let mut last = 0;
        for _ in 0..10_000 {
            last = mt.next_u32();
        }
        assert_eq!(last, 4_123_659_995);
    }

    #[test]
    fn empty_requests_draw_nothing() {
        let mut a = TorchRng::new(1);
        assert!(a.randn_f32(0).is_empty());
        let mut b = TorchRng::new(1);
        assert_eq!(a.randn_f32(20), b.randn_f32(20));
    }
}
