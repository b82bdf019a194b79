//! Kernel sanity on the CPU: the fused kernels this build will run agree with their scalar
//! references on this machine (the run-time-selected AVX2 path included). The NPU's are
//! `npu_kernels`.

use device::TorchRng;
use device::doctor::Check;
use ops_npu::attention::{AttentionOptions, attention_with};
use ops_npu::tensor::{Implementation, TensorView};

/// Largest difference we accept between the optimised and the reference attention, f32.
const TOLERANCE: f32 = 1e-4;

/// Shapes that exercise a partial key block, grouped heads and a head dim off the SIMD width.
const CASES: &[(usize, usize, usize, usize, usize)] = &[(1, 2, 37, 300, 16), (2, 4, 19, 19, 40)];

fn max_attention_difference() -> Result<f32, String> {
    let mut rng = TorchRng::new(0);
    let mut worst = 0.0f32;
    for &(batch, heads, seq_q, seq_kv, dim) in CASES {
        let q = rng.randn_f32(batch * heads * seq_q * dim);
        let k = rng.randn_f32(batch * heads * seq_kv * dim);
        let v = rng.randn_f32(batch * heads * seq_kv * dim);
        let (qs, ks) = ([batch, heads, seq_q, dim], [batch, heads, seq_kv, dim]);
        let view = |data, shape| TensorView::new(data, shape).map_err(|e| e.to_string());
        let (q, k, v) = (view(&q, &qs)?, view(&k, &ks)?, view(&v, &ks)?);
        let opts = AttentionOptions::default();
        let fast =
            attention_with(q, k, v, &opts, Implementation::Optimised).map_err(|e| e.to_string())?;
        let reference =
            attention_with(q, k, v, &opts, Implementation::Reference).map_err(|e| e.to_string())?;
        let diff = fast
            .out
            .view()
            .data()
            .iter()
            .zip(reference.out.view().data())
            .map(|(a, b)| (a - b).abs())
            .fold(0.0f32, f32::max);
        if !diff.is_finite() {
            return Err(format!(
                "non-finite output at shape {batch}x{heads}x{seq_q}x{seq_kv}x{dim}"
            ));
        }
        worst = worst.max(diff);
    }
    Ok(worst)
}

/// `kernels.cpu`.
pub fn cpu_check() -> Check {
    match max_attention_difference() {
        Ok(diff) if diff <= TOLERANCE => Check::pass(
            "kernels.cpu",
            format!("fused attention matches its scalar reference (max |diff| {diff:.1e})"),
        ),
        Ok(diff) => Check::fail(
            "kernels.cpu",
            format!(
                "fused attention differs from its scalar reference by {diff:.1e} (limit {TOLERANCE:.0e})"
            ),
            "report this CPU (the host check's model name) to the ops-npu maintainers; run with --device cpu results only after a fix",
        ),
        Err(e) => Check::fail(
            "kernels.cpu",
            format!("fused attention failed: {e}"),
            "report the message to the ops-npu maintainers",
        ),
    }
}
