//! Every CPU kernel, optimised and scalar reference, against outputs recorded from torch,
//! diffusers and tomesd by scripts/fixtures/ops_reference.py.

use crate::common::*;
use half::{bf16, f16};
use ops_npu::attention::{AttentionOptions, Layout, attention_with};
use ops_npu::glu::{Gelu, geglu, swiglu};
use ops_npu::norm::{ada_layer_norm, group_norm, layer_norm, rms_norm};
use ops_npu::rope::{RopeMode, rope};
use ops_npu::tome::{Destinations, MergePlan, TomeConfig};
use ops_npu::{Element, Implementation, TensorView};
use serde_json::Value;

const IMPLS: [Implementation; 2] = [Implementation::Optimised, Implementation::Reference];

/// Decodes a case's tensor as `T` (the fixture's own dtype).
trait Decode: Element {
    fn decode(t: &Value) -> Vec<Self>;
    const TOL: Tol;
}

impl Decode for f32 {
    fn decode(t: &Value) -> Vec<f32> {
        f32s(t)
    }
    const TOL: Tol = F32;
}

impl Decode for f16 {
    fn decode(t: &Value) -> Vec<f16> {
        f16s(t)
    }
    const TOL: Tol = F16;
}

impl Decode for bf16 {
    fn decode(t: &Value) -> Vec<bf16> {
        bf16s(t)
    }
    const TOL: Tol = BF16;
}

fn layout(case: &Value) -> Layout {
    match case["layout"].as_str().unwrap() {
        "BSND" => Layout::Bsnd,
        _ => Layout::Bnsd,
    }
}

fn attention_case<T: Decode>(name: &str, case: &Value) {
    let (q, k, v) = (
        T::decode(&case["q"]),
        T::decode(&case["k"]),
        T::decode(&case["v"]),
    );
    let (qs, ks) = (shape(&case["q"]), shape(&case["k"]));
    let bias = case.get("bias").map(|b| (f32s(b), shape(b)));
    let mask = case.get("mask").map(|m| (bools(m), shape(m)));
    for imp in IMPLS {
        let opts = AttentionOptions {
            layout: layout(case),
            scale: case["scale"].as_f64().map(|s| s as f32),
            bias: bias.as_ref().map(|(d, s)| TensorView::new(d, s).unwrap()),
            mask: mask.as_ref().map(|(d, s)| TensorView::new(d, s).unwrap()),
            return_lse: case.get("lse").is_some(),
        };
        let out = attention_with(
            TensorView::new(&q, &qs).unwrap(),
            TensorView::new(&k, &ks).unwrap(),
            TensorView::new(&v, &ks).unwrap(),
            &opts,
            imp,
        )
        .unwrap();
        assert_eq!(out.out.shape, shape(&case["out"]));
        let want = widen(&T::decode(&case["out"]));
        assert_close(
            &format!("{name} {imp:?}"),
            &widen(&out.out.data),
            &want,
            T::TOL,
        );
        if let Some(lse) = case.get("lse") {
            let got = out.lse.unwrap();
            assert_eq!(got.shape, shape(lse));
            assert_close(&format!("{name} lse {imp:?}"), &got.data, &f32s(lse), F32);
        }
    }
}

#[test]
fn attention_matches_torch_sdpa() {
    let doc = fixture("attention");
    let cases = doc["cases"].as_object().unwrap();
    assert!(cases.len() >= 5);
    for (name, case) in cases {
        match case["q"]["dtype"].as_str().unwrap() {
            "f16" => attention_case::<f16>(name, case),
            "bf16" => attention_case::<bf16>(name, case),
            _ => attention_case::<f32>(name, case),
        }
    }
}

fn view<T>(t: &Option<(Vec<T>, Vec<usize>)>) -> Option<TensorView<'_, T>> {
    t.as_ref().map(|(d, s)| TensorView::new(d, s).unwrap())
}

fn norm_case<T: Decode>(name: &str, case: &Value) {
    let x = T::decode(&case["x"]);
    let xs = shape(&case["x"]);
    let xv = TensorView::new(&x, &xs).unwrap();
    let eps = case["eps"].as_f64().unwrap() as f32;
    let vector = |key: &str| case.get(key).map(|t| (T::decode(t), shape(t)));
    let (w, b) = (
        vector("weight").or(vector("gamma")),
        vector("bias").or(vector("beta")),
    );
    for imp in IMPLS {
        let got = if name.starts_with("group_norm") {
            let groups = case["groups"].as_u64().unwrap() as usize;
            let silu = case["silu"].as_bool().unwrap();
            group_norm(xv, groups, view(&w), view(&b), eps, silu, imp)
        } else if name.starts_with("layer_norm") {
            layer_norm(xv, view(&w), view(&b), eps, imp)
        } else if name.starts_with("rms_norm") {
            rms_norm(xv, view(&w), eps, imp)
        } else {
            let (sc, sh) = (vector("scale").unwrap(), vector("shift").unwrap());
            ada_layer_norm(
                xv,
                view(&Some(sc)).unwrap(),
                view(&Some(sh)).unwrap(),
                eps,
                imp,
            )
        }
        .unwrap();
        assert_eq!(got.shape, xs);
        let want = widen(&T::decode(&case["out"]));
        assert_close(&format!("{name} {imp:?}"), &widen(&got.data), &want, T::TOL);
    }
}

#[test]
fn norms_match_torch() {
    let doc = fixture("norm");
    let cases = doc["cases"].as_object().unwrap();
    assert_eq!(cases.len(), 15, "five norms in three dtypes");
    for (name, case) in cases {
        match case["x"]["dtype"].as_str().unwrap() {
            "f16" => norm_case::<f16>(name, case),
            "bf16" => norm_case::<bf16>(name, case),
            _ => norm_case::<f32>(name, case),
        }
    }
}

#[test]
fn glu_matches_diffusers_and_torch() {
    let doc = fixture("glu");
    for (name, case) in doc["cases"].as_object().unwrap() {
        let x = f32s(&case["x"]);
        let xs = shape(&case["x"]);
        let xv = TensorView::new(&x, &xs).unwrap();
        for imp in IMPLS {
            let got = match case["approximate"].as_str() {
                Some("tanh") => geglu(xv, Gelu::Tanh, imp),
                Some(_) => geglu(xv, Gelu::Erf, imp),
                None => swiglu(xv, imp),
            }
            .unwrap();
            assert_eq!(got.shape, shape(&case["out"]));
            assert_close(
                &format!("{name} {imp:?}"),
                &got.data,
                &f32s(&case["out"]),
                F32,
            );
        }
    }
}

#[test]
fn rope_matches_diffusers() {
    let doc = fixture("rope");
    for (name, case) in doc["cases"].as_object().unwrap() {
        let (x, c, s) = (f32s(&case["x"]), f32s(&case["cos"]), f32s(&case["sin"]));
        let (xs, cs) = (shape(&case["x"]), shape(&case["cos"]));
        let mode = match case["mode"].as_str().unwrap() {
            "interleaved" => RopeMode::Interleaved,
            _ => RopeMode::Half,
        };
        for imp in IMPLS {
            let got = rope(
                TensorView::new(&x, &xs).unwrap(),
                TensorView::new(&c, &cs).unwrap(),
                TensorView::new(&s, &cs).unwrap(),
                layout(case),
                mode,
                imp,
            )
            .unwrap();
            assert_close(
                &format!("{name} {imp:?}"),
                &got.data,
                &f32s(&case["out"]),
                F32,
            );
        }
    }
}

fn sorted_rows(data: &[f32], c: usize) -> Vec<f32> {
    let mut rows: Vec<&[f32]> = data.chunks(c).collect();
    rows.sort_by(|a, b| {
        a.iter()
            .zip(*b)
            .map(|(x, y)| x.total_cmp(y))
            .find(|o| o.is_ne())
            .unwrap_or(std::cmp::Ordering::Equal)
    });
    rows.concat()
}

#[test]
fn token_merging_matches_tomesd() {
    let doc = fixture("tome");
    for (name, case) in doc["cases"].as_object().unwrap() {
        let get = |k: &str| case[k].as_u64().unwrap() as usize;
        let cfg = TomeConfig {
            w: get("w"),
            h: get("h"),
            sx: get("sx"),
            sy: get("sy"),
            r: get("r"),
        };
        let dst = match case.get("destinations") {
            Some(d) => Destinations::Chosen(
                d.as_array()
                    .unwrap()
                    .iter()
                    .map(|v| v.as_u64().unwrap() as usize)
                    .collect(),
            ),
            None => Destinations::TopLeft,
        };
        let (metric, x) = (f32s(&case["metric"]), f32s(&case["x"]));
        let (ms, xs) = (shape(&case["metric"]), shape(&case["x"]));
        let plan = MergePlan::new(TensorView::new(&metric, &ms).unwrap(), cfg, &dst).unwrap();
        let merged = plan.merge(TensorView::new(&x, &xs).unwrap()).unwrap();
        assert_eq!(merged.shape, shape(&case["merged"]), "{name}");
        // tomesd orders destinations by torch's unstable argsort, which is not raster
        // order; kept sources (similarity order) must match row for row, destinations as
        // a set of rows. unmerge, which puts every row back in place, must match exactly.
        let c = xs[2];
        let want = f32s(&case["merged"]);
        let kept = (merged.shape[1] - plan.destinations()) * c;
        for b in 0..xs[0] {
            let range = b * merged.shape[1] * c..(b + 1) * merged.shape[1] * c;
            let (got_b, want_b) = (&merged.data[range.clone()], &want[range]);
            assert_close(
                &format!("{name} merge kept"),
                &got_b[..kept],
                &want_b[..kept],
                F32,
            );
            assert_close(
                &format!("{name} merge destinations"),
                &sorted_rows(&got_b[kept..], c),
                &sorted_rows(&want_b[kept..], c),
                F32,
            );
        }
        let unmerged = plan.unmerge(merged.view()).unwrap();
        assert_eq!(unmerged.shape, xs, "{name}");
        assert_close(
            &format!("{name} unmerge"),
            &unmerged.data,
            &f32s(&case["unmerged"]),
            F32,
        );
    }
}

/// The candle entry point (similarity by candle matmul) picks the same merges as tomesd.
#[test]
fn candle_token_merge_matches_tomesd() {
    use ops_npu::candle_ops::tome::TokenMerge;
    let doc = fixture("tome");
    for (name, case) in doc["cases"].as_object().unwrap() {
        let get = |k: &str| case[k].as_u64().unwrap() as usize;
        let cfg = TomeConfig {
            w: get("w"),
            h: get("h"),
            sx: get("sx"),
            sy: get("sy"),
            r: get("r"),
        };
        let dst = match case.get("destinations") {
            Some(d) => Destinations::Chosen(
                d.as_array()
                    .unwrap()
                    .iter()
                    .map(|v| v.as_u64().unwrap() as usize)
                    .collect(),
            ),
            None => Destinations::TopLeft,
        };
        let tensor = |k: &str| {
            candle_core::Tensor::from_vec(
                f32s(&case[k]),
                shape(&case[k]),
                &candle_core::Device::Cpu,
            )
            .unwrap()
        };
        let merge = TokenMerge::new(&tensor("metric"), cfg, &dst).unwrap();
        let merged = merge.merge(&tensor("x")).unwrap();
        assert_eq!(merged.dims(), shape(&case["merged"]).as_slice(), "{name}");
        let unmerged = merge.unmerge(&merged).unwrap();
        assert_close(
            &format!("{name} candle unmerge"),
            &unmerged.flatten_all().unwrap().to_vec1::<f32>().unwrap(),
            &f32s(&case["unmerged"]),
            F32,
        );
    }
}
