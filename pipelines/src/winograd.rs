//! 3x3, stride 1, padding 1 convolution by Winograd's minimal filtering F(2x2, 3x3)
//! (Lavin & Gray, 2015): each 2x2 output tile costs 16 multiplies per channel pair instead
//! of 36, so the GEMM work of the convolution drops 2.25x. Four steps: the weight
//! transform `U = G g G^T` (done once, at load), the input transform `V = B^T d B` of
//! every overlapping 4x4 input tile, 16 GEMMs `M[k] = U[k] V[k]`, and the output transform
//! `A^T M A` (with the bias added there). f32 only; the transforms' coefficients are 0,
//! +-1 and +-1/2, so the rounding stays at the level of the plain convolution.

use candle_core::backend::BackendStorage;
use candle_core::{CpuStorage, CustomOp1, DType, Layout, Result, Shape, Tensor};
use rayon::prelude::*;

/// `[c_out, c_in, 3, 3]` -> `U`, `[16, c_out, c_in]` (f32).
pub fn transform_weight(weight: &Tensor) -> Result<Tensor> {
    let (c_out, c_in, kh, kw) = weight.dims4()?;
    if (kh, kw) != (3, 3) {
        candle_core::bail!("winograd: needs a 3x3 kernel, got {kh}x{kw}");
    }
    let g = weight
        .to_dtype(DType::F32)?
        .flatten_all()?
        .to_vec1::<f32>()?;
    let pairs = c_out * c_in;
    let mut u = vec![0f32; 16 * pairs];
    for (pair, k) in g.chunks_exact(9).enumerate() {
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
    Tensor::from_vec(u, (16, c_out, c_in), weight.device())
}

/// `[b, c, h, w]` -> `V`, `[16, c, b * tiles]` with tiles = ceil(h/2) * ceil(w/2).
#[derive(Debug, Clone, Copy)]
struct InputTransform;

/// `M`, `[16, c_out, b * tiles]`, plus bias -> `[b, c_out, h, w]`.
#[derive(Debug, Clone, Copy)]
struct OutputTransform {
    batch: usize,
    height: usize,
    width: usize,
}

fn tiles(h: usize, w: usize) -> (usize, usize) {
    (h.div_ceil(2), w.div_ceil(2))
}

/// A raw destination pointer shared by tasks that write disjoint elements.
#[derive(Clone, Copy)]
struct Dst(*mut f32);
// SAFETY: every task writes only the elements of its own channel (see InputTransform).
unsafe impl Send for Dst {}
unsafe impl Sync for Dst {}

impl Dst {
    /// Through a method, so closures capture the whole `Dst` (Send) and not its field.
    fn ptr(self) -> *mut f32 {
        self.0
    }
}

impl InputTransform {
    fn run(&self, x: &[f32], dims: &[usize]) -> Result<(Vec<f32>, Shape)> {
        let &[b, c, h, w] = dims else {
            candle_core::bail!("winograd: input must be [b, c, h, w], got {dims:?}")
        };
        let (th, tw) = tiles(h, w);
        let n = b * th * tw;
        // SAFETY: every channel's task writes all 16 * b * tiles of its values below.
        let mut v = unsafe { ops_npu::tensor::uninit_f32_vec(16 * c * n) };
        let dst = Dst(v.as_mut_ptr());
        let plane = c * n;
        (0..c).into_par_iter().for_each(|ch| {
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
                    for i in 0..4 {
                        let (e, o) = (&t_even[i][..], &t_odd[i][..]);
                        let out = |j: usize| {
                            let start = (i * 4 + j) * plane + ch * n + col0;
                            // SAFETY: start + tw <= 16 * c * n, and only channel `ch`'s
                            // task writes this run.
                            unsafe { std::slice::from_raw_parts_mut(dst.ptr().add(start), tw) }
                        };
                        // (B^T d) B on the columns of each tile.
                        combine(out(0), &e[..tw], &e[1..], |a, b| a - b);
                        combine(out(1), &o[..tw], &e[1..], |a, b| a + b);
                        combine(out(2), &e[1..], &o[..tw], |a, b| a - b);
                        combine(out(3), &o[..tw], &o[1..], |a, b| a - b);
                    }
                }
            }
        });
        Ok((v, Shape::from_dims(&[16, c, n])))
    }
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

impl OutputTransform {
    fn run(&self, m: &[f32], dims: &[usize], bias: &[f32]) -> Result<(Vec<f32>, Shape)> {
        let &[16, c_out, n] = dims else {
            candle_core::bail!("winograd: products must be [16, c_out, n], got {dims:?}")
        };
        let (b, h, w) = (self.batch, self.height, self.width);
        let (th, tw) = tiles(h, w);
        if n != b * th * tw || bias.len() != c_out {
            candle_core::bail!("winograd: {n} tiles or {} biases do not fit", bias.len());
        }
        let plane = c_out * n;
        // SAFETY: every output row of every (image, channel) plane is written below.
        let mut y = unsafe { ops_npu::tensor::uninit_f32_vec(b * c_out * h * w) };
        y.par_chunks_mut(h * w).enumerate().for_each(|(bo, out)| {
            let (img, o) = (bo / c_out, bo % c_out);
            let mut s = [
                vec![0f32; tw],
                vec![0f32; tw],
                vec![0f32; tw],
                vec![0f32; tw],
            ];
            let (mut left, mut right) = (vec![0f32; tw], vec![0f32; tw]);
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
                    let beta = bias[o];
                    for t in 0..tw {
                        left[t] = s[0][t] + s[1][t] + s[2][t] + beta;
                        right[t] = s[1][t] - s[2][t] - s[3][t] + beta;
                    }
                    let row = &mut out[oy * w..(oy + 1) * w];
                    for (pair, (&l, &r)) in row.chunks_mut(2).zip(left.iter().zip(&right)) {
                        pair[0] = l;
                        if let Some(second) = pair.get_mut(1) {
                            *second = r;
                        }
                    }
                }
            }
        });
        Ok((y, Shape::from_dims(&[b, c_out, h, w])))
    }
}

fn f32_slice<'a>(s: &'a CpuStorage, l: &Layout, what: &str) -> Result<&'a [f32]> {
    let CpuStorage::F32(v) = s else {
        candle_core::bail!("winograd: {what} must be f32, got {:?}", s.dtype())
    };
    match l.contiguous_offsets() {
        Some((a, b)) => Ok(&v[a..b]),
        None => candle_core::bail!("winograd: {what} must be contiguous"),
    }
}

impl CustomOp1 for InputTransform {
    fn name(&self) -> &'static str {
        "winograd-input"
    }

    fn cpu_fwd(&self, s: &CpuStorage, l: &Layout) -> Result<(CpuStorage, Shape)> {
        let (v, shape) = self.run(f32_slice(s, l, "input")?, l.dims())?;
        Ok((CpuStorage::F32(v), shape))
    }
}

impl candle_core::CustomOp2 for OutputTransform {
    fn name(&self) -> &'static str {
        "winograd-output"
    }

    fn cpu_fwd(
        &self,
        s1: &CpuStorage,
        l1: &Layout,
        s2: &CpuStorage,
        l2: &Layout,
    ) -> Result<(CpuStorage, Shape)> {
        let m = f32_slice(s1, l1, "products")?;
        let bias = f32_slice(s2, l2, "bias")?;
        let (y, shape) = self.run(m, l1.dims(), bias)?;
        Ok((CpuStorage::F32(y), shape))
    }
}

/// The convolution of f32 `x` `[b, c_in, h, w]` with transformed weights `u`
/// `[16, c_out, c_in]` and `bias` `[c_out]`.
pub fn conv3x3(x: &Tensor, u: &Tensor, bias: &Tensor) -> Result<Tensor> {
    let (batch, _, height, width) = x.dims4()?;
    let v = x.contiguous()?.apply_op1_no_bwd(&InputTransform)?;
    let m = ops_npu::candle_ops::matmul::matmul(u, &v, None)?;
    m.apply_op2_no_bwd(
        &bias.contiguous()?,
        &OutputTransform {
            batch,
            height,
            width,
        },
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use candle_core::Device;

    #[test]
    fn only_3x3_kernels_transform() {
        let w = Tensor::zeros((2, 2, 5, 5), DType::F32, &Device::Cpu).expect("zeros");
        let err = transform_weight(&w).expect_err("5x5 must be refused");
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
        let dev = Device::Cpu;
        let data: Vec<f32> = (0..2 * h * w).map(|i| (i % 7) as f32).collect();
        let x = Tensor::from_vec(data.clone(), (2, 1, h, w), &dev).expect("x");
        let u = transform_weight(&Tensor::ones((1, 1, 3, 3), DType::F32, &dev).expect("ones"))
            .expect("u");
        let bias = Tensor::new(&[0.5f32], &dev).expect("bias");
        let y = conv3x3(&x, &u, &bias)
            .and_then(|t| t.flatten_all())
            .and_then(|t| t.to_vec1::<f32>())
            .expect("conv");
        for img in 0..2 {
            let (src, got) = (&data[img * h * w..], &y[img * h * w..]);
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
