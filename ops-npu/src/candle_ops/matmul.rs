//! f32 matrix products of candle CPU tensors through [`crate::gemm`] (the packed AVX2
//! GEMM), with the bias fused; any other dtype or device takes candle's own matmul.

use super::storage::contiguous_slice;
use crate::gemm::{Batch, GemmOptions, MatMut, MatRef, gemm_batched_with};
use crate::tensor::Implementation;
use candle_core::{CpuStorage, CustomOp2, CustomOp3, DType, Layout, Shape, Tensor};

/// `a @ b (+ bias)`: `a` `[m, k]` or `[batch, m, k]`, `b` `[k, n]` or `[batch, k, n]` (a
/// 2-d operand is shared by every product of the batch), `bias` `[n]` added to every row.
/// The result is `[m, n]`, or `[batch, m, n]` when either operand has a batch.
pub fn matmul(a: &Tensor, b: &Tensor, bias: Option<&Tensor>) -> candle_core::Result<Tensor> {
    let ours = a.dtype() == DType::F32
        && b.dtype() == DType::F32
        && bias.is_none_or(|t| t.dtype() == DType::F32)
        && a.device().is_cpu()
        && b.device().is_cpu()
        && matches!(a.rank(), 2 | 3)
        && matches!(b.rank(), 2 | 3);
    if !ours {
        let y = candle_matmul(a, b)?;
        return match bias {
            Some(bias) => y.broadcast_add(bias),
            None => Ok(y),
        };
    }
    let (a, b) = (a.contiguous()?, b.contiguous()?);
    match bias {
        Some(bias) => a.apply_op3_no_bwd(&b, &bias.contiguous()?, &Gemm),
        None => a.apply_op2_no_bwd(&b, &Gemm),
    }
}

/// candle's matmul, except that an f16 product with a single row on the CPU runs as two
/// identical rows: candle's CPU GEMM takes a vector kernel for one row that accumulates in
/// f16, tens of f16 rounding units off at k = 4096 (with two or more rows it accumulates in
/// f32 and stays near one unit). One-row products are the timestep and modulation
/// projections at batch 1, where the weights' memory traffic dominates, so the duplicate row
/// costs little.
fn candle_matmul(a: &Tensor, b: &Tensor) -> candle_core::Result<Tensor> {
    let rows_axis = a.rank().saturating_sub(2);
    let single_f16_row =
        a.dtype() == DType::F16 && a.device().is_cpu() && a.rank() >= 2 && a.dim(rows_axis)? == 1;
    if !single_f16_row {
        return a.broadcast_matmul(b);
    }
    Tensor::cat(&[a, a], rows_axis)?
        .broadcast_matmul(b)?
        .narrow(rows_axis, 0, 1)
}

#[derive(Debug, Clone, Copy)]
struct Gemm;

/// (batch, rows, cols) of a 2-d or 3-d operand; batch None for 2-d.
fn split(dims: &[usize], what: &str) -> candle_core::Result<(Option<usize>, usize, usize)> {
    match *dims {
        [r, c] => Ok((None, r, c)),
        [b, r, c] => Ok((Some(b), r, c)),
        _ => candle_core::bail!("matmul: {what} must be 2-d or 3-d, got {dims:?}"),
    }
}

fn run(
    a: (&CpuStorage, &Layout),
    b: (&CpuStorage, &Layout),
    bias: Option<(&CpuStorage, &Layout)>,
) -> candle_core::Result<(CpuStorage, Shape)> {
    let a_data = contiguous_slice::<f32>(a.0, a.1, "matmul", "a")?;
    let b_data = contiguous_slice::<f32>(b.0, b.1, "matmul", "b")?;
    let bias = bias
        .map(|(s, l)| contiguous_slice::<f32>(s, l, "matmul", "bias"))
        .transpose()?;
    let (batch_a, m, k) = split(a.1.dims(), "a")?;
    let (batch_b, kb, n) = split(b.1.dims(), "b")?;
    let count = match (batch_a, batch_b) {
        (Some(x), Some(y)) if x != y => {
            candle_core::bail!("matmul: batch {x} of a differs from batch {y} of b")
        }
        (Some(x), _) | (None, Some(x)) => x,
        (None, None) => 1,
    };
    let batch = Batch {
        count,
        stride_a: if batch_a.is_some() { m * k } else { 0 },
        stride_b: if batch_b.is_some() { kb * n } else { 0 },
        stride_c: m * n,
    };
    let mut out = vec![0f32; count * m * n];
    gemm_batched_with(
        MatRef::new(a_data, m, k),
        MatRef::new(b_data, kb, n),
        MatMut::new(&mut out, m, n),
        batch,
        &GemmOptions {
            bias,
            ..Default::default()
        },
        Implementation::Optimised,
    )
    .map_err(|e| candle_core::Error::Msg(format!("matmul: {e}")))?;
    let shape = if batch_a.is_some() || batch_b.is_some() {
        Shape::from((count, m, n))
    } else {
        Shape::from((m, n))
    };
    Ok((CpuStorage::F32(out), shape))
}

impl CustomOp2 for Gemm {
    fn name(&self) -> &'static str {
        "ops-npu-gemm"
    }

    fn cpu_fwd(
        &self,
        s1: &CpuStorage,
        l1: &Layout,
        s2: &CpuStorage,
        l2: &Layout,
    ) -> candle_core::Result<(CpuStorage, Shape)> {
        run((s1, l1), (s2, l2), None)
    }
}

impl CustomOp3 for Gemm {
    fn name(&self) -> &'static str {
        "ops-npu-gemm-bias"
    }

    fn cpu_fwd(
        &self,
        s1: &CpuStorage,
        l1: &Layout,
        s2: &CpuStorage,
        l2: &Layout,
        s3: &CpuStorage,
        l3: &Layout,
    ) -> candle_core::Result<(CpuStorage, Shape)> {
        run((s1, l1), (s2, l2), Some((s3, l3)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use candle_core::Device;

    fn t(v: &[f32], shape: &[usize]) -> Tensor {
        Tensor::from_slice(v, shape, &Device::Cpu).unwrap()
    }

    #[test]
    fn shared_weight_batches_and_bias_follow_candle() {
        let w: Vec<f32> = (0..6).map(|i| i as f32 - 2.5).collect(); // [2 x 3]
        let x: Vec<f32> = (0..24).map(|i| (i % 7) as f32 * 0.5).collect(); // [2, 3, 4]
        let (w, x) = (t(&w, &[2, 3]), t(&x, &[2, 3, 4]));
        let got = matmul(&w, &x, None).unwrap();
        let want = w.broadcast_matmul(&x).unwrap();
        assert_eq!(got.dims(), &[2, 2, 4]);
        assert_eq!(
            got.flatten_all().unwrap().to_vec1::<f32>().unwrap(),
            want.flatten_all().unwrap().to_vec1::<f32>().unwrap()
        );
        let bias = t(&[1.0, -1.0, 0.5, 2.0], &[4]);
        let x2 = x.get(0).unwrap();
        let got = matmul(&w, &x2, Some(&bias)).unwrap();
        let want = w.matmul(&x2).unwrap().broadcast_add(&bias).unwrap();
        assert_eq!(
            got.to_vec2::<f32>().unwrap(),
            want.to_vec2::<f32>().unwrap()
        );
    }

    #[test]
    fn other_dtypes_take_candles_path_and_bad_batches_are_errors() {
        let a = t(&[1.0, 2.0, 3.0, 4.0], &[2, 2])
            .to_dtype(DType::F64)
            .unwrap();
        let y = matmul(&a, &a, None).unwrap();
        assert_eq!(y.dtype(), DType::F64);
        assert_eq!(y.to_vec2::<f64>().unwrap(), [[7.0, 10.0], [15.0, 22.0]]);
        let a = t(&[0.0; 8], &[2, 2, 2]);
        let b = t(&[0.0; 12], &[3, 2, 2]);
        let e = matmul(&a, &b, None).unwrap_err().to_string();
        assert!(e.contains("batch 2 of a differs from batch 3 of b"), "{e}");
    }

    /// Largest difference from the f32 product of the same f16 values, in units of f16
    /// rounding (2^-11) of the product's largest magnitude.
    fn f16_error_units(a: &Tensor, b: &Tensor) -> f32 {
        let (a, b) = (
            a.to_dtype(DType::F16).unwrap(),
            b.to_dtype(DType::F16).unwrap(),
        );
        let exact = a
            .to_dtype(DType::F32)
            .unwrap()
            .broadcast_matmul(&b.to_dtype(DType::F32).unwrap())
            .unwrap();
        let got = matmul(&a, &b, None).unwrap().to_dtype(DType::F32).unwrap();
        let max = |t: &Tensor| {
            t.abs()
                .unwrap()
                .flatten_all()
                .unwrap()
                .max(0)
                .unwrap()
                .to_scalar::<f32>()
                .unwrap()
        };
        max(&(got - &exact).unwrap()) / (max(&exact) * 2f32.powi(-11))
    }

    #[test]
    fn single_row_f16_products_round_once() {
        // Without the duplicated row candle's vector kernel is 43 units off here; with it,
        // 1.5 (the same as two or more rows of these correlated values).
        let k = 4096;
        let values = |n: usize, phase: f32| -> Vec<f32> {
            (0..n).map(|i| ((i as f32) * 0.618 + phase).sin()).collect()
        };
        let a = t(&values(k, 0.3), &[1, k]);
        let b = t(&values(k * 8, 1.1), &[k, 8]);
        let units = f16_error_units(&a, &b);
        assert!(units < 3.0, "single row: {units} units");
        let batched = t(&values(2 * k, 0.7), &[2, 1, k]);
        let units = f16_error_units(&batched, &b);
        assert!(units < 3.0, "single row per batch entry: {units} units");
        let rows = matmul(
            &batched.to_dtype(DType::F16).unwrap(),
            &b.to_dtype(DType::F16).unwrap(),
            None,
        )
        .unwrap();
        assert_eq!(rows.dims(), &[2, 1, 8]);
    }
}
