//! Fused kernels (attention, norms, GEGLU/SwiGLU, RoPE, token merging) behind one Rust API.
//!
//! The C++ layer (csrc/, bridged with cxx) and its CPU implementations are tracked by the
//! ops-npu issue; nothing here is functional yet.
