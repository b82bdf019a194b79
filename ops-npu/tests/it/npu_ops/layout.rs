//! Views made contiguous, casts, copies into windows, fills, concatenation, padding,
//! nearest upsampling and the index ops.

use super::elementwise::views;
use super::support::*;
use crate::common::{Rng, host};
use candle_core::{DType, Device, Tensor};
use ops_npu::npu::NpuDType;
use ops_npu::npu::ops;

#[test]
fn views_copies_casts_and_fills_keep_every_element_in_place() {
    let env = open();
    let s = &env.s;
    let mut rng = Rng::new(201);
    for dtype in DTYPES {
        let a = random(&mut rng, &[2, 3, 4, 5], dtype);
        let ad = to_npu(s, &a);
        // A permuted view made contiguous on the device is exactly candle's permutation.
        let p = ad.permute(&[0, 2, 3, 1]).unwrap();
        assert!(!p.is_contiguous());
        let want = host(&a.permute((0, 2, 3, 1)).unwrap());
        assert_eq!(
            from_npu(s, &p.contiguous(s).unwrap()),
            want,
            "permute {dtype:?}"
        );
        // Narrowed and chunked views read the right window.
        let chunks = ad.chunk(3, 1).unwrap();
        assert_eq!(
            from_npu(s, &chunks[2]),
            host(&a.narrow(1, 2, 1).unwrap()),
            "chunk"
        );
        // Broadcast views (stride 0) materialise as repeats.
        let row = to_npu(s, &a.narrow(0, 0, 1).unwrap());
        let rep = row.broadcast_as(&[3, 3, 4, 5]).unwrap();
        let want = host(
            &a.narrow(0, 0, 1)
                .unwrap()
                .broadcast_as((3, 3, 4, 5))
                .unwrap(),
        );
        assert_eq!(
            from_npu(s, &rep.contiguous(s).unwrap()),
            want,
            "broadcast {dtype:?}"
        );

        // Casts between the floating types round as candle's to_dtype does.
        for to in DTYPES {
            let got = ops::cast(s, &ad, npu_dtype(to)).unwrap();
            assert_eq!(got.dtype(), npu_dtype(to));
            let want = host(&a.to_dtype(to).unwrap());
            assert_units(
                &format!("cast {dtype:?}->{to:?}"),
                to,
                &from_npu(s, &got),
                &want,
                0.0,
                1.0,
            );
        }

        // copy_into a window of a bigger tensor leaves the rest untouched.
        let big = to_npu(
            s,
            &Tensor::zeros((4, 3, 4, 5), dtype, &Device::Cpu).unwrap(),
        );
        let window = big.narrow(0, 1, 2).unwrap();
        ops::copy_into(s, &window, &ad).unwrap();
        let zeros = Tensor::zeros((1, 3, 4, 5), dtype, &Device::Cpu).unwrap();
        let want = host(&Tensor::cat(&[&zeros, &a, &zeros], 0).unwrap());
        assert_eq!(from_npu(s, &big), want, "copy_into a window {dtype:?}");

        // fill and zero act on a strided view only.
        let col = big.narrow(3, 4, 1).unwrap();
        ops::fill(s, &col, 2.5).unwrap();
        let got = from_npu(s, &big);
        assert!(got.chunks(5).all(|r| r[4] == 2.5), "fill {dtype:?}");
        ops::zero(s, &big).unwrap();
        assert!(
            from_npu(s, &big).iter().all(|&v| v == 0.0),
            "zero {dtype:?}"
        );
    }
    assert_no_leaked_descriptors(&env);
}

#[test]
fn cat_pad_and_upsample_match_candle() {
    let env = open();
    let s = &env.s;
    let mut rng = Rng::new(202);
    for dtype in DTYPES {
        let a = random(&mut rng, &[2, 3, 4, 5], dtype);
        let b = random(&mut rng, &[2, 3, 4, 5], dtype);
        for dim in [0usize, 1, 3] {
            let b2 = b.narrow(dim, 0, 2).unwrap();
            for (view, ad) in views(s, &a) {
                let bd = to_npu(s, &b2);
                let got = ops::cat(s, &[&ad, &bd], dim as isize).unwrap();
                let want = host(&Tensor::cat(&[&a, &b2], dim).unwrap());
                assert_eq!(from_npu(s, &got), want, "cat dim {dim} {view} {dtype:?}");
            }
        }
        // pad (last dim 1 before, 2 after; third dim 0 before, 1 after) with a value.
        let ad = to_npu(s, &a);
        let got = ops::constant_pad(s, &ad, &[1, 2, 0, 1], 1.5).unwrap();
        assert_eq!(got.shape(), &[2, 3, 5, 8]);
        let wide = a.to_dtype(DType::F32).unwrap();
        let padded = wide
            .pad_with_zeros(3, 1, 2)
            .unwrap()
            .pad_with_zeros(2, 0, 1)
            .unwrap();
        let inside = wide
            .ones_like()
            .unwrap()
            .pad_with_zeros(3, 1, 2)
            .unwrap()
            .pad_with_zeros(2, 0, 1)
            .unwrap();
        // Where `inside` is 0 the value is the pad value.
        let want: Vec<f32> = host(&padded)
            .iter()
            .zip(host(&inside))
            .map(|(&v, m)| if m == 0.0 { 1.5 } else { v })
            .collect();
        assert_eq!(from_npu(s, &got), want, "constant_pad {dtype:?}");
        // Nearest upsampling by 2 (the UNet's and VAE's upsamplers).
        let got = ops::upsample_nearest2d(s, &ad, 8, 10).unwrap();
        let want = host(&a.upsample_nearest2d(8, 10).unwrap());
        assert_eq!(from_npu(s, &got), want, "upsample_nearest2d {dtype:?}");
    }
    assert_no_leaked_descriptors(&env);
}

#[test]
fn index_select_index_add_and_embedding_match_candle() {
    let env = open();
    let s = &env.s;
    let mut rng = Rng::new(203);
    let ids = [3i64, 0, 3, 1];
    let cpu_ids = Tensor::new(&ids, &Device::Cpu).unwrap();
    let npu_ids = ops_npu::npu::NpuTensor::upload(s, &ids, &[4]).unwrap();
    assert_eq!(npu_ids.dtype(), NpuDType::I64);
    for dtype in DTYPES {
        let a = random(&mut rng, &[5, 6], dtype);
        for (view, ad) in views(s, &a) {
            for dim in [0usize, 1] {
                let got = ops::index_select(s, &ad, dim as isize, &npu_ids).unwrap();
                let want = host(&a.index_select(&cpu_ids, dim).unwrap());
                assert_eq!(
                    from_npu(s, &got),
                    want,
                    "index_select dim {dim} {view} {dtype:?}"
                );
            }
        }
        // index_add with a repeated index accumulates both rows.
        let src = random(&mut rng, &[4, 6], dtype);
        let got = ops::index_add(s, &to_npu(s, &a), 0, &npu_ids, &to_npu(s, &src), 1.0).unwrap();
        let want = reference(dtype, &[&a, &src], |t| {
            t[0].index_add(&cpu_ids, &t[1], 0).unwrap()
        });
        assert_units(
            &format!("index_add {dtype:?}"),
            dtype,
            &from_npu(s, &got),
            &want,
            2.0,
            1.0,
        );
        // embedding with a 2-d id tensor.
        let ids2 = ops_npu::npu::NpuTensor::upload(s, &[1i64, 4, 0, 2, 2, 3], &[2, 3]).unwrap();
        let got = ops::embedding(s, &to_npu(s, &a), &ids2).unwrap();
        assert_eq!(got.shape(), &[2, 3, 6]);
        let flat = Tensor::new(&[1i64, 4, 0, 2, 2, 3], &Device::Cpu).unwrap();
        let want = host(&a.index_select(&flat, 0).unwrap());
        assert_eq!(from_npu(s, &got), want, "embedding {dtype:?}");
    }
    assert_no_leaked_descriptors(&env);
}
