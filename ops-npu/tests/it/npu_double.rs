//! The whole NPU call path against the test-double Ascend libraries (tests/doubles):
//! discovery, symbol resolution, descriptors, workspace sizing and pooling, stream
//! synchronisation, error text and SoC gating. The runtime is opened once per process,
//! so each test needs a process of its own: nextest gives it one; under `cargo test` the
//! test re-runs itself alone in a child process.
//! This is not hardware validation: the double computes with the scalar references.

use crate::common::*;
use crate::doubles::{FakeAscend, counter};
use ops_npu::attention::{AttentionOptions, Layout, attention_with};
use ops_npu::glu::{Gelu, geglu, swiglu};
use ops_npu::norm::{ada_layer_norm, group_norm, layer_norm, rms_norm};
use ops_npu::npu::ops::{self, AttentionPath, GroupNormSiluPath, NpuAttentionOptions};
use ops_npu::npu::{
    AttentionRoute, Bytes, NpuDType, NpuLibraries, NpuRuntime, NpuStream, NpuTensor,
};
use ops_npu::rope::{RopeMode, rope};
use ops_npu::{Implementation, OpsError, TensorView};
use std::path::Path;

const REF: Implementation = Implementation::Reference;

/// Runs `body` here when this process runs one test only (nextest, or the child below);
/// otherwise runs this test alone in a child process.
fn isolated(name: &str, body: fn()) {
    const CHILD: &str = "OPS_NPU_ISOLATED_TEST";
    if std::env::var_os("NEXTEST").is_some() || std::env::var(CHILD).as_deref() == Ok(name) {
        body();
        return;
    }
    // The test binary names its tests by their path below the crate root.
    let path = format!("npu_double::{name}");
    let status = std::process::Command::new(std::env::current_exe().unwrap())
        .args([path.as_str(), "--exact", "--nocapture", "--test-threads=1"])
        .env(CHILD, name)
        .status()
        .unwrap();
    assert!(status.success(), "{name} failed in its own process");
}

fn open(root: &Path) -> NpuRuntime {
    NpuRuntime::open(&NpuLibraries::in_root(root), 0).unwrap()
}

fn up(s: &NpuStream, data: &[f32], shape: &[usize]) -> NpuTensor {
    NpuTensor::upload(s, data, shape).unwrap()
}

/// Values rounded to f16 (what the fused attention kernels take), kept as f32 for the
/// reference.
fn round16(x: Vec<f32>) -> Vec<f32> {
    x.into_iter()
        .map(|v| half::f16::from_f32(v).to_f32())
        .collect()
}

fn up16(s: &NpuStream, data: &[f32], shape: &[usize]) -> NpuTensor {
    let h: Vec<half::f16> = data.iter().map(|&v| half::f16::from_f32(v)).collect();
    NpuTensor::upload(s, &h, shape).unwrap()
}

fn down16(s: &NpuStream, t: &NpuTensor) -> Vec<f32> {
    t.download::<half::f16>(s)
        .unwrap()
        .iter()
        .map(|v| v.to_f32())
        .collect()
}

fn live_descriptors(root: &Path) -> i64 {
    counter(root, "libnnopbase.so", "fake_live_descriptors")
}

#[test]
fn discovery_resolves_every_symbol_and_reads_the_soc() {
    isolated(
        "discovery_resolves_every_symbol_and_reads_the_soc",
        discovery_resolves_every_symbol_and_reads_the_soc_body,
    );
}

fn discovery_resolves_every_symbol_and_reads_the_soc_body() {
    let root = FakeAscend::new().cann("8.0.RC2").install();
    let rt = open(&root);
    assert_eq!(rt.soc(), "Ascend910B3");
    assert_eq!(rt.traits().family, device::npu::soc::SocFamily::Ascend910B);
    assert_eq!(rt.cann_version(), Some("8.0.RC2"));
    assert_eq!(
        rt.loaded_libraries().len(),
        3,
        "{:?}",
        rt.loaded_libraries()
    );
    assert_eq!(rt.missing_symbols(), Vec::<String>::new());
    assert!(ops_npu::npu::is_open());
    // A second open is the same runtime, whatever it is pointed at.
    assert!(NpuRuntime::open(&NpuLibraries::in_root(Path::new("/nonexistent")), 0).is_ok());
}

#[test]
fn row_ops_match_the_reference_with_pooled_workspaces_and_no_leaked_descriptors() {
    isolated(
        "row_ops_match_the_reference_with_pooled_workspaces_and_no_leaked_descriptors",
        row_ops_match_the_reference_with_pooled_workspaces_and_no_leaked_descriptors_body,
    );
}

fn row_ops_match_the_reference_with_pooled_workspaces_and_no_leaked_descriptors_body() {
    let root = FakeAscend::new().workspace(1 << 20).install();
    let rt = open(&root);
    let s = rt.stream().unwrap();
    let mut rng = Rng::new(4);
    let x = rng.vec(2 * 5 * 16);
    let w = rng.vec(16);
    let b = rng.vec(16);
    let xs = [2, 5, 16];
    let (xd, wd, bd) = (up(&s, &x, &xs), up(&s, &w, &[16]), up(&s, &b, &[16]));
    let xv = TensorView::new(&x, &xs).unwrap();
    let wv = TensorView::new(&w, &[16]).unwrap();
    let bv = TensorView::new(&b, &[16]).unwrap();

    let (y, rstd) = ops::rms_norm(&s, &xd, &wd, 1e-6).unwrap();
    assert_eq!(rstd.shape(), &[2, 5, 1]);
    let want = rms_norm(xv, Some(wv), 1e-6, REF).unwrap().data;
    assert_close("rms", &y.download::<f32>(&s).unwrap(), &want, F32);

    let y = ops::layer_norm(&s, &xd, Some(&wd), Some(&bd), 1e-5).unwrap();
    let want = layer_norm(xv, Some(wv), Some(bv), 1e-5, REF).unwrap().data;
    assert_close("layer", &y.download::<f32>(&s).unwrap(), &want, F32);

    let sc = rng.vec(2 * 16);
    let (scd, shd) = (up(&s, &sc, &[2, 16]), up(&s, &sc, &[2, 16]));
    let y = ops::ada_layer_norm(&s, &xd, &scd, &shd, 1e-6).unwrap();
    let scv = TensorView::new(&sc, &[2, 16]).unwrap();
    let want = ada_layer_norm(xv, scv, scv, 1e-6, REF).unwrap().data;
    assert_close("ada", &y.download::<f32>(&s).unwrap(), &want, F32);

    let g = ops::group_norm(&s, &up(&s, &x, &[2, 16, 5]), 4, &wd, &bd, 1e-5).unwrap();
    let gv = TensorView::new(&x, &[2, 16, 5]).unwrap();
    let want = group_norm(gv, 4, Some(wv), Some(bv), 1e-5, false, REF)
        .unwrap()
        .data;
    assert_close("group", &g.download::<f32>(&s).unwrap(), &want, F32);

    for gelu in [Gelu::Erf, Gelu::Tanh] {
        let y = ops::geglu(&s, &xd, gelu).unwrap();
        let want = geglu(xv, gelu, REF).unwrap().data;
        assert_close("geglu", &y.download::<f32>(&s).unwrap(), &want, F32);
    }
    let y = ops::swiglu(&s, &xd).unwrap();
    assert_close(
        "swiglu",
        &y.download::<f32>(&s).unwrap(),
        &swiglu(xv, REF).unwrap().data,
        F32,
    );

    let cs = rng.vec(5 * 8);
    let r = rng.vec(2 * 5 * 3 * 8);
    for (layout, shape, seq) in [
        (Layout::Bsnd, [2, 5, 3, 8], 5),
        (Layout::Bnsd, [2, 3, 5, 8], 5),
    ] {
        for mode in [RopeMode::Half, RopeMode::Interleaved] {
            let table = up(&s, &cs[..seq * 8], &[seq, 8]);
            let y = ops::rope(&s, &up(&s, &r, &shape), &table, &table, layout, mode).unwrap();
            let tshape = [seq, 8];
            let tv = TensorView::new(&cs[..seq * 8], &tshape).unwrap();
            let want = rope(
                TensorView::new(&r, &shape).unwrap(),
                tv,
                tv,
                layout,
                mode,
                REF,
            )
            .unwrap();
            assert_close("rope", &y.download::<f32>(&s).unwrap(), &want.data, F32);
        }
    }

    let (a, bm) = (rng.vec(3 * 4), rng.vec(4 * 2));
    let m = ops::matmul(&rt, &s, &up(&s, &a, &[3, 4]), &up(&s, &bm, &[4, 2])).unwrap();
    let want: Vec<f32> = (0..6)
        .map(|i| (0..4).map(|p| a[(i / 2) * 4 + p] * bm[p * 2 + i % 2]).sum())
        .collect();
    assert_close("matmul", &m.download::<f32>(&s).unwrap(), &want, F32);

    // Twelve launches on one stream, each asking for a 1 MiB workspace: the pool made one
    // workspace allocation of that size and served the rest from its cache.
    let stats = rt.pool_stats();
    assert!(stats.cache_hits >= 11, "{stats:?}");
    assert_eq!(counter(&root, "libopapi.so", "fake_launches"), 12);
    // Only the tensors still alive here: every aclTensor/aclIntArray was destroyed.
    assert_eq!(live_descriptors(&root), 0);
    drop(s);
    assert_eq!(
        rt.pool_stats().reserved,
        rt.pool_stats().allocated,
        "destroying the stream frees its cache"
    );
}

#[test]
fn fused_infer_attention_with_bias_mask_gqa_and_lse() {
    isolated(
        "fused_infer_attention_with_bias_mask_gqa_and_lse",
        fused_infer_attention_with_bias_mask_gqa_and_lse_body,
    );
}

fn fused_infer_attention_with_bias_mask_gqa_and_lse_body() {
    let root = FakeAscend::new().install();
    let rt = open(&root);
    let s = rt.stream().unwrap();
    let mut rng = Rng::new(8);
    let (b, sq, skv, hq, hkv, d) = (2, 9, 13, 4, 2, 16);
    // The fused kernels take f16/bf16 (their docs); f32 runs the composite.
    let (q, k, v) = (
        round16(rng.vec(b * sq * hq * d)),
        round16(rng.vec(b * skv * hkv * d)),
        round16(rng.vec(b * skv * hkv * d)),
    );
    let bias = round16(rng.vec(sq * skv));
    let masked: Vec<bool> = (0..b * sq * skv).map(|i| i % 4 == 3).collect();
    let keep: Vec<bool> = masked.iter().map(|m| !m).collect();
    let (qs, ks) = ([b, sq, hq, d], [b, skv, hkv, d]);
    let (bias_d, mask_d) = (
        up16(&s, &bias, &[1, 1, sq, skv]),
        NpuTensor::upload_mask(&s, &masked, &[b, 1, sq, skv]).unwrap(),
    );
    let opts = NpuAttentionOptions {
        layout: Layout::Bsnd,
        scale: Some(0.4),
        bias: Some(&bias_d),
        mask: Some(&mask_d),
        return_lse: true,
    };
    let (out, lse, route) = ops::attention(
        &rt,
        &s,
        &up16(&s, &q, &qs),
        &up16(&s, &k, &ks),
        &up16(&s, &v, &ks),
        &opts,
    )
    .unwrap();
    assert_eq!(route, AttentionRoute::FusedInferV2);
    let want = attention_with(
        TensorView::new(&q, &qs).unwrap(),
        TensorView::new(&k, &ks).unwrap(),
        TensorView::new(&v, &ks).unwrap(),
        &AttentionOptions {
            layout: Layout::Bsnd,
            scale: Some(0.4),
            bias: Some(TensorView::new(&bias, &[1, 1, sq, skv]).unwrap()),
            mask: Some(TensorView::new(&keep, &[b, 1, sq, skv]).unwrap()),
            return_lse: true,
        },
        REF,
    )
    .unwrap();
    assert_close("attention", &down16(&s, &out), &want.out.data, F16);
    assert_close(
        "lse",
        &lse.unwrap().download::<f32>(&s).unwrap(),
        &want.lse.unwrap().data,
        F32,
    );
    assert_eq!(
        live_descriptors(&root),
        0,
        "tensor lists and their tensors destroyed"
    );
}

#[test]
fn ascend310p_rejects_flash_attention_and_the_caller_falls_back() {
    isolated(
        "ascend310p_rejects_flash_attention_and_the_caller_falls_back",
        ascend310p_rejects_flash_attention_and_the_caller_falls_back_body,
    );
}

fn ascend310p_rejects_flash_attention_and_the_caller_falls_back_body() {
    let root = FakeAscend::new().soc("Ascend310P3").install();
    let rt = open(&root);
    let s = rt.stream().unwrap();
    let mut rng = Rng::new(2);
    let shape = [1, 2, 7, 8];
    let (q, k, v) = (rng.vec(112), rng.vec(112), rng.vec(112));
    let (qd, kd, vd) = (up(&s, &q, &shape), up(&s, &k, &shape), up(&s, &v, &shape));
    let err = ops::attention(&rt, &s, &qd, &kd, &vd, &NpuAttentionOptions::default()).unwrap_err();
    let OpsError::Unsupported(why) = &err else {
        panic!("{err:?}")
    };
    assert!(
        why.contains("Ascend310P3") && why.contains("no flash-attention kernel"),
        "{why}"
    );
    assert_eq!(
        counter(&root, "libopapi.so", "fake_launches"),
        0,
        "nothing was launched"
    );

    // The fallback honours bias, mask, scale and the log-sum-exp output: masks in aclnn's
    // convention (true = masked out) become the CPU kernel's keep-masks.
    let bias = rng.vec(7 * 7);
    let masked: Vec<bool> = (0..2 * 7 * 7).map(|i| i % 5 == 1).collect();
    let keep: Vec<bool> = masked.iter().map(|m| !m).collect();
    let (bias_d, mask_d) = (
        up(&s, &bias, &[7, 7]),
        NpuTensor::upload_mask(&s, &masked, &[1, 2, 7, 7]).unwrap(),
    );
    let opts = NpuAttentionOptions {
        layout: Layout::Bnsd,
        scale: Some(0.3),
        bias: Some(&bias_d),
        mask: Some(&mask_d),
        return_lse: true,
    };
    let (out, lse, path) = ops::attention_or_cpu(&rt, &s, &qd, &kd, &vd, &opts).unwrap();
    assert!(matches!(path, AttentionPath::CpuFallback(_)), "{path:?}");
    fn view<'a>(d: &'a [f32], shape: &'a [usize]) -> TensorView<'a, f32> {
        TensorView::new(d, shape).unwrap()
    }
    let want = attention_with(
        view(&q, &shape),
        view(&k, &shape),
        view(&v, &shape),
        &AttentionOptions {
            layout: Layout::Bnsd,
            scale: Some(0.3),
            bias: Some(view(&bias, &[7, 7])),
            mask: Some(TensorView::new(&keep, &[1, 2, 7, 7]).unwrap()),
            return_lse: true,
        },
        REF,
    )
    .unwrap();
    assert_close(
        "fallback",
        &out.download::<f32>(&s).unwrap(),
        &want.out.data,
        F32,
    );
    let lse = lse.expect("lse was asked for");
    assert_eq!(
        lse.shape(),
        &[1, 2, 7, 1],
        "the NPU kernels' softmaxLse shape"
    );
    assert_close(
        "fallback lse",
        &lse.download::<f32>(&s).unwrap(),
        &want.lse.unwrap().data,
        F32,
    );

    // f16 falls back too, in f16.
    let h16 = |x: &[f32]| -> Vec<half::f16> { x.iter().map(|&v| half::f16::from_f32(v)).collect() };
    let (q16, k16, v16) = (h16(&q), h16(&k), h16(&v));
    let (out, _, path) = ops::attention_or_cpu(
        &rt,
        &s,
        &NpuTensor::upload(&s, &q16, &shape).unwrap(),
        &NpuTensor::upload(&s, &k16, &shape).unwrap(),
        &NpuTensor::upload(&s, &v16, &shape).unwrap(),
        &NpuAttentionOptions::default(),
    )
    .unwrap();
    assert!(matches!(path, AttentionPath::CpuFallback(_)), "{path:?}");
    assert_eq!(out.dtype(), NpuDType::F16);
    let want = attention_with(
        TensorView::new(&q16, &shape).unwrap(),
        TensorView::new(&k16, &shape).unwrap(),
        TensorView::new(&v16, &shape).unwrap(),
        &AttentionOptions::default(),
        REF,
    )
    .unwrap();
    assert_close(
        "fallback f16",
        &widen(&out.download::<half::f16>(&s).unwrap()),
        &widen(&want.out.data),
        F16,
    );

    // bf16 is gated before any launch; fp32 matmul gets cubeMathType 1, which the double
    // (like the real 310P) insists on.
    let h: Vec<half::bf16> = q.iter().map(|&x| half::bf16::from_f32(x)).collect();
    let hd = NpuTensor::upload(&s, &h, &shape).unwrap();
    let err = ops::attention(&rt, &s, &hd, &hd, &hd, &NpuAttentionOptions::default()).unwrap_err();
    assert!(err.to_string().contains("no bf16"), "{err}");
    let err =
        ops::attention_or_cpu(&rt, &s, &hd, &hd, &hd, &NpuAttentionOptions::default()).unwrap_err();
    assert!(
        err.to_string().contains("no bf16"),
        "bf16 is not silently moved to the CPU: {err}"
    );
    assert_eq!(rt.cube_math_type(device::DType::F32), 1);
    let m = ops::matmul(
        &rt,
        &s,
        &up(&s, &q[..4], &[2, 2]),
        &up(&s, &k[..4], &[2, 2]),
    )
    .unwrap();
    assert_eq!(m.download::<f32>(&s).unwrap().len(), 4);
}

#[test]
fn a_failing_op_reports_function_status_and_runtime_message_and_frees_descriptors() {
    isolated(
        "a_failing_op_reports_function_status_and_runtime_message_and_frees_descriptors",
        a_failing_op_reports_function_status_and_runtime_message_and_frees_descriptors_body,
    );
}

fn a_failing_op_reports_function_status_and_runtime_message_and_frees_descriptors_body() {
    let root = FakeAscend::new().fail_op("aclnnRmsNorm").install();
    let rt = open(&root);
    let s = rt.stream().unwrap();
    let x = up(&s, &[1.0, 2.0, 3.0, 4.0], &[2, 2]);
    let g = up(&s, &[1.0, 1.0], &[2]);
    let err = ops::rms_norm(&s, &x, &g, 1e-6).unwrap_err().to_string();
    assert_eq!(
        err,
        "aclnnRmsNormGetWorkspaceSize failed with status 561003 (kernel binary not installed): \
         fake aclnn: aclnnRmsNorm: kernel binary not found for Ascend910B3"
    );
    assert_eq!(
        live_descriptors(&root),
        0,
        "descriptors destroyed on the error path"
    );
    // Shape errors never reach the runtime.
    let err = ops::rms_norm(&s, &x, &up(&s, &[1.0; 3], &[3]), 1e-6).unwrap_err();
    assert!(matches!(err, OpsError::Shape { arg: "gamma", .. }), "{err}");
}

#[test]
fn without_fused_infer_attention_cann_7_routes_to_flash_attention_score() {
    isolated(
        "without_fused_infer_attention_cann_7_routes_to_flash_attention_score",
        without_fused_infer_attention_cann_7_routes_to_flash_attention_score_body,
    );
}

fn without_fused_infer_attention_cann_7_routes_to_flash_attention_score_body() {
    let root = FakeAscend::new()
        .without("aclnnFusedInferAttentionScoreV2")
        .without("aclnnPromptFlashAttention")
        .cann("7.0.0")
        .install();
    let rt = open(&root);
    assert!(
        rt.missing_symbols()
            .contains(&"aclnnFusedInferAttentionScoreV2".to_string())
    );
    let s = rt.stream().unwrap();
    let mut rng = Rng::new(6);
    let shape = [1, 3, 2, 8];
    let (q, k, v) = (
        round16(rng.vec(48)),
        round16(rng.vec(48)),
        round16(rng.vec(48)),
    );
    let opts = NpuAttentionOptions {
        layout: Layout::Bsnd,
        ..Default::default()
    };
    let (out, _, route) = ops::attention(
        &rt,
        &s,
        &up16(&s, &q, &shape),
        &up16(&s, &k, &shape),
        &up16(&s, &v, &shape),
        &opts,
    )
    .unwrap();
    assert_eq!(route, AttentionRoute::FlashScore);
    fn view<'a>(d: &'a [f32], shape: &'a [usize]) -> TensorView<'a, f32> {
        TensorView::new(d, shape).unwrap()
    }
    let want = attention_with(
        view(&q, &shape),
        view(&k, &shape),
        view(&v, &shape),
        &AttentionOptions {
            layout: Layout::Bsnd,
            ..Default::default()
        },
        REF,
    )
    .unwrap();
    assert_close("fas", &down16(&s, &out), &want.out.data, F16);
    // The log-sum-exp output only exists on the fused inference kernel.
    let lse = NpuAttentionOptions {
        return_lse: true,
        ..opts
    };
    let err = ops::attention(
        &rt,
        &s,
        &up16(&s, &q, &shape),
        &up16(&s, &k, &shape),
        &up16(&s, &v, &shape),
        &lse,
    )
    .unwrap_err();
    assert!(err.to_string().contains("log-sum-exp"), "{err}");
}

#[test]
fn flash_attention_score_needs_cann_7() {
    isolated(
        "flash_attention_score_needs_cann_7",
        flash_attention_score_needs_cann_7_body,
    );
}

fn flash_attention_score_needs_cann_7_body() {
    let root = FakeAscend::new()
        .without("aclnnFusedInferAttentionScoreV2")
        .without("aclnnPromptFlashAttention")
        .cann("6.3.RC1")
        .install();
    let rt = open(&root);
    let err = rt
        .attention_route(device::DType::F16, false)
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("6.3.RC1") && err.contains("CANN >= 7.0.0"),
        "{err}"
    );
}

#[test]
fn missing_libraries_and_symbols_are_errors_not_panics() {
    isolated(
        "missing_libraries_and_symbols_are_errors_not_panics",
        missing_libraries_and_symbols_are_errors_not_panics_body,
    );
}

fn missing_libraries_and_symbols_are_errors_not_panics_body() {
    let err =
        NpuRuntime::open(&NpuLibraries::in_root(Path::new("/nonexistent/cann")), 0).unwrap_err();
    let text = err.to_string();
    assert!(
        text.contains("ACL runtime is incomplete")
            && text.contains("/nonexistent/cann/lib64/libascendcl.so"),
        "{text}"
    );
    assert!(!ops_npu::npu::is_open());

    let root = FakeAscend::new().without_op_library().install();
    let rt = open(&root);
    assert!(rt.missing_symbols().contains(&"aclnnRmsNorm".to_string()));
    let s = rt.stream().unwrap();
    let x = up(&s, &[1.0, 2.0], &[1, 2]);
    let err = ops::rms_norm(&s, &x, &up(&s, &[1.0, 1.0], &[2]), 1e-6)
        .unwrap_err()
        .to_string();
    assert!(
        err.starts_with("aclnnRmsNormGetWorkspaceSize is missing from the loaded CANN libraries"),
        "{err}"
    );
    assert!(rt.attention_route(device::DType::F32, false).is_err());
}

#[test]
fn group_norm_silu_is_one_fused_kernel_when_the_symbol_resolves() {
    isolated(
        "group_norm_silu_is_one_fused_kernel_when_the_symbol_resolves",
        group_norm_silu_is_one_fused_kernel_when_the_symbol_resolves_body,
    );
}

fn group_norm_silu_is_one_fused_kernel_when_the_symbol_resolves_body() {
    let root = FakeAscend::new().install();
    let rt = open(&root);
    assert!(rt.has_symbol("aclnnGroupNormSilu"));
    let (y, path) = group_norm_silu_case(&rt, &root);
    assert_eq!(path, GroupNormSiluPath::Fused);
    assert_eq!(y, 1, "one launch");
}

#[test]
fn group_norm_silu_without_the_fused_op_is_group_norm_then_silu() {
    isolated(
        "group_norm_silu_without_the_fused_op_is_group_norm_then_silu",
        group_norm_silu_without_the_fused_op_is_group_norm_then_silu_body,
    );
}

fn group_norm_silu_without_the_fused_op_is_group_norm_then_silu_body() {
    let root = FakeAscend::new().without("aclnnGroupNormSilu").install();
    let rt = open(&root);
    assert!(
        rt.missing_symbols()
            .contains(&"aclnnGroupNormSiluGetWorkspaceSize".to_string())
    );
    let (launches, path) = group_norm_silu_case(&rt, &root);
    assert_eq!(path, GroupNormSiluPath::Separate);
    assert_eq!(launches, 2, "aclnnGroupNorm, then aclnnSilu");
}

#[test]
fn group_norm_silu_refused_by_the_fused_op_is_group_norm_then_silu() {
    isolated(
        "group_norm_silu_refused_by_the_fused_op_is_group_norm_then_silu",
        group_norm_silu_refused_by_the_fused_op_is_group_norm_then_silu_body,
    );
}

fn group_norm_silu_refused_by_the_fused_op_is_group_norm_then_silu_body() {
    // The symbol resolves but its first phase fails (no kernel for this SoC).
    let root = FakeAscend::new().fail_op("aclnnGroupNormSilu").install();
    let rt = open(&root);
    assert!(rt.has_symbol("aclnnGroupNormSilu"));
    let (launches, path) = group_norm_silu_case(&rt, &root);
    assert_eq!(path, GroupNormSiluPath::Separate);
    assert_eq!(launches, 2, "aclnnGroupNorm, then aclnnSilu");
}

/// SiLU(GroupNorm) of an SD-like [2, 16, 3, 4] input against the scalar reference; returns
/// the launches it took and the path.
fn group_norm_silu_case(rt: &NpuRuntime, root: &Path) -> (i64, GroupNormSiluPath) {
    let s = rt.stream().unwrap();
    let mut rng = Rng::new(12);
    let shape = [2, 16, 3, 4];
    let (x, w, b) = (rng.vec(2 * 16 * 12), rng.vec(16), rng.vec(16));
    let (y, path) = ops::group_norm_silu(
        &s,
        &up(&s, &x, &shape),
        4,
        &up(&s, &w, &[16]),
        &up(&s, &b, &[16]),
        1e-5,
    )
    .unwrap();
    let want = group_norm(
        TensorView::new(&x, &shape).unwrap(),
        4,
        Some(TensorView::new(&w, &[16]).unwrap()),
        Some(TensorView::new(&b, &[16]).unwrap()),
        1e-5,
        true,
        REF,
    )
    .unwrap();
    assert_close("gn+silu", &y.download::<f32>(&s).unwrap(), &want.data, F32);
    assert_eq!(live_descriptors(root), 0);
    (counter(root, "libopapi.so", "fake_launches"), path)
}

#[test]
fn every_npu_kernel_runs_at_f16_and_bf16() {
    isolated(
        "every_npu_kernel_runs_at_f16_and_bf16",
        every_npu_kernel_runs_at_f16_and_bf16_body,
    );
}

fn every_npu_kernel_runs_at_f16_and_bf16_body() {
    let root = FakeAscend::new().install();
    let rt = open(&root);
    let s = rt.stream().unwrap();
    every_kernel_at::<half::f16>(&rt, &s, F16);
    every_kernel_at::<half::bf16>(&rt, &s, BF16);
    assert_eq!(live_descriptors(&root), 0);
}

/// Every NPU kernel with T inputs and outputs, against the scalar reference on the same
/// T inputs (both widen to f32, compute, and round to T once).
fn every_kernel_at<T: Bytes + ops_npu::Element>(rt: &NpuRuntime, s: &NpuStream, tol: Tol) {
    let mut rng = Rng::new(21);
    let half = |n: usize, rng: &mut Rng| -> Vec<T> { T::narrow(rng.vec(n)) };
    let dev = |d: &[T], shape: &[usize]| NpuTensor::upload(s, d, shape).unwrap();
    let check = |what: &str, got: &NpuTensor, want: &[T]| {
        assert_eq!(got.dtype(), T::NPU_DTYPE, "{what}: output dtype");
        assert_close(
            &format!("{what} {}", T::NPU_DTYPE),
            &widen(&got.download::<T>(s).unwrap()),
            &widen(want),
            tol,
        );
    };
    let xs = [2, 5, 16];
    let (x, w, b) = (half(160, &mut rng), half(16, &mut rng), half(16, &mut rng));
    let (xd, wd, bd) = (dev(&x, &xs), dev(&w, &[16]), dev(&b, &[16]));
    let xv = TensorView::new(&x, &xs).unwrap();
    let wv = TensorView::new(&w, &[16]).unwrap();
    let bv = TensorView::new(&b, &[16]).unwrap();

    let (y, rstd) = ops::rms_norm(s, &xd, &wd, 1e-6).unwrap();
    assert_eq!(rstd.dtype(), NpuDType::F32);
    check(
        "rms_norm",
        &y,
        &rms_norm(xv, Some(wv), 1e-6, REF).unwrap().data,
    );
    let y = ops::layer_norm(s, &xd, Some(&wd), Some(&bd), 1e-5).unwrap();
    let want = layer_norm(xv, Some(wv), Some(bv), 1e-5, REF).unwrap().data;
    check("layer_norm", &y, &want);
    let sc = half(32, &mut rng);
    let scv = TensorView::new(&sc, &[2, 16]).unwrap();
    let y = ops::ada_layer_norm(s, &xd, &dev(&sc, &[2, 16]), &dev(&sc, &[2, 16]), 1e-6).unwrap();
    check(
        "ada_layer_norm",
        &y,
        &ada_layer_norm(xv, scv, scv, 1e-6, REF).unwrap().data,
    );

    let gs = [2, 16, 5];
    let gv = TensorView::new(&x, &gs).unwrap();
    let y = ops::group_norm(s, &dev(&x, &gs), 4, &wd, &bd, 1e-5).unwrap();
    let want = group_norm(gv, 4, Some(wv), Some(bv), 1e-5, false, REF)
        .unwrap()
        .data;
    check("group_norm", &y, &want);
    let (y, _) = ops::group_norm_silu(s, &dev(&x, &gs), 4, &wd, &bd, 1e-5).unwrap();
    let want = group_norm(gv, 4, Some(wv), Some(bv), 1e-5, true, REF)
        .unwrap()
        .data;
    check("group_norm_silu", &y, &want);
    let want: Vec<f32> = widen(&x).iter().map(|&v| v / (1.0 + (-v).exp())).collect();
    check("silu", &ops::silu(s, &xd).unwrap(), &T::narrow(want));

    for gelu in [Gelu::Erf, Gelu::Tanh] {
        let y = ops::geglu(s, &xd, gelu).unwrap();
        check("geglu", &y, &geglu(xv, gelu, REF).unwrap().data);
    }
    check(
        "swiglu",
        &ops::swiglu(s, &xd).unwrap(),
        &swiglu(xv, REF).unwrap().data,
    );

    let rs = [2, 5, 3, 8];
    let (r, cs) = (half(240, &mut rng), half(40, &mut rng));
    let table = dev(&cs, &[5, 8]);
    let tv = TensorView::new(&cs, &[5, 8]).unwrap();
    let y = ops::rope(
        s,
        &dev(&r, &rs),
        &table,
        &table,
        Layout::Bsnd,
        RopeMode::Half,
    )
    .unwrap();
    let rv = TensorView::new(&r, &rs).unwrap();
    let want = rope(rv, tv, tv, Layout::Bsnd, RopeMode::Half, REF)
        .unwrap()
        .data;
    check("rope", &y, &want);

    let (a, bm) = (half(12, &mut rng), half(8, &mut rng));
    let m = ops::matmul(rt, s, &dev(&a, &[3, 4]), &dev(&bm, &[4, 2])).unwrap();
    let (af, bf) = (widen(&a), widen(&bm));
    let want: Vec<f32> = (0..6)
        .map(|i| {
            (0..4)
                .map(|p| af[(i / 2) * 4 + p] * bf[p * 2 + i % 2])
                .sum()
        })
        .collect();
    check("matmul", &m, &T::narrow(want));

    // The fused kernels' docs: D a multiple of 16 for f16/bf16.
    let (qs, ks) = ([1, 2, 6, 16], [1, 2, 9, 16]);
    let (q, k, v) = (
        half(192, &mut rng),
        half(288, &mut rng),
        half(288, &mut rng),
    );
    let (out, _, _) = ops::attention(
        rt,
        s,
        &dev(&q, &qs),
        &dev(&k, &ks),
        &dev(&v, &ks),
        &NpuAttentionOptions::default(),
    )
    .unwrap();
    let want = attention_with(
        TensorView::new(&q, &qs).unwrap(),
        TensorView::new(&k, &ks).unwrap(),
        TensorView::new(&v, &ks).unwrap(),
        &AttentionOptions::default(),
        REF,
    )
    .unwrap();
    check("attention", &out, &want.out.data);
}

#[test]
fn ascend310p_rejects_bf16_in_every_kernel_and_runs_f16() {
    isolated(
        "ascend310p_rejects_bf16_in_every_kernel_and_runs_f16",
        ascend310p_rejects_bf16_in_every_kernel_and_runs_f16_body,
    );
}

fn ascend310p_rejects_bf16_in_every_kernel_and_runs_f16_body() {
    let root = FakeAscend::new().soc("Ascend310P3").install();
    let rt = open(&root);
    // The SoC table, not this test, says the 310P has no bf16.
    assert!(!rt.traits().bf16);
    let s = rt.stream().unwrap();
    let x: Vec<half::bf16> = Rng::new(3)
        .vec(64)
        .into_iter()
        .map(half::bf16::from_f32)
        .collect();
    let x4 = NpuTensor::upload(&s, &x, &[2, 4, 2, 4]).unwrap();
    let w = NpuTensor::upload(&s, &x[..4], &[4]).unwrap();
    let t = NpuTensor::upload(&s, &x[..8], &[2, 4]).unwrap();
    let m = NpuTensor::upload(&s, &x[..16], &[4, 4]).unwrap();
    let x3 = NpuTensor::upload(&s, &x, &[4, 4, 4]).unwrap();
    let errors: Vec<(&str, OpsError)> = vec![
        ("rms_norm", ops::rms_norm(&s, &x3, &w, 1e-6).unwrap_err()),
        (
            "layer_norm",
            ops::layer_norm(&s, &x3, None, None, 1e-5).unwrap_err(),
        ),
        (
            "ada_layer_norm",
            ops::ada_layer_norm(&s, &x3, &t, &t, 1e-6).unwrap_err(),
        ),
        (
            "group_norm",
            ops::group_norm(&s, &x4, 2, &w, &w, 1e-5).unwrap_err(),
        ),
        (
            "group_norm_silu",
            ops::group_norm_silu(&s, &x4, 2, &w, &w, 1e-5).unwrap_err(),
        ),
        ("silu", ops::silu(&s, &x3).unwrap_err()),
        ("geglu", ops::geglu(&s, &x3, Gelu::Erf).unwrap_err()),
        ("swiglu", ops::swiglu(&s, &x3).unwrap_err()),
        (
            "rope",
            ops::rope(&s, &x4, &t, &t, Layout::Bsnd, RopeMode::Half).unwrap_err(),
        ),
        ("matmul", ops::matmul(&rt, &s, &m, &m).unwrap_err()),
        (
            "attention",
            ops::attention(&rt, &s, &x4, &x4, &x4, &NpuAttentionOptions::default()).unwrap_err(),
        ),
    ];
    // Refused before launch: for want of bf16, or (LayerNorm, AdaLayerNorm, RoPE) because
    // their docs list no kernel for Atlas inference products at all.
    for (op, err) in errors {
        let text = err.to_string();
        assert!(
            matches!(err, OpsError::Unsupported(_))
                && text.contains("Ascend310P3")
                && (text.contains("bf16") || text.contains("is not available on")),
            "{op}: {err}"
        );
    }
    assert_eq!(
        counter(&root, "libopapi.so", "fake_launches"),
        0,
        "nothing launched"
    );

    // f16 runs there (RmsNorm's doc: on Atlas inference products the last dimension is at
    // least 32 bytes, so 16 halves).
    let h: Vec<half::f16> = widen(&x).into_iter().map(half::f16::from_f32).collect();
    let (y, _) = ops::rms_norm(
        &s,
        &NpuTensor::upload(&s, &h, &[4, 16]).unwrap(),
        &NpuTensor::upload(&s, &h[..16], &[16]).unwrap(),
        1e-6,
    )
    .unwrap();
    let want = rms_norm(
        TensorView::new(&h, &[4, 16]).unwrap(),
        Some(TensorView::new(&h[..16], &[16]).unwrap()),
        1e-6,
        REF,
    )
    .unwrap();
    assert_close(
        "rms f16 on 310P",
        &widen(&y.download::<half::f16>(&s).unwrap()),
        &widen(&want.data),
        F16,
    );
}

#[test]
fn device_discovery_after_the_runtime_opened_leaves_its_device_bound() {
    isolated(
        "device_discovery_after_the_runtime_opened_leaves_its_device_bound",
        device_discovery_after_the_runtime_opened_leaves_its_device_bound_body,
    );
}

/// The `device` crate's discovery opens the same libascendcl.so and binds each device in
/// turn to query it (a memory report after a run does so too); the device the runtime
/// computes on must stay bound to its thread.
fn device_discovery_after_the_runtime_opened_leaves_its_device_bound_body() {
    let root = FakeAscend::new().devices(2).install();
    let rt = open(&root);
    let s = rt.stream().unwrap();
    let a = up(&s, &[1.0, 2.0, 3.0], &[3]);
    let sum = ops::add(&s, &a, &a).unwrap();
    assert_eq!(sum.download::<f32>(&s).unwrap(), [2.0, 4.0, 6.0]);

    let config =
        device::DiscoveryConfig::cpu_only().with_npu_library(root.join("lib64/libascendcl.so"));
    let discovery = device::Discovery::run(&config);
    assert_eq!(discovery.npu.devices.len(), 2, "{:?}", discovery.npu);
    for i in 0..2 {
        assert!(
            discovery.memory(device::Device::Npu(i)).is_some(),
            "npu:{i}"
        );
    }

    let b = up(&s, &[0.5, 0.25, 0.125], &[3]);
    let sum = ops::add(&s, &sum, &b).unwrap();
    assert_eq!(sum.download::<f32>(&s).unwrap(), [2.5, 4.25, 6.125]);
}
