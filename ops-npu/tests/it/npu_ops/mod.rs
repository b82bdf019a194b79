//! Every general NPU op on the strict test double against the same op in candle on the
//! CPU, in the manner of ggml's test-backend-ops: random shapes, strided views (transposed,
//! narrowed with an offset), broadcasts, and f32/f16/bf16, with tolerances in rounding
//! units of the dtype. The double's maths come from the vendor docs, candle's from candle,
//! so a misreading of an op on our side shows up as a mismatch. Each test opens the
//! runtime in a process of its own (nextest); the double's counters prove no descriptor or
//! device block leaks. This is not hardware validation.

mod support;

mod attention;
mod elementwise;
mod fused;
mod layout;
mod linear;
mod pool;
mod refusals;
