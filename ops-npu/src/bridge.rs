//! The cxx bridge to the C++ kernels (csrc/). Callers in this crate validate every shape
//! first; the C++ side checks slice lengths again and throws, which cxx turns into `Err`,
//! so a bug on either side is an error rather than an out-of-bounds access.

#[cxx::bridge(namespace = "ops_npu::ffi")]
pub(crate) mod ffi {
    /// Attention sizes and element strides; mirrors `ops_npu::AttnDims` in cpu_kernels.h.
    #[derive(Debug, Clone, Copy, Default)]
    struct AttnDims {
        batch: usize,
        heads_q: usize,
        heads_kv: usize,
        seq_q: usize,
        seq_kv: usize,
        head_dim: usize,
        scale: f32,
        q_sb: usize,
        q_sh: usize,
        q_ss: usize,
        k_sb: usize,
        k_sh: usize,
        k_ss: usize,
        v_sb: usize,
        v_sh: usize,
        v_ss: usize,
        o_sb: usize,
        o_sh: usize,
        o_ss: usize,
        bias_sb: usize,
        bias_sh: usize,
        bias_sq: usize,
        bias_sk: usize,
        mask_sb: usize,
        mask_sh: usize,
        mask_sq: usize,
        mask_sk: usize,
    }

    /// GEMM sizes; mirrors `ops_npu::GemmDims` in gemm.h.
    #[derive(Debug, Clone, Copy, Default)]
    struct GemmDims {
        batch: usize,
        m: usize,
        n: usize,
        k: usize,
        trans_a: bool,
        trans_b: bool,
        lda: usize,
        ldb: usize,
        ldc: usize,
        stride_a: usize,
        stride_b: usize,
        stride_c: usize,
        alpha: f32,
        beta: f32,
    }

    /// A device tensor for the NPU entry points: the storage block's address and length in
    /// elements, a view into it (dims, element strides, element offset), the ACL dtype and
    /// format codes. `ptr == 0` means an absent optional tensor.
    #[derive(Debug, Clone, Default)]
    struct NpuTensorDesc {
        ptr: usize,
        dtype: i32,
        format: i32,
        offset: i64,
        storage: i64,
        dims: Vec<i64>,
        strides: Vec<i64>,
    }

    /// One argument of a general aclnn op, in prototype order; `kind` says which fields
    /// are read (see crate::npu::call).
    #[derive(Debug, Clone, Default)]
    struct NpuArg {
        kind: u8,
        tensors: Vec<NpuTensorDesc>,
        ints: Vec<i64>,
        number: f64,
        integer: i64,
        dtype: i32,
        text: String,
    }

    unsafe extern "C++" {
        include!("ops-npu/csrc/bridge.h");

        /// Empty `bias`, `mask` or `lse` means absent. `reference` selects the scalar kernel,
        /// `portable` the optimised kernel's baseline-ISA copy.
        #[allow(clippy::too_many_arguments)]
        fn attention(
            d: &AttnDims,
            q: &[f32],
            k: &[f32],
            v: &[f32],
            bias: &[f32],
            mask: &[u8],
            out: &mut [f32],
            lse: &mut [f32],
            reference: bool,
            portable: bool,
            threads: usize,
        ) -> Result<()>;

        /// Empty `weight` means none.
        #[allow(clippy::too_many_arguments)]
        fn rms_norm(
            x: &[f32],
            weight: &[f32],
            rows: usize,
            dim: usize,
            eps: f32,
            out: &mut [f32],
            reference: bool,
            threads: usize,
        ) -> Result<()>;

        #[allow(clippy::too_many_arguments)]
        fn layer_norm(
            x: &[f32],
            weight: &[f32],
            bias: &[f32],
            rows: usize,
            dim: usize,
            eps: f32,
            out: &mut [f32],
            reference: bool,
            threads: usize,
        ) -> Result<()>;

        #[allow(clippy::too_many_arguments)]
        fn ada_layer_norm(
            x: &[f32],
            scale: &[f32],
            shift: &[f32],
            batch: usize,
            seq: usize,
            dim: usize,
            mod_seq: usize,
            eps: f32,
            out: &mut [f32],
            reference: bool,
            threads: usize,
        ) -> Result<()>;

        #[allow(clippy::too_many_arguments)]
        fn group_norm(
            x: &[f32],
            gamma: &[f32],
            beta: &[f32],
            n: usize,
            c: usize,
            hw: usize,
            groups: usize,
            eps: f32,
            silu: bool,
            out: &mut [f32],
            reference: bool,
            threads: usize,
        ) -> Result<()>;

        #[allow(clippy::too_many_arguments)]
        fn geglu(
            x: &[f32],
            rows: usize,
            hidden: usize,
            tanh_approx: bool,
            out: &mut [f32],
            reference: bool,
            threads: usize,
        ) -> Result<()>;

        fn swiglu(
            x: &[f32],
            rows: usize,
            hidden: usize,
            out: &mut [f32],
            reference: bool,
            threads: usize,
        ) -> Result<()>;

        #[allow(clippy::too_many_arguments)]
        fn rope(
            x: &[f32],
            cos: &[f32],
            sin: &[f32],
            outer: usize,
            seq: usize,
            inner: usize,
            dim: usize,
            interleaved: bool,
            out: &mut [f32],
            reference: bool,
            threads: usize,
        ) -> Result<()>;

        /// Empty `bias` means none. `reference` selects the scalar kernel, `portable` the
        /// baseline-ISA copy.
        #[allow(clippy::too_many_arguments)]
        fn gemm(
            d: &GemmDims,
            a: &[f32],
            b: &[f32],
            bias: &[f32],
            c: &mut [f32],
            reference: bool,
            portable: bool,
            threads: usize,
        ) -> Result<()>;

        /// Bytes of scratch one attention task allocates (the bench reports peak memory).
        fn attention_scratch_bytes(head_dim: usize) -> usize;

        // NPU runtime (csrc/npu_runtime.h). Addresses cross as usize; the Rust RAII types
        // in crate::npu own them.
        fn npu_open(libraries: &Vec<String>, device: i32) -> Result<()>;
        fn npu_is_open() -> bool;
        fn npu_loaded_libraries() -> Vec<String>;
        fn npu_missing_symbols() -> Vec<String>;
        fn npu_has_symbol(name: &str) -> bool;
        fn npu_soc_name() -> String;
        /// A block of at least `bytes` from the caching pool, owned by `stream`.
        fn npu_pool_allocate(stream: usize, bytes: usize) -> Result<usize>;
        fn npu_pool_release(ptr: usize);
        fn npu_pool_empty_cache(stream: usize) -> Result<()>;
        /// Empties every stream's cache; the bytes given back.
        fn npu_pool_empty_all() -> Result<u64>;
        /// aclrtSetDevice on the calling thread.
        fn npu_bind_device(device: i32) -> Result<()>;
        /// [allocated, reserved, peak allocated, peak reserved, device mallocs, device
        /// frees, cache hits]
        fn npu_pool_stats() -> Vec<u64>;
        /// Restarts the peak figures from the current ones.
        fn npu_pool_reset_peaks();
        fn npu_pool_cached(stream: usize) -> u64;
        /// A general aclnn op (acl_api.h's OPS_NPU_GENERAL_OPS) with its arguments in
        /// prototype order, less workspaceSize and executor.
        fn npu_call(stream: usize, op: &str, args: &[NpuArg]) -> Result<()>;
        fn npu_upload(dst: usize, src: &[u8]) -> Result<()>;
        fn npu_download(src: usize, dst: &mut [u8]) -> Result<()>;
        fn npu_stream_create() -> Result<usize>;
        fn npu_stream_sync(stream: usize) -> Result<()>;
        fn npu_stream_destroy(stream: usize);
        /// [device allocations made for workspaces, bytes held in the pools]
        fn npu_rms_norm(
            stream: usize,
            x: &NpuTensorDesc,
            gamma: &NpuTensorDesc,
            eps: f64,
            y: &NpuTensorDesc,
            rstd: &NpuTensorDesc,
        ) -> Result<()>;
        #[allow(clippy::too_many_arguments)]
        fn npu_layer_norm(
            stream: usize,
            x: &NpuTensorDesc,
            normalized: &[i64],
            weight: &NpuTensorDesc,
            bias: &NpuTensorDesc,
            eps: f64,
            out: &NpuTensorDesc,
        ) -> Result<()>;
        fn npu_ada_layer_norm(
            stream: usize,
            x: &NpuTensorDesc,
            scale: &NpuTensorDesc,
            shift: &NpuTensorDesc,
            eps: f64,
            out: &NpuTensorDesc,
        ) -> Result<()>;
        #[allow(clippy::too_many_arguments)]
        fn npu_group_norm(
            stream: usize,
            x: &NpuTensorDesc,
            gamma: &NpuTensorDesc,
            beta: &NpuTensorDesc,
            n: i64,
            c: i64,
            hw: i64,
            groups: i64,
            eps: f64,
            out: &NpuTensorDesc,
            mean: &NpuTensorDesc,
            rstd: &NpuTensorDesc,
        ) -> Result<()>;
        #[allow(clippy::too_many_arguments)]
        fn npu_group_norm_silu(
            stream: usize,
            x: &NpuTensorDesc,
            gamma: &NpuTensorDesc,
            beta: &NpuTensorDesc,
            groups: i64,
            eps: f64,
            out: &NpuTensorDesc,
            mean: &NpuTensorDesc,
            rstd: &NpuTensorDesc,
        ) -> Result<()>;
        fn npu_silu(stream: usize, x: &NpuTensorDesc, out: &NpuTensorDesc) -> Result<()>;
        fn npu_geglu(
            stream: usize,
            x: &NpuTensorDesc,
            approximate: i64,
            out: &NpuTensorDesc,
            out_gelu: &NpuTensorDesc,
        ) -> Result<()>;
        fn npu_swiglu(stream: usize, x: &NpuTensorDesc, out: &NpuTensorDesc) -> Result<()>;
        fn npu_rope(
            stream: usize,
            x: &NpuTensorDesc,
            cos: &NpuTensorDesc,
            sin: &NpuTensorDesc,
            mode: i64,
            out: &NpuTensorDesc,
        ) -> Result<()>;
        fn npu_matmul(
            stream: usize,
            a: &NpuTensorDesc,
            b: &NpuTensorDesc,
            out: &NpuTensorDesc,
            cube_math_type: i8,
        ) -> Result<()>;
        /// op: 0 FusedInferAttentionScoreV2, 1 PromptFlashAttention, 2 FlashAttentionScore.
        #[allow(clippy::too_many_arguments)]
        fn npu_attention(
            stream: usize,
            op: u8,
            q: &NpuTensorDesc,
            k: &NpuTensorDesc,
            v: &NpuTensorDesc,
            bias: &NpuTensorDesc,
            mask: &NpuTensorDesc,
            heads: i64,
            kv_heads: i64,
            scale: f64,
            layout: &str,
            out: &NpuTensorDesc,
            lse: &NpuTensorDesc,
        ) -> Result<()>;
    }
}
