//! Diffusion pipelines (Stable Diffusion 2.x, HiDream-I1/E1) on candle.
//!
//! Holds the `doctor` binary and its checks that need pipeline knowledge; the Stable
//! Diffusion 2.x models, tokenizer and pipeline behind the `sd` binary; the schedulers; and
//! `layers`, the one module of primitive layers every model is built from (with `conv`, its
//! convolution, and `winograd`, the fast 3x3 path of it); and `bench`, what the `sd-bench`
//! binary needs besides the models; `host_memory`, the allocator setting the binaries
//! choose at start-up.
//! `hidream`: HiDream-I1 text-to-image and HiDream-E1 editing behind the `hidream` binary
//! (transformer, tokenizers, prompt encoding, the two denoising loops, LoRA, memory
//! estimate; its flow-match schedulers live in `schedulers`); and `encoders`, its T5 and
//! Llama text encoders (all of Llama's hidden states).

pub mod bench;
pub mod conv;
pub mod doctor;
pub mod encoders;
pub mod hidream;
pub mod host_memory;
pub mod layers;
pub mod schedulers;
pub mod sd;
pub mod winograd;
