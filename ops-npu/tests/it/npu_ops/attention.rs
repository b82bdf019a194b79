//! f32 attention: the fused kernels take f16/bf16 only, so f32 runs as the on-device
//! matmul-softmax composite; checked against attention written out in candle.

use super::support::*;
use crate::common::{Rng, host};
use candle_core::{D, DType, Device, Tensor};
use ops_npu::attention::Layout;
use ops_npu::npu::ops::{self, NpuAttentionOptions};
use ops_npu::npu::{AttentionRoute, NpuTensor};

#[test]
fn f32_attention_runs_the_composite_with_bias_mask_and_grouped_heads() {
    let env = open();
    let s = &env.s;
    let mut rng = Rng::new(601);
    let (b, sq, skv, hq, hkv, d) = (2, 5, 7, 4, 2, 8);
    let q = random(&mut rng, &[b, sq, hq, d], DType::F32);
    let k = random(&mut rng, &[b, skv, hkv, d], DType::F32);
    let v = random(&mut rng, &[b, skv, hkv, d], DType::F32);
    let bias = random(&mut rng, &[1, 1, sq, skv], DType::F32);
    let masked: Vec<bool> = (0..b * sq * skv).map(|i| i % 3 == 1).collect();
    let mask_d = NpuTensor::upload_mask(s, &masked, &[b, 1, sq, skv]).unwrap();
    let (bias_d, qd, kd, vd) = (
        to_npu(s, &bias),
        to_npu(s, &q),
        to_npu(s, &k),
        to_npu(s, &v),
    );
    let opts = NpuAttentionOptions {
        layout: Layout::Bsnd,
        scale: Some(0.3),
        bias: Some(&bias_d),
        mask: Some(&mask_d),
        return_lse: false,
    };
    let (out, lse, route) = ops::attention(&env.rt, s, &qd, &kd, &vd, &opts).unwrap();
    assert_eq!(route, AttentionRoute::MatmulSoftmaxF32);
    assert!(lse.is_none());
    assert_eq!(out.shape(), &[b, sq, hq, d]);

    // candle: BNSD, kv heads repeated per group, masked scores at -inf.
    let bnsd = |t: &Tensor| t.transpose(1, 2).unwrap().contiguous().unwrap();
    let repeat = |t: Tensor| {
        let idx: Vec<u32> = (0..hq as u32).map(|h| h / (hq / hkv) as u32).collect();
        t.index_select(&Tensor::new(idx.as_slice(), &Device::Cpu).unwrap(), 1)
            .unwrap()
    };
    let (q4, k4, v4) = (bnsd(&q), repeat(bnsd(&k)), repeat(bnsd(&v)));
    let penalty: Vec<f32> = masked
        .iter()
        .map(|&m| if m { f32::NEG_INFINITY } else { 0.0 })
        .collect();
    let penalty = Tensor::from_vec(penalty, (b, 1, sq, skv), &Device::Cpu).unwrap();
    let scores = (q4.matmul(&k4.t().unwrap()).unwrap() * 0.3)
        .unwrap()
        .broadcast_add(&bias)
        .unwrap()
        .broadcast_add(&penalty)
        .unwrap();
    let m = scores.max_keepdim(D::Minus1).unwrap();
    let e = scores.broadcast_sub(&m).unwrap().exp().unwrap();
    let p = e.broadcast_div(&e.sum_keepdim(D::Minus1).unwrap()).unwrap();
    let want = host(&p.matmul(&v4).unwrap().transpose(1, 2).unwrap());
    assert_units(
        "f32 composite attention",
        DType::F32,
        &from_npu(s, &out),
        &want,
        64.0,
        1.0,
    );

    // The log-sum-exp output exists only on the fused kernels, which take f16/bf16.
    let with_lse = NpuAttentionOptions {
        return_lse: true,
        ..opts
    };
    let err = ops::attention(&env.rt, s, &qd, &kd, &vd, &with_lse)
        .unwrap_err()
        .to_string();
    assert!(err.contains("f16/bf16"), "{err}");
    assert_no_leaked_descriptors(&env);
}

#[test]
fn prompt_flash_attention_is_never_given_a_bias_it_would_drop() {
    let Some(env) = open_variant(
        crate::doubles::FakeAscend::new().without("aclnnFusedInferAttentionScoreV2"),
        "without aclnnFusedInferAttentionScoreV2",
    ) else {
        return;
    };
    let (rt, s) = (&env.rt, &env.s);
    let mut rng = Rng::new(602);
    let shape = [1, 2, 5, 16];
    let t = || to_npu(s, &random(&mut Rng::new(603), &shape, DType::F16));
    let bias = to_npu(s, &random(&mut rng, &[1, 2, 5, 5], DType::F16));
    let (q, k, v) = (t(), t(), t());
    let plain = NpuAttentionOptions {
        layout: Layout::Bnsd,
        ..Default::default()
    };
    let (_, _, route) = ops::attention(rt, s, &q, &k, &v, &plain).unwrap();
    assert_eq!(route, AttentionRoute::PromptFlash);
    let biased = NpuAttentionOptions {
        bias: Some(&bias),
        ..plain
    };
    let err = ops::attention(rt, s, &q, &k, &v, &biased).unwrap_err();
    assert!(
        matches!(err, ops_npu::OpsError::Unsupported(_)) && err.to_string().contains("pseShift"),
        "{err}"
    );
    // The caller's fallback then honours the bias on the CPU.
    let (_, _, path) = ops::attention_or_cpu(rt, s, &q, &k, &v, &biased).unwrap();
    assert!(
        matches!(path, ops::AttentionPath::CpuFallback(_)),
        "{path:?}"
    );
}
