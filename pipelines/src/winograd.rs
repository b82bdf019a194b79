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
        let mut v = vec![0f32; 16 * c * n];
        let dst = Dst(v.as_mut_ptr());
        let plane = c * n;
        (0..c).into_par_iter().for_each(|ch| {
            // Four input rows of one tile row, zero-padded by one column on the left and
            // enough on the right for the last tile: no bounds checks in the tile loop.
            let padded_width = 2 * tw + 2;
            let mut rows = vec![0f32; 4 * padded_width];
            for img in 0..b {
                let src = &x[(img * c + ch) * h * w..(img * c + ch + 1) * h * w];
                for ty in 0..th {
                    for (r, row) in rows.chunks_exact_mut(padded_width).enumerate() {
                        row.fill(0.0);
                        let iy = (2 * ty + r) as isize - 1;
                        if iy >= 0 && (iy as usize) < h {
                            let iy = iy as usize;
                            row[1..1 + w].copy_from_slice(&src[iy * w..(iy + 1) * w]);
                        }
                    }
                    let col0 = (img * th + ty) * tw;
                    let (d0, rest) = rows.split_at(padded_width);
                    let (d1, rest) = rest.split_at(padded_width);
                    let (d2, d3) = rest.split_at(padded_width);
                    for tx in 0..tw {
                        let x0 = 2 * tx;
                        let tile = |row: &[f32]| [row[x0], row[x0 + 1], row[x0 + 2], row[x0 + 3]];
                        let d = [tile(d0), tile(d1), tile(d2), tile(d3)];
                        // B^T d (rows), then (B^T d) B (columns).
                        let t = [
                            sub(d[0], d[2]),
                            add(d[1], d[2]),
                            sub(d[2], d[1]),
                            sub(d[1], d[3]),
                        ];
                        for (i, row) in t.iter().enumerate() {
                            let out = [
                                row[0] - row[2],
                                row[1] + row[2],
                                row[2] - row[1],
                                row[1] - row[3],
                            ];
                            for (j, value) in out.into_iter().enumerate() {
                                let index = (i * 4 + j) * plane + ch * n + col0 + tx;
                                // SAFETY: index < 16 * c * n, and only channel `ch`'s
                                // task writes indices with this `ch`.
                                unsafe { *dst.ptr().add(index) = value };
                            }
                        }
                    }
                }
            }
        });
        Ok((v, Shape::from_dims(&[16, c, n])))
    }
}

fn add(a: [f32; 4], b: [f32; 4]) -> [f32; 4] {
    [a[0] + b[0], a[1] + b[1], a[2] + b[2], a[3] + b[3]]
}

fn sub(a: [f32; 4], b: [f32; 4]) -> [f32; 4] {
    [a[0] - b[0], a[1] - b[1], a[2] - b[2], a[3] - b[3]]
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
        let mut y = vec![0f32; b * c_out * h * w];
        y.par_chunks_mut(h * w).enumerate().for_each(|(bo, out)| {
            let (img, o) = (bo / c_out, bo % c_out);
            for ty in 0..th {
                for tx in 0..tw {
                    let col = (img * th + ty) * tw + tx;
                    let e = |k: usize| m[k * plane + o * n + col];
                    // A^T m (rows), then (A^T m) A (columns).
                    let row = |i: usize| [e(i * 4), e(i * 4 + 1), e(i * 4 + 2), e(i * 4 + 3)];
                    let (r0, r1, r2, r3) = (row(0), row(1), row(2), row(3));
                    let s0 = add(add(r0, r1), r2);
                    let s1 = sub(sub(r1, r2), r3);
                    for (dy, s) in [s0, s1].into_iter().enumerate() {
                        let oy = 2 * ty + dy;
                        if oy >= h {
                            continue;
                        }
                        let pair = [s[0] + s[1] + s[2], s[1] - s[2] - s[3]];
                        for (dx, value) in pair.into_iter().enumerate() {
                            let ox = 2 * tx + dx;
                            if ox < w {
                                out[oy * w + ox] = value + bias[o];
                            }
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
        let dev = Device::Cpu;
        let (h, w) = (5, 4);
        let data: Vec<f32> = (0..h * w).map(|i| (i % 7) as f32).collect();
        let x = Tensor::from_vec(data.clone(), (1, 1, h, w), &dev).expect("x");
        let u = transform_weight(&Tensor::ones((1, 1, 3, 3), DType::F32, &dev).expect("ones"))
            .expect("u");
        let bias = Tensor::new(&[0.5f32], &dev).expect("bias");
        let y = conv3x3(&x, &u, &bias)
            .and_then(|t| t.flatten_all())
            .and_then(|t| t.to_vec1::<f32>())
            .expect("conv");
        for r in 0..h {
            for c in 0..w {
                let mut sum = 0.5;
                for dr in -1isize..=1 {
                    for dc in -1isize..=1 {
                        let (rr, cc) = (r as isize + dr, c as isize + dc);
                        if rr >= 0 && cc >= 0 && (rr as usize) < h && (cc as usize) < w {
                            sum += data[rr as usize * w + cc as usize];
                        }
                    }
                }
                assert_eq!(y[r * w + c], sum, "({r}, {c})");
            }
        }
    }
}
