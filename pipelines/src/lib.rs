//! Diffusion pipelines (Stable Diffusion 2.x, HiDream-I1/E1) on candle.
//!
//! Today this crate holds the `doctor` binary and the checks that need pipeline knowledge
//! (the Python stack a diffusers user runs, the layout of diffusers model folders). The
//! `sd`, `hidream` and `sd-bench` binaries are tracked by their own issues and are absent
//! until they work.

pub mod doctor;
