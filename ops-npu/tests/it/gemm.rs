//! The blocked GEMM (AVX2 copy when the host has it, and the baseline copy) against the
//! scalar reference at odd shapes, transposes, leading dimensions, alpha/beta/bias and
//! batches; the reference itself against hand-worked products; bad input.
//!
//! Tolerance: |got - want| <= 1e-5 * (|alpha| * sum_k |a_ik b_kj| + |beta c_ij| + |bias_j|),
//! i.e. relative to the magnitude of the terms summed. f32 accumulation in blocks of 256
//! stays near sqrt(k) * 6e-8 of that (< 4e-6 at k = 4099), while dropping or doubling a
//! single term of k <= 4099 moves the result by ~1/k of it (> 2.4e-4), so a wrong index
//! fails.

use crate::common::Rng;
use ops_npu::gemm::{Batch, GemmOptions, MatMut, MatRef, gemm, gemm_batched_with, gemm_with};
use ops_npu::{Implementation, OpsError};

const OPTIMISED: [Implementation; 2] = [Implementation::Optimised, Implementation::Portable];

/// One product's sizes and storage choices.
#[derive(Debug, Clone, Copy)]
struct Case {
    m: usize,
    n: usize,
    k: usize,
    trans_a: bool,
    trans_b: bool,
    /// Extra elements at the end of each stored row (leading dimension > row length).
    pad: usize,
    alpha: f32,
    beta: f32,
    bias: bool,
}

struct Operands {
    a: Vec<f32>,
    b: Vec<f32>,
    c: Vec<f32>,
    bias: Vec<f32>,
}

impl Case {
    fn a_stored(&self) -> (usize, usize) {
        if self.trans_a {
            (self.k, self.m)
        } else {
            (self.m, self.k)
        }
    }

    fn b_stored(&self) -> (usize, usize) {
        if self.trans_b {
            (self.n, self.k)
        } else {
            (self.k, self.n)
        }
    }

    fn operands(&self, rng: &mut Rng) -> Operands {
        let (ar, ac) = self.a_stored();
        let (br, bc) = self.b_stored();
        Operands {
            a: rng.vec(ar * (ac + self.pad)),
            b: rng.vec(br * (bc + self.pad)),
            c: rng.vec(self.m * (self.n + self.pad)),
            bias: rng.vec(self.n),
        }
    }

    fn run(&self, x: &Operands, imp: Implementation) -> Vec<f32> {
        let (ar, ac) = self.a_stored();
        let (br, bc) = self.b_stored();
        let mut a = MatRef::new(&x.a, ar, ac).with_ld(ac + self.pad);
        let mut b = MatRef::new(&x.b, br, bc).with_ld(bc + self.pad);
        if self.trans_a {
            a = a.t();
        }
        if self.trans_b {
            b = b.t();
        }
        let mut c = x.c.clone();
        let opts = GemmOptions {
            alpha: self.alpha,
            beta: self.beta,
            bias: self.bias.then_some(&x.bias[..]),
        };
        let out = MatMut::new(&mut c, self.m, self.n).with_ld(self.n + self.pad);
        gemm_with(a, b, out, &opts, imp).unwrap();
        c
    }

    /// Per element: the sum of the magnitudes of every term that makes it.
    fn magnitude(&self, x: &Operands) -> Vec<f32> {
        let (lda, ldb, ldc) = (
            self.a_stored().1 + self.pad,
            self.b_stored().1 + self.pad,
            self.n + self.pad,
        );
        let mut out = vec![0f32; self.m * ldc];
        for i in 0..self.m {
            for j in 0..self.n {
                let mut s = 0f64;
                for p in 0..self.k {
                    let av = if self.trans_a {
                        x.a[p * lda + i]
                    } else {
                        x.a[i * lda + p]
                    };
                    let bv = if self.trans_b {
                        x.b[j * ldb + p]
                    } else {
                        x.b[p * ldb + j]
                    };
                    s += (av as f64 * bv as f64).abs();
                }
                let mut t = self.alpha.abs() as f64 * s;
                t += (self.beta as f64 * x.c[i * ldc + j] as f64).abs();
                if self.bias {
                    t += (x.bias[j] as f64).abs();
                }
                out[i * ldc + j] = t as f32;
            }
        }
        out
    }
}

#[track_caller]
fn check(case: Case, seed: u64) {
    let x = case.operands(&mut Rng::new(seed));
    let want = case.run(&x, Implementation::Reference);
    let scale = case.magnitude(&x);
    for imp in OPTIMISED {
        let got = case.run(&x, imp);
        for (idx, ((g, w), s)) in got.iter().zip(&want).zip(&scale).enumerate() {
            let (i, j) = (idx / (case.n + case.pad), idx % (case.n + case.pad));
            if j >= case.n {
                // Padding between rows of C is never written.
                assert_eq!(
                    g.to_bits(),
                    x.c[idx].to_bits(),
                    "{case:?} {imp:?}: pad ({i}, {j})"
                );
                continue;
            }
            assert!(
                (g - w).abs() <= 1e-5 * s,
                "{case:?} {imp:?}: C[{i}, {j}] = {g}, reference {w} (term magnitude {s})"
            );
        }
    }
}

fn plain(m: usize, n: usize, k: usize) -> Case {
    Case {
        m,
        n,
        k,
        trans_a: false,
        trans_b: false,
        pad: 0,
        alpha: 1.0,
        beta: 0.0,
        bias: false,
    }
}

// Sizes around the register tile (6 x 16, 2 x 16 on the baseline copy), the blocks
// (kKC = 256, kMC = 120, kNC = 3072, kNS = 256) and the threading threshold (2^20).
const SHAPES: [(usize, usize, usize); 16] = [
    (1, 1, 1),
    (1, 1, 7),
    (7, 1, 1),
    (1, 17, 3),
    (13, 17, 1),
    (6, 16, 256),
    (7, 17, 257),
    (2, 5, 1500),
    (31, 47, 513),
    (97, 211, 37),
    (121, 33, 600),
    (241, 257, 29),
    (130, 300, 70),
    (5, 3100, 19),
    (3, 3, 4099),
    (64, 640, 40),
];

#[test]
fn plain_products_match_the_reference() {
    for (i, &(m, n, k)) in SHAPES.iter().enumerate() {
        check(plain(m, n, k), i as u64);
    }
}

#[test]
fn every_transpose_and_leading_dimension_matches() {
    for (i, &(m, n, k)) in SHAPES.iter().enumerate() {
        for (trans_a, trans_b) in [(true, false), (false, true), (true, true)] {
            check(
                Case {
                    trans_a,
                    trans_b,
                    ..plain(m, n, k)
                },
                100 + i as u64,
            );
        }
        check(
            Case {
                pad: 3,
                trans_b: i % 2 == 0,
                ..plain(m, n, k)
            },
            200 + i as u64,
        );
    }
}

#[test]
fn alpha_beta_and_bias_match() {
    for (i, &(m, n, k)) in SHAPES.iter().enumerate() {
        for (alpha, beta, bias) in [(0.5, 0.0, true), (1.0, 1.0, false), (-2.0, 0.75, true)] {
            check(
                Case {
                    alpha,
                    beta,
                    bias,
                    pad: i % 3,
                    trans_a: i % 2 == 1,
                    ..plain(m, n, k)
                },
                300 + i as u64,
            );
        }
    }
}

#[test]
fn the_reference_matches_hand_worked_products() {
    // A = [[1, 2, 3], [4, 5, 6]], B = [[1, 0], [0, 1], [2, -1]]:
    // A B = [[7, -1], [16, -1]]; alpha 2, beta 1 over C = [[1, 1], [1, 1]], bias [10, 20].
    let a = [1.0, 2.0, 3.0, 4.0, 5.0, 6.0];
    let b = [1.0, 0.0, 0.0, 1.0, 2.0, -1.0];
    let bt = [1.0, 0.0, 2.0, 0.0, 1.0, -1.0]; // B stored transposed, [2 x 3]
    let at = [1.0, 4.0, 2.0, 5.0, 3.0, 6.0]; // A stored transposed, [3 x 2]
    let opts = GemmOptions {
        alpha: 2.0,
        beta: 1.0,
        bias: Some(&[10.0, 20.0]),
    };
    let want = [25.0, 19.0, 43.0, 19.0];
    for imp in [
        Implementation::Reference,
        Implementation::Optimised,
        Implementation::Portable,
    ] {
        for (ma, mb) in [
            (MatRef::new(&a, 2, 3), MatRef::new(&b, 3, 2)),
            (MatRef::new(&at, 3, 2).t(), MatRef::new(&bt, 2, 3).t()),
        ] {
            let mut c = [1.0; 4];
            gemm_with(ma, mb, MatMut::new(&mut c, 2, 2), &opts, imp).unwrap();
            assert_eq!(c, want, "{imp:?}");
        }
    }
}

#[test]
fn beta_zero_ignores_nan_in_c_and_k_zero_leaves_the_epilogue() {
    let a = vec![1.0f32; 20 * 30];
    let b = vec![1.0f32; 30 * 40];
    for imp in OPTIMISED {
        let mut c = vec![f32::NAN; 20 * 40];
        gemm_with(
            MatRef::new(&a, 20, 30),
            MatRef::new(&b, 30, 40),
            MatMut::new(&mut c, 20, 40),
            &GemmOptions::default(),
            imp,
        )
        .unwrap();
        assert!(c.iter().all(|&v| v == 30.0), "{imp:?}");
        // k = 0: C = beta * C + bias.
        let bias: Vec<f32> = (0..40).map(|j| j as f32).collect();
        let opts = GemmOptions {
            beta: 0.5,
            bias: Some(&bias),
            ..Default::default()
        };
        gemm_with(
            MatRef::new(&[], 20, 0),
            MatRef::new(&[], 0, 40),
            MatMut::new(&mut c, 20, 40),
            &opts,
            imp,
        )
        .unwrap();
        assert!(
            c.iter()
                .enumerate()
                .all(|(i, &v)| v == 15.0 + (i % 40) as f32),
            "{imp:?}"
        );
    }
}

#[test]
fn batches_with_a_shared_weight_match_one_product_each() {
    // conv-style: one weight [m x k] against `count` column matrices [k x n].
    let (count, m, n, k) = (3, 11, 70, 45);
    let mut rng = Rng::new(7);
    let w = rng.vec(m * k);
    let cols = rng.vec(count * k * n);
    let batch = Batch {
        count,
        stride_a: 0,
        stride_b: k * n,
        stride_c: m * n,
    };
    for imp in OPTIMISED {
        let mut got = vec![0f32; count * m * n];
        gemm_batched_with(
            MatRef::new(&w, m, k),
            MatRef::new(&cols, k, n),
            MatMut::new(&mut got, m, n),
            batch,
            &GemmOptions::default(),
            imp,
        )
        .unwrap();
        for i in 0..count {
            let mut one = vec![0f32; m * n];
            gemm_with(
                MatRef::new(&w, m, k),
                MatRef::new(&cols[i * k * n..(i + 1) * k * n], k, n),
                MatMut::new(&mut one, m, n),
                &GemmOptions::default(),
                Implementation::Reference,
            )
            .unwrap();
            for (g, r) in got[i * m * n..(i + 1) * m * n].iter().zip(&one) {
                assert!((g - r).abs() <= 1e-4, "{imp:?} batch {i}: {g} vs {r}");
            }
        }
    }
}

#[test]
fn bad_input_names_the_argument() {
    let a = vec![0f32; 6];
    let mut c = vec![0f32; 4];
    let err = |r: Result<(), OpsError>| match r.unwrap_err() {
        OpsError::Shape { arg, message } => (arg, message),
        other => panic!("not a shape error: {other}"),
    };
    let opts = GemmOptions::default();
    // Inner sizes disagree.
    let (arg, _) = err(gemm(
        MatRef::new(&a, 2, 3),
        MatRef::new(&a, 2, 3),
        MatMut::new(&mut c, 2, 2),
        &opts,
    ));
    assert_eq!(arg, "b");
    // C has the wrong shape.
    let (arg, _) = err(gemm(
        MatRef::new(&a, 2, 3),
        MatRef::new(&a, 3, 2),
        MatMut::new(&mut c, 2, 3),
        &opts,
    ));
    assert_eq!(arg, "c");
    // Too little storage for the declared rows.
    let (arg, msg) = err(gemm(
        MatRef::new(&a[..5], 2, 3),
        MatRef::new(&a, 3, 2),
        MatMut::new(&mut c, 2, 2),
        &opts,
    ));
    assert_eq!(arg, "a", "{msg}");
    // Leading dimension shorter than a row.
    let (arg, _) = err(gemm(
        MatRef::new(&a, 2, 3),
        MatRef::new(&a, 3, 2).with_ld(1),
        MatMut::new(&mut c, 2, 2),
        &opts,
    ));
    assert_eq!(arg, "b");
    // Bias of the wrong length.
    let bad_bias = GemmOptions {
        bias: Some(&[1.0; 3]),
        ..opts
    };
    let (arg, _) = err(gemm(
        MatRef::new(&a, 2, 3),
        MatRef::new(&a, 3, 2),
        MatMut::new(&mut c, 2, 2),
        &bad_bias,
    ));
    assert_eq!(arg, "bias");
    assert_eq!(c, vec![0f32; 4], "nothing written on error");
}
