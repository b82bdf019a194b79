//! The pipelines crate's integration tests, in one binary so candle, tokenizers and the
//! models link once for all of them. Fixtures stay in `tests/fixtures`.

mod clip_tokenizer;
mod common;
mod doctor_model;
mod flow_schedulers;
mod folders;
mod generation_info;
mod hidream_clip;
mod hidream_edit;
mod hidream_encoders;
mod hidream_generate;
mod hidream_memory;
mod hidream_prompt;
mod hidream_tiny_random;
mod hidream_transformer;
mod hidream_vae;
mod hostile_inputs;
mod input_images;
mod npu_hidream;
mod npu_sd;
mod npu_support;
mod sd_accel;
mod sd_architecture;
mod sd_features;
mod sd_lora;
mod sd_parity;
mod sd_samplers;
mod sd_single_file;
mod sd_variants;
