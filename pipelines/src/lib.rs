//! Diffusion pipelines (Stable Diffusion 2.x, HiDream-I1/E1) on candle, matching diffusers
//! numerically. A library only; the binaries that drive it live in the `cli` crate.
//!
//! Laid out like diffusers: shared model components in their own rooms, pipelines that
//! compose them, and no pipeline importing another.
//! - `layers`: the one module of primitive layers every model is built from, where
//!   kernels are chosen.
//! - `models`: components shared by the pipelines (AutoencoderKL, ResNet blocks, timestep
//!   embeddings); `encoders`: text encoders (CLIP and its tokenizer, T5, Llama).
//! - `weights`, `config`, `image`: reading weights and config files, writing images;
//!   `output_file`: writing any file a user asked for without replacing what it must not;
//!   `input_file`: opening what a folder or flag names only if it is a regular file;
//!   `python_json`: config JSON as Python writes it (NaN, Infinity, -Infinity).
//! - `tensor_file`: latents and embeddings written as safetensors files.
//! - `tensor_math`: tensor arithmetic that rounds as torch does where candle differs.
//! - `schedulers`: the SD schedulers and HiDream's flow-match schedulers.
//! - `lora`: kohya and diffusers/PEFT LoRA files merged into SD's weights as they load.
//! - `sd`: Stable Diffusion 2.x (UNet, accelerations, the txt2img/img2img pipeline).
//! - `hidream`: HiDream-I1 text-to-image and HiDream-E1 editing (transformer, prompt
//!   encoding, the two denoising loops, LoRA, memory estimate).
//! - `doctor`: the checks of the `doctor` binary that need pipeline knowledge (model
//!   folders, the Python stack, the kernels).
//! - `model_source`: what `--model` names, a folder or a model id in the Hugging Face
//!   cache (read offline).
//! - `host_memory`: the allocator setting the binaries choose at start-up.

pub mod bench;
pub mod config;
pub mod doctor;
pub mod encoders;
pub mod error;
pub mod generation_info;
pub mod hidream;
pub mod host_memory;
pub mod image;
pub mod image_input;
pub mod init_image;
pub mod input_file;
pub mod layers;
pub mod lora;
pub mod model_source;
pub mod model_tensor;
pub mod models;
pub mod output_file;
pub mod python_json;
pub mod resample;
pub mod schedulers;
pub mod sd;
pub mod tensor_file;
pub mod tensor_math;
pub mod weights;
