//! Stable Diffusion 2.x (and 1.x folders) on candle, numerically matching diffusers 0.42:
//! the UNet with its accelerations (ToMe, DeepCache, CFG-parallel) and the txt2img/img2img
//! pipeline that composes it with the shared VAE, CLIP text model and tokenizer.

pub mod accel;
pub mod config;
pub mod npu_step;
pub mod pipeline;
pub mod sd21_base;
pub mod single_file;
pub mod unet;
