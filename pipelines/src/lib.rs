//! Diffusion pipelines (Stable Diffusion 2.x, HiDream-I1/E1) on candle.
//!
//! The `sd`, `hidream`, `doctor` and `sd-bench` binaries will live here; they are tracked by
//! their own issues and are absent until they work.
