//! 3x3, stride 1, padding 1 convolution by Winograd's minimal filtering F(2x2, 3x3)
//! (Lavin & Gray, 2015): each 2x2 output tile costs 16 multiplies per channel pair instead
//! of 36, so the GEMM work of the convolution drops 2.25x. Four steps: the weight
//! transform `U = G g G^T` (done once, at load), the input transform `V = B^T d B` of
//! every overlapping 4x4 input tile, 16 GEMMs `M[k] = U[k] V[k]`, and the output transform
//! `A^T M A` (with the bias added there). f32 only; the transforms' coefficients are 0,
//! +-1 and +-1/2, so the rounding stays at the level of the plain convolution.

use crate::error::{OpsError, Result};
use crate::gemm::{Batch, GemmOptions, MatMut, MatRef, gemm_batched_with};
use crate::tensor::{Implementation, Tensor, TensorView, element_count, write_new_vec};
use rayon::prelude::*;
use std::mem::MaybeUninit;

/// `[c_out, c_in, 3, 3]` -> `U`, `[16, c_out, c_in]`.
pub fn transform_weight(weight: TensorView<'_, f32>) -> Result<Tensor<f32>> {
    let [c_out, c_in, kh, kw] = weight.dims("weight")?;
    if (kh, kw) != (3, 3) {
        return Err(OpsError::shape(
            "weight",
            format!("Winograd F(2x2, 3x3) needs a 3x3 kernel, got {kh}x{kw}"),
        ));
    }
    let pairs = c_out * c_in;
    let mut u = vec![0f32; element_count("Winograd weight", &[16, pairs])?];
    for (pair, k) in weight.data().chunks_exact(9).enumerate() {
        // G g: 4x3, then (G g) G^T: 4x4.
        let mut gg = [[0f32; 3]; 4];
        for c in 0..3 {
            let (a, b, d) = (k[c], k[3 + c], k[6 + c]);
            gg[0][c] = a;
            gg[1][c] = 0.5 * (a + b + d);
            gg[2][c] = 0.5 * (a - b + d);
            gg[3][c] = d;
        }
        for (r, row) in gg.iter().enumerate() {
            let (a, b, d) = (row[0], row[1], row[2]);
            let out = [a, 0.5 * (a + b + d), 0.5 * (a - b + d), d];
            for (c, v) in out.into_iter().enumerate() {
                u[(r * 4 + c) * pairs + pair] = v;
            }
        }
    }
    Ok(Tensor {
        data: u,
        shape: vec![16, c_out, c_in],
    })
}

/// The convolution of `x` `[b, c_in, h, w]` with transformed weights `u`
/// `[16, c_out, c_in]` (from [`transform_weight`]) plus `bias` `[c_out]`.
pub fn conv3x3(
    x: TensorView<'_, f32>,
    u: TensorView<'_, f32>,
    bias: Option<&[f32]>,
) -> Result<Tensor<f32>> {
    let [b, c, h, w] = x.dims("x")?;
    let [sixteen, c_out, c_in] = u.dims("weight")?;
    if (sixteen, c_in) != (16, c) {
        return Err(OpsError::shape(
            "weight",
            format!(
                "a Winograd weight for {c} input channels is [16, c_out, {c}], got {:?}",
                u.shape()
            ),
        ));
    }
    super::params::check_bias(bias, c_out)?;
    let (th, tw) = tiles(h, w);
    let n = b * th * tw;
    let v = input_transform(x.data(), [b, c, h, w])?;
    let mut m = vec![0f32; element_count("Winograd products", &[16, c_out, n])?];
    let batch = Batch {
        count: 16,
        stride_a: c_out * c,
        stride_b: c * n,
        stride_c: c_out * n,
    };
    gemm_batched_with(
        MatRef::new(u.data(), c_out, c),
        MatRef::new(&v, c, n),
        MatMut::new(&mut m, c_out, n),
        batch,
        &GemmOptions::default(),
        Implementation::Optimised,
    )?;
    let y = output_transform(&m, [c_out, n], bias, [b, h, w])?;
    Ok(Tensor {
        data: y,
        shape: vec![b, c_out, h, w],
    })
}

fn tiles(h: usize, w: usize) -> (usize, usize) {
    (h.div_ceil(2), w.div_ceil(2))
}

/// `[b, c, h, w]` -> `V`, `[16, c, b * tiles]` with tiles = ceil(h/2) * ceil(w/2).
fn input_transform(x: &[f32], [b, c, h, w]: [usize; 4]) -> Result<Vec<f32>> {
    let (th, tw) = tiles(h, w);
    let n = b * th * tw;
    let len = element_count("Winograd input", &[16, c, n])?;
    if len == 0 {
        return Ok(Vec::new());
    }
    // SAFETY: `write_input_transform` initialises every element (see there).
    Ok(unsafe { write_new_vec(len, |v| write_input_transform(x, [b, c, h, w], v)) })
}

/// Writes all of `v` (`16 * c * n` values): channel `ch`'s task gets the 16 runs
/// `[k * c * n + ch * n, +n)` and writes each in full, `tw` values for every (image, tile
/// row) in turn, and those `b * th` pieces of `tw` tile `n`.
fn write_input_transform(x: &[f32], [b, c, h, w]: [usize; 4], v: &mut [MaybeUninit<f32>]) {
    let (th, tw) = tiles(h, w);
    let n = b * th * tw;
    // Handing each channel's task its own 16 runs lets the channels run in parallel.
    let mut runs: Vec<Vec<&mut [MaybeUninit<f32>]>> =
        (0..c).map(|_| Vec::with_capacity(16)).collect();
    for plane in v.chunks_mut(c * n) {
        for (ch, run) in plane.chunks_mut(n).enumerate() {
            runs[ch].push(run);
        }
    }
    runs.into_par_iter().enumerate().for_each(|(ch, mut out)| {
        // The zero-padded input row split into its even and odd columns: tile tx reads
        // padded columns 2tx..2tx+3, i.e. even[tx], odd[tx], even[tx+1], odd[tx+1], so
        // every step below is an element-wise loop over the tiles of a row (vectorised),
        // and each of the 16 outputs is one contiguous run of `tw` values.
        let mut even = [
            vec![0f32; tw + 1],
            vec![0f32; tw + 1],
            vec![0f32; tw + 1],
            vec![0f32; tw + 1],
        ];
        let mut odd = even.clone();
        let mut t_even = even.clone();
        let mut t_odd = even.clone();
        for img in 0..b {
            let src = &x[(img * c + ch) * h * w..(img * c + ch + 1) * h * w];
            for ty in 0..th {
                for r in 0..4 {
                    let iy = (2 * ty + r) as isize - 1;
                    let row = (iy >= 0 && (iy as usize) < h)
                        .then(|| &src[iy as usize * w..(iy as usize + 1) * w]);
                    split_padded_row(row, &mut even[r], &mut odd[r]);
                }
                // B^T d: the same row combination on the even and the odd columns.
                for (t, d) in [(&mut t_even, &even), (&mut t_odd, &odd)] {
                    combine(&mut t[0], &d[0], &d[2], |a, b| a - b);
                    combine(&mut t[1], &d[1], &d[2], |a, b| a + b);
                    combine(&mut t[2], &d[2], &d[1], |a, b| a - b);
                    combine(&mut t[3], &d[1], &d[3], |a, b| a - b);
                }
                let col0 = (img * th + ty) * tw;
                for (k, run) in out.iter_mut().enumerate() {
                    let (e, o) = (&t_even[k / 4][..], &t_odd[k / 4][..]);
                    let dst = &mut run[col0..col0 + tw];
                    // (B^T d) B on the columns of each tile.
                    match k % 4 {
                        0 => write_combined(dst, &e[..tw], &e[1..], |a, b| a - b),
                        1 => write_combined(dst, &o[..tw], &e[1..], |a, b| a + b),
                        2 => write_combined(dst, &e[1..], &o[..tw], |a, b| a - b),
                        _ => write_combined(dst, &o[..tw], &o[1..], |a, b| a - b),
                    }
                }
            }
        }
    });
}

/// `even[t]`, `odd[t]` = columns `2t`, `2t + 1` of the row padded by one zero on the left
/// and zeros past its end (`None`: a padding row).
fn split_padded_row(row: Option<&[f32]>, even: &mut [f32], odd: &mut [f32]) {
    even.fill(0.0);
    odd.fill(0.0);
    let Some(row) = row else { return };
    for (x, &value) in row.iter().enumerate() {
        let padded = x + 1;
        if padded % 2 == 0 {
            even[padded / 2] = value;
        } else {
            odd[padded / 2] = value;
        }
    }
}

/// `out[i] = f(a[i], b[i])` over the shortest of the three.
#[inline(always)]
fn combine(out: &mut [f32], a: &[f32], b: &[f32], f: impl Fn(f32, f32) -> f32) {
    for ((o, &x), &y) in out.iter_mut().zip(a).zip(b) {
        *o = f(x, y);
    }
}

/// [`combine`] into uninitialised storage; `a` and `b` are as long as `out`, so every
/// element of `out` is written.
#[inline(always)]
fn write_combined(out: &mut [MaybeUninit<f32>], a: &[f32], b: &[f32], f: impl Fn(f32, f32) -> f32) {
    debug_assert!(a.len() == out.len() && b.len() == out.len());
    for ((o, &x), &y) in out.iter_mut().zip(a).zip(b) {
        o.write(f(x, y));
    }
}

/// `M`, `[16, c_out, b * tiles]`, plus bias -> `[b, c_out, h, w]`.
fn output_transform(
    m: &[f32],
    [c_out, n]: [usize; 2],
    bias: Option<&[f32]>,
    [b, h, w]: [usize; 3],
) -> Result<Vec<f32>> {
    let len = element_count("output", &[b, c_out, h, w])?;
    if len == 0 {
        return Ok(Vec::new());
    }
    // SAFETY: `write_output_transform` initialises every element (see there).
    Ok(unsafe {
        write_new_vec(len, |y| {
            write_output_transform(m, [c_out, n], bias, [b, h, w], y)
        })
    })
}

/// Writes all of `y`: each `h x w` plane is one task, whose tile rows `ty < ceil(h/2)`
/// write output rows `2ty` and `2ty + 1` (below `h`): every row; within a row, tile `t`
/// writes columns `2t` and `2t + 1` (below `w`) for `t < ceil(w/2)`: every column.
fn write_output_transform(
    m: &[f32],
    [c_out, n]: [usize; 2],
    bias: Option<&[f32]>,
    [b, h, w]: [usize; 3],
    y: &mut [MaybeUninit<f32>],
) {
    debug_assert_eq!(y.len(), b * c_out * h * w);
    let (th, tw) = tiles(h, w);
    let plane = c_out * n;
    y.par_chunks_mut(h * w).enumerate().for_each(|(bo, out)| {
        let (img, o) = (bo / c_out, bo % c_out);
        let mut s = [
            vec![0f32; tw],
            vec![0f32; tw],
            vec![0f32; tw],
            vec![0f32; tw],
        ];
        let (mut left, mut right) = (vec![0f32; tw], vec![0f32; tw]);
        let beta = bias.map_or(0.0, |bias| bias[o]);
        for ty in 0..th {
            // Element k of every tile of this tile row: one contiguous run.
            let col0 = o * n + (img * th + ty) * tw;
            let e = |k: usize| &m[k * plane + col0..k * plane + col0 + tw];
            for dy in 0..2 {
                let oy = 2 * ty + dy;
                if oy >= h {
                    break;
                }
                // A^T m: row 0 + 1 + 2 for the upper output row, 1 - 2 - 3 for the lower.
                for (j, sj) in s.iter_mut().enumerate() {
                    let (r0, r1, r2, r3) = (e(j), e(4 + j), e(8 + j), e(12 + j));
                    for (t, v) in sj.iter_mut().enumerate() {
                        *v = if dy == 0 {
                            r0[t] + r1[t] + r2[t]
                        } else {
                            r1[t] - r2[t] - r3[t]
                        };
                    }
                }
                // (A^T m) A: the same on the columns, then the bias.
                for t in 0..tw {
                    left[t] = s[0][t] + s[1][t] + s[2][t] + beta;
                    right[t] = s[1][t] - s[2][t] - s[3][t] + beta;
                }
                let row = &mut out[oy * w..(oy + 1) * w];
                for (pair, (&l, &r)) in row.chunks_mut(2).zip(left.iter().zip(&right)) {
                    pair[0].write(l);
                    if let Some(second) = pair.get_mut(1) {
                        second.write(r);
                    }
                }
            }
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_3x3_kernels_transform() {
        let w = vec![0f32; 2 * 2 * 5 * 5];
        let view = TensorView::new(&w, &[2, 2, 5, 5]).expect("view");
        let err = transform_weight(view).expect_err("5x5 must be refused");
        assert!(err.to_string().contains("3x3"), "{err}");
    }

    // Small integers and an all-ones kernel make every intermediate exact in f32, so the
    // result must equal the direct sum of each 3x3 neighbourhood (zero padded) exactly.
    #[test]
    fn a_box_filter_sums_each_neighbourhood_exactly() {
        // Odd and even sides (odd ones leave half tiles), one row or column, two images.
        for (h, w) in [(5, 4), (4, 5), (3, 3), (1, 7), (6, 1), (8, 10)] {
            box_filter_at(h, w);
        }
    }

    fn box_filter_at(h: usize, w: usize) {
        let data: Vec<f32> = (0..2 * h * w).map(|i| (i % 7) as f32).collect();
        let shape = [2, 1, h, w];
        let x = TensorView::new(&data, &shape).expect("x");
        let ones = [1f32; 9];
        let u = transform_weight(TensorView::new(&ones, &[1, 1, 3, 3]).expect("ones")).expect("u");
        let y = conv3x3(x, u.view(), Some(&[0.5])).expect("conv");
        assert_eq!(y.shape, [2, 1, h, w]);
        for img in 0..2 {
            let (src, got) = (&data[img * h * w..], &y.data[img * h * w..]);
            for r in 0..h {
                for c in 0..w {
                    let mut sum = 0.5;
                    for dr in -1isize..=1 {
                        for dc in -1isize..=1 {
                            let (rr, cc) = (r as isize + dr, c as isize + dc);
                            if rr >= 0 && cc >= 0 && (rr as usize) < h && (cc as usize) < w {
                                sum += src[rr as usize * w + cc as usize];
                            }
                        }
                    }
                    assert_eq!(got[r * w + c], sum, "{h}x{w} image {img} ({r}, {c})");
                }
            }
        }
    }
}
