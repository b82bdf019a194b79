//! The whole NPU call path against the test-double Ascend libraries (tests/doubles):
//! discovery, symbol resolution, descriptors, workspace sizing and pooling, stream
//! synchronisation, error text and SoC gating. The runtime is opened once per process,
//! so each test needs a process of its own: nextest gives it one; under `cargo test` the
//! test re-runs itself alone in a child process.
//! This is not hardware validation: the double computes with the scalar references.

mod common;
mod doubles;

use common::*;
use doubles::{FakeAscend, counter};
use ops_npu::attention::{AttentionOptions, Layout, attention_with};
use ops_npu::glu::{Gelu, geglu, swiglu};
use ops_npu::norm::{ada_layer_norm, group_norm, layer_norm, rms_norm};
use ops_npu::npu::ops::{self, AttentionPath, NpuAttentionOptions};
use ops_npu::npu::{AttentionRoute, NpuLibraries, NpuRuntime, NpuTensor};
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
    let status = std::process::Command::new(std::env::current_exe().unwrap())
        .args([name, "--exact", "--nocapture", "--test-threads=1"])
        .env(CHILD, name)
        .status()
        .unwrap();
    assert!(status.success(), "{name} failed in its own process");
}

fn open(root: &Path) -> NpuRuntime {
    NpuRuntime::open(&NpuLibraries::in_root(root), 0).unwrap()
}

fn up(data: &[f32], shape: &[usize]) -> NpuTensor {
    NpuTensor::upload(data, shape).unwrap()
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
    let (xd, wd, bd) = (up(&x, &xs), up(&w, &[16]), up(&b, &[16]));
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
    let (scd, shd) = (up(&sc, &[2, 16]), up(&sc, &[2, 16]));
    let y = ops::ada_layer_norm(&s, &xd, &scd, &shd, 1e-6).unwrap();
    let scv = TensorView::new(&sc, &[2, 16]).unwrap();
    let want = ada_layer_norm(xv, scv, scv, 1e-6, REF).unwrap().data;
    assert_close("ada", &y.download::<f32>(&s).unwrap(), &want, F32);

    let g = ops::group_norm(&s, &up(&x, &[2, 16, 5]), 4, &wd, &bd, 1e-5).unwrap();
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
            let table = up(&cs[..seq * 8], &[seq, 8]);
            let y = ops::rope(&s, &up(&r, &shape), &table, &table, layout, mode).unwrap();
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
    let m = ops::matmul(&rt, &s, &up(&a, &[3, 4]), &up(&bm, &[4, 2])).unwrap();
    let want: Vec<f32> = (0..6)
        .map(|i| (0..4).map(|p| a[(i / 2) * 4 + p] * bm[p * 2 + i % 2]).sum())
        .collect();
    assert_close("matmul", &m.download::<f32>(&s).unwrap(), &want, F32);

    // Eleven launches on one stream, each asking for 1 MiB: one allocation, reused.
    let (allocs, held) = rt.workspace_stats();
    assert_eq!(allocs, 1);
    assert_eq!(held, 1 << 20);
    assert_eq!(counter(&root, "libopapi.so", "fake_launches"), 12);
    // Only the tensors still alive here: every aclTensor/aclIntArray was destroyed.
    assert_eq!(live_descriptors(&root), 0);
    drop(s);
    assert_eq!(
        rt.workspace_stats().1,
        0,
        "destroying the stream frees its pool"
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
    let (b, sq, skv, hq, hkv, d) = (2, 9, 13, 4, 2, 8);
    let (q, k, v) = (
        rng.vec(b * sq * hq * d),
        rng.vec(b * skv * hkv * d),
        rng.vec(b * skv * hkv * d),
    );
    let bias = rng.vec(sq * skv);
    let masked: Vec<bool> = (0..b * sq * skv).map(|i| i % 4 == 3).collect();
    let keep: Vec<bool> = masked.iter().map(|m| !m).collect();
    let (qs, ks) = ([b, sq, hq, d], [b, skv, hkv, d]);
    let (bias_d, mask_d) = (
        up(&bias, &[1, 1, sq, skv]),
        NpuTensor::upload_mask(&masked, &[b, 1, sq, skv]).unwrap(),
    );
    let opts = NpuAttentionOptions {
        layout: Layout::Bsnd,
        scale: Some(0.4),
        bias: Some(&bias_d),
        mask: Some(&mask_d),
        return_lse: true,
    };
    let (out, lse, route) =
        ops::attention(&rt, &s, &up(&q, &qs), &up(&k, &ks), &up(&v, &ks), &opts).unwrap();
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
    assert_close(
        "attention",
        &out.download::<f32>(&s).unwrap(),
        &want.out.data,
        F32,
    );
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
    let (qd, kd, vd) = (up(&q, &shape), up(&k, &shape), up(&v, &shape));
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

    let (out, path) = ops::attention_or_cpu(&rt, &s, &qd, &kd, &vd, Layout::Bnsd).unwrap();
    assert!(matches!(path, AttentionPath::CpuFallback(_)), "{path:?}");
    fn view<'a>(d: &'a [f32], shape: &'a [usize]) -> TensorView<'a, f32> {
        TensorView::new(d, shape).unwrap()
    }
    let want = attention_with(
        view(&q, &shape),
        view(&k, &shape),
        view(&v, &shape),
        &AttentionOptions::default(),
        REF,
    )
    .unwrap();
    assert_close(
        "fallback",
        &out.download::<f32>(&s).unwrap(),
        &want.out.data,
        F32,
    );

    // bf16 is gated before any launch; fp32 matmul gets cubeMathType 1, which the double
    // (like the real 310P) insists on.
    let h: Vec<half::bf16> = q.iter().map(|&x| half::bf16::from_f32(x)).collect();
    let hd = NpuTensor::upload(&h, &shape).unwrap();
    let err = ops::attention(&rt, &s, &hd, &hd, &hd, &NpuAttentionOptions::default()).unwrap_err();
    assert!(err.to_string().contains("no bf16"), "{err}");
    assert_eq!(rt.cube_math_type(device::DType::F32), 1);
    let m = ops::matmul(&rt, &s, &up(&q[..4], &[2, 2]), &up(&k[..4], &[2, 2])).unwrap();
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
    let x = up(&[1.0, 2.0, 3.0, 4.0], &[2, 2]);
    let g = up(&[1.0, 1.0], &[2]);
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
    let err = ops::rms_norm(&s, &x, &up(&[1.0; 3], &[3]), 1e-6).unwrap_err();
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
    let (q, k, v) = (rng.vec(48), rng.vec(48), rng.vec(48));
    let opts = NpuAttentionOptions {
        layout: Layout::Bsnd,
        ..Default::default()
    };
    let (out, _, route) = ops::attention(
        &rt,
        &s,
        &up(&q, &shape),
        &up(&k, &shape),
        &up(&v, &shape),
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
    assert_close(
        "fas",
        &out.download::<f32>(&s).unwrap(),
        &want.out.data,
        F32,
    );
    // The log-sum-exp output only exists on the fused inference kernel.
    let lse = NpuAttentionOptions {
        return_lse: true,
        ..opts
    };
    let err = ops::attention(
        &rt,
        &s,
        &up(&q, &shape),
        &up(&k, &shape),
        &up(&v, &shape),
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
    let x = up(&[1.0, 2.0], &[1, 2]);
    let err = ops::rms_norm(&s, &x, &up(&[1.0, 1.0], &[2]), 1e-6)
        .unwrap_err()
        .to_string();
    assert!(
        err.starts_with("aclnnRmsNormGetWorkspaceSize is missing from the loaded CANN libraries"),
        "{err}"
    );
    assert!(rt.attention_route(device::DType::F32, false).is_err());
}
