//! The one way the custom ops read their inputs: a CPU storage's elements, as the kernels'
//! element type, for a contiguous layout. candle hands a custom op the whole storage plus
//! a layout; the kernels take plain slices, so a strided view or another dtype must be an
//! error that names the op and the argument, never a wrong read or a panic.

use crate::tensor::TensorView;
use candle_core::backend::BackendStorage;
use candle_core::{CpuStorage, Layout, Result, WithDType};

/// The elements `layout` selects from `storage`, as `T`. `op` and `arg` name the custom
/// op and the argument in the error.
pub(crate) fn contiguous_slice<'a, T: WithDType>(
    storage: &'a CpuStorage,
    layout: &Layout,
    op: &str,
    arg: &str,
) -> Result<&'a [T]> {
    if storage.dtype() != T::DTYPE {
        candle_core::bail!(
            "{op}: {arg} is {:?}, expected {:?}",
            storage.dtype(),
            T::DTYPE
        )
    }
    let Some((start, end)) = layout.contiguous_offsets() else {
        candle_core::bail!(
            "{op}: {arg} must be contiguous (shape {:?}, strides {:?})",
            layout.dims(),
            layout.stride()
        )
    };
    let all = T::cpu_storage_as_slice(storage)?;
    all.get(start..end).ok_or_else(|| {
        candle_core::Error::Msg(format!(
            "{op}: {arg}'s layout reads elements {start}..{end} of a storage of {}",
            all.len()
        ))
    })
}

/// [`contiguous_slice`] with the layout's shape, as the kernels take their inputs.
pub(crate) fn contiguous_view<'a, T: WithDType>(
    storage: &'a CpuStorage,
    layout: &'a Layout,
    op: &str,
    arg: &str,
) -> Result<TensorView<'a, T>> {
    let data = contiguous_slice(storage, layout, op, arg)?;
    TensorView::new(data, layout.dims()).map_err(|e| candle_core::Error::Msg(format!("{op}: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn storage() -> CpuStorage {
        CpuStorage::F32((0..6).map(|i| i as f32).collect())
    }

    #[test]
    fn a_contiguous_layout_selects_its_elements() {
        let layout = Layout::contiguous_with_offset((2, 2), 2);
        let storage = storage();
        let got = contiguous_slice::<f32>(&storage, &layout, "op", "x").expect("slice");
        assert_eq!(got, [2.0, 3.0, 4.0, 5.0]);
    }

    #[test]
    fn a_strided_layout_is_an_error_naming_the_op_and_argument() {
        let transposed = Layout::contiguous((2, 3))
            .transpose(0, 1)
            .expect("transpose");
        let err = contiguous_slice::<f32>(&storage(), &transposed, "conv2d", "weight")
            .expect_err("a transposed view is not contiguous");
        assert!(
            err.to_string()
                .starts_with("conv2d: weight must be contiguous"),
            "{err}"
        );
    }

    #[test]
    fn another_dtype_is_an_error_naming_both_dtypes() {
        let layout = Layout::contiguous(6);
        let err = contiguous_slice::<half::bf16>(&storage(), &layout, "matmul", "a")
            .expect_err("f32 storage read as bf16");
        // candle appends a backtrace to the message when RUST_BACKTRACE is set.
        assert!(
            err.to_string()
                .starts_with("matmul: a is F32, expected BF16"),
            "{err}"
        );
    }

    #[test]
    fn a_layout_past_the_storage_is_an_error() {
        let layout = Layout::contiguous_with_offset(4, 4);
        let err = contiguous_slice::<f32>(&storage(), &layout, "op", "x").expect_err("too long");
        assert!(err.to_string().contains("4..8 of a storage of 6"), "{err}");
    }
}
