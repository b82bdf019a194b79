//! Fused kernels for diffusion models (attention, RMS/Layer/adaptive/Group norm, GEGLU,
//! SwiGLU, rotary embedding, token merging, GEMM, convolution) behind one Rust API.
//!
//! On the CPU the kernels are C++ (csrc/, bridged with cxx): a cache-blocked flash
//! attention with online softmax (memory O(seq) per head), vectorisable row kernels, a
//! packed GEMM, and scalar reference kernels kept as the tests' oracle. Inputs are f32,
//! f16 or bf16; half types are widened and every kernel accumulates in f32. Convolution
//! ([`conv`]) is Rust around that GEMM: im2col and Winograd's transforms are data
//! movement and additions, which rayon and the compiler's vectoriser handle. [`candle_ops`]
//! runs all of them on candle tensors.
//!
//! ```
//! use ops_npu::{TensorView, attention::{attention, AttentionOptions}};
//! let q = vec![0.5f32; 2 * 4 * 8];
//! let view = TensorView::new(&q, &[1, 2, 4, 8])?; // [batch, heads, seq, head_dim]
//! let out = attention(view, view, view, &AttentionOptions::default())?;
//! assert_eq!(out.out.shape, vec![1, 2, 4, 8]);
//! # Ok::<(), ops_npu::OpsError>(())
//! ```

pub mod attention;
#[doc(hidden)]
pub mod bench_args;
mod bridge;
pub mod candle_ops;
pub mod conv;
pub mod error;
pub mod gemm;
pub mod glu;
pub mod norm;
pub mod npu;
pub mod rope;
pub mod tensor;
pub mod tome;

pub use error::{OpsError, Result};
pub use tensor::{Element, Implementation, Tensor, TensorView};
