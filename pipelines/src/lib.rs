//! Diffusion pipelines (Stable Diffusion 2.x, HiDream-I1/E1) on candle.
//!
//! Holds the `doctor` binary and its checks that need pipeline knowledge; the Stable
//! Diffusion 2.x models, tokenizer and pipeline behind the `sd` binary; the schedulers; and
//! `layers`, the one module of primitive layers every model is built from. `hidream` and
//! `sd-bench` are tracked by their own issues and are absent until they work.

pub mod conv;
pub mod doctor;
pub mod layers;
pub mod schedulers;
pub mod sd;
