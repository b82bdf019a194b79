//! f32 matrix product `C = alpha * op(A) * op(B) + beta * C + bias` on the CPU: a
//! BLIS-style packed GEMM (csrc/gemm_body.inc) with an AVX2+FMA 6x16 micro-kernel chosen
//! at run time and a baseline-ISA copy, threaded on the crate's worker pool.
//!
//! ```
//! use ops_npu::gemm::{gemm, GemmOptions, MatMut, MatRef};
//! let a = [1.0f32, 2.0, 3.0, 4.0]; // [2 x 2]
//! let w = [1.0f32, 0.0, 0.0, 1.0, 1.0, 1.0]; // a Linear weight [3 x 2]
//! let mut y = [0.0f32; 6];
//! // y = a @ w^T + bias
//! let opts = GemmOptions { bias: Some(&[0.5, 0.5, 0.5]), ..Default::default() };
//! gemm(MatRef::new(&a, 2, 2), MatRef::new(&w, 3, 2).t(), MatMut::new(&mut y, 2, 3), &opts)?;
//! assert_eq!(y, [1.5, 2.5, 3.5, 3.5, 4.5, 7.5]);
//! # Ok::<(), ops_npu::OpsError>(())
//! ```

use crate::bridge::ffi;
use crate::error::{OpsError, Result};
use crate::tensor::{Implementation, cpu_threads};

/// A read-only row-major matrix: `rows x cols` as stored, rows `ld` elements apart, used
/// as itself or (with `transposed`) as its transpose.
#[derive(Debug, Clone, Copy)]
pub struct MatRef<'a> {
    pub data: &'a [f32],
    pub rows: usize,
    pub cols: usize,
    pub ld: usize,
    pub transposed: bool,
}

impl<'a> MatRef<'a> {
    /// A contiguous `rows x cols` matrix.
    pub fn new(data: &'a [f32], rows: usize, cols: usize) -> Self {
        Self {
            data,
            rows,
            cols,
            ld: cols,
            transposed: false,
        }
    }

    /// The same storage used as its transpose.
    pub fn t(self) -> Self {
        Self {
            transposed: !self.transposed,
            ..self
        }
    }

    /// Rows `ld` elements apart (a sub-matrix of a wider one).
    pub fn with_ld(self, ld: usize) -> Self {
        Self { ld, ..self }
    }

    /// (rows, cols) of the matrix as used in the product.
    fn op_dims(&self) -> (usize, usize) {
        if self.transposed {
            (self.cols, self.rows)
        } else {
            (self.rows, self.cols)
        }
    }
}

/// The output matrix, row-major, rows `ld` elements apart.
#[derive(Debug)]
pub struct MatMut<'a> {
    pub data: &'a mut [f32],
    pub rows: usize,
    pub cols: usize,
    pub ld: usize,
}

impl<'a> MatMut<'a> {
    pub fn new(data: &'a mut [f32], rows: usize, cols: usize) -> Self {
        Self {
            data,
            rows,
            cols,
            ld: cols,
        }
    }

    pub fn with_ld(self, ld: usize) -> Self {
        Self { ld, ..self }
    }
}

/// Scaling and the added terms. With `beta == 0` C is only written (BLAS semantics: its
/// old contents, NaN included, do not matter).
#[derive(Debug, Clone, Copy)]
pub struct GemmOptions<'a> {
    pub alpha: f32,
    pub beta: f32,
    /// A row vector of `n` values added to every row of C (a Linear's bias).
    pub bias: Option<&'a [f32]>,
}

impl Default for GemmOptions<'_> {
    fn default() -> Self {
        Self {
            alpha: 1.0,
            beta: 0.0,
            bias: None,
        }
    }
}

/// A batch of products: matrix `i` of A, B and C starts `i * stride` elements after the
/// first; a stride of 0 shares one matrix across the batch (a conv weight).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Batch {
    pub count: usize,
    pub stride_a: usize,
    pub stride_b: usize,
    pub stride_c: usize,
}

impl Batch {
    /// A single product.
    pub const ONE: Batch = Batch {
        count: 1,
        stride_a: 0,
        stride_b: 0,
        stride_c: 0,
    };
}

/// `C = alpha * op(A) * op(B) + beta * C + bias` with the optimised kernel.
pub fn gemm(a: MatRef<'_>, b: MatRef<'_>, c: MatMut<'_>, opts: &GemmOptions<'_>) -> Result<()> {
    gemm_batched_with(a, b, c, Batch::ONE, opts, Implementation::Optimised)
}

/// [`gemm`] with a chosen implementation (the scalar reference is the tests' oracle).
pub fn gemm_with(
    a: MatRef<'_>,
    b: MatRef<'_>,
    c: MatMut<'_>,
    opts: &GemmOptions<'_>,
    imp: Implementation,
) -> Result<()> {
    gemm_batched_with(a, b, c, Batch::ONE, opts, imp)
}

/// A batch of products sharing sizes; `a`, `b` and `c` describe the first matrix of each
/// and their slices hold the whole batch.
pub fn gemm_batched_with(
    a: MatRef<'_>,
    b: MatRef<'_>,
    c: MatMut<'_>,
    batch: Batch,
    opts: &GemmOptions<'_>,
    imp: Implementation,
) -> Result<()> {
    let (m, k) = a.op_dims();
    let (kb, n) = b.op_dims();
    if kb != k {
        return Err(OpsError::shape(
            "b",
            format!("op(b) has {kb} rows, op(a) has {k} columns"),
        ));
    }
    if (c.rows, c.cols) != (m, n) {
        return Err(OpsError::shape(
            "c",
            format!("shape [{}, {}], the product is [{m}, {n}]", c.rows, c.cols),
        ));
    }
    check_storage(
        "a",
        a.data.len(),
        a.rows,
        a.cols,
        a.ld,
        batch,
        batch.stride_a,
    )?;
    check_storage(
        "b",
        b.data.len(),
        b.rows,
        b.cols,
        b.ld,
        batch,
        batch.stride_b,
    )?;
    check_storage(
        "c",
        c.data.len(),
        c.rows,
        c.cols,
        c.ld,
        batch,
        batch.stride_c,
    )?;
    let bias = opts.bias.unwrap_or(&[]);
    if opts.bias.is_some() && bias.len() != n {
        return Err(OpsError::shape(
            "bias",
            format!("{} values, the product has {n} columns", bias.len()),
        ));
    }
    if batch.count == 0 || m == 0 || n == 0 {
        return Ok(());
    }
    let dims = ffi::GemmDims {
        batch: batch.count,
        m,
        n,
        k,
        trans_a: a.transposed,
        trans_b: b.transposed,
        lda: a.ld,
        ldb: b.ld,
        ldc: c.ld,
        stride_a: batch.stride_a,
        stride_b: batch.stride_b,
        stride_c: batch.stride_c,
        alpha: opts.alpha,
        beta: opts.beta,
    };
    ffi::gemm(
        &dims,
        a.data,
        b.data,
        bias,
        c.data,
        imp.is_reference(),
        imp.is_portable(),
        cpu_threads(),
    )?;
    Ok(())
}

/// The stored matrix (and every batch entry) must fit in `len` elements.
fn check_storage(
    arg: &'static str,
    len: usize,
    rows: usize,
    cols: usize,
    ld: usize,
    batch: Batch,
    stride: usize,
) -> Result<()> {
    if ld < cols {
        return Err(OpsError::shape(
            arg,
            format!("leading dimension {ld} is shorter than a row of {cols}"),
        ));
    }
    if rows == 0 || cols == 0 || batch.count == 0 {
        return Ok(());
    }
    let need = (batch.count - 1)
        .checked_mul(stride)
        .and_then(|s| s.checked_add((rows - 1).checked_mul(ld)?))
        .and_then(|s| s.checked_add(cols));
    match need {
        Some(need) if need <= len => Ok(()),
        _ => Err(OpsError::shape(
            arg,
            format!(
                "{len} elements cannot hold {} matrices of [{rows}, {cols}] (ld {ld}, batch stride {stride})",
                batch.count
            ),
        )),
    }
}

/// Multiply-adds times two of one product (what GFLOP/s figures divide).
pub fn flops(m: usize, n: usize, k: usize) -> f64 {
    2.0 * m as f64 * n as f64 * k as f64
}
